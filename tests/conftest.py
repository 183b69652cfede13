"""Shared fixtures. Per-app factories live in tests/<app>/factories.py."""

import os

import pytest
from django.db import connection
from rest_framework.test import APIClient

from tests.accounts.factories import UserFactory

POSTGRES_SKIP_REASON = "needs PostgreSQL (set DATABASE_URL=postgres://...)"


def pytest_collection_modifyitems(config, items):
    """`@pytest.mark.postgres` tests are skipped on SQLite with a stated reason."""
    if os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        return
    for item in items:
        if item.get_closest_marker("postgres"):
            item.add_marker(pytest.mark.skip(reason=POSTGRES_SKIP_REASON))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In CI (REQUIRE_POSTGRES=1) a PostgreSQL-only test that skips is a failure, whether
    it skipped by marker or by calling pytest.skip at run time; so is a fault test
    (tests/faults) that skipped for want of a service binary, in CI (CI=true) or with
    REQUIRE_POSTGRES=1."""
    outcome = yield
    report = outcome.get_result()
    if not report.skipped:
        return
    reason = str(report.longrepr)
    required = os.environ.get("REQUIRE_POSTGRES") == "1"
    if required and "PostgreSQL" in reason:
        report.outcome = "failed"
        report.longrepr = f"REQUIRE_POSTGRES=1 but this PostgreSQL-only test was skipped: {report.longrepr}"
    elif (required or os.environ.get("CI", "").lower() == "true") and "service binar" in reason:
        report.outcome = "failed"
        report.longrepr = f"In CI every fault test runs, but this one was skipped: {report.longrepr}"


@pytest.fixture
def on_postgres() -> bool:
    return connection.vendor == "postgresql"


@pytest.fixture(autouse=True)
def _clear_cache():
    """Each test starts with an empty cache. On Redis only this worker's keys go (the test
    settings give each xdist worker its own key prefix): FLUSHDB would wipe the keys of
    tests running at the same moment in other workers."""
    from django.core.cache import cache

    from catalog.cache import _owed, _pending, _pending_lock
    from core.caching import tracked
    from core.redis_circuit import circuit

    circuit.close()  # an earlier test's hung Redis is not this one's
    if hasattr(cache, "delete_pattern"):
        cache.delete_pattern("*")
    else:
        cache.clear()
    tracked.clear()  # the values this process held of the keys just deleted
    _owed.clear()  # a bump an earlier test could not write is nothing this one owes
    with _pending_lock:  # nor are the hits it counted and had not flushed yet
        _pending.update(dict.fromkeys(_pending, 0))
    yield


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


def access_token_for(user) -> str:
    """An access token of a real sign-in session (as `auth/token/` issues them), without
    the password check; access tokens without a session are refused."""
    from accounts.services import session_start
    from ecommerce.api.auth import token_pair

    return token_pair(session_start(user=user)).access


def auth_client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token_for(user)}")
    return client


@pytest.fixture
def customer(db):
    return UserFactory(role="customer", is_verified=True)


@pytest.fixture
def manager(db):
    return UserFactory(role="manager", is_verified=True)


@pytest.fixture
def admin_user(db):
    return UserFactory(role="admin", is_verified=True)


@pytest.fixture
def customer_client(customer) -> APIClient:
    return auth_client_for(customer)


@pytest.fixture
def manager_client(manager) -> APIClient:
    return auth_client_for(manager)


@pytest.fixture
def admin_client_api(admin_user) -> APIClient:
    return auth_client_for(admin_user)


@pytest.fixture
def staff_site_client(db, client):
    """The Django test client signed in to the admin site as a superuser."""
    client.force_login(UserFactory(role="admin", is_superuser=True, is_verified=True))
    return client
