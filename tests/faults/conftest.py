"""Fixtures of the fault tests: real services, each stopped by its process group id in the
teardown whatever the test did. A test that cannot get its services skips with the reason
(and tests/conftest.py turns that skip into a failure in CI)."""

from __future__ import annotations

import shutil
from urllib.parse import quote

import pytest

from tests.faults.services import RedisServer, postgres_runner
from tests.orders.conftest import place  # noqa: F401 (shared fixture)

REDIS_MISSING = "needs the redis-server service binary on PATH"
POSTGRES_BINARIES_MISSING = (
    "needs the PostgreSQL 15 service binaries (/usr/lib/postgresql/15/bin/initdb, pg_ctl) "
    "and, when run as root, a postgres OS user and runuser"
)


def require_redis_server() -> None:
    if shutil.which("redis-server") is None:
        pytest.skip(REDIS_MISSING)


def require_postgres_binaries() -> None:
    if postgres_runner() is None:
        pytest.skip(POSTGRES_BINARIES_MISSING)


@pytest.fixture
def workdir(tmp_path):
    """Logs and files of this test's services (unique per test, so per xdist worker)."""
    return tmp_path


@pytest.fixture
def redis_server(workdir):
    require_redis_server()
    server = RedisServer(workdir).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def shared_database_url(transactional_db) -> str:
    """The URL of this worker's test database, for servers started by the test: rows the
    test commits are theirs to read, and theirs are the test's (transactional_db, so the
    tables are emptied after the test). Needs PostgreSQL (marker `postgres`)."""
    from django.db import connection

    settings = connection.settings_dict
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL=postgres://...)")
    credentials = quote(settings["USER"] or "postgres")
    if settings["PASSWORD"]:
        credentials += ":" + quote(settings["PASSWORD"])
    host = settings["HOST"] or "127.0.0.1"
    return f"postgres://{credentials}@{host}:{settings['PORT'] or 5432}/{settings['NAME']}"
