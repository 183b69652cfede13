"""Catalog cache: generation tokens, rendered response bytes, and live stock merged in.

Every cached catalog response is stored with the *stamp* it was rendered under (the values
of a few generation keys) and is served only while the stamp is still current; a write
replaces a generation with a fresh token, so the very next GET misses and re-renders. This
avoids pattern deletes (slow and racy on Redis) and never serves stale data after a write.

Stock is the one value that changes all the time (every checkout, cancellation, expiry),
so a cached product page does not depend on it. Pages that show products (lists, details)
are stored as a *template*: the rendered bytes cut at each product's `stock_quantity`,
`in_stock` and `updated_at` (a stock move sets it), plus the product ids in order. A hit
fills those in from per-product stock entries, so after an order the cached pages stay
hits and show exactly what a fresh render would.

Per-product stock entries: `catalog:stock:<id>` is a token replaced (on commit) by every
stock move of the product; `catalog:stockv:<id>` holds `(catalog token, product token,
stock, updated_at)`, and is believed only while both tokens are current. A reader reads the tokens
*before* it reads the stock from the database (`SELECT id, stock_quantity ... WHERE id IN
(...)`, by primary key), so a move that commits after that read has replaced the token and
the value it stores is never served. In the steady state a hit makes no query; the first
hit after a move of a product on the page makes that one query.

Generations:
- `catalog:generation`: any catalog write (products, categories, brands, reviews, imports),
  not stock moves (see the two below); every cached response and stock entry.
- `catalog:in-stock`: a stock move that may have taken a product into or out of stock
  (`product_stock_changed`); pages filtered by `in_stock` and their facets, whose *set* of
  products depends on it. Other lists, facets and categories do not depend on stock.
- `catalog:stock:<product id>`: any stock move of that product; its stock entry, and the
  staff detail (staff may see more than the stock of a product's moves).

Promoted prices: `catalog:price-boundary` holds the Unix time of the next promotion start
or end (0: none scheduled), written by the promotions service whenever it applies prices.
`cached_page` reads it with the stamp; once it has passed (or when it is missing) it asks
`catalog.hooks.refresh_prices()` to apply the boundary, which bumps the catalog generation
if any price changed, so the next GET after a promotion starts or ends is re-rendered with
the new price, whatever the TTL and whether or not the scheduled job has run yet.

Stored bytes: each entry holds the page as bytes, the identity and each encoding a client
has asked for (gzip, br; core.compression), along with its products' stock tokens as of
the levels the bytes show; each process also keeps the entries it stored or read, and
serves one while its stamp and stock sequence are current, so a hit fetches a page's bytes
from Redis only when it holds none for them. An encoding is compressed once per entry, by
the first request that accepts it (the miss that renders the page, or the first hit asking
for one the entry lacks, which stores it back), never for a client that did not ask for it. A hit whose
tokens are all unchanged serves the stored bytes untouched (no fill, no compression), and
one after a stock move fills the page in, encodes it once and stores it back.

The stock sequence (`catalog:stock-seq`) counts stock moves: each move advances it in the
same atomic step (one Redis script) that replaces its products' tokens. An entry records
the sequence it read with its tokens, so while the sequence has not moved a hit knows
every token is unchanged without reading them; after any move it reads the page's tokens
once per process and sequence. A miss reads the sequence before it renders, and stores the
stock it rendered as it is when the sequence is still there with the tokens (no second
read of the stock).

Hot keys held in each process: the generation tokens, the price boundary and the stock
sequence (TRACKED_KEYS) are read through core.caching.tracked, which holds them while
Redis says they are unchanged (server-assisted client-side caching). With the entry held
too, a steady-state hit sends no command to Redis. Every writer of those keys calls
`tracked.written()` after its write, so its invalidations have reached every process
before the write's request answers.

If the cache is down, stamps cannot be read, nothing is stored and every lookup misses:
correct, just slower. The hit/miss counters (`cache_stats()`) are best effort.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import re
import secrets
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import cache
from django.urls.converters import UUIDConverter

from catalog.selectors import product_stock_levels
from core.caching import redis_client, redis_script, tracked
from core.compression import encoded_variants
from core.formats import iso_utc
from core.metrics import CATALOG_CACHE_LOOKUPS
from core.redis_circuit import bypass

logger = logging.getLogger(__name__)

GENERATION_KEY = "catalog:generation"
IN_STOCK_GENERATION_KEY = "catalog:in-stock"
# GENERATION_KEY comes first in every stamp: stock entries are stamped with its token.
CATALOG_STAMP = (GENERATION_KEY,)
IN_STOCK_STAMP = (GENERATION_KEY, IN_STOCK_GENERATION_KEY)
HITS_KEY, MISSES_KEY = "catalog:stats:hits", "catalog:stats:misses"
PRICE_BOUNDARY_KEY = "catalog:price-boundary"
# Advanced by every stock move before it replaces its products' tokens (see store_page).
STOCK_SEQUENCE_KEY = "catalog:stock-seq"
# Read by every cached read: held in each process while Redis says they are unchanged
# (core.caching.tracked). Whoever writes one calls tracked.written() after.
TRACKED_KEYS = frozenset({GENERATION_KEY, IN_STOCK_GENERATION_KEY, PRICE_BOUNDARY_KEY, STOCK_SEQUENCE_KEY})


# A UUID as PostgreSQL and str(UUID) write it (Django's <uuid:> path converter's pattern):
# what nearly every id here is spelt as.
_CANONICAL_UUID = re.compile(UUIDConverter.regex)


def product_stock_key(product_id) -> str:
    """ValueError when `product_id` is not a UUID (in any of its spellings)."""
    return _stock_key(str(product_id))


@functools.lru_cache(maxsize=65536)
def _stock_key(product_id: str) -> str:
    # Remembered: a page's 40-odd keys are made on every uncached read and every refill. The
    # canonical spelling is taken as it is (parsing it as a UUID was most of an uncached
    # page's key making: its ids are mostly new to this process); any other is parsed.
    if _CANONICAL_UUID.fullmatch(product_id):
        return f"catalog:stock:{product_id.replace('-', '')}"
    return f"catalog:stock:{uuid.UUID(product_id).hex}"


def product_stock_value_key(product_id) -> str:
    return f"catalog:stockv:{uuid.UUID(str(product_id)).hex}"


def product_detail_stamp(product_id, *, staff: bool) -> tuple[str, ...]:
    """What a product's cached detail depends on: the catalog generation (its stock is
    merged in on a hit); for staff also the product's stock token, so anything staff see
    about its stock moves is re-rendered after one. Not a UUID: the view answers 404."""
    if not staff:
        return CATALOG_STAMP
    try:
        return (GENERATION_KEY, product_stock_key(product_id))
    except ValueError:
        return CATALOG_STAMP


def list_stamp(params) -> tuple[str, ...]:
    """A product list or its facets: an `in_stock` filter makes the set depend on which
    products are in stock."""
    return IN_STOCK_STAMP if "in_stock" in params else CATALOG_STAMP


def _new_token() -> str:
    # Unique, so no entry rendered under an earlier (or evicted) generation can carry it.
    return uuid.uuid4().hex


def _bump(keys: Iterable[str]) -> None:
    redis, client = _redis()
    owed = _owed.snapshot()
    keys = {*keys, *((GENERATION_KEY,) if owed else ())}
    if not keys:
        return
    if redis is None:  # the local-memory cache: one process, nothing to lose
        cache.set_many({key: _new_token() for key in keys}, timeout=None)
        _owed.paid(owed)
        return
    try:
        with bypass():  # through an open circuit: other processes serve what this replaces
            redis.mset({client.make_key(key): client.encode(_new_token()) for key in keys})
    except Exception:
        _owed.owe("a generation bump")
        return
    _owed.paid(owed)
    tracked.written()


class _Owed:
    """A bump that could not be written (Redis unreachable, or refusing writes) would leave
    every entry stored before it current once Redis answers again: the write it announced
    invisible until the TTL. So it is owed: this process bumps the whole catalog generation
    before its next cache read or write (cached_page, cached_count, _bump), and a job in
    the outbox (core.jobs, in the database) does the same from a worker, for the other
    processes and for one that may never read again. Each failure counts (`epoch`): a bump
    that went out before a failure does not pay for it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._epoch = 0  # failures so far
        self._paid = 0  # the epoch the last successful bump covered
        self._queued = 0  # the epoch the last queued job covers

    def is_set(self) -> bool:
        return self._epoch != self._paid

    def snapshot(self) -> int | None:
        """The epoch a bump starting now covers, or None when nothing is owed."""
        with self._lock:
            return self._epoch if self._epoch != self._paid else None

    def paid(self, snapshot: int | None) -> None:
        if snapshot is not None:
            with self._lock:
                self._paid = max(self._paid, snapshot)

    def clear(self) -> None:
        with self._lock:
            self._paid = self._queued = self._epoch

    def owe(self, what: str) -> None:
        with self._lock:
            self._epoch += 1
            first = self._epoch == self._paid + 1  # the first since the last bump went out
            queue = self._queued <= self._paid  # no job queued for this outage yet
        log = logger.warning if first else logger.debug
        log("catalog cache: %s could not be written; the catalog generation is owed", what, exc_info=first)
        if queue:
            self._queue()

    def _queue(self) -> None:
        from datetime import timedelta

        from django.db import transaction
        from django.utils import timezone

        from catalog import tasks
        from core.jobs import enqueue

        with self._lock:
            epoch = self._epoch
        try:  # after the current one: the broker may be this Redis, down too
            with transaction.atomic():  # a savepoint: a failed insert leaves no broken transaction
                enqueue(
                    tasks.bump_owed_generation, eta=timezone.now() + timedelta(seconds=settings.OUTBOX_RELAY_GRACE + 5)
                )
        except Exception:  # the next failure, or the next read that cannot pay, tries again
            logger.warning("catalog cache: the owed generation bump could not be queued either", exc_info=True)
            return
        with self._lock:
            self._queued = max(self._queued, epoch)


_owed = _Owed()


def bump_owed_generation() -> None:
    """The outbox job's bump (catalog.tasks): failing again, it queues the next one."""
    _owed.clear()
    _bump([GENERATION_KEY])


def pay_owed_bump() -> bool:
    """Bump the catalog generation if this process owes one; True when nothing is owed now."""
    if _owed.is_set():
        _bump(())
    return not _owed.is_set()


def bump_catalog_generation() -> None:
    """Invalidate every cached catalog response and stock entry."""
    _bump([GENERATION_KEY])


def bump_stock_generations(product_ids: Iterable, *, in_stock_changed: bool = True) -> None:
    """After stock of `product_ids` moved (on commit): their stock entries (and staff
    details) are stale; when a product may have crossed zero, also every page filtered by
    `in_stock`. Other cached pages stay: their stock is merged in on a hit. One round trip.

    The move is also counted in STOCK_SEQUENCE_KEY, in the same atomic step on Redis (one
    script): a reader that finds the sequence where it was knows no token changed since
    (cached_page), and a render that read the stock before this move and the tokens after
    it sees the sequence moved and does not vouch for what it read (store_page)."""
    keys = [product_stock_key(pk) for pk in product_ids]
    if in_stock_changed:
        keys.append(IN_STOCK_GENERATION_KEY)
    if keys:
        _bump_counted(keys)


# KEYS: the sequence key, then the token keys; ARGV: the sequence's start should it be
# missing, and 12 random digits (each token: those digits and its 6-digit index).
BUMP_COUNTED_LUA = """
if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('SET', KEYS[1], ARGV[1]) end
redis.call('INCR', KEYS[1])
for i = 2, #KEYS do
  redis.call('SET', KEYS[i], ARGV[2] .. string.format('%06d', i))
end
return 1
"""


def _bump_counted(keys: list[str]) -> None:
    redis, client = _redis()
    if redis is None or len(keys) >= 10**6:  # not Redis (the local-memory cache serves one process)
        advance_stock_sequence()
        _bump(keys)
        return
    try:
        with bypass():  # through an open circuit: other processes serve the old stock
            redis_script(redis, BUMP_COUNTED_LUA)(
                keys=[client.make_key(k) for k in (STOCK_SEQUENCE_KEY, *keys)],
                args=[_sequence_start(), str(secrets.randbelow(9 * 10**11) + 10**11)],
            )
        tracked.written()
    except Exception:  # the cache is down: the whole generation is owed instead
        _owed.owe("a stock move")


def advance_stock_sequence() -> None:
    """Count one stock move in STOCK_SEQUENCE_KEY. A missing counter (first use, eviction)
    starts at a random value, so no reader can take a restarted count for the one it read."""
    try:
        cache.incr(STOCK_SEQUENCE_KEY)
    except ValueError:  # not there
        if not cache.add(STOCK_SEQUENCE_KEY, _sequence_start(), timeout=None):
            cache.incr(STOCK_SEQUENCE_KEY)


def _sequence_start() -> int:
    return int.from_bytes(uuid.uuid4().bytes[:7], "big") + 1


def _redis():
    """(the raw Redis client, django-redis's client: its keys and value encoding) of the
    default cache, or (None, None) when it is not django-redis."""
    redis = redis_client()
    return (redis, cache.client) if redis is not None else (None, None)


def response_cache_key(namespace: str, variant: str, path: str, query: Iterable[tuple[str, str]]) -> str:
    """Key of one rendered response: endpoint, representation variant (audience, currency,
    media type) and the parsed query parameters in their canonical encoding: sorted (so
    `?a=1&b=2` and `?b=2&a=1` share an entry) and percent-encoded, so one value containing
    `&` or `=` never spells the same key as two parameters (`brand=x%26search%3Dy` is one
    filter, `brand=x&search=y` two; joining them unescaped let the first poison the second)."""
    canonical = "\n".join([path, variant, urlencode(sorted(query))])
    digest = hashlib.blake2b(canonical.encode(), digest_size=16).hexdigest()
    return f"catalog:r{ENTRY_FORMAT}:{namespace}:{digest}"


# --- list counts ---------------------------------------------------------------------------

# Parameters that choose a page of a list, not the products in it.
PAGE_PARAMETERS = frozenset({"page", "page_size", "cursor", "ordering", "format"})


def list_count_key(audience: str, path: str, query: Iterable[tuple[str, str]]) -> str:
    """Key of the bounded count of a product list: its filters (every parameter but the
    page, page size, cursor and ordering) and who asks (staff also count inactive products)."""
    return response_cache_key("count", audience, path, [(k, v) for k, v in query if k not in PAGE_PARAMETERS])


def cached_count(
    key: str, stamp_keys: Sequence[str], count: Callable[[], tuple[int, bool]], *, known: tuple | None = None
) -> tuple[int, bool]:
    """The list's (count, exact) as `count()` computes it, remembered under the list's stamp:
    every page of one filtered list, in any ordering, shares it, so paging through a list
    counts it once per catalog generation (the count stopped at 10,001 rows, but it was
    still the most expensive statement of an uncached page). The stamp is read before
    the count, as for a page; with the cache off or down, it is counted every time.
    `known`: (the stamp, the stored count entry or None) as the page's lookup read them
    (catalog.middleware: with the page's entry), so they are not read again."""
    if not settings.CATALOG_CACHE_ENABLED or not pay_owed_bump():
        return count()
    if known is not None:
        stamp, entry = known
    else:
        values = cache.get_many([*stamp_keys, key])
        if any(k not in values for k in stamp_keys):
            return count()
        stamp = tuple(values[k] for k in stamp_keys)
        entry = values.get(key)
    if isinstance(entry, tuple) and len(entry) == 3 and entry[0] == stamp:
        return entry[1], entry[2]
    counted = count()
    cache.set(key, (stamp, *counted), timeout=settings.CATALOG_CACHE_TIMEOUT)
    return counted


# --- stock templates -----------------------------------------------------------------------

# A template: (segments, slots, product ids). The page's bytes are segments[0], then for
# each slot (row index, field) the live value of that field, then the next segment.
Template = tuple[list[bytes], list[tuple[int, str]], list[str]]
STOCK_SLOTS = (("stock_quantity", "q"), ("in_stock", "b"), ("updated_at", "u"))


def plain_template(content: bytes) -> Template:
    return [content], [], []


def render_stock_template(
    rows: list[dict], render: Callable[[], bytes]
) -> tuple[bytes, Template, dict[str, tuple[int, str]]] | None:
    """Render a page showing products with their stock fields left open.

    `rows` are the serialized products inside the page's data (each with `id`,
    `stock_quantity`, `in_stock`, `updated_at`, as ProductSerializer writes them), and
    `render()` renders that data. The stock fields are replaced by placeholders carrying a
    random nonce for one render (no stored text can spell one), the bytes are cut at them,
    and the rows get their values back. Returns (the page's bytes with the rendered values,
    its template, the (stock_quantity, updated_at) per product id it was rendered with), or
    None when the placeholders did not come out one per field (the caller then renders
    normally and does not cache)."""
    nonce = uuid.uuid4().hex
    saved = [{field: row[field] for field, _ in STOCK_SLOTS} for row in rows]
    ids = [str(row["id"]) for row in rows]
    for i, row in enumerate(rows):
        for field, kind in STOCK_SLOTS:
            row[field] = f"@@{nonce}:{i}:{kind}@@"
    try:
        content = render()
    finally:
        for row, values in zip(rows, saved, strict=True):
            row.update(values)
    # Cut at the exact placeholder prefix (a plain split: a pattern with this render's nonce
    # in it would be compiled anew for every page).
    parts = content.split(b'"@@' + nonce.encode() + b":")
    segments, slots = [parts[0]], []
    for part in parts[1:]:
        head, closed, rest = part.partition(b'@@"')
        index, _, kind = head.partition(b":")
        if not (closed and index.isdigit() and kind in (b"q", b"b", b"u")):
            return None
        slots.append((int(index), kind.decode()))
        segments.append(rest)
    if sorted(slots) != sorted((i, kind) for i in range(len(rows)) for _, kind in STOCK_SLOTS):
        return None
    template: Template = (segments, slots, ids)
    rendered = {pk: (values["stock_quantity"], values["updated_at"]) for pk, values in zip(ids, saved, strict=True)}
    return fill_template(template, rendered), template, rendered


def cut_stock_template(
    content: bytes, slot: bytes, levels: dict[str, tuple[int, str]]
) -> tuple[bytes, Template] | None:
    """A page whose stock fields were all written as the placeholder `slot` (a JSON string
    carrying a nonce: the JSON the database writes for a list page, catalog.selectors.
    PageJSON), in the order of `levels`, three per product (stock_quantity, in_stock,
    updated_at: a product's own, then its variants'), cut into its template, and its bytes
    with `levels` (each product's (stock_quantity, updated_at as ISO text)) filled in. One
    split, no parsing: None when the placeholders are not three per product."""
    segments = content.split(slot)
    ids = list(levels)
    if len(segments) != 3 * len(ids) + 1:
        return None
    slots = [(i, kind) for i in range(len(ids)) for kind in ("q", "b", "u")]
    template: Template = (segments, slots, ids)
    return fill_template(template, levels), template


def fill_template(template: Template, levels: dict[str, tuple[int, str]]) -> bytes:
    """The page with each product's (stock_quantity, updated_at as ISO text) from `levels`;
    in_stock is stock_quantity > 0, as the serializer computes it."""
    segments, slots, ids = template
    parts = [segments[0]]
    for (i, kind), segment in zip(slots, segments[1:], strict=True):
        parts.append(_slot_value(kind, *levels[ids[i]]))
        parts.append(segment)
    return b"".join(parts)


# Where an entry's stock fields are in its bytes, so that a refill after a stock move can
# cut them out of the bytes it already has (no template stored beside the entry, which was
# a second copy of every page): (the template's slots, the length of each segment before a
# slot, the product ids). The values between the segments are the ones the entry shows.
Layout = tuple[tuple[tuple[int, str], ...], tuple[int, ...], tuple[str, ...]]


def template_layout(template: Template) -> Layout | None:
    """The layout of pages filled in from `template` (None: a page with no stock fields)."""
    segments, slots, ids = template
    if not ids:
        return None
    return tuple(slots), tuple(len(segment) for segment in segments[:-1]), tuple(ids)


def _slot_value(kind: str, quantity: int, updated_at: str) -> bytes:
    if kind == "q":
        return b"%d" % quantity
    if kind == "b":
        return b"true" if quantity > 0 else b"false"
    return b'"' + updated_at.encode() + b'"'


def layout_template(content: bytes, layout: Layout, shown: Sequence[tuple[int, str]]) -> Template | None:
    """The template of `content`, a page laid out as `layout` showing the levels `shown` (one
    per product id, in order): its segments are the bytes between the values those levels
    are written as. None when the bytes do not hold those values where the layout says."""
    slots, lengths, ids = layout
    if len(shown) != len(ids) or len(lengths) != len(slots):
        return None
    segments, at = [], 0
    for (i, kind), length in zip(slots, lengths, strict=True):
        segments.append(content[at : at + length])
        at += length
        value = _slot_value(kind, *shown[i])
        if content[at : at + len(value)] != value:
            return None
        at += len(value)
    segments.append(content[at:])
    return segments, list(slots), list(ids)


def stock_levels(
    product_ids: Sequence[str], catalog_token: str
) -> tuple[dict[str, tuple[int, str]], tuple[str, ...], int | None] | None:
    """Current (stock_quantity, updated_at) of `product_ids` (str ids): from their stock
    entries where both tokens are current, the rest in one query, which is then stored.
    Also the products' stock tokens, in order, as read *before* those levels (while they
    are unchanged, so are the levels), and the stock sequence read with them. None when a
    product is gone (the page is re-rendered)."""
    token_keys = {pk: product_stock_key(pk) for pk in product_ids}
    value_keys = {pk: product_stock_value_key(pk) for pk in product_ids}
    values = cache.get_many([*token_keys.values(), *value_keys.values(), STOCK_SEQUENCE_KEY])
    seq = values.get(STOCK_SEQUENCE_KEY)  # read with the tokens: no move came in between
    # A missing token (first use, eviction) gets a fresh one *before* the database read, so
    # a concurrent move's token replacing ours, or ours replacing it, is harmless either way.
    started = {token_keys[pk]: _new_token() for pk in product_ids if token_keys[pk] not in values}
    if started:
        cache.set_many(started, timeout=None)
        values.update(started)
    levels: dict[str, tuple[int, str]] = {}
    stale: list[str] = []
    for pk in product_ids:
        token, entry = values[token_keys[pk]], values.get(value_keys[pk])
        if isinstance(entry, tuple) and len(entry) == 4 and entry[:2] == (catalog_token, token):
            levels[pk] = (entry[2], entry[3])
        else:
            stale.append(pk)
    if stale:
        fresh = {pk: (quantity, iso_utc(at)) for pk, (quantity, at) in product_stock_levels(stale).items()}
        if len(fresh) != len(set(stale)):
            return None
        cache.set_many(
            {value_keys[pk]: (catalog_token, values[token_keys[pk]], *fresh[pk]) for pk in stale},
            timeout=settings.CATALOG_CACHE_TIMEOUT,
        )
        levels.update(fresh)
    return levels, tuple(values[token_keys[pk]] for pk in product_ids), seq


# --- promotion boundaries ---------------------------------------------------------------------


def set_price_boundary(when: float | None) -> None:
    """Record the Unix time of the next promotion start or end (None: none scheduled)."""
    with bypass(), contextlib.suppress(Exception):  # best effort: a missing key makes readers ask again
        cache.set(PRICE_BOUNDARY_KEY, float(when or 0), timeout=None)
        tracked.written()


def _boundary_due(value, now: float) -> bool:
    return value is None or (value > 0 and now >= value)


def prices_ensure_current(boundary=..., *, now: float | None = None) -> None:
    """Apply a due promotion start or end before a catalog read answers. `boundary`: the
    value of PRICE_BOUNDARY_KEY when the caller already read it (missing = None)."""
    if boundary is ...:
        try:
            boundary = cache.get(PRICE_BOUNDARY_KEY)
        except Exception:
            boundary = None
    if _boundary_due(boundary, time.time() if now is None else now):
        from catalog.hooks import refresh_prices

        set_price_boundary(refresh_prices())


# --- rendered responses ----------------------------------------------------------------------

# What a hit serves: the page's bytes in the encodings asked for so far ("" = identity,
# "gzip", "br"; None: compressing did not pay, send the identity; core.compression) and the
# headers the view adds to it (Allow, Vary), so the early path (catalog.middleware) answers
# exactly what the view would.
Variants = dict[str, bytes | None]


class CachedPage(NamedTuple):
    variants: Variants
    headers: dict[str, str]


# An entry: (stamp, the stock token keys of its products, their tokens and the stock levels
# as of those tokens, the bytes of the page with those levels in each encoding, headers, the
# stock sequence read with those tokens, and where its stock fields are in its bytes: the
# Layout a refill after a stock move cuts the identity bytes with; None without any).
ENTRY_LENGTH = 8
# In every response key: entries of another format (ENTRY_LENGTH and what its fields hold)
# live under other keys, so while a deploy rolls, old and new processes keep their own
# entries instead of taking each other's for misses and overwriting them on every read.
ENTRY_FORMAT = 2


# Entries this process has stored or read, by response key: (entry, size, held until). An
# entry holds the stamp it was rendered under and the stock sequence its levels were
# current at, so a held one is served while both are where the hit finds them (read from
# values this process holds while Redis says they are unchanged, core.caching.tracked), for
# at most the cache's TTL: most hits then send no command to Redis at all and never fetch
# the entry's bytes (a product list page is 40-odd kB) again. Bounded by
# CATALOG_LOCAL_ENTRIES_BYTES of page bytes per process; the oldest are dropped first.
_local_entries: OrderedDict[str, tuple[tuple, int, float]] = OrderedDict()
_local_bytes = [0]
_local_lock = threading.Lock()


def _write_entry(key: str, entry: tuple) -> None:
    """Store `entry` (one SET: no pipeline or transaction for one key), and hold it here."""
    cache.set(key, entry, timeout=settings.CATALOG_CACHE_TIMEOUT)
    _keep_local(key, entry)


def _entry_size(entry: tuple) -> int:
    variants = entry[4] if len(entry) > 4 and isinstance(entry[4], dict) else {}
    return sum(len(body) for body in variants.values() if body) + 256


def _keep_local(key: str, entry: tuple) -> None:
    limit = settings.CATALOG_LOCAL_ENTRIES_BYTES
    size = _entry_size(entry)
    if size > limit:
        return
    until = time.monotonic() + settings.CATALOG_CACHE_TIMEOUT
    with _local_lock:
        old = _local_entries.pop(key, None)
        if old is not None:
            _local_bytes[0] -= old[1]
        _local_entries[key] = (entry, size, until)
        _local_bytes[0] += size
        while _local_bytes[0] > limit and _local_entries:
            _, (_, dropped, _) = _local_entries.popitem(last=False)
            _local_bytes[0] -= dropped


def _held_entry(key: str, stamp: tuple):
    """The entry this process holds for `key`, if rendered under `stamp` and held for less
    than the cache's TTL (the TTL bounds a held copy as it bounds the stored one)."""
    held = _local_entries.get(key)
    if held is None or held[2] <= time.monotonic() or not _rendered_under(held[0], stamp):
        return None
    return held[0]


def _stored_entry(key: str, stamp: tuple, also: Sequence[str] = ()):
    """(the entry stored in Redis for `key` if it was rendered under `stamp` (then held
    here), else None; the values of the keys `also`, read with it)."""
    if also:
        values = cache.get_many([key, *also])
        entry, extra = values.pop(key, None), values
    else:
        entry, extra = cache.get(key), {}
    if not _rendered_under(entry, stamp):
        return None, extra
    _keep_local(key, entry)
    return entry, extra


def _rendered_under(entry, stamp: tuple) -> bool:
    return isinstance(entry, tuple) and len(entry) == ENTRY_LENGTH and entry[0] == stamp


# Response key -> (stock sequence, tokens): this process found its entry's tokens all
# current at that sequence, so while the sequence stays there the next hits need not read
# them. A memo only (a missing one costs one more round trip); emptied when full.
_tokens_checked: dict[str, tuple[int, tuple]] = {}
TOKENS_CHECKED_MAX = 4096


def _remember_checked(key: str, seq, tokens: tuple) -> None:
    if seq is None:
        return
    if len(_tokens_checked) >= TOKENS_CHECKED_MAX:
        _tokens_checked.clear()
    _tokens_checked[key] = (seq, tokens)


class Lookup(NamedTuple):
    """What cached_page found: the current stamp (None: the cache is down, do not store),
    the page (None: a miss) and the stock sequence as read before any rendering (None:
    unknown), which store_page needs to trust the stock a render read."""

    stamp: tuple | None
    page: CachedPage | None
    stock_seq: int | None = None
    # The values of cached_page's `also` keys (absent ones left out), when they were read:
    # with the entry, in the same round trip (a list's count, catalog.middleware).
    also: dict | None = None


def _stamp_values(stamp_keys: Sequence[str]) -> dict:
    """The stamp's generation tokens, the price boundary and the stock sequence: the hot
    keys are held in this process while Redis says they are unchanged (tracked); any other
    (a staff detail's stock token) is read from the cache."""
    hot = [k for k in stamp_keys if k in TRACKED_KEYS]
    values = tracked.get_many([*hot, PRICE_BOUNDARY_KEY, STOCK_SEQUENCE_KEY])
    others = [k for k in stamp_keys if k not in TRACKED_KEYS]
    if others:
        values.update(cache.get_many(others))
    return values


def _stock_current(key: str, entry: tuple, stock_seq, *, check: bool = False) -> bool:
    """Whether the stock levels `entry` shows are the live ones: no stock token on it, the
    stock sequence where the entry saw it, or this process found its tokens current at this
    sequence already; with `check`, else its tokens are read (with the sequence)."""
    token_keys, tokens, entry_seq = entry[1], entry[2], entry[6]
    if not token_keys or (stock_seq is not None and stock_seq == entry_seq):
        return True
    if stock_seq is not None and _tokens_checked.get(key) == (stock_seq, tokens):
        return True
    if not check:
        return False
    # Tokens and sequence in one read: the check holds for that sequence.
    now = cache.get_many([*token_keys, STOCK_SEQUENCE_KEY])
    current = all(now.get(k) == token for k, token in zip(token_keys, tokens, strict=True))
    if current:
        _remember_checked(key, now.get(STOCK_SEQUENCE_KEY), tokens)
    return current


def cached_page(
    key: str, stamp_keys: Sequence[str] = CATALOG_STAMP, *, encoding: str | None = None, also: Sequence[str] = ()
) -> Lookup:
    """(current stamp, the cached page or None, the stock sequence). The entry is served
    only when it was stored under the current stamp, with the live stock of its products. A
    missing generation (first use, eviction) is started with a fresh token; a stamp of None
    (cache down) means: do not store.

    An entry keeps its encoded bytes together with the stock tokens of its products as of
    the levels those bytes show, and the stock sequence read with those tokens. Every stock
    move advances the sequence as it replaces its tokens (atomically), so while the sequence
    is where the entry (or this process's last check of it) saw it, no token has changed.
    The steady state sends nothing to Redis: stamp, boundary and sequence are held in this
    process while Redis says they are unchanged (core.caching.tracked), so is the entry
    (_local_entries), and the stored bytes go out as they are. Once it has moved, the
    tokens are read: all unchanged, the bytes are served still; else the page is filled in
    with the live levels, encoded once and stored back for the hits after it.

    `encoding`: the one the caller will send (core.compression.response_encoding); a page
    that lacks it gets it now, stored back with the entry (once per entry and encoding).
    `also`: keys whose values a miss will want (a list's count), read with the entry when
    the entry is read from Redis (`Lookup.also`)."""
    if not settings.CATALOG_CACHE_ENABLED:
        prices_ensure_current()
        return Lookup(None, None)
    if not pay_owed_bump():
        return Lookup(None, None)  # still unreachable: nothing stored before the bump may be served
    values = _stamp_values(stamp_keys)
    if _boundary_due(values.get(PRICE_BOUNDARY_KEY), time.time()):
        # A promotion started or ended: apply it (a new generation if a price changed),
        # then read the stamp again.
        prices_ensure_current(values.get(PRICE_BOUNDARY_KEY))
        values = _stamp_values(stamp_keys)
    stock_seq = values.get(STOCK_SEQUENCE_KEY)
    if stock_seq is None:
        cache.add(STOCK_SEQUENCE_KEY, _sequence_start(), timeout=None)  # known from the next read on
    missing = [k for k in stamp_keys if k not in values]
    if missing:
        for k in missing:
            cache.add(k, _new_token(), timeout=None)
        values = cache.get_many(list(stamp_keys))
        if any(k not in values for k in stamp_keys):
            return Lookup(None, None)  # the cache is unreachable
        return Lookup(tuple(values[k] for k in stamp_keys), None, stock_seq)
    stamp = tuple(values[k] for k in stamp_keys)
    entry = _held_entry(key, stamp)
    if entry is None or not _stock_current(key, entry, stock_seq):
        # Not held, or its stock may have moved: what Redis has (another process may have
        # stored it, or filled it in with the live levels already).
        entry, extra = _stored_entry(key, stamp, also)
        if entry is None:
            return Lookup(stamp, None, stock_seq, extra)  # never stored, expired, evicted or older
        current = _stock_current(key, entry, stock_seq, check=True)
    else:
        current = True
    _, token_keys, tokens, levels_shown, variants, headers, entry_seq, layout = entry
    if current:
        if encoding is not None and encoding not in variants:  # first asked for: compressed once, kept
            variants = {**variants, **encoded_variants(variants[""], (encoding,))}
            _write_entry(key, (*entry[:4], variants, *entry[5:]))
        return Lookup(stamp, CachedPage(variants, headers), stock_seq)
    # A product's stock moved (or its token was evicted): its live level, then the page,
    # cut out of the bytes the entry holds.
    template = layout_template(variants[""], layout, levels_shown) if layout is not None else None
    if template is None:  # never stored so: rendered again, and said (a silent miss would hide a bug)
        logger.warning("catalog cache: entry %s has stock moves but no usable layout; rendering it again", key)
        return Lookup(stamp, None, stock_seq)
    live = stock_levels(template[2], stamp[0])
    if live is None:
        return Lookup(stamp, None, stock_seq)
    levels, tokens, seq = live
    now_shown = tuple(levels[pk] for pk in template[2])
    if now_shown != levels_shown:
        variants = encoded_variants(fill_template(template, levels), (encoding,) if encoding else ())
    entry = (stamp, token_keys, tokens, now_shown, variants, headers, seq, layout)
    _write_entry(key, entry)
    return Lookup(stamp, CachedPage(variants, headers), stock_seq)


def stock_tokens_since(token_keys: Sequence[str], stock_seq: int | None) -> tuple[str, ...] | None:
    """The stock tokens under `token_keys` (product_stock_key of each product), in order,
    if no stock move has replaced any token since STOCK_SEQUENCE_KEY read `stock_seq`; else
    None. A render that read the stock after `stock_seq` was read can then be stored with
    these tokens as it is, with no second read of the stock: a move that committed after
    that render read the stock advances the sequence before it replaces its tokens, so
    either the tokens read here are the old ones (and that move will replace them: the page
    is filled in on its next hit) or the sequence differs. Missing tokens (first use,
    eviction) are started only where still missing, and the sequence is read after that,
    for the same reason."""
    if stock_seq is None:
        return None
    values = _tokens_started_and_read(token_keys)
    if values is None or values.get(STOCK_SEQUENCE_KEY) != stock_seq or any(k not in values for k in token_keys):
        return None
    return tuple(values[k] for k in token_keys)


# KEYS: stock token keys, then the sequence key; ARGV[1]: 15 random digits. Reads them all
# and the sequence, and sets each token that is missing (to those digits and its 3-digit
# index: an integer token, unique to this call): atomically, in one command. Read first:
# once a page's tokens exist (nearly always) that is one MGET, not one SET per product.
START_TOKENS_LUA = """
local values = redis.call('MGET', unpack(KEYS))
for i = 1, #KEYS - 1 do
  if not values[i] then
    values[i] = ARGV[1] .. string.format('%03d', i)
    redis.call('SET', KEYS[i], values[i])
  end
end
return values
"""


def _tokens_started_and_read(token_keys: list[str]) -> dict | None:
    """{key: value} of `token_keys` (each missing one started with a fresh token) and of
    STOCK_SEQUENCE_KEY; None when the cache is down. On Redis one script call (a page's
    40-odd tokens cost one command, not one each); elsewhere key by key."""
    keys = [*token_keys, STOCK_SEQUENCE_KEY]
    redis, client = _redis()
    if redis is None:  # not django-redis: the portable way
        values = cache.get_many(keys)
        for k in token_keys:
            if k not in values:
                cache.add(k, _new_token(), timeout=None)
        values.update(cache.get_many([k for k in keys if k not in values or k == STOCK_SEQUENCE_KEY]))
        return values
    if len(token_keys) > 999:  # the script numbers the tokens it starts with three digits
        return None
    base = str(secrets.randbelow(9 * 10**14) + 10**14)
    try:
        raw = redis_script(redis, START_TOKENS_LUA)(keys=[client.make_key(k) for k in keys], args=[base])
    except Exception:  # the cache is down: nothing vouched, the page is stored the slow way or not at all
        return None
    return {k: client.decode(v) for k, v in zip(keys, raw, strict=True) if v is not None}


def store_page(
    key: str,
    stamp: tuple | None,
    content: bytes,
    *,
    headers: dict[str, str],
    template: Template | None = None,
    levels: dict[str, tuple[int, str]] | None = None,
    stock_seq: int | None = None,
    encoding: str | None = None,
) -> Variants:
    """Store a rendered response under `stamp` and return its encoded variants (for the
    response that rendered it, so it is not compressed a second time). `content` is the
    page as rendered; a page showing products also passes its `template` and the stock
    `levels` it was rendered with (render_stock_template). The products' stock entries are
    filled now (one query) and their tokens kept with the entry, so the next hit needs no
    query. Nothing is stored when the cache is off or down (`stamp` None), or when a product
    of the page is gone.

    `stock_seq` (from cached_page, read before the render) lets the levels the page was
    rendered with be stored as they are when no stock move came in between
    (stock_tokens_since): then the stock is not read a second time, which was half of
    what an uncached list page cost. `encoding`: the one the response is sent in, the
    only one compressed now (others on the first hit asking for them)."""
    encodings = (encoding,) if encoding else ()
    variants = encoded_variants(content, encodings)
    if not settings.CATALOG_CACHE_ENABLED or stamp is None:
        return variants
    template = template or plain_template(content)
    ids = template[2]
    token_keys = tuple(product_stock_key(pk) for pk in ids)
    stored, tokens, shown, seq = variants, (), (), None
    vouched = stock_tokens_since(token_keys, stock_seq) if ids and levels is not None else None
    if vouched is not None:
        tokens, shown, seq = vouched, tuple(levels[pk] for pk in ids), stock_seq
    elif ids:
        live = stock_levels(ids, stamp[0])
        if live is None:
            return variants
        now, tokens, seq = live
        shown = tuple(now[pk] for pk in ids)
        # The render read the stock before the tokens were read: store what they vouch for.
        if levels is None or shown != tuple(levels[pk] for pk in ids):
            stored = encoded_variants(fill_template(template, now), encodings)
    _write_entry(key, (stamp, token_keys, tokens, shown, stored, headers, seq, template_layout(template)))
    return variants


# --- hit ratio ---------------------------------------------------------------------------------


def _count(key: str, amount: int) -> None:
    # Best effort: a counter is never worth failing or slowing a read for.
    with contextlib.suppress(Exception):
        try:
            cache.incr(key, amount)
        except ValueError:  # not there yet (first use, eviction)
            if not cache.add(key, amount, timeout=None):
                cache.incr(key, amount)


# Lookups are counted in the process and added to the shared counters at most once a
# second (and before cache_stats() reads them), not with one Redis round trip per hit.
_pending = {HITS_KEY: 0, MISSES_KEY: 0}
_pending_lock = threading.Lock()
_last_flush = [0.0]
FLUSH_INTERVAL = 1.0


def _flush_counts() -> None:
    with _pending_lock:
        counts = {key: n for key, n in _pending.items() if n}
        for key in counts:
            _pending[key] = 0
        _last_flush[0] = time.monotonic()
    for key, n in counts.items():
        _count(key, n)


def record_lookup(hit: bool) -> None:
    """Count one cached read that the cache answered (`hit` or not): in the shared counters
    of cache_stats() and in the Prometheus counter."""
    CATALOG_CACHE_LOOKUPS.labels("hit" if hit else "miss").inc()
    with _pending_lock:
        _pending[HITS_KEY if hit else MISSES_KEY] += 1
        due = time.monotonic() - _last_flush[0] >= FLUSH_INTERVAL
    if due:
        _flush_counts()


def cache_stats() -> dict[str, float | int]:
    """Hits and misses of cached catalog reads since the counters started (shared by every
    worker; the other processes' last second may still be on its way), and the hit ratio.
    Zeros when the cache is unreachable."""
    _flush_counts()
    try:
        values = cache.get_many([HITS_KEY, MISSES_KEY])
    except Exception:
        values = {}
    hits, misses = int(values.get(HITS_KEY) or 0), int(values.get(MISSES_KEY) or 0)
    total = hits + misses
    return {"hits": hits, "misses": misses, "hit_ratio": round(hits / total, 4) if total else 0.0}
