"""core.caching.TrackedValues against a redis-server of its own: values held in the process
are served without a command to Redis, and dropped the moment Redis says they changed (a
write by another connection, a flush), when a connection dies, after a fork and, whatever
happens, after HELD_FOR_S. The catalog's steady-state hit sends nothing to Redis."""

from __future__ import annotations

import json
import os
import time

import pytest
import redis

from core.caching import TrackedValues
from tests.faults.services import redis_cache_setting


@pytest.fixture
def server(redis_server):
    """A redis-server of this test's own (tests/core/conftest.py: the fault tests' fixture)."""
    return redis_server


@pytest.fixture
def own_cache(settings, server):
    """The production cache configuration on this test's Redis."""
    settings.CACHES = redis_cache_setting(server.url(0), prefix="tracked-test")
    from django.core.cache import cache

    return cache


@pytest.fixture
def values(own_cache):
    held = TrackedValues()
    yield held
    held.reset()


def other_client(server) -> redis.Redis:
    return redis.Redis(host="127.0.0.1", port=server.port, socket_timeout=2)


def count_commands(server, action) -> int:
    """The commands Redis processed while `action` ran (INFO leaves itself out of its
    count, so the second one counts the first)."""
    client = other_client(server)
    client.ping()  # connected (and its HELLO counted) before the first count
    before = int(client.info("stats")["total_commands_processed"])
    action()
    return int(client.info("stats")["total_commands_processed"]) - before - 1


def test_a_held_value_is_served_without_a_command_until_another_client_writes_it(server, own_cache, values):
    own_cache.set("a", "one", timeout=None)
    own_cache.set("b", 2, timeout=None)
    assert values.get_many(["a", "b", "absent"]) == {"a": "one", "b": 2}
    assert count_commands(server, lambda: [values.get_many(["a", "b"]) for _ in range(20)]) == 0

    own_cache.set("a", "two", timeout=None)  # the cache's own connection: another client
    values.written()
    assert values.get_many(["a", "b"]) == {"a": "two", "b": 2}
    # A client that is not even this process's (raw, on its own connection).
    other = other_client(server)
    other.set(own_cache.make_key("b"), 3)
    other.ping()
    assert values.get_many(["a", "b"]) == {"a": "two", "b": 3}
    other.delete(own_cache.make_key("a"))
    other.ping()
    assert values.get_many(["a", "b"]) == {"b": 3}


def test_the_tracking_connections_are_the_pools_own_kind_with_keepalive(own_cache, values):
    import socket

    assert values.get_many(["absent"]) == {}
    pool = own_cache.client.get_client(write=True).connection_pool
    for connection in (values._reader, values._listener):
        assert type(connection) is pool.connection_class
        assert connection._sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE)
        assert connection._sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == 60


def test_a_flush_drops_everything_held(server, own_cache, values):
    own_cache.set("a", "one", timeout=None)
    assert values.get_many(["a"]) == {"a": "one"}
    other = other_client(server)
    other.flushdb()
    other.ping()  # as writers fence: Redis has sent the flush's word to every holder
    assert values.get_many(["a"]) == {}


def test_a_value_is_held_for_at_most_held_for_s_even_with_no_word_from_redis(server, own_cache, values):
    values.HELD_FOR_S = 0.2
    own_cache.set("a", "one", timeout=None)
    assert values.get_many(["a"]) == {"a": "one"}
    # Tracking turned off behind the holder's back: the change is never announced.
    values._reader.send_command("CLIENT", "TRACKING", "OFF")
    values._reader.read_response()
    own_cache.set("a", "two", timeout=None)
    assert values.get_many(["a"]) == {"a": "one"}
    time.sleep(0.25)
    assert values.get_many(["a"]) == {"a": "two"}


@pytest.mark.parametrize("which", ["_listener", "_reader"])
def test_a_connection_killed_drops_everything_and_the_cache_answers_until_the_retry(server, own_cache, values, which):
    values.RETRY_AFTER_S = 0.2
    own_cache.set("a", "one", timeout=None)
    assert values.get_many(["a"]) == {"a": "one"}
    connection = getattr(values, which)
    connection.send_command("CLIENT", "ID")
    client_id = connection.read_response()
    other = other_client(server)
    assert other.client_kill_filter(_id=client_id) == 1
    other.set(own_cache.make_key("a"), own_cache.client.encode("two"))  # no holder hears of it
    time.sleep(0.05)  # the close has reached the socket
    assert values.get_many(["a"]) == {"a": "two"}
    assert values._reader is None  # answered by the cache, nothing held
    time.sleep(0.25)
    assert values.get_many(["a"]) == {"a": "two"}
    assert values._reader is not None  # tracking again
    own_cache.set("a", "three", timeout=None)
    values.written()
    assert values.get_many(["a"]) == {"a": "three"}


def test_redis_dead_is_an_empty_answer_and_back_it_is_tracked_again(server, own_cache, values):
    values.RETRY_AFTER_S = 0.2
    own_cache.set("a", "one", timeout=None)
    assert values.get_many(["a"]) == {"a": "one"}
    server.kill()
    assert values.get_many(["a"]) == {}  # as the cache answers with Redis down
    assert values.get_many(["a"]) == {}
    server.start()  # the same port, empty
    time.sleep(0.25)
    own_cache.set("a", "again", timeout=None)
    assert values.get_many(["a"]) == {"a": "again"}
    own_cache.set("a", "later", timeout=None)
    values.written()
    assert values.get_many(["a"]) == {"a": "later"}


def test_a_forked_child_holds_nothing_of_the_parents_and_tracks_on_its_own(server, own_cache, values):
    own_cache.set("a", "one", timeout=None)
    assert values.get_many(["a"]) == {"a": "one"}
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report and leave at once
        try:
            inherited = values._reader is not None or bool(values._held)
            first = values.get_many(["a"])
            own_cache.set("a", "child", timeout=None)
            values.written()
            second = values.get_many(["a"])
            os.write(write, json.dumps([inherited, first, second, values._reader is not None]).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as report:
        seen = json.loads(report.read())
    os.waitpid(pid, 0)
    assert seen == [False, {"a": "one"}, {"a": "child"}, True]
    assert values.get_many(["a"]) == {"a": "child"}  # the parent heard of the child's write


def test_a_thread_that_cannot_have_the_lock_at_once_asks_the_cache(server, own_cache, values):
    own_cache.set("a", "one", timeout=None)
    assert values.get_many(["a"]) == {"a": "one"}
    values._lock.acquire()  # another thread's read to Redis under way
    try:
        started = time.monotonic()
        assert values.get_many(["a"]) == {"a": "one"}
        assert time.monotonic() - started < 1
    finally:
        values._lock.release()


def test_a_listener_that_stops_answering_its_ping_ends_the_holding(server, own_cache, values):
    values.HELD_FOR_S, values.LISTENER_SILENT_S = 0.05, 0.2
    own_cache.set("a", "one", timeout=None)
    assert values.get_many(["a"]) == {"a": "one"}
    time.sleep(0.06)
    values._pong_at = -1.0  # as if the PING sent now never came back
    values._ping_sent = time.monotonic()
    assert values.get_many(["a"]) == {"a": "one"}  # not overdue yet
    time.sleep(0.25)
    assert values.get_many(["a"]) == {"a": "one"}  # overdue: answered by the cache
    assert values._reader is None


def test_redis_hung_costs_one_socket_timeout_not_two(server, own_cache, values):
    values.HELD_FOR_S = 0.0  # every read goes to Redis
    own_cache.set("a", "one", timeout=None)
    assert values.get_many(["a"]) == {"a": "one"}
    server.freeze()
    try:
        started = time.monotonic()
        assert values.get_many(["a"]) == {}
        took = time.monotonic() - started
    finally:
        server.thaw()
    assert took < 0.9, f"{took:.2f} s"  # the cache's socket timeout is 0.5 s


@pytest.mark.django_db
def test_a_steady_state_catalog_hit_sends_nothing_to_redis(server, own_cache, api_client):
    from catalog.cache import bump_catalog_generation
    from tests.catalog.factories import ProductFactory

    ProductFactory.create_batch(3)
    assert api_client.get("/api/v1/products/")["X-Cache"] == "MISS"
    assert api_client.get("/api/v1/products/")["X-Cache"] == "HIT"

    from catalog import cache as catalog_cache

    def hits():
        catalog_cache._last_flush[0] = time.monotonic()  # the hit counters are not due (once a second)
        for _ in range(10):
            assert api_client.get("/api/v1/products/")["X-Cache"] == "HIT"

    assert count_commands(server, hits) == 0
    bump_catalog_generation()  # a write: the very next read misses, in every process
    assert api_client.get("/api/v1/products/")["X-Cache"] == "MISS"
