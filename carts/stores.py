"""Where cart lines live: the database for customers, Redis for anonymous visitors.

Every store holds {product_id: quantity} lines, oldest first, and makes each write atomic on
its own (no lost update when two requests change the same cart at once):

- `DatabaseCartStore`: `Cart`/`CartItem` rows; every write locks the cart row
  (`select_for_update`) inside a transaction.
- `RedisCartStore`: one hash per cart, `p:<product>` -> quantity and `o:<product>` -> the
  order it was added in, under a cache-prefixed key; every write is one Lua script (atomic in
  Redis) that also refreshes the TTL.
- `LocalCacheCartStore`: the embedded default (no REDIS_URL): the same data as a dict in the
  Django cache, read-modify-write under a process lock (LocMemCache is per process anyway).

Anonymous carts are named by an unguessable token (256 random bits); the token is the only
key, so one visitor's token can never reach another visitor's lines.
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol
from uuid import UUID

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

from carts.errors import CartStoreUnavailable
from carts.models import Cart, CartItem
from core.caching import redis_client, redis_script

logger = logging.getLogger(__name__)

TOKEN_BYTES = 32  # 256 bits
_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")  # token_urlsafe(32): 43 base64url characters


def new_cart_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def is_well_formed_token(token: object) -> bool:
    return isinstance(token, str) and bool(_TOKEN_RE.match(token))


class LineLimitExceeded(Exception):
    """An add would take the line above `limit`; `current` is the quantity already there."""

    def __init__(self, current: int) -> None:
        self.current = current
        super().__init__(current)


class CartStore(Protocol):
    def lines(self) -> dict[UUID, int]: ...

    def add(self, product_id: UUID, quantity: int, *, limit: int) -> int:
        """Add `quantity` to the line (creating it) and return the new quantity; raise
        `LineLimitExceeded` and change nothing if the result would exceed `limit`."""

    def set(self, product_id: UUID, quantity: int) -> bool:
        """Set an existing line's quantity; False (and no change) if there is no such line."""

    def remove(self, product_id: UUID) -> bool:
        """Delete a line; False if there was none."""

    def clear(self) -> None: ...


# --- database ---------------------------------------------------------------------------


def lock_user_cart(user, *, create: bool) -> Cart | None:
    """The user's cart row, locked until the end of the caller's transaction (created on
    demand when `create`). Two first writes racing to create it end up on the same row."""
    cart = Cart.objects.select_for_update().filter(user=user).first()
    if cart is not None or not create:
        return cart
    try:
        with transaction.atomic():
            return Cart.objects.create(user=user)
    except IntegrityError:  # the other request created it first; wait for its lock
        return Cart.objects.select_for_update().get(user=user)


def touch_cart(cart: Cart) -> None:
    """Abandoned-cart reports and the purge job read `updated_at`: every write moves it."""
    Cart.objects.filter(pk=cart.pk).update(updated_at=timezone.now())


class DatabaseCartStore:
    def __init__(self, user) -> None:
        self.user = user

    def lines(self) -> dict[UUID, int]:
        rows = CartItem.objects.filter(cart__user=self.user).order_by("added_at", "id")
        return dict(rows.values_list("product_id", "quantity"))

    def add(self, product_id: UUID, quantity: int, *, limit: int) -> int:
        with transaction.atomic():
            cart = lock_user_cart(self.user, create=True)
            item = CartItem.objects.filter(cart=cart, product_id=product_id).first()
            current = item.quantity if item else 0
            if current + quantity > limit:
                raise LineLimitExceeded(current)
            if item is None:
                CartItem.objects.create(cart=cart, product_id=product_id, quantity=quantity)
            else:
                item.quantity = current + quantity
                item.save(update_fields=["quantity", "updated_at"])
            touch_cart(cart)
            return current + quantity

    def set(self, product_id: UUID, quantity: int) -> bool:
        with transaction.atomic():
            cart = lock_user_cart(self.user, create=False)
            if cart is None:
                return False
            updated = CartItem.objects.filter(cart=cart, product_id=product_id).update(
                quantity=quantity, updated_at=timezone.now()
            )
            if updated:
                touch_cart(cart)
            return bool(updated)

    def remove(self, product_id: UUID) -> bool:
        with transaction.atomic():
            cart = lock_user_cart(self.user, create=False)
            if cart is None:
                return False
            deleted, _ = CartItem.objects.filter(cart=cart, product_id=product_id).delete()
            if deleted:
                touch_cart(cart)
            return bool(deleted)

    def clear(self) -> None:
        with transaction.atomic():
            cart = lock_user_cart(self.user, create=False)
            if cart is not None:
                CartItem.objects.filter(cart=cart).delete()
                touch_cart(cart)


# --- anonymous: Redis -------------------------------------------------------------------

# Fields: "seq" (a counter, so an empty cart still exists), "p:<id>" quantity, "o:<id>" order.
_LUA_ADD = """
local f = 'p:' .. ARGV[1]
local current = tonumber(redis.call('HGET', KEYS[1], f) or '0')
local new = current + tonumber(ARGV[2])
if new > tonumber(ARGV[3]) then return {0, current} end
if current == 0 then
  redis.call('HSET', KEYS[1], 'o:' .. ARGV[1], redis.call('HINCRBY', KEYS[1], 'seq', 1))
end
redis.call('HSET', KEYS[1], f, new)
redis.call('EXPIRE', KEYS[1], ARGV[4])
return {1, new}
"""
_LUA_SET = """
if redis.call('HEXISTS', KEYS[1], 'p:' .. ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'p:' .. ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
"""
_LUA_REMOVE = """
local removed = redis.call('HDEL', KEYS[1], 'p:' .. ARGV[1], 'o:' .. ARGV[1])
if removed > 0 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return removed
"""
_LUA_CLEAR = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'seq', 0)
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1
"""
# Read and delete in one step: of two merges of the same token, only one gets the lines.
_LUA_TAKE = """
local fields = redis.call('HGETALL', KEYS[1])
redis.call('DEL', KEYS[1])
return fields
"""
# Put lines back (a merge whose database transaction failed), summing with anything the
# visitor added meanwhile.
_LUA_RESTORE = """
redis.call('HSETNX', KEYS[1], 'seq', 0)
for i = 2, #ARGV, 2 do
  local pid = ARGV[i]
  if redis.call('HEXISTS', KEYS[1], 'p:' .. pid) == 0 then
    redis.call('HSET', KEYS[1], 'o:' .. pid, redis.call('HINCRBY', KEYS[1], 'seq', 1))
  end
  redis.call('HINCRBY', KEYS[1], 'p:' .. pid, ARGV[i + 1])
end
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1
"""


def _ttl() -> int:
    return int(settings.ANONYMOUS_CART_TTL)


def _parse_hash(fields: dict) -> dict[UUID, int]:
    quantities: dict[str, int] = {}
    order: dict[str, int] = {}
    for raw_key, raw_value in fields.items():
        key = raw_key.decode() if isinstance(raw_key, bytes) else str(raw_key)
        if key.startswith("p:"):
            quantities[key[2:]] = int(raw_value)
        elif key.startswith("o:"):
            order[key[2:]] = int(raw_value)
    ordered = sorted(quantities, key=lambda pid: (order.get(pid, 0), pid))
    return {UUID(pid): quantities[pid] for pid in ordered if quantities[pid] > 0}


@contextmanager
def _redis_errors() -> Iterator[None]:
    from redis.exceptions import RedisError

    try:
        yield
    except RedisError as exc:
        # No traceback: its locals would write cart tokens (the only key to a cart) to the logs.
        logger.warning("anonymous cart store unavailable: %s", exc.__class__.__name__)
        raise CartStoreUnavailable() from exc


class RedisCartStore:
    def __init__(self, token: str) -> None:
        self.token = token
        # cache.make_key applies the cache's KEY_PREFIX and version: keys stay namespaced.
        self.key = cache.make_key(f"carts:anon:{token}")

    @staticmethod
    def _conn():
        # The default cache's own client (core.caching), as every other Redis user here.
        return redis_client()

    def _run(self, script: str, *args):
        with _redis_errors():
            return redis_script(self._conn(), script)(keys=[self.key], args=list(args))

    def exists(self) -> bool:
        with _redis_errors():
            return bool(self._conn().exists(self.key))

    def lines(self) -> dict[UUID, int]:
        with _redis_errors():
            return _parse_hash(self._conn().hgetall(self.key))

    def add(self, product_id: UUID, quantity: int, *, limit: int) -> int:
        ok, value = self._run(_LUA_ADD, str(product_id), quantity, limit, _ttl())
        if not ok:
            raise LineLimitExceeded(int(value))
        return int(value)

    def set(self, product_id: UUID, quantity: int) -> bool:
        return bool(self._run(_LUA_SET, str(product_id), quantity, _ttl()))

    def remove(self, product_id: UUID) -> bool:
        return bool(self._run(_LUA_REMOVE, str(product_id), _ttl()))

    def clear(self) -> None:
        self._run(_LUA_CLEAR, _ttl())

    def take(self) -> dict[UUID, int]:
        flat = self._run(_LUA_TAKE)
        return _parse_hash(dict(zip(flat[::2], flat[1::2], strict=True)))

    def restore(self, lines: dict[UUID, int]) -> None:
        args: list = [_ttl()]
        for product_id, quantity in lines.items():
            args += [str(product_id), quantity]
        self._run(_LUA_RESTORE, *args)


# --- anonymous: local cache (embedded default) ---------------------------------------------

_local_lock = threading.Lock()


class LocalCacheCartStore:
    """The Django cache API: {product_id (str): quantity}, a dict keeping insertion order."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.key = f"carts:anon:{token}"

    def _load(self) -> dict[str, int] | None:
        return cache.get(self.key)

    def _save(self, lines: dict[str, int]) -> None:
        cache.set(self.key, lines, timeout=_ttl())

    def exists(self) -> bool:
        return self._load() is not None

    def lines(self) -> dict[UUID, int]:
        return {UUID(pid): qty for pid, qty in (self._load() or {}).items()}

    def add(self, product_id: UUID, quantity: int, *, limit: int) -> int:
        with _local_lock:
            lines = self._load() or {}
            current = lines.get(str(product_id), 0)
            if current + quantity > limit:
                raise LineLimitExceeded(current)
            lines[str(product_id)] = current + quantity
            self._save(lines)
            return current + quantity

    def set(self, product_id: UUID, quantity: int) -> bool:
        with _local_lock:
            lines = self._load() or {}
            if str(product_id) not in lines:
                return False
            lines[str(product_id)] = quantity
            self._save(lines)
            return True

    def remove(self, product_id: UUID) -> bool:
        with _local_lock:
            lines = self._load() or {}
            if lines.pop(str(product_id), None) is None:
                return False
            self._save(lines)
            return True

    def clear(self) -> None:
        with _local_lock:
            if self._load() is not None:
                self._save({})

    def take(self) -> dict[UUID, int]:
        with _local_lock:
            lines = self._load() or {}
            cache.delete(self.key)
        return {UUID(pid): qty for pid, qty in lines.items()}

    def restore(self, lines: dict[UUID, int]) -> None:
        with _local_lock:
            current = self._load() or {}
            for product_id, quantity in lines.items():
                current[str(product_id)] = current.get(str(product_id), 0) + quantity
            self._save(current)


AnonymousCartStore = RedisCartStore | LocalCacheCartStore


def uses_redis() -> bool:
    return settings.CACHES["default"]["BACKEND"] == "django_redis.cache.RedisCache"


def anonymous_cart_store(token: str) -> AnonymousCartStore:
    """The store of the anonymous cart named `token` (which may not exist)."""
    return RedisCartStore(token) if uses_redis() else LocalCacheCartStore(token)
