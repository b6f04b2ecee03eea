-- Copies a provider accepted and reports on later (an SMS provider's status callback): the provider's id
-- for the copy, to find it when the callback arrives.
ALTER TABLE working.deliveries ADD COLUMN provider_id TEXT;
CREATE INDEX deliveries_by_provider ON working.deliveries(provider_id);
