import uuid

import pytest

pytestmark = pytest.mark.django_db


def test_request_id_is_generated(client):
    response = client.get("/health/live")
    uuid.UUID(response["X-Request-ID"])


def test_sane_request_id_is_echoed(client):
    response = client.get("/health/live", HTTP_X_REQUEST_ID="abc-123.DEF_9")
    assert response["X-Request-ID"] == "abc-123.DEF_9"


@pytest.mark.parametrize("bad", ["with space", "x" * 300, "line\nbreak", "<script>"])
def test_insane_request_id_is_replaced(client, bad):
    response = client.get("/health/live", HTTP_X_REQUEST_ID=bad)
    assert response["X-Request-ID"] != bad
    uuid.UUID(response["X-Request-ID"])


def test_request_id_on_error_responses(client):
    response = client.get("/api/v1/nope/", HTTP_X_REQUEST_ID="trace-me")
    assert response.status_code == 404
    assert response["X-Request-ID"] == "trace-me"


def test_request_id_is_in_log_lines(client, caplog):
    import logging

    with caplog.at_level(logging.INFO, logger="django_structlog"):
        client.get("/health/live", HTTP_X_REQUEST_ID="log-me-1")
    events = [r.msg for r in caplog.records if isinstance(r.msg, dict)]
    finished = next(e for e in events if e.get("event") == "request_finished")
    assert all(e["request_id"] == "log-me-1" for e in events)
    assert finished["method"] == "GET"
    assert finished["path"] == "/health/live"
    assert finished["status"] == 200
    assert finished["duration_ms"] >= 0
