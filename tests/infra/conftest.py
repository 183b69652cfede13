"""Fixtures of the infrastructure tests (pool, replica, proxy): the fault tests' services
and their skip rule (a missing service binary skips with the reason, a failure in CI)."""

from tests.faults.conftest import shared_database_url, workdir  # noqa: F401 (shared fixtures)
