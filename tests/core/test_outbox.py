"""The task outbox (core.jobs): jobs are written with the change that causes them, published
after commit, relayed when the broker refused them, and never sent twice."""

from datetime import timedelta

import pytest
from celery.app.task import Task
from django.core import mail
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

from core.jobs import enqueue, outbox_depth, publish, relay_outbox
from core.models import OutboxMessage, SentEmail
from tests.accounts.helpers import REGISTER, STRONG_PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker_down(monkeypatch):
    def refuse(self, *args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(Task, "apply_async", refuse)
    return monkeypatch


def _due_now():
    OutboxMessage.objects.update(available_at=timezone.now())


def test_a_job_commits_and_rolls_back_with_the_change(django_capture_on_commit_callbacks):
    from accounts.tasks import send_verification_email

    with pytest.raises(RuntimeError), transaction.atomic():
        enqueue(send_verification_email, "00000000-0000-0000-0000-000000000000", "x")
        raise RuntimeError("the change failed")
    assert not OutboxMessage.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        message = enqueue(send_verification_email, "00000000-0000-0000-0000-000000000000", "x")
    message.refresh_from_db()
    assert message.published_at is not None and message.attempts == 1


def test_registration_during_a_broker_outage_delivers_the_email_once_the_broker_is_back(
    api_client, broker_down, django_capture_on_commit_callbacks
):
    """The defect: with the broker down, registration answered 201 and the verification
    email was never sent, not even after the broker came back."""
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(REGISTER, {"email": "late@example.com", "password": STRONG_PASSWORD}, format="json")
    assert response.status_code == 201
    assert mail.outbox == []
    message = OutboxMessage.objects.get(task="accounts.send_verification_email")
    assert message.published_at is None and message.attempts == 1 and "Connection refused" in message.last_error
    assert message.available_at > timezone.now()  # backoff
    assert outbox_depth()["depth"] == 1

    _due_now()
    assert relay_outbox() == {"published": 0, "failed": 1}  # still down: kept, attempt recorded
    assert OutboxMessage.objects.get().attempts == 2

    broker_down.undo()  # the broker is back
    _due_now()
    assert relay_outbox() == {"published": 1, "failed": 0}
    assert [m.to for m in mail.outbox] == [["late@example.com"]]
    assert outbox_depth()["depth"] == 0

    # Publishing the same row again (a relay that died before marking it) sends nothing.
    publish(OutboxMessage.objects.get())
    assert len(mail.outbox) == 1


def test_backoff_doubles_and_is_capped(broker_down, settings):
    from accounts.tasks import send_verification_email

    settings.OUTBOX_RETRY_BASE, settings.OUTBOX_RETRY_MAX = 5, 30
    message = OutboxMessage.objects.create(
        task=send_verification_email.name, args=["x", "y"], available_at=timezone.now()
    )
    delays = []
    for _ in range(5):
        before = timezone.now()
        publish(OutboxMessage.objects.get(pk=message.pk))
        delays.append(round((OutboxMessage.objects.get(pk=message.pk).available_at - before).total_seconds()))
    assert delays == [5, 10, 20, 30, 30]


def test_the_relay_waits_for_the_grace_period():
    from accounts.tasks import send_verification_email

    OutboxMessage.objects.create(
        task=send_verification_email.name, args=["x", "y"], available_at=timezone.now() + timedelta(seconds=10)
    )
    assert relay_outbox() == {"published": 0, "failed": 0}


def test_an_unknown_task_is_kept_with_its_error():
    message = OutboxMessage.objects.create(task="nope.missing", available_at=timezone.now())
    assert publish(message) is False
    message.refresh_from_db()
    assert message.published_at is None and message.last_error == "unknown task nope.missing"


def test_verification_email_is_sent_when_the_cache_cannot_record_it(
    api_client, monkeypatch, django_capture_on_commit_callbacks
):
    """The defect: the send-once mark lived in the cache, and with Redis down
    (IGNORE_EXCEPTIONS) `cache.add` returned None, so every verification email was skipped."""
    monkeypatch.setattr(cache, "add", lambda *args, **kwargs: None)
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(
            REGISTER, {"email": "cacheless@example.com", "password": STRONG_PASSWORD}, format="json"
        )
    assert response.status_code == 201
    assert [m.to for m in mail.outbox] == [["cacheless@example.com"]]
    assert SentEmail.objects.filter(kind="accounts.verify", sent_at__isnull=False).count() == 1


def test_relay_outbox_command_publishes_everything_pending(broker_down, django_capture_on_commit_callbacks):
    from django.core.management import call_command

    with django_capture_on_commit_callbacks(execute=True):
        from accounts.services import user_register

        user_register(email="cmd@example.com", password=STRONG_PASSWORD)
    assert mail.outbox == []
    broker_down.undo()
    call_command("relay_outbox", "--all")
    assert [m.to for m in mail.outbox] == [["cmd@example.com"]]


def test_ready_reports_the_outbox_depth(client, broker_down, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        from accounts.services import user_register

        user_register(email="depth@example.com", password=STRONG_PASSWORD)
    body = client.get("/health/ready").json()
    assert body["checks"]["outbox"]["depth"] == 1 and body["checks"]["outbox"]["status"] == "ok"
    OutboxMessage.objects.update(created_at=timezone.now() - timedelta(minutes=10))
    body = client.get("/health/ready").json()
    assert body["checks"]["outbox"]["status"] == "degraded" and body["status"] == "degraded"
