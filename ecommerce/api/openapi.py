"""OpenAPI pieces shared by every app's views.

drf-standardized-errors documents the generic statuses (400/401/403/404/405/406/415/429/500)
on its own. Domain statuses (402, 409, 422, 502, 503) are declared by the endpoints that can
answer them, with `error_responses(409, 422, ...)` inside their `@extend_schema(responses=...)`.
"""

from __future__ import annotations

from django.db import models
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from drf_standardized_errors.openapi import AutoSchema
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


class ClientOrValidationErrorEnum(models.TextChoices):
    # Domain errors answer 400 with "validation_error", other 4xx with "client_error".
    VALIDATION_ERROR = "validation_error"
    CLIENT_ERROR = "client_error"


class ClientErrorResponseSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=ClientOrValidationErrorEnum.choices)
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


def error_response(description: str, *, server: bool = False) -> OpenApiResponse:
    """One documented error status with its own description."""
    return OpenApiResponse(
        ServerErrorResponseSerializer if server else ClientErrorResponseSerializer, description=description
    )


def idempotency_header(required: bool) -> list[OpenApiParameter]:
    """The Idempotency-Key request header, and the header a replayed response carries."""
    from ecommerce.api.idempotency import OPENAPI_HEADER_DESCRIPTION

    return [
        OpenApiParameter(
            "Idempotency-Key",
            OpenApiTypes.STR,
            OpenApiParameter.HEADER,
            required=required,
            description=OPENAPI_HEADER_DESCRIPTION,
        ),
        OpenApiParameter(
            "Idempotent-Replayed",
            OpenApiTypes.STR,
            OpenApiParameter.HEADER,
            response=[200, 201, 400, 402, 403, 404, 409],
            description="`true` when this response is the stored response of an earlier request with the same key.",
        ),
    ]


IDEMPOTENCY_RESPONSES = {
    400: error_response("Invalid input, invalid or missing Idempotency-Key."),
    409: error_response("Conflict with the current state, or `idempotency_key_in_use`."),
    422: error_response("`idempotency_key_reused`: the key was used with another body."),
}


class JSONErrorsAutoSchema(AutoSchema):
    """For views that also answer in another format (PDF documents): their errors are the
    JSON error envelope whatever the client asked for (`ecommerce.api.renderers.
    PDFErrorsAsJSONMixin`), so error responses are documented as `application/json` only."""

    def _get_response_for_code(self, serializer, status_code, media_types=None, direction="response"):
        if media_types is None and str(status_code)[:1] in ("4", "5"):
            media_types = ["application/json"]
        return super()._get_response_for_code(serializer, status_code, media_types=media_types, direction=direction)


def write_schemas(serializer, *, invalid, conflict=None) -> dict:
    """`extend_schema_view(**write_schemas(S, invalid=...))` for a staff CRUD ViewSet whose
    writes take and answer `serializer`: 201/200 with it, 400 `invalid` (an error_response),
    and 409 `conflict` when given."""
    responses = {400: invalid, **({409: conflict} if conflict else {})}
    return {
        "create": extend_schema(request=serializer, responses={201: serializer, **responses}),
        "update": extend_schema(request=serializer, responses={200: serializer, **responses}),
        "partial_update": extend_schema(request=serializer, responses={200: serializer, **responses}),
    }
