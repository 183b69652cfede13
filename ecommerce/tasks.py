"""Enqueueing helper shared by the apps.

Tasks are enqueued after the surrounding transaction commits (so a worker never sees rows
that were rolled back) and a broker outage never fails the request that enqueued them: the
error is logged and the caller goes on (the periodic jobs and resend endpoints recover).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction

logger = logging.getLogger(__name__)


def enqueue(task, *args, **kwargs) -> None:
    def _send() -> None:
        try:
            task.delay(*args, **kwargs)
        except Exception:  # broker down: log it, do not fail a committed request
            logger.exception("could not enqueue task %s", getattr(task, "name", task))

    transaction.on_commit(_send)


# Retry policy of every email task: SMTP and network errors (all OSError, SMTPException
# included) are retried with exponential backoff and jitter, for about two hours at most.
EMAIL_TASK_RETRY = {
    "autoretry_for": (OSError,),
    "retry_backoff": 30,
    "retry_backoff_max": 30 * 60,
    "retry_jitter": True,
    "max_retries": 8,
}


def send_multipart_email(*, to: str, subject: str, text: str, html: str) -> None:
    """One email with a plain-text body and an HTML alternative, from DEFAULT_FROM_EMAIL."""
    message = EmailMultiAlternatives(subject=subject, body=text, from_email=settings.DEFAULT_FROM_EMAIL, to=[to])
    message.attach_alternative(html, "text/html")
    message.send()
