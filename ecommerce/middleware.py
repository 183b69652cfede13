"""Project middleware: Django's CommonMiddleware with a trailing-slash redirect that keeps the
request body, and the Content-Security-Policy per kind of response."""

from __future__ import annotations

from csp.middleware import CSPMiddleware
from django.conf import settings
from django.http import HttpResponsePermanentRedirect
from django.middleware.common import CommonMiddleware as DjangoCommonMiddleware
from django.utils.http import escape_leading_slashes
from rest_framework.permissions import SAFE_METHODS


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
