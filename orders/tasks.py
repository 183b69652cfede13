"""Celery tasks of orders: customer emails (idempotent: each kind is sent once per order),
the expiry job and the purge of old idempotency records."""

from __future__ import annotations

import contextlib
import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import IntegrityError
from django.utils import timezone

from ecommerce.tasks import EMAIL_TASK_RETRY
from orders.emails import send_order_email
from orders.models import IdempotencyRecord, Order, OrderEmail

logger = logging.getLogger(__name__)


def send_once(order_id: str, kind: str, *, subject: str, intro: str, extra_for=None) -> bool:
    """Send email `kind` about the order unless it was already sent. A crash between the
    send and the record can send it twice (at-least-once); it never sends it zero times."""
    order = Order.objects.select_related("user").filter(pk=order_id).first()
    if order is None or OrderEmail.objects.filter(order=order, kind=kind).exists():
        return False
    send_order_email(order, subject=subject, intro=intro, extra=extra_for(order) if extra_for else "")
    with contextlib.suppress(IntegrityError):  # a concurrent run sent it too
        OrderEmail.objects.create(order=order, kind=kind)
    return True


@shared_task(**EMAIL_TASK_RETRY)
def send_order_confirmation(order_id: str) -> bool:
    return send_once(
        order_id,
        "confirmation",
        subject="Order received",
        intro="Thank you for your order. Please complete the payment to confirm it.",
    )


@shared_task(**EMAIL_TASK_RETRY)
def send_order_shipped(order_id: str) -> bool:
    return send_once(
        order_id,
        "shipped",
        subject="Your order has shipped",
        intro="Good news: your order is on its way.",
        extra_for=lambda o: f"Tracking number: {o.tracking_number}" if o.tracking_number else "",
    )


@shared_task(**EMAIL_TASK_RETRY)
def send_order_cancelled(order_id: str) -> bool:
    return send_once(
        order_id,
        "cancelled",
        subject="Your order was cancelled",
        intro="Your order was cancelled. If you had paid, the full amount is being refunded.",
    )


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
