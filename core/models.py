"""Rows shared by every app: the sent-email ledger and the records of Idempotency-Key
requests. They point at other apps' rows by key only, never by foreign key, so `core`
depends on nothing above it."""

from __future__ import annotations

from django.db import models


class SentEmail(models.Model):
    """One row per email sent, unique per (kind, key): `order.confirmation` for an order id,
    `accounts.verify` for one verification request... Makes every email task idempotent: a
    redelivered or republished job finds the row and sends nothing (see `core.emails.send_once`)."""

    kind = models.CharField(max_length=64)
    key = models.CharField(max_length=100)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "key"], name="core_sent_email_once")]

    def __str__(self) -> str:
        return f"{self.kind} {self.key}"


class IdempotencyState(models.TextChoices):
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"


class IdempotencyRecord(models.Model):
    """One request made with an `Idempotency-Key` (see ecommerce/api/idempotency.py).

    The unique constraint on (scope, method, path, key) is what makes two concurrent
    first requests impossible: the second INSERT fails and is answered 409. The table is
    the one orders created (the model moved here without moving its rows)."""

    scope = models.CharField(max_length=100)  # "user:<id>" or "anon:<ip>[:<cart token>]"
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    state = models.CharField(max_length=16, choices=IdempotencyState.choices, default=IdempotencyState.IN_PROGRESS)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)
    response_content_type = models.CharField(max_length=100, blank=True)
    # The few response headers a replay must carry too (e.g. X-Cart-Token, Location).
    response_headers = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "orders_idempotencyrecord"
        constraints = [
            models.UniqueConstraint(fields=["scope", "method", "path", "key"], name="orders_idempotency_unique_key"),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} [{self.key}] {self.state}"


class OutboxMessage(models.Model):
    """A job to publish to Celery, written in the same transaction as the change that caused
    it (the transactional outbox). Published right after commit; if the broker refused it
    (or the process died first), the relay publishes it later, with backoff. Unpublished rows
    are the outbox depth reported by /health/ready."""

    task = models.CharField(max_length=200)
    args = models.JSONField(default=list, blank=True)
    kwargs = models.JSONField(default=dict, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Not before this time may the relay take it (a grace period after commit, then backoff).
    available_at = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["available_at", "id"],
                name="core_outbox_pending",
                condition=models.Q(published_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        state = "published" if self.published_at else f"pending ({self.attempts} attempts)"
        return f"#{self.pk} {self.task} {state}"
