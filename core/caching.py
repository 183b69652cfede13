"""Values cached under a generation token (shipping's pricing config, the running
promotions): readers look the value up under the token's current value, and a write
replaces the token once its transaction commits, so the next read loads from the database.

The token is read (or started, when missing) *before* the database: a write that commits
meanwhile replaces it, so a value loaded before that write is stored under a token nobody
reads any more. A cache that is down only means every read loads from the database.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable
from typing import TypeVar

from django.core.cache import cache
from django.db import transaction

T = TypeVar("T")


def generation_cached(generation_key: str, name: str, load: Callable[[], T], *, valid, timeout: int) -> T:
    """The value stored under `name` for the current token of `generation_key`, when
    `valid(value)`; else `load()`, stored there (best effort) for `timeout` seconds."""
    try:
        token = cache.get(generation_key)
        if token is None:
            token = uuid.uuid4().hex
            if not cache.add(generation_key, token, timeout=None):
                token = cache.get(generation_key)
        key = f"{name}:{token}"
        value = cache.get(key)
    except Exception:  # the cache is down: the database answers
        return load()
    if valid(value):
        return value
    value = load()
    with contextlib.suppress(Exception):  # best effort: the next read loads it again
        cache.set(key, value, timeout=timeout)
    return value


def bump_generation_on_commit(generation_key: str) -> None:
    """Replace the token of `generation_key` once the current transaction commits."""

    def bump() -> None:
        with contextlib.suppress(Exception):  # a cache that is down holds nothing stale
            cache.set(generation_key, uuid.uuid4().hex, timeout=None)

    transaction.on_commit(bump)


def redis_client():
    """The raw Redis client behind the default cache, or None when the cache is not
    django-redis (the local-memory cache of development and tests)."""
    client = getattr(cache, "client", None)
    if not hasattr(client, "get_client"):
        return None
    return client.get_client(write=True)


_scripts: dict = {}


def redis_script(redis, source: str):
    """`source` registered as a Lua script on `redis` (sent by its SHA, loaded on demand),
    once per client and script."""
    script = _scripts.get((id(redis), source))
    if script is None:
        script = _scripts[(id(redis), source)] = redis.register_script(source)
    return script
