"""OpenAPI pieces shared by every app's views.

drf-standardized-errors documents the generic statuses (400/401/403/404/405/406/415/429/500)
on its own. Domain statuses (402, 409, 422, 502, 503) are declared by the endpoints that can
answer them, with `error_responses(409, 422, ...)` inside their `@extend_schema(responses=...)`.
"""

from __future__ import annotations

from django.db import models
from drf_spectacular.utils import OpenApiResponse
from drf_standardized_errors.openapi_serializers import ClientErrorEnum, ServerErrorEnum
from rest_framework import serializers


class ErrorCode401Enum(models.TextChoices):
    AUTHENTICATION_FAILED = "authentication_failed"
    NOT_AUTHENTICATED = "not_authenticated"
    TOKEN_NOT_VALID = "token_not_valid"  # noqa: S105 (an error code, not a secret)
    USER_INACTIVE = "user_inactive"
    USER_NOT_FOUND = "user_not_found"


class Error401Serializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=ErrorCode401Enum.choices)
    detail = serializers.CharField()
    attr = serializers.CharField(allow_null=True)


class ErrorResponse401Serializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=ClientErrorEnum.choices)
    errors = Error401Serializer(many=True)


class DomainErrorSerializer(serializers.Serializer):
    """One error entry. Some codes carry extra machine-readable keys (e.g.
    insufficient_stock: product_id, requested, available)."""

    code = serializers.CharField()
    detail = serializers.CharField()
    attr = serializers.CharField(allow_null=True)


class ClientErrorResponseSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=ClientErrorEnum.choices)
    errors = DomainErrorSerializer(many=True)


class ServerErrorResponseSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=ServerErrorEnum.choices)
    errors = DomainErrorSerializer(many=True)


_DESCRIPTIONS = {
    402: "Payment declined",
    409: "Conflict with the current state (see the error code)",
    422: "Unprocessable (see the error code)",
    502: "An upstream provider failed; nothing was changed",
    503: "A backing service is unavailable; retry later",
}


def error_responses(*status_codes: int) -> dict[int, OpenApiResponse]:
    """`responses={201: X, **error_responses(409, 422)}` for domain error statuses."""
    return {
        code: OpenApiResponse(
            response=ServerErrorResponseSerializer if code >= 500 else ClientErrorResponseSerializer,
            description=_DESCRIPTIONS.get(code, ""),
        )
        for code in status_codes
    }
