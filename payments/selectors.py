"""Reads of payments."""

from __future__ import annotations

from orders.models import Order
from payments.models import Invoice


def invoice_for_order(order: Order) -> Invoice | None:
    return Invoice.objects.select_related("order").prefetch_related("order__lines").filter(order=order).first()
