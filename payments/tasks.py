"""Celery tasks of payments: the receipt email (once per payment), with the invoice PDF."""

from __future__ import annotations

from celery import shared_task

from core.documents import PDF_MEDIA_TYPE
from core.emails import EMAIL_TASK_RETRY, Attachment
from orders.tasks import send_order_email_once
from payments.documents import invoice_pdf, invoice_pdf_filename
from payments.models import Payment
from payments.selectors import invoice_for_order


@shared_task(**EMAIL_TASK_RETRY)
def send_payment_receipt(payment_id: str) -> bool:
    payment = Payment.objects.filter(pk=payment_id).select_related("order").first()
    if payment is None:
        return False

    def extra(order) -> str:
        invoice = getattr(order, "invoice", None)
        number = f" Invoice {invoice.number} is attached." if invoice else ""
        return f"Paid {payment.amount} {payment.currency} (transaction {payment.transaction_id}).{number}"

    def attachments(order) -> list[Attachment]:
        # The invoice PDF, rendered when the email goes out (the job may run again: the
        # ledger sends it once) from the same context as the API's PDF.
        invoice = invoice_for_order(order)
        return [(invoice_pdf_filename(invoice), invoice_pdf(invoice), PDF_MEDIA_TYPE)] if invoice else []

    return send_order_email_once(
        str(payment.order_id),
        f"receipt:{payment.pk}",
        subject="Payment receipt",
        intro="We received your payment. Thank you!",
        extra_for=extra,
        attachments_for=attachments,
    )
