"""Sending email: one sender, one retry policy, one "sent once" ledger for every app."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.models import SentEmail

# Retry policy of every email task: SMTP and network errors (all OSError, SMTPException
# included) are retried with exponential backoff and jitter, for about two hours at most.
EMAIL_TASK_RETRY = {
    "autoretry_for": (OSError,),
    "retry_backoff": 30,
    "retry_backoff_max": 30 * 60,
    "retry_jitter": True,
    "max_retries": 8,
}


# (filename, content, mimetype), e.g. ("INV-2026-000001.pdf", pdf_bytes, "application/pdf")
Attachment = tuple[str, bytes, str]


def send_multipart_email(
    *, to: str, subject: str, text: str, html: str, attachments: Iterable[Attachment] = ()
) -> None:
    """One email with a plain-text body, an HTML alternative and optional attachments, from
    DEFAULT_FROM_EMAIL."""
    message = EmailMultiAlternatives(subject=subject, body=text, from_email=settings.DEFAULT_FROM_EMAIL, to=[to])
    message.attach_alternative(html, "text/html")
    for filename, content, mimetype in attachments:
        message.attach(filename, content, mimetype)
    message.send()


@contextmanager
def send_once(kind: str, key: str) -> Iterator[bool]:
    """`with send_once("order.confirmation", order_id) as first: if first: send(...)`.

    Yields False when that email was already sent. The ledger row is locked for the whole
    send, so a concurrent run of the same job waits and then sees it sent; if sending
    raises, the transaction rolls back and the retry sends. The one duplicate left possible
    is a crash after the mail server accepted the message and before the commit."""
    key = str(key)
    with transaction.atomic():
        try:
            with transaction.atomic():
                SentEmail.objects.get_or_create(kind=kind, key=key)
        except IntegrityError:  # a concurrent twin inserted it first
            pass
        row = SentEmail.objects.select_for_update().get(kind=kind, key=key)
        if row.sent_at is not None:
            yield False
            return
        yield True
        row.sent_at = timezone.now()
        row.save(update_fields=["sent_at"])
