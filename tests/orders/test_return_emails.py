"""The customer hears of a return decision: approved (units, refund amount, credit note
number) or rejected (the reason). Each email goes through the outbox, in the decision's
transaction, and is sent once per return through the sent-email ledger."""

import pytest
from django.core import mail

from core.models import OutboxMessage, SentEmail
from orders.models import ReturnRequest
from orders.services import return_approve, return_reject, return_request_create
from orders.tasks import send_return_approved, send_return_rejected
from payments.models import CreditNote
from tests.orders.aftersales import delivered, line_of
from tests.orders.factories import ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(customer, manager, place):
    kettle = ProductFactory(name="Red Kettle", sku="KET-RED", price="30.00", stock_quantity=5)
    cup = ProductFactory(name="Tea Cup", sku="CUP-1", price="3.50", stock_quantity=5)
    order = delivered(place(customer, (kettle, 1), (cup, 4)), customer, manager)
    return order, kettle, cup


def ask(order, customer, product, quantity, reason="broken"):
    return return_request_create(order.pk, user=customer, lines=[(line_of(order, product).pk, quantity)], reason=reason)


def emails_about(order):
    return [m for m in mail.outbox if order.number in m.subject]


def test_an_approved_return_emails_the_refund_and_the_credit_note(
    shop, customer, manager_client, django_capture_on_commit_callbacks
):
    order, kettle, cup = shop
    return_request = ask(order, customer, cup, 2)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = manager_client.post(
            f"/api/v1/returns/{return_request.pk}/approve/", {"restock": True}, format="json"
        )
    assert response.status_code == 200

    note = CreditNote.objects.get(order=order)
    [message] = emails_about(order)
    assert message.to == [customer.email]
    assert message.subject == f"Your return was approved — {order.number}"
    assert "Refund: 7.00 USD" in message.body and f"Credit note {note.number}." in message.body
    assert "2 x Tea Cup (CUP-1)" in message.body and "Red Kettle" not in message.body  # the returned units
    html = message.alternatives[0][0]
    assert note.number in html and "7.00 USD" in html and "Tea Cup" in html
    assert OutboxMessage.objects.filter(task=send_return_approved.name, args=[str(return_request.pk)]).exists()


def test_a_rejected_return_emails_the_reason(shop, customer, manager_client, django_capture_on_commit_callbacks):
    order, kettle, _ = shop
    return_request = ask(order, customer, kettle, 1)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = manager_client.post(
            f"/api/v1/returns/{return_request.pk}/reject/", {"reason": "Used, not in its box"}, format="json"
        )
    assert response.status_code == 200

    [message] = emails_about(order)
    assert message.subject == f"Your return was not accepted — {order.number}"
    assert "Reason: Used, not in its box" in message.body and "1 x Red Kettle (KET-RED)" in message.body
    assert "Refund" not in message.body and "CN-" not in message.body
    assert OutboxMessage.objects.filter(task=send_return_rejected.name, args=[str(return_request.pk)]).exists()


def test_each_decision_email_is_sent_once_even_if_the_job_runs_again(shop, customer, manager):
    order, kettle, cup = shop
    approved = return_approve(ask(order, customer, cup, 1).pk, by=manager)
    rejected = return_reject(ask(order, customer, kettle, 1).pk, by=manager, reason="late")
    mail.outbox.clear()
    # The jobs (published on commit, which a test transaction never reaches) run twice.
    assert send_return_approved(str(approved.pk)) is True
    assert send_return_rejected(str(rejected.pk)) is True
    assert send_return_approved(str(approved.pk)) is False
    assert send_return_rejected(str(rejected.pk)) is False
    assert len(emails_about(order)) == 2
    assert SentEmail.objects.filter(kind="return.approved", key=str(approved.pk), sent_at__isnull=False).exists()
    assert SentEmail.objects.filter(kind="return.rejected", key=str(rejected.pk), sent_at__isnull=False).exists()


def test_deciding_twice_enqueues_no_second_email(shop, customer, manager):
    order, _, cup = shop
    return_request = ask(order, customer, cup, 1)
    return_approve(return_request.pk, by=manager)
    return_approve(return_request.pk, by=manager)  # idempotent: nothing happens again
    assert OutboxMessage.objects.filter(task=send_return_approved.name).count() == 1


def test_a_failed_decision_enqueues_nothing(shop, customer, manager):
    from orders.errors import ReturnAlreadyDecided

    order, _, cup = shop
    return_request = return_reject(ask(order, customer, cup, 1).pk, by=manager, reason="no")
    with pytest.raises(ReturnAlreadyDecided):
        return_approve(return_request.pk, by=manager)
    assert not OutboxMessage.objects.filter(task=send_return_approved.name).exists()


def test_the_jobs_send_nothing_for_an_undecided_gone_or_erased_return(shop, customer, manager):
    order, kettle, cup = shop
    pending = ask(order, customer, cup, 1)
    assert send_return_approved(str(pending.pk)) is False  # not decided (or decided otherwise)
    assert send_return_rejected(str(pending.pk)) is False
    assert send_return_approved("00000000-0000-0000-0000-000000000000") is False
    rejected = return_reject(ask(order, customer, kettle, 1).pk, by=manager, reason="no")
    assert send_return_approved(str(rejected.pk)) is False
    SentEmail.objects.all().delete()
    order.user = None  # the customer's account was erased: nobody to write to
    order.save(update_fields=["user"])
    mail.outbox.clear()
    assert send_return_rejected(str(rejected.pk)) is False and mail.outbox == []
    assert ReturnRequest.objects.filter(pk=rejected.pk, status="rejected").exists()


def test_a_rejection_without_a_reason_says_how_to_ask(shop, customer, manager):
    order, kettle, _ = shop
    mail.outbox.clear()
    send_return_rejected(str(return_reject(ask(order, customer, kettle, 1).pk, by=manager).pk))
    [message] = emails_about(order)
    assert "No reason was given" in message.body
