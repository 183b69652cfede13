"""Periodic jobs of core: the outbox relay and its purge."""

from __future__ import annotations

from celery import shared_task

from core.jobs import outbox_purge, relay_outbox


@shared_task(name="core.relay_outbox", ignore_result=True)
def relay_outbox_task() -> dict[str, int]:
    """Beat, every OUTBOX_RELAY_INTERVAL seconds: publish what the broker refused earlier."""
    return relay_outbox()


@shared_task(name="core.purge_outbox", ignore_result=True)
def purge_outbox_task() -> int:
    return outbox_purge()
