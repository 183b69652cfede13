"""ecommerce.redis_circuit against a redis-server of its own: a Redis that does not answer
costs one socket timeout, after which the process skips it (ConnectionError at once) for
REDIS_CIRCUIT_OPEN_SECONDS; then it is asked again. A refused connection opens nothing."""

from __future__ import annotations

import time

import pytest
import redis

from ecommerce.redis_circuit import (
    CircuitBreakerConnection,
    CircuitBreakerSSLConnection,
    CircuitBreakerUnixConnection,
    cache_options,
    circuit,
)
from tests.faults.services import redis_cache_setting

TIMEOUT = 0.3


@pytest.fixture
def own_cache(settings, redis_server):
    settings.CACHES = redis_cache_setting(redis_server.url(0), prefix="circuit-test", timeout=TIMEOUT)
    settings.REDIS_CIRCUIT_OPEN_SECONDS = 1.0
    from django.core.cache import cache

    yield cache
    circuit.close()


def _timed(call):
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


def test_a_hung_redis_costs_one_timeout_then_is_skipped_until_the_circuit_closes(own_cache, redis_server):
    own_cache.set("k", "v")
    raw = own_cache.client.get_client(write=True)
    assert type(raw.connection_pool.get_connection()) is CircuitBreakerConnection
    redis_server.freeze()
    try:
        value, took = _timed(lambda: own_cache.get("k", "missed"))
        assert value == "missed" and TIMEOUT * 0.9 <= took < TIMEOUT * 3  # the one timeout
        assert circuit.is_open
        # Open: the cache answers as with Redis dead, and the raw client fails, at once.
        value, took = _timed(lambda: own_cache.get("k", "missed"))
        assert value == "missed" and took < 0.05
        stored, took = _timed(lambda: own_cache.set("k", "w"))
        assert not stored and took < 0.05
        started = time.monotonic()
        with pytest.raises(redis.ConnectionError):
            raw.get("k")
        assert time.monotonic() - started < 0.05
        time.sleep(1.05)  # the window is over: Redis is asked again (and times out again)
        value, took = _timed(lambda: own_cache.get("k", "missed"))
        assert value == "missed" and took >= TIMEOUT * 0.9 and circuit.is_open
    finally:
        redis_server.thaw()
    time.sleep(1.05)
    assert own_cache.get("k") == "v" and not circuit.is_open  # back: the cache answers again


def test_a_refused_connection_opens_nothing(own_cache, redis_server):
    redis_server.kill()
    try:
        for _ in range(3):
            value, took = _timed(lambda: own_cache.get("k", "missed"))
            assert value == "missed" and took < 0.2
        assert not circuit.is_open
    finally:
        redis_server.start()
    assert own_cache.set("k", "v") and own_cache.get("k") == "v"


@pytest.mark.parametrize(
    ("url", "connection_class"),
    [
        ("redis://127.0.0.1:6379/0", CircuitBreakerConnection),
        ("rediss://cache.example.com:6380/0", CircuitBreakerSSLConnection),
        ("unix:///run/redis.sock?db=0", CircuitBreakerUnixConnection),
    ],
)
def test_each_scheme_keeps_its_transport(url, connection_class):
    options = cache_options(url)
    assert options["CONNECTION_POOL_KWARGS"]["connection_class"] is connection_class
    pool = redis.ConnectionPool.from_url(url, **options["CONNECTION_POOL_KWARGS"])
    assert pool.connection_class is connection_class  # TLS stays TLS, a socket stays a socket
    assert options["IGNORE_EXCEPTIONS"] and options["SOCKET_TIMEOUT"] == 0.5


def test_an_unknown_scheme_is_refused():
    with pytest.raises(ValueError, match="redis://, rediss:// or unix://"):
        cache_options("memcached://127.0.0.1:11211")
