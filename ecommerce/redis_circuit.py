"""The cache's Redis connections, with a circuit breaker for a Redis that does not answer.

A dead Redis costs nothing: the connection is refused at once, and every caller already
answers without the cache (misses, rate limits open, anonymous carts 503). A *hung* one (a
stopped process, a network that drops packets) costs every command its socket timeout, and
a catalog read makes several: measured with the server stopped by SIGSTOP, an uncached
product list took 3.5-4.0 s instead of 20 ms (`/work/prof/hung.py`-style loop through
the WSGI handler, 0.5 s timeouts). So the first command that times out opens the circuit:
for REDIS_CIRCUIT_OPEN_SECONDS every connection of the process fails at once with the
ConnectionError a dead Redis raises; after that the next command tries Redis again (one
timeout per window and process while it stays hung). Connection refused and other errors
do not open it: they are fast already.

`cache_options(url)` is the django-redis OPTIONS of the shared cache (settings and the
tests that run a Redis of their own use the same): short socket timeouts, errors answered
as misses, no retries, and this module's connection class for the URL's scheme (TLS for
rediss://, a Unix socket for unix://)."""

from __future__ import annotations

import logging
import threading
import time
from urllib.parse import urlsplit

import redis
from django.conf import settings
from redis.backoff import NoBackoff
from redis.connection import Connection, SSLConnection, UnixDomainSocketConnection
from redis.retry import Retry

logger = logging.getLogger("ecommerce.cache")

DEFAULT_OPEN_SECONDS = 2.0


class Circuit:
    """Process-wide: every thread's connections share it (threads of one process are stuck
    on the same Redis)."""

    def __init__(self) -> None:
        self._open_until = 0.0
        self._lock = threading.Lock()

    @property
    def open_seconds(self) -> float:
        return float(getattr(settings, "REDIS_CIRCUIT_OPEN_SECONDS", DEFAULT_OPEN_SECONDS))

    def check(self) -> None:
        if time.monotonic() < self._open_until:
            raise redis.ConnectionError("Redis did not answer in time: not asked again for a moment")

    def trip(self) -> None:
        seconds = self.open_seconds
        with self._lock:
            already_open = time.monotonic() < self._open_until
            self._open_until = time.monotonic() + seconds
        if not already_open:
            logger.warning("Redis did not answer in time: the cache is skipped for %s s", seconds)

    def close(self) -> None:
        """Back to normal (tests)."""
        self._open_until = 0.0

    @property
    def is_open(self) -> bool:
        return time.monotonic() < self._open_until


circuit = Circuit()


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
            return super().read_response(*args, **kwargs)
        except redis.TimeoutError:
            circuit.trip()
            raise


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


def cache_options(url: str, *, timeout: float = 0.5, max_connections: int = 100) -> dict:
    """django-redis OPTIONS for the cache at `url` (see the module docstring)."""
    scheme = urlsplit(url).scheme
    if scheme not in CONNECTION_CLASSES:
        raise ValueError(f"REDIS_URL must be redis://, rediss:// or unix://, not {scheme}://")
    return {
        "CLIENT_CLASS": "django_redis.client.DefaultClient",
        "SOCKET_CONNECT_TIMEOUT": timeout,
        "SOCKET_TIMEOUT": timeout,
        "IGNORE_EXCEPTIONS": True,
        "CONNECTION_POOL_KWARGS": {
            "max_connections": max_connections,
            # redis-py 8 retries failed commands with exponential backoff by default
            # (seconds per call when Redis is down); a cache miss is the right answer.
            "retry": Retry(NoBackoff(), 0),
            "connection_class": CONNECTION_CLASSES[scheme],
        },
    }
