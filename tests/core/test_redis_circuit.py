"""core.redis_circuit against a redis-server of its own: a Redis that does not answer
costs one socket timeout, after which the process skips it (ConnectionError at once) for
REDIS_CIRCUIT_OPEN_SECONDS; then it is asked again. A refused connection opens nothing."""

from __future__ import annotations

import threading
import time

import pytest
import redis

from core.redis_circuit import (
    CircuitBreakerConnection,
    CircuitBreakerSSLConnection,
    CircuitBreakerUnixConnection,
    bypass,
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

    return cache  # (tests/conftest.py closes the circuit before every test)


def _timed(call):
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


def test_a_hung_redis_costs_one_timeout_then_is_skipped_until_the_circuit_closes(own_cache, redis_server):
    own_cache.set("k", "v")
    raw = own_cache.client.get_client(write=True)
    assert raw.connection_pool.connection_class is CircuitBreakerConnection
    redis_server.freeze()
    try:
        value, took = _timed(lambda: own_cache.get("k", "missed"))
        assert value == "missed" and TIMEOUT * 0.9 <= took < TIMEOUT * 3  # the one timeout
        assert circuit.is_open
        # Open: the cache answers as with Redis dead, and the raw client fails, at once.
        value, took = _timed(lambda: own_cache.get("k", "missed"))
        assert value == "missed" and took < TIMEOUT / 2
        stored, took = _timed(lambda: own_cache.set("k", "w"))
        assert not stored and took < TIMEOUT / 2
        started = time.monotonic()
        with pytest.raises(redis.ConnectionError):
            raw.get("k")
        assert time.monotonic() - started < TIMEOUT / 2
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


# --- what goes through an open circuit ---------------------------------------------------------


@pytest.fixture
def opened(own_cache):
    """The circuit open while Redis answers (a window not over yet, or a timeout only this
    process saw): what other processes read is in Redis, healthy."""
    own_cache.set("probe", "1")
    circuit.trip()
    assert circuit.is_open and own_cache.get("probe") is None  # reads skip Redis
    return own_cache


@pytest.mark.django_db
def test_invalidating_writes_reach_redis_through_an_open_circuit(opened, django_capture_on_commit_callbacks):
    from catalog.cache import GENERATION_KEY
    from catalog.services import catalog_changed
    from core.caching import bump_generation_on_commit
    from ecommerce.db import FENCE_KEY, _advance_fence
    from shipping.selectors import GENERATION_KEY as SHIPPING_GENERATION

    raw = opened.client.get_client(write=True)

    def stored(key):  # what another process, its circuit closed, reads
        with bypass():
            return raw.get(opened.make_key(key))

    with bypass():
        raw.set(opened.make_key(SHIPPING_GENERATION), opened.client.encode("old"))
    circuit.trip()  # (an answer closes it: open it again before each write)
    with django_capture_on_commit_callbacks(execute=True):
        bump_generation_on_commit(SHIPPING_GENERATION)  # shipping and promotions config
    assert opened.client.decode(stored(SHIPPING_GENERATION)) != "old"

    before = stored(GENERATION_KEY)
    circuit.trip()
    with django_capture_on_commit_callbacks(execute=True):
        catalog_changed()
    assert stored(GENERATION_KEY) not in (None, before)

    circuit.trip()
    assert _advance_fence(12345) == 12345 and int(stored(FENCE_KEY)) == 12345  # the replica's write fence


@pytest.mark.django_db
def test_an_ended_session_is_forgotten_through_an_open_circuit(opened, django_capture_on_commit_callbacks):
    from accounts.selectors import session_cache_key
    from accounts.services import _sessions_forget

    family_id = "5a1d6c1e-0000-4000-8000-000000000001"
    raw = opened.client.get_client(write=True)
    key = opened.make_key(session_cache_key(family_id))
    with bypass():  # another process, its circuit closed, holds the session "active"
        raw.set(key, opened.client.encode("user-42"))
    circuit.trip()
    with django_capture_on_commit_callbacks(execute=True):
        _sessions_forget([family_id])
    with bypass():
        assert opened.client.decode(raw.get(key)) == ""  # "ended", for every process


def test_an_answer_closes_the_circuit(opened):
    assert circuit.is_open
    with bypass():
        assert opened.set("k", "v")  # Redis answered
    assert not circuit.is_open and opened.get("k") == "v"


def test_after_the_window_one_command_probes_and_the_others_fail_at_once(own_cache, redis_server):
    own_cache.set("k", "v")
    redis_server.freeze()
    try:
        own_cache.get("k")  # the timeout that opens the circuit
        assert circuit.is_open
        time.sleep(1.05)  # the window is over: half-open
        waits: list[float] = []

        def read():
            started = time.monotonic()
            own_cache.get("k")
            waits.append(time.monotonic() - started)

        threads = [threading.Thread(target=read) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(waits) == 4
        assert sum(wait >= TIMEOUT * 0.9 for wait in waits) == 1, waits  # the probe's timeout only
        assert circuit.is_open  # and it opened the circuit again
    finally:
        redis_server.thaw()


def test_a_bypassed_write_that_times_out_stops_the_others_until_the_window_is_over(own_cache, redis_server):
    """A read path may write through the circuit (the price boundary a read could not find):
    on a Redis that does not answer, one such write per window waits its timeout, not one
    per request."""
    redis_server.freeze()
    try:
        own_cache.get("k")  # the timeout that opens the circuit
        assert circuit.is_open
        with bypass():
            _, took = _timed(lambda: own_cache.set("k", "v"))
            assert took >= TIMEOUT * 0.9  # the first bypassed write still tries Redis
            _, took = _timed(lambda: own_cache.set("k", "w"))
            assert took < TIMEOUT / 2  # the next one fails at once
        time.sleep(1.05)  # the window is over: a bypassed write tries again
        with bypass():
            _, took = _timed(lambda: own_cache.set("k", "x"))
            assert took >= TIMEOUT * 0.9
    finally:
        redis_server.thaw()
    with bypass():
        assert not own_cache.set("k", "y")  # still this window: not tried
    time.sleep(1.05)
    with bypass():
        assert own_cache.set("k", "y")  # the next window's write: Redis answers, the circuit closes
    assert not circuit.is_open and own_cache.get("k") == "y"
