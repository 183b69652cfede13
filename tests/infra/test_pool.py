"""DB_POOL against PostgreSQL: the app under gunicorn (gunicorn.conf.py: one gthread worker
with four threads, the app preloaded in the master) takes its connections from Django's
psycopg pool, serves concurrent requests from it, and `/health/ready` shows the pool's
figures (API.md, "Operations")."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.faults.conftest import require_redis_server
from tests.faults.services import AppServer, RedisServer, app_env, running

pytestmark = [pytest.mark.postgres, pytest.mark.faults]
ROOT = Path(__file__).resolve().parents[2]


def test_settings_switch_to_the_pool():
    """DB_POOL=true: OPTIONS["pool"] with the sizes from the environment and CONN_MAX_AGE=0
    (Django refuses persistent connections with a pool); production turns it on by default."""
    code = (
        "from django.conf import settings as s; d = s.DATABASES['default']; "
        "print(d['CONN_MAX_AGE'], sorted(d['OPTIONS']['pool'].items()))"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "ecommerce.settings.local",
        "DATABASE_URL": "postgres://u@db.invalid:5432/shop",
        "DB_POOL": "true",
        "DB_POOL_MIN_SIZE": "3",
        "DB_POOL_MAX_SIZE": "9",
        "DB_POOL_TIMEOUT": "1.25",
        "CONN_MAX_AGE": "60",
    }
    out = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "0 [('max_size', 9), ('min_size', 3), ('timeout', 1.25)]"


def test_pooled_app_serves_concurrent_requests_and_reports_the_pool(shared_database_url, workdir):
    require_redis_server()
    redis = RedisServer(workdir)
    env = app_env(
        database_url=shared_database_url,
        redis_url=redis.url(0),
        DB_POOL="true",
        DB_POOL_MIN_SIZE="2",
        DB_POOL_MAX_SIZE="4",
        CATALOG_CACHE_ENABLED="false",  # every request below needs a connection
    )
    app = AppServer(env, workdir)  # 1 worker x 4 threads (gthread), preloaded
    with running(redis, app):
        redis.start()
        app.start()
        ready, _ = app.request("GET", "/health/ready")
        assert ready.status_code == 200, ready.text
        database = ready.json()["checks"]["database"]
        assert database["status"] == "ok"
        pool = database["pool"]
        assert pool["min"] == 2 and pool["max"] == 4
        assert 1 <= pool["size"] <= 4 and 0 <= pool["available"] <= pool["size"] and pool["waiting"] == 0

        def get(i: int) -> int:
            return requests.get(f"{app.base}/api/v1/products/?page_size={1 + i % 5}", timeout=15).status_code

        with ThreadPoolExecutor(max_workers=12) as clients:
            statuses = list(clients.map(get, range(60)))
        assert statuses == [200] * 60

        ready, _ = app.request("GET", "/health/ready")
        pool = ready.json()["checks"]["database"]["pool"]
        # Four threads never need more than the pool's four connections; none is waiting now
        # and the others went back to the pool after their requests.
        assert pool["size"] <= 4 and pool["waiting"] == 0, pool
        assert pool["available"] >= pool["size"] - 1, pool


def test_persistent_connections_show_no_pool(shared_database_url, workdir):
    require_redis_server()
    redis = RedisServer(workdir)
    env = app_env(database_url=shared_database_url, redis_url=redis.url(0), DB_POOL="false")
    app = AppServer(env, workdir)
    with running(redis, app):
        redis.start()
        app.start()
        ready, _ = app.request("GET", "/health/ready")
        assert ready.status_code == 200, ready.text
        assert "pool" not in ready.json()["checks"]["database"]
