"""What payments hold on a user, for the personal-data export (registered in
PaymentsConfig.ready(); see accounts.privacy). Payments, refunds and invoices point at
orders, never at the user: an erasure keeps them all for the books (the orders they belong
to are detached from the account), so there is nothing to erase here. The export leaves
out what is not the customer's to see or is a secret: provider payloads (`raw_response`),
idempotency keys, card tokens (never stored)."""

from __future__ import annotations

from typing import Any

from django.db.models import F

from accounts.hooks import register_personal_data
from payments.models import Invoice, Payment, Refund


def _export_payments(user) -> list[dict[str, Any]]:
    payments = list(
        Payment.objects.filter(order__user=user)
        .select_related("order")
        .order_by("created_at", "id")
        .prefetch_related("refunds")
    )
    return [
        {
            "id": payment.pk,
            "order_id": payment.order_id,
            "order_number": payment.order.number,
            "provider": payment.provider,
            "transaction_id": payment.transaction_id,
            "payment_method": payment.payment_method,
            "amount": payment.amount,
            "currency": payment.currency,
            "status": payment.status,
            "failure_code": payment.failure_code,
            "created_at": payment.created_at,
            "refunds": [_refund(refund) for refund in payment.refunds.all()],
        }
        for payment in payments
    ]


def _refund(refund: Refund) -> dict[str, Any]:
    return {
        "amount": refund.amount,
        "currency": refund.currency,
        "status": refund.status,
        "reason": refund.reason,
        "created_at": refund.created_at,
    }


def _export_invoices(user) -> list[dict[str, Any]]:
    return list(
        Invoice.objects.filter(order__user=user)
        .order_by("issued_at", "id")
        .values(
            "number",
            "order_id",
            "issued_at",
            "subtotal",
            "total_amount",
            "currency",
            "billing_address",
            order_number=F("order__number"),
        )
    )


def _kept_for_the_books(user) -> None:
    """Nothing to erase: see the module docstring."""


def register_payments_personal_data() -> None:
    register_personal_data("payments", models=(), export=_export_payments, erase=_kept_for_the_books)
    register_personal_data("invoices", models=(), export=_export_invoices, erase=_kept_for_the_books)
