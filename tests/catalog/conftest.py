"""Fixtures of the catalog tests."""

from tests.faults.conftest import redis_server, workdir  # noqa: F401 (shared fixtures: a redis-server of its own)
