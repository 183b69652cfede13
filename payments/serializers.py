from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from orders.selectors import order_tax_breakdown
from orders.serializers import OrderLineSerializer
from payments.models import CreditNote, Invoice, Payment
from payments.selectors import invoice_refunds


class PayOrderSerializer(serializers.Serializer):
    payment_method = serializers.ChoiceField(choices=["card"])
    token = serializers.CharField(max_length=255, help_text="Card token from the provider (test: tok_visa, ...).")


class PaymentSerializer(serializers.ModelSerializer):
    order_id = serializers.UUIDField(read_only=True)

    class Meta:
        model = Payment
        fields = ["id", "order_id", "provider", "transaction_id", "amount", "currency", "status", "created_at"]
        read_only_fields = fields


class InvoiceTaxLineSerializer(serializers.Serializer):
    rate = serializers.DecimalField(max_digits=5, decimal_places=2, help_text="Percent.")
    base = serializers.DecimalField(
        max_digits=12, decimal_places=2, help_text="The amounts taxed at this rate (gross when prices include tax)."
    )
    tax = serializers.DecimalField(max_digits=12, decimal_places=2)


class InvoiceSerializer(serializers.ModelSerializer):
    order_id = serializers.UUIDField(read_only=True)
    order_number = serializers.CharField(source="order.number", read_only=True)
    items = OrderLineSerializer(source="order.lines", many=True, read_only=True)
    discount_amount = serializers.DecimalField(
        source="order.discount_amount", max_digits=12, decimal_places=2, read_only=True
    )
    voucher_code = serializers.CharField(source="order.voucher_code", read_only=True)
    shipping_method = serializers.CharField(source="order.shipping_method_name", read_only=True)
    shipping_amount = serializers.DecimalField(
        source="order.shipping_amount", max_digits=12, decimal_places=2, read_only=True
    )
    tax_amount = serializers.DecimalField(source="order.tax_amount", max_digits=12, decimal_places=2, read_only=True)
    prices_include_tax = serializers.BooleanField(source="order.prices_include_tax", read_only=True)
    taxes = serializers.SerializerMethodField(help_text="The tax per rate (lines and shipping).")
    billing_address = serializers.DictField(read_only=True)
    # The invoice says that (some of) its money went back; each refund also has a credit note.
    refunded = serializers.SerializerMethodField(help_text="True once the payment was refunded (in part or in full).")
    refunded_amount = serializers.SerializerMethodField(help_text='Sum refunded so far ("0.00" if none).')
    refunded_at = serializers.SerializerMethodField(help_text="When the latest refund was made; null if none.")

    class Meta:
        model = Invoice
        fields = [
            "number",
            "order_id",
            "order_number",
            "issued_at",
            "items",
            "subtotal",
            "discount_amount",
            "voucher_code",
            "shipping_method",
            "shipping_amount",
            "tax_amount",
            "prices_include_tax",
            "taxes",
            "total_amount",
            "currency",
            "billing_address",
            "refunded",
            "refunded_amount",
            "refunded_at",
        ]
        read_only_fields = fields

    @extend_schema_field(InvoiceTaxLineSerializer(many=True))
    def get_taxes(self, invoice: Invoice) -> list[dict]:
        return InvoiceTaxLineSerializer(order_tax_breakdown(invoice.order), many=True).data

    def _refunds(self, invoice: Invoice):
        if not hasattr(invoice, "_refund_summary"):
            invoice._refund_summary = invoice_refunds(invoice)
        return invoice._refund_summary

    @extend_schema_field(serializers.BooleanField())
    def get_refunded(self, invoice: Invoice) -> bool:
        return self._refunds(invoice)[0] > 0

    @extend_schema_field(serializers.DecimalField(max_digits=12, decimal_places=2))
    def get_refunded_amount(self, invoice: Invoice) -> str:
        return f"{self._refunds(invoice)[0]:.2f}"

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_refunded_at(self, invoice: Invoice):
        when = self._refunds(invoice)[1]
        return serializers.DateTimeField().to_representation(when) if when else None


class WebhookAckSerializer(serializers.Serializer):
    result = serializers.CharField()


class CreditNoteLineSerializer(serializers.Serializer):
    line_id = serializers.IntegerField(source="order_line_id", read_only=True, allow_null=True)
    description = serializers.CharField(read_only=True)
    sku = serializers.CharField(read_only=True)
    quantity = serializers.IntegerField(read_only=True)
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True)
    amount = serializers.DecimalField(
        max_digits=12, decimal_places=2, read_only=True, help_text="Credited, tax excluded."
    )
    tax_amount = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True)
    total = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True, help_text="amount + tax.")


class CreditNoteSerializer(serializers.ModelSerializer):
    order_id = serializers.UUIDField(read_only=True)
    order_number = serializers.CharField(source="order.number", read_only=True)
    invoice_number = serializers.CharField(source="invoice.number", read_only=True, allow_null=True, default=None)
    refund_id = serializers.UUIDField(read_only=True)
    refund_status = serializers.CharField(source="refund.status", read_only=True)
    lines = CreditNoteLineSerializer(many=True, read_only=True)
    billing_address = serializers.DictField(read_only=True)

    class Meta:
        model = CreditNote
        fields = [
            "id",
            "number",
            "order_id",
            "order_number",
            "invoice_number",
            "refund_id",
            "refund_status",
            "issued_at",
            "reason",
            "lines",
            "subtotal",
            "tax_amount",
            "total_amount",
            "currency",
            "billing_address",
        ]
        read_only_fields = fields
