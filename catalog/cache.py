"""Catalog cache generation.

Every cached catalog response is keyed by the current generation number; any catalog write
bumps it, so the very next GET misses and re-renders. This avoids pattern deletes (slow and
racy on Redis) and never serves stale data after a write. If the cache is down, reads get a
fixed generation and every lookup misses: correct, just slower.
"""

from __future__ import annotations

from django.core.cache import cache

GENERATION_KEY = "catalog:generation"


def catalog_generation() -> int:
    value = cache.get(GENERATION_KEY)
    if value is None:
        # First use, eviction or outage: start a generation no cached page can carry.
        import time

        value = int(time.time() * 1000)
        cache.add(GENERATION_KEY, value, timeout=None)
        value = cache.get(GENERATION_KEY, value)
    return int(value)


def bump_catalog_generation() -> None:
    try:
        cache.incr(GENERATION_KEY)
    except ValueError:  # key missing (evicted or never set): a fresh generation
        catalog_generation()
        cache.incr(GENERATION_KEY)
