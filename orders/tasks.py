"""Celery tasks of orders: customer emails (idempotent: each kind is sent once per order,
shipment or return),
the expiry job and the purge of old idempotency records."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from core.emails import EMAIL_TASK_RETRY, send_once
from core.models import IdempotencyRecord
from orders.emails import (
    send_fulfillment_email,
    send_order_email,
    send_return_approved_email,
    send_return_rejected_email,
)
from orders.models import Fulfillment, Order, OrderEvent, OrderStatusChange, ReturnRequest, ReturnStatus

logger = logging.getLogger(__name__)


def send_order_email_once(
    order_id: str, kind: str, *, subject: str, intro: str, extra_for=None, attachments_for=None
) -> bool:
    """Send email `kind` about the order unless the sent-email ledger has it already.
    `extra_for(order)` adds a paragraph, `attachments_for(order)` the files to attach
    ((filename, bytes, mimetype) tuples), both computed only when the email goes out."""
    order = Order.objects.select_related("user").filter(pk=order_id).first()
    if order is None or order.user is None:  # gone, or its customer's account was erased
        return False
    with send_once(f"order.{kind}", order.pk) as first:
        if first:
            send_order_email(
                order,
                subject=subject,
                intro=intro,
                extra=extra_for(order) if extra_for else "",
                attachments=attachments_for(order) if attachments_for else (),
            )
        return first


@shared_task(**EMAIL_TASK_RETRY)
def send_order_confirmation(order_id: str) -> bool:
    return send_order_email_once(
        order_id,
        "confirmation",
        subject="Order received",
        intro="Thank you for your order. Please complete the payment to confirm it.",
    )


@shared_task(**EMAIL_TASK_RETRY)
def send_fulfillment_shipped(fulfillment_id: str) -> bool:
    """The shipping email of one shipment (its lines and tracking number), once per
    fulfillment: an order shipped in three parcels sends three."""
    fulfillment = (
        Fulfillment.objects.select_related("order__user")
        .prefetch_related("lines__order_line")
        .filter(pk=fulfillment_id)
        .first()
    )
    if fulfillment is None:
        return False
    with send_once("order.shipped", fulfillment.pk) as first:
        if first:
            send_fulfillment_email(fulfillment)
        return first


@shared_task(**EMAIL_TASK_RETRY)
def send_order_shipped(order_id: str) -> bool:
    """The order-level shipping email of before fulfillments existed: kept so jobs already
    in the outbox when this version deploys are still delivered (new shipments send
    send_fulfillment_shipped)."""
    return send_order_email_once(
        order_id,
        "shipped",
        subject="Your order has shipped",
        intro="Good news: your order is on its way.",
        extra_for=lambda o: f"Tracking number: {o.tracking_number}" if o.tracking_number else "",
    )


@shared_task(**EMAIL_TASK_RETRY)
def send_order_cancelled(order_id: str) -> bool:
    return send_order_email_once(
        order_id,
        "cancelled",
        subject="Your order was cancelled",
        intro="Your order was cancelled. If you had paid, the full amount is being refunded.",
    )


def _decided_return(return_id: str, status: str) -> ReturnRequest | None:
    """The return, if it exists, was decided `status` and its customer still has an account."""
    return_request = (
        ReturnRequest.objects.select_related("order__user")
        .prefetch_related("lines__order_line")
        .filter(pk=return_id, status=status)
        .first()
    )
    if return_request is None or return_request.order.user is None:
        return None
    return return_request


@shared_task(**EMAIL_TASK_RETRY)
def send_return_approved(return_id: str) -> bool:
    """The customer's email for an approved return (units, refund, credit note number),
    once per return. The credit note's number is read from the approval's history entry
    (payments issued it; orders records it there and cannot read payments)."""
    return_request = _decided_return(return_id, ReturnStatus.APPROVED)
    if return_request is None:
        return False
    details = (
        OrderStatusChange.objects.filter(
            order_id=return_request.order_id,
            event=OrderEvent.RETURN_APPROVED,
            details__return_id=str(return_request.pk),
        )
        .values_list("details", flat=True)
        .first()
    )
    with send_once("return.approved", return_request.pk) as first:
        if first:
            send_return_approved_email(return_request, credit_note=(details or {}).get("credit_note", ""))
        return first


@shared_task(**EMAIL_TASK_RETRY)
def send_return_rejected(return_id: str) -> bool:
    """The customer's email for a rejected return (with the reason), once per return."""
    return_request = _decided_return(return_id, ReturnStatus.REJECTED)
    if return_request is None:
        return False
    with send_once("return.rejected", return_request.pk) as first:
        if first:
            send_return_rejected_email(return_request)
        return first


@shared_task
def expire_orders() -> int:
    """Periodic: cancel unpaid orders past ORDER_PAYMENT_TIMEOUT, returning their stock."""
    from orders.services import orders_expire

    count = orders_expire()
    if count:
        logger.info("expired %s unpaid orders", count)
    return count


@shared_task
def purge_idempotency_records() -> int:
    """Periodic: forget idempotency keys older than IDEMPOTENCY_KEY_TTL (24 h)."""
    cutoff = timezone.now() - timedelta(seconds=settings.IDEMPOTENCY_KEY_TTL)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
