"""Project middleware: load shedding, response compression, Django's CommonMiddleware with a
trailing-slash redirect that keeps the request body, and the Content-Security-Policy per
kind of response."""

from __future__ import annotations

from csp.middleware import CSPMiddleware
from django.conf import settings
from django.http import HttpResponsePermanentRedirect
from django.middleware.common import CommonMiddleware as DjangoCommonMiddleware
from django.utils.cache import patch_vary_headers
from django.utils.http import escape_leading_slashes
from rest_framework.permissions import SAFE_METHODS

from core.compression import MIN_SIZE, compress, is_compressible, response_encoding
from ecommerce.api.exceptions import json_error
from ecommerce.gunicorn_worker import queue_wait


class HttpResponsePermanentRedirectKeepMethod(HttpResponsePermanentRedirect):
    """308: like 301, but the client must repeat the same method with the same body."""

    status_code = 308


class CommonMiddleware(DjangoCommonMiddleware):
    """APPEND_SLASH for an API client: `POST /api/v1/orders` (no trailing slash) answers 308
    to `/api/v1/orders/`, which clients follow with the same method and body. Django's own
    answer is a 301, which clients follow with a GET (the body is lost), or under DEBUG a
    RuntimeError (a 500). Safe methods keep Django's 301."""

    def get_full_path_with_slash(self, request):
        return escape_leading_slashes(request.get_full_path(force_append_slash=True))

    def process_response(self, request, response):
        if (
            response.status_code == 404
            and request.method not in SAFE_METHODS
            and self.should_redirect_with_slash(request)
        ):
            return HttpResponsePermanentRedirectKeepMethod(self.get_full_path_with_slash(request))
        return super().process_response(request, response)


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware with one policy per kind of body: CONTENT_SECURITY_POLICY for
    HTML (admin, API docs, browsable API) and `default-src 'none'` for everything else
    (JSON, the schema, files): a JSON answer rendered by mistake as a page runs nothing."""

    def process_response(self, request, response):
        content_type = response.get("Content-Type", "")
        if content_type.startswith(("text/html", "application/javascript", "text/css")) or not content_type:
            return super().process_response(request, response)
        if "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = settings.CONTENT_SECURITY_POLICY_JSON
        return response


def should_shed(wait: float | None, limit_ms: int) -> bool:
    """True when a request waited for a thread longer than `limit_ms` (0 = never shed; an
    unknown wait, outside gunicorn's timed pool, is never shed)."""
    return limit_ms > 0 and wait is not None and wait * 1000 > limit_ms


class LoadSheddingMiddleware:
    """Past capacity, a quick 503 rather than a slow answer: a request that waited longer
    than LOAD_SHED_QUEUE_MS for a gunicorn thread (ecommerce.gunicorn_worker) is answered
    `503 service_unavailable` with `Retry-After` at once, before any database work. Answering
    drains the queue in microseconds, so the requests behind it wait less and are served;
    shedding stops by itself as soon as the queue is short again. Health checks are never
    shed: an overloaded instance is alive and keeps serving."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if should_shed(queue_wait(), settings.LOAD_SHED_QUEUE_MS) and not request.path.startswith("/health/"):
            response = json_error(503, "service_unavailable", "The server is overloaded; please retry shortly.")
            response["Retry-After"] = str(settings.LOAD_SHED_RETRY_AFTER)
            # One log line per shed request (django-structlog's request_finished, with its
            # request id), not a second one from django.request: shedding is when the
            # server can least afford log spam.
            response._has_been_logged = True
            return response
        return self.get_response(request)


class CompressionMiddleware:
    """gzip or br for JSON and HTML bodies of MIN_SIZE (1 KB) or more, when the client
    accepts one (core.compression: br preferred, but not for requests with a session
    cookie, which get gzip with Django's BREACH padding). Such responses `Vary:
    Accept-Encoding` whether compressed or not. A response that already has a
    Content-Encoding (a cached catalog page, stored compressed) is left as it is; streaming
    responses (files, static assets, which whitenoise serves precompressed) too."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            getattr(response, "precompressed", False)  # a cached catalog page, sent as stored
            or response.streaming
            or response.has_header("Content-Encoding")
            or len(response.content) < MIN_SIZE
            or not is_compressible(response.get("Content-Type", ""))
        ):
            return response
        patch_vary_headers(response, ("Accept-Encoding",))
        encoding = response_encoding(request)
        if encoding is None:
            return response
        compressed = compress(response.content, encoding)
        if len(compressed) >= len(response.content):
            return response
        response.content = compressed
        response["Content-Length"] = str(len(compressed))
        response["Content-Encoding"] = encoding
        # A strong ETag names the identity bytes (RFC 9110 8.8.1): weaken it, as Django's
        # GZipMiddleware does.
        etag = response.get("ETag")
        if etag and etag.startswith('"'):
            response["ETag"] = "W/" + etag
        return response
