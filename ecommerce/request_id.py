"""X-Request-ID on every response.

Runs before django-structlog's RequestMiddleware (ecommerce.request_log.RequestLogMiddleware): a client-sent id is kept when it is sane
(1-128 characters of [A-Za-z0-9._:-]); anything else is replaced by a fresh UUID so a client
cannot inject log lines or bloat them. django-structlog then binds that id into every log line
of the request and into the Celery tasks the request enqueues.
"""

import re
import uuid

SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


def sanitize_request_id(value: str | None) -> str:
    if value and SANE_REQUEST_ID.match(value):
        return value
    return str(uuid.uuid4())


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = sanitize_request_id(request.META.get("HTTP_X_REQUEST_ID"))
        request.META["HTTP_X_REQUEST_ID"] = request_id
        request.request_id = request_id
        response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response
