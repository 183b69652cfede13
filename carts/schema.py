"""OpenAPI helpers shared by the cart views."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from drf_standardized_errors.openapi import AutoSchema


class CartAutoSchema(AutoSchema):
    """The project allows error statuses that only some endpoints can answer (402, 409, 422,
    502, 503) and has no generic serializer for them; cart operations declare the ones they
    can answer with `@extend_schema` and leave the others out, instead of every operation
    documenting (or warning about) payment and upstream errors it never returns.

    Its 401 body also lists `token_not_valid`, the code the project's exception handler
    gives an invalid or expired JWT."""

    def _get_error_response_serializer(self, status_code: str):
        if status_code == "401":
            from carts.serializers import CartErrorResponse401Serializer

            return CartErrorResponse401Serializer
        return super()._get_error_response_serializer(status_code)

    def _should_add_error_response(self, responses: dict, status_code: str) -> bool:
        if self._get_error_response_serializer(status_code) is None:
            return False
        return super()._should_add_error_response(responses, status_code)


CART_TOKEN_HEADER = OpenApiParameter(
    name="X-Cart-Token",
    location=OpenApiParameter.HEADER,
    type=OpenApiTypes.STR,
    required=False,
    description="Anonymous visitors: the cart token a previous write returned. Ignored for "
    "authenticated customers. A missing, malformed or expired token reads as an empty cart; "
    "a write then starts a new cart and returns its token in the X-Cart-Token response header.",
)
