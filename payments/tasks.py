"""Celery tasks of payments: the receipt email (once per payment)."""

from __future__ import annotations

from celery import shared_task

from core.emails import EMAIL_TASK_RETRY
from orders.tasks import send_order_email_once
from payments.models import Payment


@shared_task(**EMAIL_TASK_RETRY)
def send_payment_receipt(payment_id: str) -> bool:
    payment = Payment.objects.filter(pk=payment_id).select_related("order").first()
    if payment is None:
        return False

    def extra(order) -> str:
        invoice = getattr(order, "invoice", None)
        number = f" Invoice {invoice.number}." if invoice else ""
        return f"Paid {payment.amount} {payment.currency} (transaction {payment.transaction_id}).{number}"

    return send_order_email_once(
        str(payment.order_id),
        f"receipt:{payment.pk}",
        subject="Payment receipt",
        intro="We received your payment. Thank you!",
        extra_for=extra,
    )
