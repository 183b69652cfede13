"""Jobs: the one entry point every app uses to cause background work (`enqueue`), through a
transactional outbox, so a broker outage loses nothing.

`enqueue(task, *args)` writes an `OutboxMessage` row in the caller's database transaction:
if the change that caused the job rolls back, so does the job; if it commits, so does the
job. Right after commit the row is published to Celery; if the broker refuses it (down,
timing out) the request still succeeds and the periodic relay (`core.tasks.relay_outbox`,
every OUTBOX_RELAY_INTERVAL seconds under beat, or `manage.py relay_outbox`) publishes it
later with exponential backoff, recording every attempt. A row can be published twice (the
broker took it but the process died before marking it): every task is idempotent (emails
go through the sent-email ledger, `core.emails.send_once`), and workers ack late, so a
worker killed mid-job leaves the job to be redelivered.

Why not a library: django-celery-outbox (0.4) was the candidate; it is a single-maintainer
package with hard dependencies on sentry-sdk and datadog, which this project does not use.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import structlog
from celery import current_app
from django.conf import settings
from django.db import transaction
from django.db.models import Count, Min, Q
from django.utils import timezone

from core.models import OutboxMessage

logger = logging.getLogger(__name__)


def enqueue(task, *args, eta: datetime | None = None) -> OutboxMessage:
    """Record `task(*args)` (JSON-serialisable ids, never objects) in the outbox, in the
    current transaction, and publish it after commit. With `eta` in the future (a
    promotion's start or end), the row waits: the periodic relay publishes it once `eta`
    has come (so it runs within OUTBOX_RELAY_INTERVAL of it; nothing sits in the broker)."""
    name = getattr(task, "name", task)
    request_id = structlog.contextvars.get_contextvars().get("request_id") or ""
    now = timezone.now()
    available_at = now + timedelta(seconds=settings.OUTBOX_RELAY_GRACE)
    deferred = eta is not None and eta > available_at
    message = OutboxMessage.objects.create(
        task=name,
        args=list(args),
        request_id=str(request_id)[:64],
        available_at=eta if deferred else available_at,
    )
    if not deferred:
        # The relay cannot have taken the row before this runs (it waits OUTBOX_RELAY_GRACE).
        transaction.on_commit(lambda: publish(message))
    return message


def _backoff(attempts: int) -> timedelta:
    base = settings.OUTBOX_RETRY_BASE
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), settings.OUTBOX_RETRY_MAX))


def _registered_task(name: str):
    try:
        return current_app.tasks[name]
    except KeyError:
        # A process that is not a worker (`manage.py relay_outbox`) has only imported the
        # task modules its own code used: import every app's tasks, as a worker does at start.
        current_app.autodiscover_tasks(force=True)
        return current_app.tasks.get(name)


def publish(message: OutboxMessage) -> bool:
    """Hand one message to the broker; mark it published, or record the failure and when to
    try again. Never raises for a broker error."""
    now = timezone.now()
    task = _registered_task(message.task)
    if task is None:
        error = f"unknown task {message.task}"
        ok = False
    else:
        try:
            with structlog.contextvars.bound_contextvars(request_id=message.request_id or None):
                task.apply_async(args=message.args, kwargs=message.kwargs or None, task_id=f"outbox-{message.pk}")
        except Exception as exc:  # broker down or refusing: keep it for the relay
            error = f"{type(exc).__name__}: {exc}"[:2000]
            ok = False
        else:
            ok = True
    attempts = message.attempts + 1
    if ok:
        OutboxMessage.objects.filter(pk=message.pk, published_at__isnull=True).update(
            published_at=now, attempts=attempts
        )
        return True
    logger.warning("could not publish job %s (#%s, attempt %s): %s", message.task, message.pk, attempts, error)
    OutboxMessage.objects.filter(pk=message.pk, published_at__isnull=True).update(
        attempts=attempts, last_error=error, available_at=now + _backoff(attempts)
    )
    return False


def relay_outbox(*, limit: int = 200) -> dict[str, int]:
    """Publish the messages whose time has come (after the grace period or their backoff).
    Rows are claimed with SKIP LOCKED, so two relays never publish the same row at once."""
    published = failed = 0
    with transaction.atomic():
        due = list(
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(published_at__isnull=True, available_at__lte=timezone.now())
            .order_by("available_at", "id")[:limit]
        )
        for message in due:
            if publish(message):
                published += 1
            else:
                failed += 1
                if failed >= 3:  # the broker is down: stop hammering it, the backoff will retry
                    break
    return {"published": published, "failed": failed}


def outbox_depth() -> dict[str, float | int]:
    """Unpublished messages and the age in seconds of the oldest (for /health/ready, metrics)."""
    # Jobs deferred to a future time (never tried yet) are not a backlog.
    deferred = Q(attempts=0, available_at__gt=timezone.now() + timedelta(seconds=settings.OUTBOX_RELAY_GRACE))
    pending = (
        OutboxMessage.objects.filter(published_at__isnull=True)
        .exclude(deferred)
        .aggregate(depth=Count("id"), oldest=Min("created_at"))
    )
    oldest = pending["oldest"]
    return {
        "depth": pending["depth"],
        "oldest_age_s": round((timezone.now() - oldest).total_seconds(), 1) if oldest else 0,
    }


def outbox_purge(*, older_than_days: int | None = None) -> int:
    """Delete published messages past the retention period."""
    days = settings.OUTBOX_RETENTION_DAYS if older_than_days is None else older_than_days
    cutoff = timezone.now() - timedelta(days=days)
    deleted, _ = OutboxMessage.objects.filter(published_at__lt=cutoff).delete()
    return deleted
