"""Helpers of the after-checkout tests: orders brought to a status through the services."""

from orders.models import Order
from orders.services import order_fulfill, order_set_status
from payments.services import payment_pay
from tests.orders.helpers import new_key


def paid(order, customer) -> Order:
    payment_pay(order.pk, user=customer, token="tok_visa", idempotency_key=new_key())
    return Order.objects.get(pk=order.pk)


def processing(order, customer, staff) -> Order:
    paid(order, customer)
    order_set_status(order.pk, "processing", by=staff)
    return Order.objects.get(pk=order.pk)


def delivered(order, customer, staff) -> Order:
    processing(order, customer, staff)
    order_fulfill(order.pk, lines=[(line.pk, line.quantity) for line in order.lines.all()], by=staff)
    order_set_status(order.pk, "delivered", by=staff)
    return Order.objects.get(pk=order.pk)


def line_of(order, product):
    return order.lines.get(product=product)
