"""Catalog cache: generation tokens plus rendered response bytes.

Every cached catalog response is stored with the *stamp* it was rendered under (the values
of a few generation keys) and is served only while the stamp is still current; a write
replaces a generation with a fresh token, so the very next GET misses and re-renders. This
avoids pattern deletes (slow and racy on Redis) and never serves stale data after a write.

Generations:
- `catalog:generation`: any catalog write (products, categories, brands, reviews, imports).
- `catalog:stock`: any stock move by checkout, cancellation or expiry.
- `catalog:stock:<product id>`: a stock move of that product.

Product lists, facets and categories depend on the first two; a product's detail depends
on the first and its own stock key, so an order invalidates the details of the products
it bought, not the cached details of every other product.

If the cache is down, stamps cannot be read, nothing is stored and every lookup misses:
correct, just slower.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Sequence
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import cache

GENERATION_KEY = "catalog:generation"
STOCK_GENERATION_KEY = "catalog:stock"
CATALOG_STAMP = (GENERATION_KEY, STOCK_GENERATION_KEY)


def product_stock_key(product_id) -> str:
    return f"catalog:stock:{uuid.UUID(str(product_id)).hex}"


def product_detail_stamp(product_id) -> tuple[str, ...]:
    """The generations a product's cached detail depends on; the catalog-wide stamp when
    `product_id` is not a UUID (the view answers 404 anyway)."""
    try:
        return (GENERATION_KEY, product_stock_key(product_id))
    except ValueError:
        return CATALOG_STAMP


def _new_token() -> str:
    # Unique, so no entry rendered under an earlier (or evicted) generation can carry it.
    return uuid.uuid4().hex


def _bump(keys: Iterable[str]) -> None:
    cache.set_many({key: _new_token() for key in keys}, timeout=None)


def bump_catalog_generation() -> None:
    """Invalidate every cached catalog response."""
    _bump([GENERATION_KEY])


def bump_stock_generations(product_ids: Iterable) -> None:
    """Invalidate what shows the stock of `product_ids`: product lists, facets, categories
    and those products' details (one round trip)."""
    _bump([STOCK_GENERATION_KEY, *(product_stock_key(pk) for pk in product_ids)])


def response_cache_key(namespace: str, variant: str, path: str, query: Iterable[tuple[str, str]]) -> str:
    """Key of one rendered response: endpoint, representation variant (audience, currency,
    media type) and the parsed query parameters in their canonical encoding: sorted (so
    `?a=1&b=2` and `?b=2&a=1` share an entry) and percent-encoded, so one value containing
    `&` or `=` never spells the same key as two parameters (`brand=x%26search%3Dy` is one
    filter, `brand=x&search=y` two; joining them unescaped let the first poison the second)."""
    canonical = "\n".join([path, variant, urlencode(sorted(query))])
    digest = hashlib.blake2b(canonical.encode(), digest_size=16).hexdigest()
    return f"catalog:r:{namespace}:{digest}"


def cached_bytes(key: str, stamp_keys: Sequence[str] = CATALOG_STAMP) -> tuple[tuple | None, bytes | None]:
    """(current stamp, cached bytes or None) in one round trip. The entry is served only
    when it was stored under the current stamp. A missing generation (first use, eviction)
    is started with a fresh token; a stamp of None (cache down) means: do not store."""
    if not settings.CATALOG_CACHE_ENABLED:
        return None, None
    values = cache.get_many([*stamp_keys, key])
    missing = [k for k in stamp_keys if k not in values]
    if missing:
        for k in missing:
            cache.add(k, _new_token(), timeout=None)
        values = cache.get_many(list(stamp_keys))
        if any(k not in values for k in stamp_keys):
            return None, None  # the cache is unreachable
        return tuple(values[k] for k in stamp_keys), None
    stamp = tuple(values[k] for k in stamp_keys)
    entry = values.get(key)
    if isinstance(entry, tuple) and len(entry) == 2 and entry[0] == stamp:
        return stamp, entry[1]
    return stamp, None


def store_bytes(key: str, stamp: tuple | None, content: bytes) -> None:
    if settings.CATALOG_CACHE_ENABLED and stamp is not None:
        cache.set(key, (stamp, content), timeout=settings.CATALOG_CACHE_TIMEOUT)
