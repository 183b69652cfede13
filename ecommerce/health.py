"""Liveness and readiness probes (plain Django views: no auth, no throttling, no cache).

/health/live  -> 200 while the process can answer.
/health/ready -> 200 with each check's status and latency; 503 only when the database is
                 unreachable. A down cache or broker is reported as `degraded`: the API
                 keeps serving from the database (cache misses) and jobs wait in the outbox,
                 whose depth (and the age of its oldest job) the `outbox` check reports.
                 With DB_POOL the `database` check adds this process's pool figures; with
                 a read replica a `replica` check reports its lag (degraded when down:
                 reads then go to the primary).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

from ecommerce.api.exceptions import json_error
from ecommerce.db import PRIMARY_LSN_SQL, REPLAYED_LSN_SQL, REPLICA, pool_figures, replica_configured


def _get_or_head_only(view):
    """Like require_GET (HEAD too, for probes that use it), but the 405 is the JSON envelope."""

    @functools.wraps(view)
    def wrapped(request):
        if request.method not in ("GET", "HEAD"):
            response = json_error(405, "method_not_allowed", f'Method "{request.method}" not allowed.')
            response["Allow"] = "GET, HEAD"
            return response
        return view(request)

    return wrapped


def _timed(check: Callable[[], str]) -> dict:
    started = time.perf_counter()
    try:
        state = check()
        result = state if isinstance(state, dict) else {"status": state}
    except Exception as exc:  # any failure of a dependency is a reported state, not a 500
        result = {"status": "down", "error": exc.__class__.__name__}
    result["latency_ms"] = round((time.perf_counter() - started) * 1000, 2)
    return result


def check_database() -> str | dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    # With DB_POOL, this process's pool: connections open, idle, and requests waiting.
    pool = pool_figures(DEFAULT_DB_ALIAS)
    return {"status": "ok", "pool": pool} if pool is not None else "ok"


def check_replica() -> dict:
    """The read replica answers and how far it is behind (bytes of WAL not yet replayed;
    reads only go to it once it has replayed every catalog and order write). Down or
    lagging is `degraded`, never `down`: reads then go to the primary."""
    replica = connections[REPLICA]
    try:
        with replica.cursor() as cursor:
            cursor.execute(REPLAYED_LSN_SQL)
            replayed = int(cursor.fetchone()[0])
        with connection.cursor() as cursor:
            cursor.execute(PRIMARY_LSN_SQL)
            primary = int(cursor.fetchone()[0])
        result = {"status": "ok", "lag_bytes": max(0, primary - replayed)}
        pool = pool_figures(REPLICA)
        if pool is not None:
            result["pool"] = pool
        return result
    except Exception as exc:
        return {"status": "degraded", "error": exc.__class__.__name__}


def check_cache() -> str:
    backend = settings.CACHES["default"]["BACKEND"]
    if backend == "django_redis.cache.RedisCache":
        # The cache itself swallows Redis errors (IGNORE_EXCEPTIONS); ask Redis directly.
        from django_redis import get_redis_connection

        get_redis_connection("default").ping()
        return "ok"
    cache.set("health:probe", "1", 5)
    if cache.get("health:probe") != "1":
        raise RuntimeError("cache did not return what was stored")
    return "ok"


# Seconds the broker check may take. The Redis transport ignores `connect_timeout` and
# waits forever on a broker that accepts connections but never answers (a hung process, a
# failover) unless its sockets have timeouts, so the check sets them for its own connection.
BROKER_CHECK_TIMEOUT = 0.4


def check_broker() -> str:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "eager"
    from ecommerce.celery import app

    timeouts = {"socket_timeout": BROKER_CHECK_TIMEOUT, "socket_connect_timeout": BROKER_CHECK_TIMEOUT}
    with app.connection_for_write(connect_timeout=BROKER_CHECK_TIMEOUT, transport_options=timeouts) as conn:
        # One attempt: kombu sleeps `interval_start` (2 s) before any retry, whatever `timeout` says.
        conn.ensure_connection(max_retries=0, timeout=BROKER_CHECK_TIMEOUT)
    return "ok"


# Pending jobs older than this mean the broker (or the relay) is stuck: degraded.
OUTBOX_STALE_SECONDS = 300


def check_outbox() -> dict:
    from core.jobs import outbox_depth

    depth = outbox_depth()
    return {"status": "degraded" if depth["oldest_age_s"] > OUTBOX_STALE_SECONDS else "ok", **depth}


@never_cache
@_get_or_head_only
def live(request):
    return JsonResponse({"status": "ok"})


# The cache and broker checks run side by side in these threads while the request's own
# thread checks the database (its connection is per thread), so a dead or hung Redis costs
# the probe one socket timeout (0.5 s), not the sum of them. A check still running after
# CHECK_DEADLINE seconds is reported down without waiting for it.
_probes = ThreadPoolExecutor(max_workers=4, thread_name_prefix="health-probe")
CHECK_DEADLINE = 0.8


def _outcome(future: Future, started: float) -> dict:
    try:
        return future.result(timeout=max(0.0, CHECK_DEADLINE - (time.perf_counter() - started)))
    except FutureTimeout:
        return {"status": "down", "error": "Timeout", "latency_ms": round(CHECK_DEADLINE * 1000, 2)}


@never_cache
@_get_or_head_only
def ready(request):
    started = time.perf_counter()
    cache_check = _probes.submit(_timed, check_cache)
    broker_check = _probes.submit(_timed, check_broker)
    checks = {"database": _timed(check_database)}
    if replica_configured() and checks["database"]["status"] != "down":
        checks["replica"] = _timed(check_replica)
    checks["cache"] = _outcome(cache_check, started)
    checks["broker"] = _outcome(broker_check, started)
    if checks["database"]["status"] != "down":
        checks["outbox"] = _timed(check_outbox)
    if checks["database"]["status"] == "down":
        overall, code = "down", 503
    elif any(c["status"] in ("down", "degraded") for c in checks.values()):
        overall, code = "degraded", 200
        for c in checks.values():
            if c["status"] == "down":
                c["status"] = "degraded"
    else:
        overall, code = "ok", 200
    return JsonResponse({"status": overall, "checks": checks}, status=code)
