"""Values cached under a generation token (shipping's pricing config, the running
promotions): readers look the value up under the token's current value, and a write
replaces the token once its transaction commits, so the next read loads from the database.

The token is read (or started, when missing) *before* the database: a write that commits
meanwhile replaces it, so a value loaded before that write is stored under a token nobody
reads any more. A cache that is down only means every read loads from the database.
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
import time
import uuid
import weakref
from collections.abc import Callable
from typing import TypeVar

from django.core.cache import cache
from django.core.signals import setting_changed
from django.db import transaction
from django.dispatch import receiver
from redis.exceptions import ConnectionError, ResponseError, TimeoutError  # noqa: A004

from core.redis_circuit import bypass

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
        # Through an open circuit (core.redis_circuit.bypass): other processes hold the old token.
        with bypass(), contextlib.suppress(Exception):  # a cache that is down holds nothing stale
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


# --- values held in this process while Redis says they are unchanged ----------------------

INVALIDATIONS = "__redis__:invalidate"


class TrackedValues:
    """A few small, hot cache keys (the catalog's generation tokens, stock sequence and
    price boundary, read by every cached catalog hit) held in this process, and dropped the
    moment Redis says one changed: server-assisted client-side caching (`CLIENT TRACKING`,
    Redis 6+). A read connection has tracking on, redirected to a second connection
    subscribed to Redis's invalidation channel; every read first takes in the invalidations
    that arrived (one poll), so a value held here is the value in Redis while both
    connections are up. Writers of these keys call `written()` after writing: Redis sends a
    write's invalidations in the same pass as the write's reply, and one more round trip
    from the writer makes sure they have been sent to every holder before the writer goes
    on (a write is on the very next read, API.md).

    `get_many(keys)` answers as the cache's get_many does. A value is held for at most
    HELD_FOR_S even unchanged, and only while the listener answered a PING within
    LISTENER_SILENT_S (sent with the reads that go to Redis): that bounds what a connection
    that died without a word (a NAT's idle timeout, a lost host) could leave behind. A
    closed connection, a Redis restart, a flush or a fork drops everything at once. Where
    Redis does not answer in time the answer is {} (as the cache gives then) and the next
    try waits RETRY_AFTER_S; where it does not track (the command is refused) the cache
    answers every read itself. Threads share one lock; one that cannot have it at once (a
    read to Redis under way) asks the cache itself after LOCK_WAIT_S."""

    HELD_FOR_S = 1.0
    LISTENER_SILENT_S = 2.0
    RETRY_AFTER_S = 1.0
    LOCK_WAIT_S = 0.05
    MAX_HELD = 1024

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._reader = self._listener = self._poll = None
        self._held: dict[bytes, tuple[object, float]] = {}
        self._names: dict[tuple[int, str], bytes] = {}
        self._retry_at = 0.0
        self._unsupported = False
        self._broken = False
        self._ping_sent = self._pong_at = 0.0
        ref = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: (held := ref()) is not None and held._after_fork())

    def get_many(self, keys) -> dict:
        client = getattr(cache, "client", None)
        if self._unsupported or not hasattr(client, "get_client"):
            return cache.get_many(keys)
        if not self._lock.acquire(timeout=self.LOCK_WAIT_S):
            return cache.get_many(keys)
        try:
            found = self._get_many(client, keys) if self._ready(time.monotonic()) else None
        except TimeoutError:  # Redis does not answer: what the cache would say, without waiting twice
            self._stop(retry=True)
            found = {}
        except Exception:  # a connection closed, or anything else: the cache answers until the next try
            self._stop(retry=True)
            found = None
        except BaseException:
            self._stop(retry=True)
            raise
        finally:
            self._lock.release()
        return cache.get_many(keys) if found is None else found

    def _get_many(self, client, keys) -> dict:
        reader, listener = self._reader, self._listener
        if reader._sock is None or listener._sock is None:
            # redis-py dropped one (it would reconnect it on next use, without tracking)
            raise ConnectionError("a tracking connection was closed")
        self._drain()
        now = time.monotonic()
        if self._ping_sent > self._pong_at and now - self._ping_sent > self.LISTENER_SILENT_S:
            raise ConnectionError("the invalidation listener stopped answering")
        names = [self._name(client, key) for key in keys]
        found: dict = {}
        wanted = []
        for key, name in zip(keys, names, strict=True):
            held = self._held.get(name)
            if held is not None and held[1] > now:
                found[key] = held[0]
            else:
                wanted.append((key, name))
        if wanted:
            if now - self._ping_sent >= self.HELD_FOR_S and self._pong_at >= self._ping_sent:
                listener.send_command("PING")
                self._ping_sent = now
            reader.send_command("MGET", *(name for _, name in wanted))
            values = reader.read_response()
            if self._broken:  # Redis said the redirect broke while we read
                raise ConnectionError("the tracking redirect broke")
            if len(self._held) + len(wanted) > self.MAX_HELD:
                self._held.clear()
            until = now + self.HELD_FOR_S
            for (key, name), raw in zip(wanted, values, strict=True):
                if raw is not None:
                    found[key] = value = client.decode(raw)
                    self._held[name] = (value, until)
        return found

    def _name(self, client, key: str) -> bytes:
        memo = (id(client), key)
        name = self._names.get(memo)
        if name is None:
            if len(self._names) >= self.MAX_HELD:
                self._names.clear()
            name = self._names[memo] = client.make_key(key).encode()
        return name

    def written(self) -> None:
        """After this process wrote keys others may hold: one more round trip, so Redis has
        sent the invalidations of those writes to every holder (best effort)."""
        redis = redis_client()
        if redis is not None:
            with bypass(), contextlib.suppress(Exception):
                redis.ping()

    def clear(self) -> None:
        """Drop every value held (the connections stay)."""
        with self._lock:
            self._held.clear()

    def reset(self) -> None:
        """Start again from nothing: connections closed, values dropped, no retry pending."""
        with self._lock:
            self._stop(retry=False)
            self._retry_at = 0.0
            self._unsupported = False
            self._names.clear()

    def _after_fork(self) -> None:
        """In a forked child: the parent's connections and lock are not this process's
        (another thread of the parent may have held the lock at the fork)."""
        self._lock = threading.Lock()
        self._reader = self._listener = self._poll = None
        self._held.clear()

    def _ready(self, now: float) -> bool:
        if self._reader is not None:
            return True
        if now < self._retry_at:
            return False
        self._start()
        return True

    def _start(self) -> None:
        redis = redis_client()
        pool = redis.connection_pool
        # The pool's own connection settings, TCP keepalive included (core.redis_circuit.cache_options:
        # not for a Unix socket, whose connection class takes no such option).
        kwargs = {k: v for k, v in pool.connection_kwargs.items() if not k.startswith("maint_notifications")}
        listener, reader = pool.connection_class(**kwargs), pool.connection_class(**kwargs)
        self._broken = False
        try:
            listener.connect()
            listener._parser.set_pubsub_push_handler(_as_is)
            listener._parser.set_invalidation_push_handler(_as_is)
            listener.send_command("CLIENT", "ID")
            listener_id = listener.read_response()
            listener.send_command("SUBSCRIBE", INVALIDATIONS)
            listener.read_response(push_request=True)  # hiredis hands pub/sub replies over as pushes
            reader.connect()
            reader._parser.set_pubsub_push_handler(self._reader_notice)
            try:
                reader.send_command("CLIENT", "TRACKING", "ON", "REDIRECT", listener_id)
                reader.read_response()
            except ResponseError as error:
                # No tracking here (an older or restricted server); not when only the
                # listener went away meanwhile.
                self._unsupported = "redirect" not in str(error).lower()
                raise
        except BaseException:
            listener.disconnect()
            reader.disconnect()
            raise
        poll = select.poll()
        for connection in (listener, reader):
            poll.register(connection._sock, select.POLLIN)
        self._listener, self._reader, self._poll = listener, reader, poll
        self._held.clear()
        self._ping_sent = self._pong_at = time.monotonic()

    def _reader_notice(self, message):
        """A push on the read connection: in RESP3, Redis's word that the redirect broke."""
        self._broken = True
        return message

    def _drain(self) -> None:
        """Take in the invalidations (and PING answers) that arrived; a read connection with
        anything to say (closed, or a broken redirect) ends everything."""
        if not self._poll.poll(0) and not _pending(self._listener):
            return
        if self._reader.can_read(0):
            raise ConnectionError("the tracking connection closed or broke")
        while self._listener.can_read(0):
            message = self._listener.read_response(push_request=True)
            # RESP3: ["invalidate", keys] and "PONG"; RESP2: ["message",
            # "__redis__:invalidate", keys] and ["pong", ""]. keys None: a flush.
            if message in (b"PONG", "PONG") or (isinstance(message, list) and message[:1] == [b"pong"]):
                self._pong_at = time.monotonic()
                continue
            if not isinstance(message, list) or len(message) < 2:
                continue
            if message[0] == b"invalidate":
                names = message[1]
            elif message[0] == b"message" and len(message) == 3:
                names = message[2]
            else:
                continue
            if names is None:
                self._held.clear()
            else:
                for name in names if isinstance(names, list) else [names]:
                    self._held.pop(name, None)

    def _stop(self, *, retry: bool) -> None:
        for connection in (self._listener, self._reader):
            if connection is not None:
                with contextlib.suppress(Exception):
                    connection.disconnect()
        self._reader = self._listener = self._poll = None
        self._held.clear()
        if retry:
            self._retry_at = time.monotonic() + self.RETRY_AFTER_S


def _as_is(message):
    return message


def _pending(connection) -> bool:
    """Bytes already read from the socket and not parsed yet (TLS)."""
    sock = connection._sock
    return bool(getattr(sock, "pending", None) and sock.pending())


tracked = TrackedValues()


@receiver(setting_changed)
def _cache_changed(setting, **kwargs) -> None:
    if setting == "CACHES":  # tests point the cache elsewhere: so must the held values
        tracked.reset()
