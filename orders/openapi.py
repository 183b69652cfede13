"""OpenAPI helpers shared by the orders and payments views.

drf-standardized-errors documents the usual error responses (401, 404, 405, 429, ...) by
itself; 402, 409, 422, 502 and 503 are in ALLOWED_ERROR_STATUS_CODES but have no default
schema, so our views document exactly the ones each operation can return (and the schema
class below stops the library from guessing the others)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, inline_serializer
from drf_standardized_errors.openapi import AutoSchema
from rest_framework import serializers

from ecommerce.idempotency import OPENAPI_HEADER_DESCRIPTION

_UNDOCUMENTED_BY_DEFAULT = {"402", "409", "422", "502", "503"}


class OrdersAutoSchema(AutoSchema):
    def _should_add_error_response(self, responses: dict, status_code: str) -> bool:
        if status_code in _UNDOCUMENTED_BY_DEFAULT:
            return False
        return super()._should_add_error_response(responses, status_code)

    def _get_error_response_serializer(self, status_code: str):
        # The project's handler answers a bad JWT with 401 `token_not_valid`, a code the
        # library's 401 enum does not list.
        if status_code == "401":
            return ClientErrorEnvelope
        return super()._get_error_response_serializer(status_code)


class ErrorItemSerializer(serializers.Serializer):
    code = serializers.CharField()
    detail = serializers.CharField()
    attr = serializers.CharField(allow_null=True)


def _envelope(name: str, types: list[str]):
    return inline_serializer(
        name=name,
        fields={"type": serializers.ChoiceField(choices=types), "errors": ErrorItemSerializer(many=True)},
    )


ClientErrorEnvelope = _envelope("OrdersClientErrorResponse", ["client_error", "validation_error"])
ServerErrorEnvelope = _envelope("OrdersServerErrorResponse", ["server_error"])


def error(description: str, server: bool = False) -> OpenApiResponse:
    return OpenApiResponse(ServerErrorEnvelope if server else ClientErrorEnvelope, description=description)


def idempotency_header(required: bool) -> list[OpenApiParameter]:
    """The request header, and the response header a replay carries."""
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
    400: error("Invalid input, invalid or missing Idempotency-Key."),
    409: error("Conflict with the current state, or `idempotency_key_in_use`."),
    422: error("`idempotency_key_reused`: the key was used with another body."),
}
