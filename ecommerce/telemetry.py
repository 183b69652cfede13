"""Server-Timing on every response, request metrics, and the `/metrics` endpoint.

`TelemetryMiddleware` is the first middleware, so what it times is the whole of the app's
work on a request (every other middleware, the view, compression), and every answer gets
its header, errors, load-shed 503s and the catalog's early cache hits included:

    Server-Timing: app;dur=3.2, db;dur=1.1, cache;desc=hit

`db` is the time spent in database queries (a `connection.execute_wrapper` on every
configured database, in this thread); `cache` is there on cached catalog reads (from their
`X-Cache`). The same middleware observes one histogram per request (method, route = the
URL name, status): core.metrics. It costs a few microseconds.
"""

from __future__ import annotations

import hmac
import time

from django.conf import settings
from django.db import connections
from django.http import HttpResponse
from django.views.decorators.cache import never_cache
from prometheus_client import CONTENT_TYPE_LATEST

from core.metrics import HTTP_REQUEST_DURATION, metrics_text
from ecommerce.api.exceptions import json_error

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# The route of a request that no URL pattern took (404s, static files, shed requests): one
# label, so that scanners probing random paths cannot create series without end.
UNMATCHED = "unmatched"


class _QueryTimer:
    __slots__ = ("seconds",)

    def __init__(self) -> None:
        self.seconds = 0.0

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started


def route_of(request) -> str:
    match = getattr(request, "resolver_match", None)
    if match is None:
        return UNMATCHED
    return match.view_name or match.route or UNMATCHED


class TelemetryMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.aliases = list(settings.DATABASES)

    def __call__(self, request):
        started = time.perf_counter()
        timer = _QueryTimer()
        wrappers = [connections[alias].execute_wrappers for alias in self.aliases]
        for chain in wrappers:
            chain.append(timer)
        try:
            response = self.get_response(request)
        finally:
            for chain in wrappers:
                chain.remove(timer)
        elapsed = time.perf_counter() - started
        timing = f"app;dur={elapsed * 1000:.1f}, db;dur={timer.seconds * 1000:.1f}"
        cached = response.get("X-Cache")
        if cached:
            timing += ", cache;desc=hit" if cached == "HIT" else ", cache;desc=miss"
        response["Server-Timing"] = timing
        method = request.method if request.method in METHODS else "other"
        HTTP_REQUEST_DURATION.labels(method, route_of(request), str(response.status_code)).observe(elapsed)
        return response


@never_cache
def metrics(request):
    """Prometheus scrape endpoint: 404 while METRICS_TOKEN is unset (the endpoint does not
    exist), 401 without `Authorization: Bearer <METRICS_TOKEN>`."""
    token = settings.METRICS_TOKEN
    if not token:
        return json_error(404, "not_found", "Not found.")
    scheme, _, given = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
        code, detail = (
            ("authentication_failed", "Invalid metrics token.")
            if given
            else ("not_authenticated", "Authentication credentials were not provided.")
        )
        response = json_error(401, code, detail)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    if request.method not in ("GET", "HEAD"):
        response = json_error(405, "method_not_allowed", f'Method "{request.method}" not allowed.')
        response["Allow"] = "GET, HEAD"
        return response
    return HttpResponse(metrics_text(), content_type=CONTENT_TYPE_LATEST)
