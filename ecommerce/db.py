"""Database wiring: the read-replica router, the primary's write fence, and the figures of
the connection pool (docs/operations.md, "Read replica" and "Connection pool").

With DATABASE_REPLICA_URL set, settings define a second alias, `replica`: a streaming
standby of `default`. `ReplicaRouter` sends a read there only when all of these hold:

- it runs inside a GET or HEAD request under DATABASE_REPLICA_PATH_PREFIXES (the API;
  never the admin, a Celery task or a management command: a job reading the order that
  was committed a millisecond ago must find it);
- the model belongs to DATABASE_REPLICA_APPS (catalog reads, order history); accounts,
  sessions, tokens, idempotency records and the outbox always read the primary;
- nothing has been written on the primary in this request, and no transaction is open
  on it (so anything under a lock, `select_for_update` included, which Django routes as a
  write anyway, reads what it locked);
- the replica has replayed the primary's *write fence*: the WAL position of the last
  committed write to a table of those apps, recorded in the shared cache at commit. A
  write is thus visible to the very next GET of every client, however far the replica
  lags: a lagging replica is simply not used until it has caught up. That also keeps the
  catalog cache right: a staff write bumps the cache generation, and the miss that
  follows is rendered from a database that has the write (a lagging replica would have
  re-cached the old page under the new generation).

Every fall-back is to the primary, which is always correct: a replica that fails to answer
is left alone for DATABASE_REPLICA_RETRY_SECONDS; a fence that cannot be read (cache down)
means primary.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import time
from contextvars import ContextVar
from dataclasses import dataclass

from django.apps import apps
from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

from core.caching import redis_client, redis_script
from core.redis_circuit import bypass

logger = logging.getLogger("ecommerce.db")

REPLICA = "replica"
FENCE_KEY = "db:replica-fence"
WRITE_STATEMENT = re.compile(r"^\s*(INSERT|UPDATE|DELETE|MERGE|TRUNCATE|COPY)\b", re.IGNORECASE)
WRITING_CTE = re.compile(r"^\s*WITH\b.*\b(INSERT|UPDATE|DELETE)\b", re.IGNORECASE | re.DOTALL)
# The WAL position as a number of bytes (a pg_lsn minus the origin). On a server that is not
# a standby (a replica URL pointing at a primary) the replay position is the current one.
REPLAYED_LSN_SQL = (
    "SELECT (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END) - '0/0'::pg_lsn"
)
# The insert position is past every record inserted so far, the commit just made included.
PRIMARY_LSN_SQL = "SELECT pg_current_wal_insert_lsn() - '0/0'::pg_lsn"


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


# --- per-request state ----------------------------------------------------------------


@dataclass
class RequestRouting:
    """What the router knows about the request being served (one per request, per thread)."""

    replica_allowed: bool
    wrote: bool = False  # a write ran on the primary: every later read stays there
    caught_up: bool | None = None  # the replica has replayed the fence (checked once, lazily)


_routing: ContextVar[RequestRouting | None] = ContextVar("db_request_routing", default=None)


class ReplicaRoutingMiddleware:
    """Marks the requests whose reads may go to the replica: GET and HEAD under the
    configured path prefixes, when a replica is configured. Everything else reads the
    primary (the default outside any request, too)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        allowed = (
            replica_configured()
            and request.method in ("GET", "HEAD")
            and request.path.startswith(tuple(settings.DATABASE_REPLICA_PATH_PREFIXES))
        )
        token = _routing.set(RequestRouting(replica_allowed=allowed))
        try:
            return self.get_response(request)
        finally:
            _routing.reset(token)


# --- the router -----------------------------------------------------------------------


def read_alias(app_label: str) -> str:
    """The alias a read of a model of `app_label` goes to now (see the module docstring)."""
    state = _routing.get()
    if state is None or not state.replica_allowed or state.wrote:
        return DEFAULT_DB_ALIAS
    if app_label not in settings.DATABASE_REPLICA_APPS:
        return DEFAULT_DB_ALIAS
    if connections[DEFAULT_DB_ALIAS].in_atomic_block:
        return DEFAULT_DB_ALIAS
    if state.caught_up is None:
        state.caught_up = replica_has_replayed_fence()
    return REPLICA if state.caught_up else DEFAULT_DB_ALIAS


class ReplicaRouter:
    """Writes, migrations and most reads on `default`; some reads on `replica` (read_alias).
    Always answers (never None): Django's fall-back would otherwise send a related object of
    an instance read from the replica to the replica, writes included."""

    def db_for_read(self, model, **hints) -> str:
        if not replica_configured():
            return DEFAULT_DB_ALIAS
        return read_alias(model._meta.app_label)

    def db_for_write(self, model, **hints) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints) -> bool | None:
        # Both aliases hold the same rows.
        if {obj1._state.db, obj2._state.db} <= {DEFAULT_DB_ALIAS, REPLICA}:
            return True
        return None

    def allow_migrate(self, db, app_label, model_name=None, **hints) -> bool | None:
        return False if db == REPLICA else None


# --- the write fence ------------------------------------------------------------------

# Until then (time.monotonic()), the replica or the fence's cache is not asked again.
_replica_down_until = 0.0
_fence_down_until = 0.0
_local_fence_lock = threading.Lock()
_replicated_tables: frozenset[str] | None = None

# Keeps the greatest value ever stored (two writers committing in one order may record
# their positions in the other).
_SET_MAX = """
local current = tonumber(redis.call('GET', KEYS[1]) or '-1')
local proposed = tonumber(ARGV[1])
if proposed > current then redis.call('SET', KEYS[1], ARGV[1]) return ARGV[1] end
return tostring(current)
"""


def _advance_fence(position: int) -> int | None:
    """Raise the fence to `position` (never lower it); the fence now, None if unknown."""
    global _fence_down_until
    if time.monotonic() < _fence_down_until:
        return None
    try:
        client = redis_client()
        if client is not None:
            with bypass():  # through an open circuit: other processes would read a lagging replica
                return int(redis_script(client, _SET_MAX)(keys=[cache.make_key(FENCE_KEY)], args=[position]))
        with _local_fence_lock:  # a per-process cache: a lock makes the same guarantee
            current = cache.get(FENCE_KEY)
            if current is None or position > current:
                cache.set(FENCE_KEY, position, timeout=None)
                current = position
            return current
    except Exception:  # the cache is down: reads stay on the primary for a while
        _fence_down_until = time.monotonic() + settings.DATABASE_REPLICA_RETRY_SECONDS
        logger.warning("replica fence unavailable (cache down): reads stay on the primary", exc_info=True)
        return None


def _read_fence() -> int | None:
    global _fence_down_until
    if time.monotonic() < _fence_down_until:
        return None
    try:
        client = redis_client()
        if client is not None:
            raw = client.get(cache.make_key(FENCE_KEY))
            return int(raw) if raw is not None else None
        return cache.get(FENCE_KEY)
    except Exception:
        _fence_down_until = time.monotonic() + settings.DATABASE_REPLICA_RETRY_SECONDS
        logger.warning("replica fence unavailable (cache down): reads stay on the primary", exc_info=True)
        return None


def _primary_position() -> int:
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(PRIMARY_LSN_SQL)
        return int(cursor.fetchone()[0])


def record_fence() -> None:
    """After a commit that wrote a replicated table: the primary's WAL position becomes the
    fence, so no read goes to a replica that has not replayed it."""
    try:
        _advance_fence(_primary_position())
    except DatabaseError:
        # The commit happened; the primary just went away. A fence we cannot raise could
        # let a lagging replica serve reads from before it: stop using the replica.
        _stop_using_replica("primary unreachable while recording the replica fence")


def replica_has_replayed_fence() -> bool:
    """True when the replica answers and has replayed past the fence."""
    global _replica_down_until
    if time.monotonic() < _replica_down_until:
        return False
    fence = _read_fence()
    if fence is None:
        # No fence yet (a fresh or flushed cache): everything committed so far is below the
        # primary's position now.
        try:
            fence = _advance_fence(_primary_position())
        except DatabaseError:
            return False
        if fence is None:
            return False
    try:
        with connections[REPLICA].cursor() as cursor:
            cursor.execute(REPLAYED_LSN_SQL)
            replayed = cursor.fetchone()[0]
    except DatabaseError:
        _stop_using_replica("replica unreachable")
        return False
    return replayed is not None and int(replayed) >= fence


def _stop_using_replica(reason: str) -> None:
    global _replica_down_until
    _replica_down_until = time.monotonic() + settings.DATABASE_REPLICA_RETRY_SECONDS
    logger.warning("%s: reads go to the primary for %s s", reason, settings.DATABASE_REPLICA_RETRY_SECONDS)
    with contextlib.suppress(DatabaseError):
        connections[REPLICA].close()


def replicated_tables() -> frozenset[str]:
    global _replicated_tables
    if _replicated_tables is None:
        tables = set()
        for label in settings.DATABASE_REPLICA_APPS:
            for model in apps.get_app_config(label).get_models(include_auto_created=True):
                tables.add(model._meta.db_table)
        _replicated_tables = frozenset(tables)
    return _replicated_tables


def is_write(sql: str) -> bool:
    return bool(WRITE_STATEMENT.match(sql) or WRITING_CTE.match(sql))


def touches_replicated_table(sql: str) -> bool:
    return any(f'"{table}"' in sql for table in replicated_tables())


def _already_fencing(connection) -> bool:
    return any(entry[1] is record_fence for entry in connection.run_on_commit)


def fence_writes(execute, sql, params, many, context):
    """Execute wrapper of the primary's connections: a write pins the request to the
    primary, and a write to a replicated table raises the fence once it is committed."""
    result = execute(sql, params, many, context)
    if isinstance(sql, str) and is_write(sql):
        state = _routing.get()
        if state is not None:
            state.wrote = True
        if touches_replicated_table(sql):
            connection = context["connection"]
            if connection.in_atomic_block:
                if not _already_fencing(connection):
                    # First of the commit hooks, whatever registered before this write: a
                    # hook that bumps a cache generation must not run before the fence is
                    # raised (a reader seeing the new generation with the old fence could
                    # re-cache the replica's older rows under it). The entry is what
                    # on_commit(robust=True) appends, tied to the same savepoints.
                    connection.run_on_commit.insert(0, (set(connection.savepoint_ids), record_fence, True))
            else:  # autocommit: the statement is committed already
                record_fence()
    return result


def install_fence(sender, connection, **kwargs) -> None:
    """`connection_created` receiver: wraps every new primary connection (only when a
    replica is configured; without one nothing is recorded)."""
    if (
        connection.alias == DEFAULT_DB_ALIAS
        and replica_configured()
        and fence_writes not in connection.execute_wrappers
    ):
        connection.execute_wrappers.append(fence_writes)


# --- pool figures ---------------------------------------------------------------------


def pool_figures(alias: str = DEFAULT_DB_ALIAS) -> dict | None:
    """The connection pool of `alias` in this process, or None when pooling is off:
    `size` (connections open), `available` (idle in the pool), `waiting` (requests waiting
    for one), and the configured `min` and `max`."""
    pool = getattr(connections[alias], "pool", None)
    if pool is None:
        return None
    stats = pool.get_stats()
    return {
        "size": stats.get("pool_size", 0),
        "available": stats.get("pool_available", 0),
        "waiting": stats.get("requests_waiting", 0),
        "min": stats.get("pool_min", 0),
        "max": stats.get("pool_max", 0),
    }
