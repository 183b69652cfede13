"""Periodic cart housekeeping (scheduled in settings: CELERY_BEAT_SCHEDULE["carts-purge"])."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from carts.services import cart_purge_stale


@shared_task(name="carts.tasks.purge_stale_carts")
def purge_stale_carts(older_than_days: int | None = None) -> int:
    """Delete customers' carts untouched for CART_STALE_DAYS. Idempotent: a second run
    finds nothing older than the cutoff. (Anonymous carts expire in Redis by their TTL.)"""
    days = settings.CART_STALE_DAYS if older_than_days is None else older_than_days
    return cart_purge_stale(older_than_days=days)
