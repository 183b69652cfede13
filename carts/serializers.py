"""Cart input and output shapes (API.md "Cart"), plus the error bodies cart endpoints add."""

from __future__ import annotations

from django.conf import settings
from drf_standardized_errors.openapi_serializers import ClientErrorEnum
from rest_framework import serializers


class CartProductSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    slug = serializers.SlugField()
    sku = serializers.CharField()
    name = serializers.CharField()
    is_active = serializers.BooleanField()


class CartLineSerializer(serializers.Serializer):
    product = CartProductSerializer()
    quantity = serializers.IntegerField()
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=2, help_text="The product's current price.")
    line_total = serializers.DecimalField(max_digits=16, decimal_places=2)
    available = serializers.BooleanField(
        help_text="False when the product was deactivated or has less stock than this line's quantity."
    )
    available_quantity = serializers.IntegerField(help_text="Units in stock now (0 for an inactive product).")


class CartSerializer(serializers.Serializer):
    items = CartLineSerializer(many=True)
    subtotal = serializers.DecimalField(
        max_digits=16, decimal_places=2, help_text="Sum of the line totals of active products."
    )
    item_count = serializers.IntegerField(help_text="Units in the cart (lines of active products).")
    currency = serializers.CharField()
    token = serializers.CharField(
        allow_null=True,
        help_text="Anonymous carts: the cart token, also sent in the X-Cart-Token response header. "
        "Null for customers' carts and when there is no anonymous cart.",
    )


def _quantity_field() -> serializers.IntegerField:
    return serializers.IntegerField(min_value=1, max_value=settings.CART_MAX_QUANTITY)


class CartItemAddSerializer(serializers.Serializer):
    product_id = serializers.UUIDField()
    quantity = _quantity_field()


class CartItemQuantitySerializer(serializers.Serializer):
    quantity = _quantity_field()


class CartMergeSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=256, trim_whitespace=True, help_text="The anonymous cart's token.")


# --- error bodies that drf-standardized-errors does not generate ---------------------------


class InsufficientStockErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="`insufficient_stock`")
    detail = serializers.CharField()
    attr = serializers.CharField(allow_null=True)
    product_id = serializers.UUIDField()
    requested = serializers.IntegerField(help_text="The quantity the line would have had.")
    available = serializers.IntegerField(help_text="Units in stock.")


class InsufficientStockResponseSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=ClientErrorEnum.choices)
    errors = InsufficientStockErrorSerializer(many=True)
