"""Celery tasks of accounts. They take ids (or an email address), look the user up again,
and are safe to run twice: a delivery is recorded in the sent-email ledger under its
`send_id`, so a redelivered task (acks_late) does not mail the user a second time. SMTP and
network errors are retried with exponential backoff."""

from __future__ import annotations

import logging
from contextlib import nullcontext

from celery import shared_task

from core.emails import EMAIL_TASK_RETRY, send_once

logger = logging.getLogger(__name__)


def _send_once(kind: str, send_id: str | None):
    # Without a send_id (a task queued by an older release) there is nothing to dedupe on.
    return send_once(f"accounts.{kind}", send_id) if send_id else nullcontext(True)


@shared_task(name="accounts.send_verification_email", **EMAIL_TASK_RETRY)
def send_verification_email(user_id: str, send_id: str | None = None) -> bool:
    from accounts import emails
    from accounts.models import User

    user = User.objects.filter(pk=user_id, is_active=True, is_verified=False).first()
    if user is None:  # verified (or gone) since the task was queued
        return False
    with _send_once("verify", send_id) as first:
        if not first:
            return False
        emails.send_verification_email(user)
    return True


@shared_task(name="accounts.send_password_reset_email", **EMAIL_TASK_RETRY)
def send_password_reset_email(email: str, send_id: str | None = None) -> bool:
    from accounts import emails
    from accounts.models import User, normalize_email

    # Normalised again: a task queued by an older release carries the address as typed.
    user = User.objects.filter(email=normalize_email(email), is_active=True).first()
    if user is None:  # nobody to tell; the API answered 202 all the same
        return False
    with _send_once("reset", send_id) as first:
        if not first:
            return False
        emails.send_password_reset_email(user)
    return True


@shared_task(name="accounts.flush_expired_tokens")
def flush_expired_tokens() -> dict[str, int]:
    from accounts.services import expired_tokens_flush

    result = expired_tokens_flush()
    logger.info("flushed expired refresh tokens", extra=result)
    return result
