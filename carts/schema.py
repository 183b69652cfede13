"""OpenAPI helpers shared by the cart views."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter

CART_TOKEN_HEADER = OpenApiParameter(
    name="X-Cart-Token",
    location=OpenApiParameter.HEADER,
    type=OpenApiTypes.STR,
    required=False,
    description="Anonymous visitors: the cart token a previous write returned. Ignored for "
    "authenticated customers. A missing, malformed or expired token reads as an empty cart; "
    "a write then starts a new cart and returns its token in the X-Cart-Token response header.",
)
