"""Chaperone's decisions: a pure, synchronous rule engine and the district policy packs.

Nothing in this package does I/O or reads the clock: time and the roster come in through the context,
so every decision can be replayed and explained.
"""
