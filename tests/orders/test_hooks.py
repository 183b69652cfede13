"""The refund hook payments registers for cancellations (orders cannot import payments)."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from orders import hooks
from orders.models import Order
from orders.services import order_cancel
from payments.models import Payment, PaymentStatus, Refund
from payments.services import payment_pay
from tests.orders.factories import ProductFactory
from tests.orders.helpers import new_key

pytestmark = pytest.mark.django_db


def test_without_a_refund_handler_a_paid_order_is_not_cancelled(customer, place, monkeypatch):
    product = ProductFactory(stock_quantity=10)
    order = place(customer, (product, 3))
    payment_pay(order.pk, user=customer, token="tok_visa", idempotency_key=new_key())
    monkeypatch.setattr(hooks, "_refund_handler", None)

    with pytest.raises(ImproperlyConfigured):
        order_cancel(order.pk)

    assert Order.objects.get(pk=order.pk).status == "payment_confirmed"
    assert Payment.objects.get(order=order).status == PaymentStatus.SUCCEEDED
    assert not Refund.objects.exists()
    product.refresh_from_db()
    assert product.stock_quantity == 7


def test_without_a_refund_handler_a_pending_order_still_cancels(customer, place, monkeypatch):
    order = place(customer, (ProductFactory(stock_quantity=10), 1))
    monkeypatch.setattr(hooks, "_refund_handler", None)
    assert order_cancel(order.pk).status == "cancelled"


def test_a_second_refund_handler_is_refused(monkeypatch):
    monkeypatch.setattr(hooks, "_refund_handler", None)
    first = object()  # stand-ins: only their identity matters here
    hooks.register_refund_handler(first)
    hooks.register_refund_handler(first)  # the same one again (a second ready()) is fine
    with pytest.raises(ImproperlyConfigured):
        hooks.register_refund_handler(object())
