"""The one exception handler of the API (drf-standardized-errors), plus Django's own
404/500 handlers for `/api/` paths so that no API client ever receives an HTML page.

Response shape: {"type": "validation_error"|"client_error"|"server_error",
                 "errors": [{"code", "detail", "attr"}]}
"""

from __future__ import annotations

import logging
import sys

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError
from django.db.models import ProtectedError, RestrictedError
from django.http import JsonResponse
from drf_standardized_errors.handler import ExceptionHandler as BaseExceptionHandler
from drf_standardized_errors.handler import exception_handler as _standard_handler
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from core.errors import DomainError, Protected

logger = logging.getLogger(__name__)

exception_handler = _standard_handler


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is larger than this API accepts."
    default_code = "request_too_large"

    @staticmethod
    def limit_detail() -> str:
        return f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes."


class ServiceUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The service is temporarily unavailable; please retry."
    default_code = "service_unavailable"


def error_type_for(status_code: int, *, validation: bool = False) -> str:
    if status_code >= 500:
        return "server_error"
    return "validation_error" if validation else "client_error"


class ExceptionHandler(BaseExceptionHandler):
    def run(self) -> Response | None:
        exc = self.exc
        if isinstance(exc, (ProtectedError, RestrictedError)):
            exc = Protected()
        if isinstance(exc, DomainError):
            set_rollback()
            data = {
                "type": error_type_for(exc.status_code, validation=exc.status_code == 400),
                "errors": exc.as_errors(),
            }
            return Response(data, status=exc.status_code, headers=exc.headers or None)
        return super().run()

    def convert_known_exceptions(self, exc: Exception) -> Exception:
        from rest_framework_simplejwt.exceptions import InvalidToken

        if isinstance(exc, RequestDataTooBig):
            return RequestTooLarge(RequestTooLarge.limit_detail(), code=RequestTooLarge.default_code)
        if isinstance(exc, RecursionError):  # JSON nested deeper than the parser can follow
            return exceptions.ParseError("JSON parse error - nested too deeply.", code="parse_error")
        if isinstance(exc, InvalidToken):
            # simplejwt puts a dict (with per-token-class messages) in `detail`; clients
            # get one flat error: 401 token_not_valid.
            detail = exc.detail.get("detail", "Token is invalid.") if isinstance(exc.detail, dict) else exc.detail
            return exceptions.AuthenticationFailed(detail=str(detail), code="token_not_valid")
        if isinstance(exc, DatabaseError) and _database_is_down(exc):
            logger.error("database unavailable", exc_info=exc)
            return ServiceUnavailable()
        return super().convert_known_exceptions(exc)


def _database_is_down(exc: DatabaseError) -> bool:
    from django.db import InterfaceError, OperationalError

    return isinstance(exc, (OperationalError, InterfaceError))


JSON_PREFIXES = ("/api", "/health")


def wants_json_errors(path: str) -> bool:
    """Paths whose errors are always the JSON envelope (the bare prefixes included)."""
    return any(path == prefix or path.startswith(prefix + "/") for prefix in JSON_PREFIXES)


def json_error(status_code: int, code: str, detail: str, *, validation: bool = False) -> JsonResponse:
    """The error envelope for code outside DRF views (URL handlers, middleware)."""
    return JsonResponse(
        {
            "type": error_type_for(status_code, validation=validation),
            "errors": [{"code": code, "detail": detail, "attr": None}],
        },
        status=status_code,
    )


def handler404(request, exception=None):
    if wants_json_errors(request.path):
        return json_error(404, "not_found", "Not found.")
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def handler500(request):
    if wants_json_errors(request.path):
        # Django calls this while handling the uncaught exception. One raised outside a DRF
        # view (the idempotency middleware records the key before the view runs) never met
        # the exception handler above: a database that is down is still a 503.
        exc = sys.exc_info()[1]
        if isinstance(exc, DatabaseError) and _database_is_down(exc):
            return json_error(503, ServiceUnavailable.default_code, str(ServiceUnavailable.default_detail))
        return json_error(500, "error", "Server Error (500)")
    from django.views.defaults import server_error

    return server_error(request)


def handler403(request, exception=None):
    if wants_json_errors(request.path):
        return json_error(403, "permission_denied", "You do not have permission to perform this action.")
    from django.views.defaults import permission_denied

    return permission_denied(request, exception)


def handler400(request, exception=None):
    if wants_json_errors(request.path):
        return json_error(400, "bad_request", "Bad request.")
    from django.views.defaults import bad_request

    return bad_request(request, exception)
