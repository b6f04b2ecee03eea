"""The evidence store: an append-only record log, content-addressed bodies, and the delivery queue
that must commit in the same transaction as the records it follows from."""
