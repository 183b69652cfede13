"""Catalog cache: a generation number plus rendered response bytes.

Every cached catalog response is keyed by the current generation number; any catalog write
bumps it, so the very next GET misses and re-renders. This avoids pattern deletes (slow and
racy on Redis) and never serves stale data after a write. If the cache is down, reads get a
fixed generation and every lookup misses: correct, just slower.
"""

from __future__ import annotations

import contextlib
import hashlib
import time

from django.conf import settings
from django.core.cache import cache

GENERATION_KEY = "catalog:generation"


def catalog_generation() -> int:
    value = cache.get(GENERATION_KEY)
    if value is None:
        # First use, eviction or outage: start a generation no cached page can carry.
        value = int(time.time() * 1000)
        cache.add(GENERATION_KEY, value, timeout=None)
        value = cache.get(GENERATION_KEY, value)
    return int(value)


def bump_catalog_generation() -> None:
    try:
        cache.incr(GENERATION_KEY)
    except ValueError:  # key missing (evicted or never set): a fresh generation
        catalog_generation()
        # Still failing means the cache is unreachable: nothing cached can be served anyway.
        with contextlib.suppress(ValueError):
            cache.incr(GENERATION_KEY)


def response_cache_key(namespace: str, variant: str, path: str, query: list[tuple[str, str]]) -> str:
    """Key of one rendered response: endpoint, audience (public/staff) and the normalised
    query string (sorted, so `?a=1&b=2` and `?b=2&a=1` share an entry)."""
    canonical = path + "?" + "&".join(f"{k}={v}" for k, v in sorted(query))
    digest = hashlib.blake2b(canonical.encode(), digest_size=16).hexdigest()
    return f"catalog:r:{namespace}:{variant}:{digest}"


def cached_bytes(key: str) -> tuple[int | None, bytes | None]:
    """(current generation, cached bytes or None) in one round trip: the entry is stored
    with the generation it was rendered in and only served while that is still current,
    so a write (which bumps the generation) invalidates every entry at once."""
    if not settings.CATALOG_CACHE_ENABLED:
        return None, None
    values = cache.get_many([GENERATION_KEY, key])
    generation = values.get(GENERATION_KEY)
    if generation is None:
        return catalog_generation(), None
    entry = values.get(key)
    if isinstance(entry, tuple) and len(entry) == 2 and entry[0] == generation:
        return generation, entry[1]
    return generation, None


def store_bytes(key: str, generation: int | None, content: bytes) -> None:
    if settings.CATALOG_CACHE_ENABLED and generation is not None:
        cache.set(key, (generation, content), timeout=settings.CATALOG_CACHE_TIMEOUT)
