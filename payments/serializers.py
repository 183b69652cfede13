from __future__ import annotations

from rest_framework import serializers

from orders.serializers import OrderLineSerializer
from payments.models import Invoice, Payment


class PayOrderSerializer(serializers.Serializer):
    payment_method = serializers.ChoiceField(choices=["card"])
    token = serializers.CharField(max_length=255, help_text="Card token from the provider (test: tok_visa, ...).")


class PaymentSerializer(serializers.ModelSerializer):
    order_id = serializers.UUIDField(read_only=True)

    class Meta:
        model = Payment
        fields = ["id", "order_id", "provider", "transaction_id", "amount", "currency", "status", "created_at"]
        read_only_fields = fields


class InvoiceSerializer(serializers.ModelSerializer):
    order_id = serializers.UUIDField(read_only=True)
    order_number = serializers.CharField(source="order.number", read_only=True)
    items = OrderLineSerializer(source="order.lines", many=True, read_only=True)
    billing_address = serializers.DictField(read_only=True)

    class Meta:
        model = Invoice
        fields = [
            "number",
            "order_id",
            "order_number",
            "issued_at",
            "items",
            "subtotal",
            "total_amount",
            "currency",
            "billing_address",
        ]
        read_only_fields = fields


class WebhookAckSerializer(serializers.Serializer):
    result = serializers.CharField()
