from __future__ import annotations

from rest_framework import serializers

from core.addresses import MAX_LENGTHS, clean_country, clean_phone
from orders.models import OrderEvent, OrderStatus, ReturnStatus


class ShippingAddressSerializer(serializers.Serializer):
    # Fields, lengths and checks are core.addresses' (as for saved addresses).
    full_name = serializers.CharField(max_length=MAX_LENGTHS["full_name"])
    line1 = serializers.CharField(max_length=MAX_LENGTHS["line1"])
    line2 = serializers.CharField(max_length=MAX_LENGTHS["line2"], required=False, allow_blank=True, default="")
    city = serializers.CharField(max_length=MAX_LENGTHS["city"])
    region = serializers.CharField(max_length=MAX_LENGTHS["region"], required=False, allow_blank=True, default="")
    postal_code = serializers.CharField(max_length=MAX_LENGTHS["postal_code"])
    country = serializers.CharField(
        min_length=MAX_LENGTHS["country"],
        max_length=MAX_LENGTHS["country"],
        help_text="ISO 3166-1 alpha-2 code, e.g. `FR` (case-insensitive on input).",
    )
    phone = serializers.CharField(max_length=MAX_LENGTHS["phone"], required=False, allow_blank=True, default="")

    def validate_country(self, value: str) -> str:
        return clean_country(value)

    def validate_phone(self, value: str) -> str:
        return clean_phone(value)


class OrderItemInputSerializer(serializers.Serializer):
    product_id = serializers.UUIDField()
    quantity = serializers.IntegerField(min_value=1, max_value=10_000)
    unit_price = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=0,
        required=False,
        help_text="The price the client showed; a different current price answers 409 price_changed.",
    )


class OrderCreateSerializer(serializers.Serializer):
    shipping_address_id = serializers.UUIDField(required=False, help_text="One of the caller's saved addresses.")
    shipping_address = ShippingAddressSerializer(required=False)
    items = OrderItemInputSerializer(
        many=True,
        required=False,
        max_length=100,
        help_text="Lines to order; when absent the order is placed from the cart.",
    )

    def validate(self, attrs):
        if ("shipping_address_id" in attrs) == ("shipping_address" in attrs):
            raise serializers.ValidationError(
                "Send exactly one of shipping_address_id and shipping_address.", code="invalid_address"
            )
        if "items" in attrs and not attrs["items"]:
            raise serializers.ValidationError({"items": "At least one item is required."}, code="empty_order")
        return attrs


# Output serializers are plain Serializers with every field declared: a ModelSerializer
# introspects the model on every instantiation, which the checkout path pays per request.


class OrderLineSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True, help_text="The line's id (`line_id` in edits, shipments, returns).")
    product_id = serializers.UUIDField(read_only=True)
    name = serializers.CharField(source="product_name", read_only=True)
    sku = serializers.CharField(source="product_sku", read_only=True)
    quantity = serializers.IntegerField(read_only=True)
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True)
    line_total = serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True)


class OrderStatusChangeSerializer(serializers.Serializer):
    event = serializers.ChoiceField(
        choices=OrderEvent.choices,
        read_only=True,
        help_text="`status` for a status move; otherwise what happened (the status is unchanged).",
    )
    from_status = serializers.CharField(read_only=True, help_text="Empty for the creation of the order.")
    to_status = serializers.CharField(read_only=True)
    by = serializers.UUIDField(source="changed_by_id", read_only=True, allow_null=True)
    at = serializers.DateTimeField(source="created_at", read_only=True)
    note = serializers.CharField(read_only=True)
    details = serializers.DictField(
        read_only=True, help_text="What changed (for an edit: line, quantities, prices, totals before and after)."
    )


class QuantityOfLineSerializer(serializers.Serializer):
    line_id = serializers.IntegerField(source="order_line_id", read_only=True)
    quantity = serializers.IntegerField(read_only=True)


class FulfillmentSerializer(serializers.Serializer):
    id = serializers.UUIDField(read_only=True)
    tracking_number = serializers.CharField(read_only=True)
    shipped_at = serializers.DateTimeField(read_only=True)
    shipped_by = serializers.UUIDField(source="shipped_by_id", read_only=True, allow_null=True)
    lines = QuantityOfLineSerializer(many=True, read_only=True)


class ReturnLineSerializer(serializers.Serializer):
    line_id = serializers.IntegerField(source="order_line_id", read_only=True)
    quantity = serializers.IntegerField(read_only=True)
    refund_amount = serializers.DecimalField(
        max_digits=12, decimal_places=2, read_only=True, help_text="Set when the return is approved."
    )
    tax_amount = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True)


class ReturnSerializer(serializers.Serializer):
    id = serializers.UUIDField(read_only=True)
    order_id = serializers.UUIDField(read_only=True)
    status = serializers.ChoiceField(choices=ReturnStatus.choices, read_only=True)
    reason = serializers.CharField(read_only=True)
    lines = ReturnLineSerializer(many=True, read_only=True)
    refund_amount = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True)
    restocked = serializers.BooleanField(read_only=True)
    rejection_reason = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    decided_at = serializers.DateTimeField(read_only=True, allow_null=True)


class OrderAddressSnapshotSerializer(serializers.Serializer):
    full_name = serializers.CharField()
    line1 = serializers.CharField()
    line2 = serializers.CharField(allow_blank=True)
    city = serializers.CharField()
    region = serializers.CharField(allow_blank=True)
    postal_code = serializers.CharField()
    country = serializers.CharField()
    phone = serializers.CharField(allow_blank=True)


class OrderSerializer(serializers.Serializer):
    id = serializers.UUIDField(read_only=True)
    number = serializers.CharField(read_only=True)
    user_id = serializers.UUIDField(read_only=True, allow_null=True, help_text="Null once the account was erased.")
    status = serializers.ChoiceField(choices=OrderStatus.choices, read_only=True)
    items = OrderLineSerializer(source="lines", many=True, read_only=True)
    subtotal = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True)
    total_amount = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True)
    refunded_amount = serializers.DecimalField(
        max_digits=12, decimal_places=2, read_only=True, help_text="Refunded so far (cancellation, returns)."
    )
    currency = serializers.CharField(read_only=True)
    shipping_address = OrderAddressSnapshotSerializer(read_only=True)
    tracking_number = serializers.CharField(read_only=True, help_text="The latest shipment's.")
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)
    expires_at = serializers.DateTimeField(read_only=True, allow_null=True)
    paid_at = serializers.DateTimeField(read_only=True, allow_null=True)
    cancelled_at = serializers.DateTimeField(read_only=True, allow_null=True)
    delivered_at = serializers.DateTimeField(read_only=True, allow_null=True)
    fulfillments = FulfillmentSerializer(many=True, read_only=True)
    returns = ReturnSerializer(many=True, read_only=True)
    history = OrderStatusChangeSerializer(many=True, read_only=True)


class OrderStatusUpdateSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=OrderStatus.choices)
    tracking_number = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    note = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


class OrderCancelSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


class OrderLineAddSerializer(serializers.Serializer):
    product_id = serializers.UUIDField()
    quantity = serializers.IntegerField(min_value=1, max_value=10_000)


class OrderLineQuantitySerializer(serializers.Serializer):
    quantity = serializers.IntegerField(min_value=1, max_value=10_000, help_text="Delete the line to remove it.")


class LineQuantityInputSerializer(serializers.Serializer):
    line_id = serializers.IntegerField(min_value=1)
    quantity = serializers.IntegerField(min_value=1, max_value=10_000)


class FulfillmentCreateSerializer(serializers.Serializer):
    lines = LineQuantityInputSerializer(many=True, min_length=1, max_length=100)
    tracking_number = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")


class ReturnCreateSerializer(serializers.Serializer):
    lines = LineQuantityInputSerializer(many=True, min_length=1, max_length=100)
    reason = serializers.CharField(max_length=500)


class ReturnApproveSerializer(serializers.Serializer):
    restock = serializers.BooleanField(required=False, default=False, help_text="Put the returned units back in stock.")


class ReturnRejectSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
