import pytest
from django.db import OperationalError
from django.test import override_settings

pytestmark = pytest.mark.django_db

UNREACHABLE_REDIS = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2, "IGNORE_EXCEPTIONS": True},
    }
}


def test_live(client):
    response = client.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready_reports_each_check_with_latency(client):
    response = client.get("/health/ready")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "cache", "broker", "outbox"}
    for check in body["checks"].values():
        assert check["latency_ms"] >= 0
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["cache"]["status"] == "ok"


def test_ready_is_503_when_database_is_down(client, monkeypatch):
    from django.db import connection

    def refuse(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "cursor", refuse)
    response = client.get("/health/ready")
    assert response.status_code == 503
    assert response.json()["checks"]["database"]["status"] == "down"


def test_ready_is_degraded_when_cache_is_down(client):
    with override_settings(CACHES=UNREACHABLE_REDIS):
        response = client.get("/health/ready")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["cache"]["status"] == "degraded"
    assert body["checks"]["database"]["status"] == "ok"


def test_ready_is_degraded_when_broker_is_down(client):
    from ecommerce.celery import app

    old = app.conf.broker_url
    app.conf.broker_url = "amqp://guest:guest@127.0.0.1:1//"
    try:
        with override_settings(CELERY_TASK_ALWAYS_EAGER=False):
            response = client.get("/health/ready")
    finally:
        app.conf.broker_url = old
    assert response.status_code == 200
    assert response.json()["checks"]["broker"]["status"] == "degraded"


def test_api_serves_when_cache_is_down(client):
    with override_settings(CACHES=UNREACHABLE_REDIS):
        response = client.get("/api/schema/")
    assert response.status_code == 200


@pytest.mark.parametrize("method", ["post", "delete", "put"])
@pytest.mark.parametrize("path", ["/health/live", "/health/ready"])
def test_other_methods_get_a_json_405(client, method, path):
    response = getattr(client, method)(path)
    assert response.status_code == 405
    assert response.json()["errors"][0]["code"] == "method_not_allowed"
    assert response["Allow"] == "GET, HEAD"


def test_head_is_allowed_for_probes(client):
    assert client.head("/health/live").status_code == 200
