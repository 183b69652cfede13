"""Checkout under real concurrency (PostgreSQL row locks, real threads, own connections)."""

import pytest

from catalog.models import Product
from core.errors import DomainError
from orders.models import Order, OrderLine
from orders.services import LineRequest, order_place
from tests.accounts.factories import UserFactory
from tests.concurrency import run_threads
from tests.orders.factories import ProductFactory
from tests.orders.helpers import ADDRESS

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_concurrent_buyers_never_oversell():
    product = ProductFactory(stock_quantity=10)
    buyers = [UserFactory(is_verified=True) for _ in range(24)]

    def buy(i):
        try:
            order_place(buyers[i], items=[LineRequest(product.pk, 1)], shipping_address=ADDRESS)
            return "ok"
        except DomainError as exc:
            return exc.code

    results = run_threads(24, buy)

    assert results.count("ok") == 10
    assert results.count("insufficient_stock") == 14
    product.refresh_from_db()
    assert product.stock_quantity == 0
    assert Order.objects.count() == 10
    assert sum(OrderLine.objects.values_list("quantity", flat=True)) == 10


def test_concurrent_multi_unit_buyers_never_oversell():
    product = ProductFactory(stock_quantity=7)
    buyers = [UserFactory(is_verified=True) for _ in range(20)]

    def buy(i):
        try:
            order_place(buyers[i], items=[LineRequest(product.pk, 2)], shipping_address=ADDRESS)
            return "ok"
        except DomainError as exc:
            return exc.code

    results = run_threads(20, buy)
    assert results.count("ok") == 3
    product.refresh_from_db()
    assert product.stock_quantity == 1


def test_opposite_line_order_does_not_deadlock():
    """Two products, half the buyers list them A,B and half B,A: locks are taken in
    primary-key order, so no deadlock (PostgreSQL would abort one with 40P01)."""
    a = ProductFactory(stock_quantity=100)
    b = ProductFactory(stock_quantity=100)
    buyers = [UserFactory(is_verified=True) for _ in range(20)]

    def buy(i):
        first, second = (a, b) if i % 2 else (b, a)
        order_place(
            buyers[i],
            items=[LineRequest(first.pk, 1), LineRequest(second.pk, 1)],
            shipping_address=ADDRESS,
        )
        return "ok"

    results = run_threads(20, buy)
    assert results == ["ok"] * 20, results
    assert list(Product.objects.filter(pk__in=[a.pk, b.pk]).values_list("stock_quantity", flat=True)) == [80, 80]


def test_concurrent_cancels_restore_stock_exactly_once():
    from orders.services import order_cancel

    product = ProductFactory(stock_quantity=10)
    order = order_place(UserFactory(is_verified=True), items=[LineRequest(product.pk, 4)], shipping_address=ADDRESS)

    def cancel(i):
        try:
            order_cancel(order.pk)
            return "ok"
        except DomainError as exc:
            return exc.code

    results = run_threads(10, cancel)
    assert results.count("ok") == 1
    assert results.count("invalid_transition") == 9
    product.refresh_from_db()
    assert product.stock_quantity == 10


def test_two_concurrent_checkouts_of_one_cart_make_one_order():
    """A double submit with two different keys: the cart row lock makes the second checkout
    wait for the first and then find the cart empty (400 empty_order), not order it again."""
    from carts.services import cart_add_item

    product = ProductFactory(stock_quantity=10)
    buyer = UserFactory(is_verified=True)
    cart_add_item(user=buyer, product_id=product.pk, quantity=3)

    def checkout(_i):
        try:
            return order_place(buyer, items=None, shipping_address=ADDRESS).number
        except DomainError as exc:
            return exc.code

    results = run_threads(2, checkout)
    assert sorted(r == "empty_order" for r in results) == [False, True], results
    assert Order.objects.count() == 1
    product.refresh_from_db()
    assert product.stock_quantity == 7
