"""Fixed SQL statements run as prepared statements on PostgreSQL.

A statement whose text never changes (only its parameters do) is planned once per database
connection instead of on every run: psycopg prepares it on the server the first time a
connection runs it (server-side binding, `prepare=True`) and runs the prepared statement
from then on. A product list page's statement took as long to plan (1.4 ms) as to run;
the ORM's own statements are not prepared (Django binds their parameters on the client).

Prepared statements are on unless the database's OPTIONS set `prepare_threshold` to None
(DB_PREPARED_STATEMENTS=false; Django's own default, which ecommerce.settings overrides):
PgBouncer in transaction pooling mode before 1.22 (psycopg's DEALLOCATE ALL), or without
`max_prepared_statements`, cannot keep them; then every run is planned again, as before.
psycopg keeps track of what each connection has prepared (a connection from Django's pool
keeps its statements) and forgets it after a DISCARD ALL.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence

from django.db import DatabaseError, connections

logger = logging.getLogger(__name__)


@functools.cache
def _preparing_cursor_class():
    from django.db.backends.postgresql.base import ServerBindingCursor

    class PreparingCursor(ServerBindingCursor):
        """Django's server-side binding cursor, asking psycopg to prepare what it runs."""

        def execute(self, query, params=None, *, prepare=None, binary=None):
            return super().execute(query, params, prepare=True, binary=binary)

    return PreparingCursor


@functools.cache
def _debug_wrapper_class():
    from django.db.backends.utils import CursorDebugWrapper, CursorWrapper

    class PreparedDebugWrapper(CursorDebugWrapper):
        """Django's query logging (DEBUG, tests' query counts) for a prepared statement:
        psycopg keeps no query text on a cursor that ran one, so the statement is logged
        with its parameters put in as Django's server-side binding logs them."""

        def execute(self, sql, params=None):
            with self.debug_sql(self.db.ops.compose_sql(sql, params)):
                return CursorWrapper.execute(self, sql, params)

    return PreparedDebugWrapper


def fetch_prepared(using: str, sql: str, params: Sequence) -> list[tuple]:
    """All rows of `sql` (its parameters as %s, each of a type PostgreSQL can tell from the
    statement: cast them) on the PostgreSQL database `using`, through Django's cursor
    wrapper (its error translation, execute wrappers and query logging: query budgets count
    it), with the connection checked and the cursor set up as Django does for its own (the
    health check, the connection's time zone).

    The statement's result columns should be of types without a length or precision (cast
    them: `::text`, `::numeric`): PostgreSQL refuses to run a prepared statement whose
    result type changed ("cached plan must not change result type"), which a migration
    widening a `varchar` makes it. Should a prepared statement still fail that way, or be
    gone from the server behind psycopg's back ("prepared statement does not exist": a
    pooler, a DEALLOCATE), psycopg's memory of the connection's statements is dropped
    (DEALLOCATE ALL) and the statement run once more, when no transaction is open (in one,
    the error has aborted it: it is raised)."""
    connection = connections[using]
    try:
        return _fetch(connection, sql, params)
    except DatabaseError as error:
        if not _stale_prepared(error) or connection.in_atomic_block:
            raise
        logger.warning("prepared statements of %s dropped after: %s", using, error)
        with connection.cursor() as cursor:
            cursor.execute("DEALLOCATE ALL")  # psycopg forgets what it had prepared
        return _fetch(connection, sql, params)


def _stale_prepared(error: DatabaseError) -> bool:
    import psycopg

    cause = error.__cause__
    if isinstance(cause, psycopg.errors.InvalidSqlStatementName):
        return True
    return isinstance(cause, psycopg.errors.FeatureNotSupported) and "cached plan" in str(cause)


def _fetch(connection, sql: str, params: Sequence) -> list[tuple]:
    from django.db.backends.postgresql.psycopg_any import register_tzloader
    from psycopg.pq import Format

    connection.close_if_health_check_failed()
    connection.ensure_connection()
    connection.validate_thread_sharing()
    raw = _preparing_cursor_class()(connection.connection)
    tzloader = connection.connection.adapters.get_loader(1184, Format.TEXT)  # timestamptz
    if connection.timezone != tzloader.timezone:
        register_tzloader(connection.timezone, raw)
    cursor = _debug_wrapper_class()(raw, connection) if connection.queries_logged else connection.make_cursor(raw)
    with cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()
