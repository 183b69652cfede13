"""Cart endpoints (API.md "Cart"): thin views over `carts.services` / `carts.selectors`.

Customers (JWT) use their database cart; anonymous visitors name their Redis cart with the
X-Cart-Token header, which every response carries back when there is an anonymous cart.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from drf_standardized_errors.openapi_serializers import ErrorResponse404Serializer
from drf_standardized_errors.openapi_validation_errors import extend_validation_errors
from rest_framework import status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from carts import selectors, services
from carts.schema import CART_TOKEN_HEADER
from carts.selectors import CartDetail
from carts.serializers import (
    CartItemAddSerializer,
    CartItemQuantitySerializer,
    CartMergeSerializer,
    CartSerializer,
    InsufficientStockResponseSerializer,
)
from ecommerce.api.openapi import error_responses

TOKEN_HEADER = "X-Cart-Token"  # noqa: S105 (a header name, not a secret)
UNAVAILABLE = error_responses(503)
INSUFFICIENT_STOCK = {
    409: OpenApiResponse(InsufficientStockResponseSerializer, description="`insufficient_stock`: not enough stock.")
}


def _caller(request) -> dict:
    return {"user": request.user, "token": request.headers.get(TOKEN_HEADER)}


def _cart_response(cart: CartDetail, status_code: int = status.HTTP_200_OK) -> Response:
    response = Response(CartSerializer(cart).data, status=status_code)
    if cart.token:
        response[TOKEN_HEADER] = cart.token
    return response


class CartView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="cart_retrieve",
        parameters=[CART_TOKEN_HEADER],
        responses={200: CartSerializer, **UNAVAILABLE},
        summary="The caller's cart, priced live",
    )
    def get(self, request):
        return _cart_response(selectors.cart_get(**_caller(request)))

    @extend_schema(
        operation_id="cart_clear",
        parameters=[CART_TOKEN_HEADER],
        responses={204: None, **UNAVAILABLE},
        summary="Empty the cart",
    )
    def delete(self, request):
        services.cart_clear(**_caller(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_validation_errors(["variant_required"], field_name="product_id", methods=["post"])
class CartItemsView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="cart_items_add",
        parameters=[CART_TOKEN_HEADER],
        request=CartItemAddSerializer,
        responses={
            201: CartSerializer,
            404: OpenApiResponse(ErrorResponse404Serializer, description="Unknown or inactive product."),
            **INSUFFICIENT_STOCK,
            **UNAVAILABLE,
        },
        summary="Add a product (quantities of the same product are summed)",
    )
    def post(self, request):
        serializer = CartItemAddSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        cart = services.cart_add_item(**_caller(request), **serializer.validated_data)
        return _cart_response(cart, status.HTTP_201_CREATED)


class CartItemDetailView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="cart_items_update",
        parameters=[CART_TOKEN_HEADER],
        request=CartItemQuantitySerializer,
        responses={200: CartSerializer, **INSUFFICIENT_STOCK, **UNAVAILABLE},
        summary="Set a line's quantity",
        description="404 when the product is unknown, inactive or not in the cart.",
    )
    def patch(self, request, product_id):
        serializer = CartItemQuantitySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        cart = services.cart_set_quantity(**_caller(request), product_id=product_id, **serializer.validated_data)
        return _cart_response(cart)

    @extend_schema(
        operation_id="cart_items_destroy",
        parameters=[CART_TOKEN_HEADER],
        responses={204: None, **UNAVAILABLE},
        summary="Remove a line",
        description="404 when the product is not in the cart.",
    )
    def delete(self, request, product_id):
        services.cart_remove_item(**_caller(request), product_id=product_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CartMergeView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="cart_merge",
        request=CartMergeSerializer,
        responses={200: CartSerializer, **UNAVAILABLE},
        summary="Merge an anonymous cart into the customer's cart",
        description="Quantities are summed and capped at stock; the anonymous cart is then gone. "
        "Merging twice, or an unknown, expired or malformed token, changes nothing.",
    )
    def post(self, request):
        serializer = CartMergeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.cart_merge(user=request.user, token=serializer.validated_data["token"], raise_unavailable=True)
        return _cart_response(selectors.cart_get(user=request.user))
