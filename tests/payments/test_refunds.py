"""Partial refunds: their sum never exceeds the captured amount; each refund issues a
credit note (gap-free numbers per year); cancellation and late payments use the same
refund service; the test gateway refunds in part."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from orders.models import Order
from orders.services import order_cancel
from payments.errors import RefundExceedsPayment
from payments.models import CreditNote, CreditNoteSequence, Payment, Refund
from payments.providers import ProviderError
from payments.providers.test import LEDGER, TestProvider
from payments.services import refund_issue
from tests.orders.factories import ProductFactory
from tests.orders.helpers import new_key
from tests.payments.test_pay import pay
from tests.payments.test_webhooks import SECRET, _processing_payment, paid, send

pytestmark = pytest.mark.django_db


@pytest.fixture
def payment(customer, customer_client, place):
    order = place(customer, (ProductFactory(price="25.00", stock_quantity=10), 4))  # 100.00
    assert pay(customer_client, order).status_code == 201
    return Payment.objects.get(order=order)


def test_partial_refunds_add_up_to_the_payment_and_no_further(payment):
    first = refund_issue(payment.pk, amount=Decimal("30.00"), key="a", reason="goodwill")
    second = refund_issue(payment.pk, amount=Decimal("70.00"), key="b")
    with pytest.raises(RefundExceedsPayment) as refused:
        refund_issue(payment.pk, amount=Decimal("0.01"), key="c")
    assert refused.value.as_errors()[0]["refundable"] == "0.00"
    payment.refresh_from_db()
    assert payment.refunded_amount == payment.amount and payment.status == "refunded"
    assert (first.amount, second.amount) == (Decimal("30.00"), Decimal("70.00"))
    assert Order.objects.get(pk=payment.order_id).refunded_amount == Decimal("100.00")
    # A refund without lines is credited as one line of "other charges".
    note = first.credit_note
    assert note.total_amount == Decimal("30.00")
    assert [(line.description, line.total) for line in note.lines.all()] == [
        ("Shipping and other charges", Decimal("30.00"))
    ]


def test_more_than_is_left_is_refused_and_nothing_is_refunded(payment):
    refund_issue(payment.pk, amount=Decimal("60.00"), key="a")
    with pytest.raises(RefundExceedsPayment):
        refund_issue(payment.pk, amount=Decimal("40.01"), key="b")
    assert Refund.objects.count() == 1 and CreditNote.objects.count() == 1
    payment.refresh_from_db()
    assert payment.refunded_amount == Decimal("60.00") and payment.status == "succeeded"


def test_one_refund_per_cause(payment):
    first = refund_issue(payment.pk, amount=Decimal("10.00"), key="return:x")
    again = refund_issue(payment.pk, amount=Decimal("10.00"), key="return:x")
    assert again.pk == first.pk
    payment.refresh_from_db()
    assert payment.refunded_amount == Decimal("10.00")


def test_the_database_refuses_refunds_beyond_the_payment(payment):
    with pytest.raises(IntegrityError), transaction.atomic():
        Payment.objects.filter(pk=payment.pk).update(refunded_amount=payment.amount + 1)


def test_cancelling_a_paid_order_refunds_it_with_a_credit_note_of_its_lines(payment, customer, customer_client):
    order = Order.objects.get(pk=payment.order_id)
    assert customer_client.post(f"/api/v1/orders/{order.pk}/cancel/", {}, format="json").status_code == 200
    refund = Refund.objects.get(payment=payment)
    assert refund.amount == Decimal("100.00") and refund.key == f"cancel:{order.pk}"
    note = refund.credit_note
    assert note.invoice == order.invoice and note.total_amount == Decimal("100.00")
    line = note.lines.get()
    assert (line.quantity, line.unit_price, line.total, line.sku) == (4, Decimal("25.00"), Decimal("100.00"), line.sku)
    order.refresh_from_db()
    assert order.status == "cancelled" and order.refunded_amount == Decimal("100.00")
    body = customer_client.get(f"/api/v1/orders/{order.pk}/credit-notes/").json()
    assert [n["number"] for n in body] == [note.number]
    invoice = customer_client.get(f"/api/v1/orders/{order.pk}/invoice/").json()
    assert invoice["refunded_amount"] == "100.00"


def test_a_late_payment_is_refunded_with_a_credit_note_and_does_not_count_for_the_order(
    api_client, customer, place, settings
):
    settings.PAYMENT_WEBHOOK_SECRET = SECRET
    payment = _processing_payment(customer, place)
    order_cancel(payment.order_id)
    event = {"id": "evt_late_cn", "type": "payment.succeeded", "data": paid(payment)}
    assert send(api_client, event).json()["result"] == "refunded_late_payment"
    refund = Refund.objects.get(payment=payment)
    assert refund.key == f"late:{payment.pk}" and refund.credit_note.invoice is None
    assert refund.credit_note.total_amount == payment.amount
    assert Order.objects.get(pk=payment.order_id).refunded_amount == 0


def test_credit_note_numbers_are_gap_free_per_year_and_a_failed_refund_gives_its_number_back(payment, monkeypatch):
    year = timezone.now().year
    refund_issue(payment.pk, amount=Decimal("1.00"), key="a")

    def outage(self, **kwargs):
        raise ProviderError("down")

    monkeypatch.setattr(TestProvider, "refund", outage)
    with pytest.raises(Exception) as failed:
        refund_issue(payment.pk, amount=Decimal("1.00"), key="b")
    assert getattr(failed.value, "code", "") == "payment_provider_error"
    monkeypatch.undo()
    refund_issue(payment.pk, amount=Decimal("1.00"), key="c")
    numbers = list(CreditNote.objects.order_by("sequence").values_list("number", flat=True))
    assert numbers == [f"CN-{year}-000001", f"CN-{year}-000002"]
    assert CreditNoteSequence.objects.get(year=year).last_number == 2
    payment.refresh_from_db()
    assert payment.refunded_amount == Decimal("2.00")


def test_the_test_gateway_refunds_in_part_and_never_beyond_the_charge():
    provider = TestProvider()
    charge = provider.charge(
        amount=Decimal("50.00"), currency="USD", token="tok_visa", idempotency_key=new_key(), metadata={}
    )
    txn = charge.transaction_id
    first = provider.refund(transaction_id=txn, amount=Decimal("20.00"), currency="USD", idempotency_key="r1")
    again = provider.refund(transaction_id=txn, amount=Decimal("20.00"), currency="USD", idempotency_key="r1")
    assert first.succeeded and again.refund_id == first.refund_id  # a retry is the same refund
    second = provider.refund(transaction_id=txn, amount=Decimal("30.00"), currency="USD", idempotency_key="r2")
    assert second.refund_id != first.refund_id
    with pytest.raises(ProviderError):
        provider.refund(transaction_id=txn, amount=Decimal("0.01"), currency="USD", idempotency_key="r3")
    with pytest.raises(ProviderError):
        provider.refund(transaction_id=txn, amount=Decimal("0.001"), currency="USD", idempotency_key="r4")
    assert LEDGER.charged[txn] == Decimal("50.00")
