"""ecommerce.request_log.RequestLogMiddleware: django-structlog's request lines, and the
request's log context bound in one call when the level drops those lines."""

import logging

import structlog
from django.http import HttpResponse
from django.test import RequestFactory

from ecommerce.request_log import RequestLogMiddleware

LOGGER = "django_structlog.middlewares.request"


def _run(level, status=200):
    seen = {}

    def view(request):
        seen.update(structlog.contextvars.get_contextvars())  # what a log line of the request gets
        return HttpResponse(status=status)

    logger = logging.getLogger(LOGGER)
    old = logger.level
    logger.setLevel(level)
    try:
        request = RequestFactory().get("/api/v1/products/", HTTP_X_REQUEST_ID="rid-1", REMOTE_ADDR="10.1.2.3")
        RequestLogMiddleware(view)(request)
    finally:
        logger.setLevel(old)
    return seen


def test_dropped_lines_still_give_the_request_its_context_and_leave_none_behind():
    seen = _run(logging.WARNING)
    assert seen == {"request_id": "rid-1", "method": "GET", "path": "/api/v1/products/", "ip": "10.1.2.3"}
    assert structlog.contextvars.get_contextvars() == {}


def test_the_same_context_when_django_structlog_writes_the_lines(caplog):
    seen = _run(logging.INFO)
    assert {k: seen[k] for k in ("request_id", "method", "path", "ip")} == {
        "request_id": "rid-1", "method": "GET", "path": "/api/v1/products/", "ip": "10.1.2.3",
    }  # fmt: skip
    assert structlog.contextvars.get_contextvars() == {}


def test_a_4xx_is_logged_at_warning(caplog):
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        _run(logging.WARNING, status=404)
    assert any("request_finished" in str(r.msg) for r in caplog.records), caplog.records
