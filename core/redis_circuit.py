"""The cache's Redis connections, with a circuit breaker for a Redis that does not answer.

A dead Redis costs nothing: the connection is refused at once, and every caller already
answers without the cache (misses, rate limits open, anonymous carts 503). A *hung* one (a
stopped process, a network that drops packets) costs every command its socket timeout, and
a catalog read makes several: measured with the server stopped by SIGSTOP, an uncached
product list took 3.5-4.0 s instead of 20 ms (`/work/prof/hung.py`-style loop through
the WSGI handler, 0.5 s timeouts). So the first command that times out opens the circuit:
for REDIS_CIRCUIT_OPEN_SECONDS every connection of the process fails at once with the
ConnectionError a dead Redis raises. When the window is over one command (the probe) goes
to Redis while the others keep failing at once: its answer closes the circuit, its timeout
opens it again (one timeout per window and process while Redis stays hung). Connection
refused and other errors do not open it: they are fast already.

The circuit belongs to one process, and may be open while Redis answers the others (a
window not yet over, a timeout only this process saw). So writes that make other processes
drop what they hold go through it (`bypass()`): generation bumps (catalog, shipping,
promotions), stock tokens, ended sessions, the replica's write fence: skipped, they would
leave every other process serving what they invalidate. One that times out shows Redis
does not answer this process: the others fail at once until the window is over (a read
path may write, e.g. the price boundary a read could not find, and would otherwise wait a
timeout on every request). Pool connections use TCP keepalive, so an idle one
that a NAT or load balancer forgot is not what opens the circuit.

`cache_options(url)` is the django-redis OPTIONS of the shared cache (settings and the
tests that run a Redis of their own use the same): short socket timeouts, errors answered
as misses, no retries, and this module's connection class for the URL's scheme (TLS for
rediss://, a Unix socket for unix://)."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import redis
from django.conf import settings
from redis.backoff import NoBackoff
from redis.connection import Connection, SSLConnection, UnixDomainSocketConnection
from redis.retry import Retry

logger = logging.getLogger("ecommerce.cache")

DEFAULT_OPEN_SECONDS = 2.0


# How long the probe after a window may take before another command may probe instead.
PROBE_SECONDS = 2.0
_local = threading.local()


class Circuit:
    """Process-wide: every thread's connections share it (threads of one process are stuck
    on the same Redis). States: closed (`_open_until` 0), open (until `_open_until`), then
    half-open (one probe at a time until an answer closes it or a timeout opens it)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open_until = 0.0
        self._probe_until = 0.0
        self._prober = 0
        self._bypass_until = 0.0  # a bypassed command timed out: the others fail until then
        os.register_at_fork(after_in_child=self._after_fork)

    @property
    def open_seconds(self) -> float:
        return float(getattr(settings, "REDIS_CIRCUIT_OPEN_SECONDS", DEFAULT_OPEN_SECONDS))

    def check(self) -> None:
        """Before a command is sent: ConnectionError unless it may go to Redis."""
        if not self._open_until:
            return
        now = time.monotonic()
        if getattr(_local, "bypass", 0):
            if now < self._bypass_until:
                raise redis.ConnectionError("Redis did not answer in time: not asked again for a moment")
            return
        me = threading.get_ident()
        with self._lock:
            if now < self._probe_until and self._prober == me:
                return  # the probe's own commands (a reconnect's handshake, then the command)
            if now < self._open_until or now < self._probe_until:
                raise redis.ConnectionError("Redis did not answer in time: not asked again for a moment")
            self._probe_until, self._prober = now + PROBE_SECONDS, me  # this thread probes

    def answered(self) -> None:
        """A reply came: Redis answers (closes an open or half-open circuit)."""
        if self._open_until:
            with self._lock:
                self._open_until = self._probe_until = self._bypass_until = 0.0
            logger.warning("Redis answers again: the cache is used again")

    def trip(self) -> None:
        seconds = self.open_seconds
        with self._lock:
            already_open = bool(self._open_until)
            self._open_until = time.monotonic() + seconds
            self._probe_until = 0.0
            if getattr(_local, "bypass", 0):  # even the writes that go through it do not get an answer
                self._bypass_until = self._open_until
        if not already_open:
            logger.warning("Redis did not answer in time: the cache is skipped for %s s", seconds)

    def close(self) -> None:
        """Back to normal (tests)."""
        with self._lock:
            self._open_until = self._probe_until = self._bypass_until = 0.0

    @property
    def is_open(self) -> bool:
        return time.monotonic() < self._open_until

    def _after_fork(self) -> None:
        self._lock = threading.Lock()  # another thread may have held it at the fork


circuit = Circuit()


@contextlib.contextmanager
def bypass() -> Iterator[None]:
    """Commands in this block go to Redis even while the circuit is open (see the module
    docstring: writes that make other processes drop what they hold)."""
    depth = getattr(_local, "bypass", 0)
    _local.bypass = depth + 1
    try:
        yield
    finally:
        _local.bypass = depth


class CircuitBreakerMixin:
    """Fails at once while the circuit is open; a timeout opens it."""

    def connect(self):
        circuit.check()
        try:
            return super().connect()
        except redis.TimeoutError:
            circuit.trip()
            raise

    def send_packed_command(self, command, check_health=True):
        circuit.check()
        try:
            return super().send_packed_command(command, check_health)
        except redis.TimeoutError:
            circuit.trip()
            raise

    def read_response(self, *args, **kwargs):
        try:
            response = super().read_response(*args, **kwargs)
        except redis.TimeoutError:
            circuit.trip()
            raise
        circuit.answered()
        return response


class CircuitBreakerConnection(CircuitBreakerMixin, Connection):
    pass


class CircuitBreakerSSLConnection(CircuitBreakerMixin, SSLConnection):
    pass


class CircuitBreakerUnixConnection(CircuitBreakerMixin, UnixDomainSocketConnection):
    pass


CONNECTION_CLASSES = {
    "redis": CircuitBreakerConnection,
    "rediss": CircuitBreakerSSLConnection,
    "unix": CircuitBreakerUnixConnection,
}


# TCP keepalive: probe an idle connection after 60 s, every 10 s, give up after 3 probes.
KEEPALIVE_OPTIONS = {
    getattr(socket, name): value
    for name, value in (("TCP_KEEPIDLE", 60), ("TCP_KEEPINTVL", 10), ("TCP_KEEPCNT", 3))
    if hasattr(socket, name)
}


def cache_options(url: str, *, timeout: float = 0.5, max_connections: int = 100) -> dict:
    """django-redis OPTIONS for the cache at `url` (see the module docstring)."""
    scheme = urlsplit(url).scheme
    if scheme not in CONNECTION_CLASSES:
        raise ValueError(f"REDIS_URL must be redis://, rediss:// or unix://, not {scheme}://")
    pool = {
        "max_connections": max_connections,
        # redis-py 8 retries failed commands with exponential backoff by default (seconds
        # per call when Redis is down); a cache miss is the right answer.
        "retry": Retry(NoBackoff(), 0),
        "connection_class": CONNECTION_CLASSES[scheme],
    }
    if scheme != "unix":
        # An idle connection a NAT or load balancer would forget (and the next command on
        # it time out, opening the circuit) is kept alive instead.
        pool.update(socket_keepalive=True, socket_keepalive_options=KEEPALIVE_OPTIONS)
    return {
        "CLIENT_CLASS": "django_redis.client.DefaultClient",
        "SOCKET_CONNECT_TIMEOUT": timeout,
        "SOCKET_TIMEOUT": timeout,
        "IGNORE_EXCEPTIONS": True,
        "CONNECTION_POOL_KWARGS": pool,
    }
