"""Refunds under real concurrency (PostgreSQL row locks, real threads): however many
approvals or refunds race, the refunds of a payment never exceed what it captured, and one
return is refunded once."""

from decimal import Decimal

import pytest

from orders.models import Order
from orders.services import return_approve, return_request_create
from payments.errors import RefundExceedsPayment
from payments.models import CreditNote, Payment, Refund
from payments.services import refund_issue
from tests.accounts.factories import UserFactory
from tests.concurrency import errors_of, run_threads
from tests.orders.aftersales import delivered
from tests.orders.factories import ProductFactory
from tests.orders.helpers import ADDRESS

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _delivered_order(quantity=4, price="25.00"):
    from orders.services import LineRequest, order_place

    customer = UserFactory(is_verified=True)
    staff = UserFactory(role="manager", is_verified=True)
    product = ProductFactory(price=price, stock_quantity=20)
    order = order_place(customer, items=[LineRequest(product.pk, quantity)], shipping_address=ADDRESS)
    return delivered(order, customer, staff), customer, staff


def test_concurrent_approvals_of_one_return_refund_it_once():
    order, customer, staff = _delivered_order()
    return_request = return_request_create(order.pk, user=customer, lines=[(order.lines.get().pk, 3)])

    results = run_threads(8, lambda i: return_approve(return_request.pk, by=staff, restock=True).status)

    assert results == ["approved"] * 8, errors_of(results)
    assert Refund.objects.count() == 1 and CreditNote.objects.count() == 1
    payment = Payment.objects.get(order=order)
    assert payment.refunded_amount == Decimal("75.00")
    product = order.lines.get().product
    product.refresh_from_db()
    assert product.stock_quantity == 20 - 4 + 3  # restocked once


def test_concurrent_refunds_never_exceed_the_payment():
    order, _, _ = _delivered_order()  # 100.00 captured
    payment = Payment.objects.get(order=order)

    def refund(i):
        try:
            return refund_issue(payment.pk, amount=Decimal("30.00"), key=f"race:{i}").amount
        except RefundExceedsPayment as exc:
            return exc.code

    results = run_threads(10, refund)

    assert results.count(Decimal("30.00")) == 3
    assert results.count("refund_exceeds_payment") == 7
    payment.refresh_from_db()
    assert payment.refunded_amount == Decimal("90.00") <= payment.amount
    assert sum(Refund.objects.filter(payment=payment).values_list("amount", flat=True)) == Decimal("90.00")
    assert Order.objects.get(pk=order.pk).refunded_amount == Decimal("90.00")
    assert sorted(CreditNote.objects.values_list("sequence", flat=True)) == [1, 2, 3]


def test_concurrent_approvals_of_every_return_refund_exactly_the_order():
    order, customer, staff = _delivered_order(quantity=6, price="3.33")  # 19.98
    line = order.lines.get()
    returns = [return_request_create(order.pk, user=customer, lines=[(line.pk, 1)]) for _ in range(6)]

    results = run_threads(6, lambda i: return_approve(returns[i].pk, by=staff).refund_amount)

    assert not errors_of(results), errors_of(results)
    assert sum(results) == Decimal("19.98")
    order.refresh_from_db()
    assert order.refunded_amount == Decimal("19.98") and order.status == "refunded"
    payment = Payment.objects.get(order=order)
    assert payment.refunded_amount == payment.amount and payment.status == "refunded"
