import smtplib

import pytest
from django.core import mail

from orders.tasks import send_order_cancelled, send_order_confirmation, send_order_shipped
from payments.services import payment_pay
from payments.tasks import send_payment_receipt
from tests.orders.factories import ProductFactory
from tests.orders.helpers import new_key

pytestmark = pytest.mark.django_db


def test_each_email_is_sent_once_even_if_the_task_runs_twice(customer, place):
    order = place(customer, (ProductFactory(), 1))
    mail.outbox.clear()
    assert send_order_confirmation(str(order.pk)) is True
    assert send_order_confirmation(str(order.pk)) is False
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [customer.email]
    assert order.number in message.body
    assert order.number in message.alternatives[0][0]


def test_receipt_shipped_and_cancelled_emails(customer, place):
    order = place(customer, (ProductFactory(), 1))
    payment = payment_pay(order.pk, user=customer, token="tok_visa", idempotency_key=new_key())
    mail.outbox.clear()
    send_payment_receipt(str(payment.pk))
    send_payment_receipt(str(payment.pk))
    send_order_shipped(str(order.pk))
    send_order_cancelled(str(order.pk))
    assert len(mail.outbox) == 3
    assert "INV-" in mail.outbox[0].body
    assert send_order_confirmation("00000000-0000-0000-0000-000000000000") is False


def test_smtp_failure_is_retried_and_not_marked_sent(customer, place, monkeypatch):
    from core.models import SentEmail
    from orders import tasks

    order = place(customer, (ProductFactory(), 1))

    def broken(*args, **kwargs):
        raise smtplib.SMTPServerDisconnected("down")

    monkeypatch.setattr(tasks, "send_order_email", broken)
    with pytest.raises(smtplib.SMTPException):
        tasks.send_order_email_once(str(order.pk), "confirmation", subject="s", intro="i")
    assert not SentEmail.objects.filter(sent_at__isnull=False).exists()  # the retry will send it
    assert issubclass(smtplib.SMTPException, send_order_confirmation.autoretry_for)
    assert send_order_confirmation.retry_backoff
