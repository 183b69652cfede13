"""Reads of payments."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.db.models import QuerySet

from orders.models import Order
from payments.models import CreditNote, Invoice, RefundStatus


def invoice_for_order(order: Order) -> Invoice | None:
    """The order's invoice with its lines and its payment's refunds (`invoice_refunds`)."""
    return (
        Invoice.objects.select_related("order", "payment")
        .prefetch_related("order__lines", "payment__refunds")
        .filter(order=order)
        .first()
    )


def invoice_refunds(invoice: Invoice) -> tuple[Decimal, datetime | None]:
    """(amount refunded, when last) of the invoice's payment. Refunds the provider accepted
    but has not settled yet (`pending`) count: the money is on its way back."""
    refunds = [r for r in invoice.payment.refunds.all() if r.status != RefundStatus.FAILED]
    amount = sum((r.amount for r in refunds), Decimal("0.00"))
    return amount, max((r.created_at for r in refunds), default=None)


def credit_notes_for_order(order: Order) -> QuerySet[CreditNote]:
    """The order's credit notes, oldest first, with their lines, invoice and refund (for
    JSON or a template: two queries)."""
    return (
        CreditNote.objects.filter(order=order)
        .select_related("order", "invoice", "refund")
        .prefetch_related("lines")
        .order_by("year", "sequence")
    )
