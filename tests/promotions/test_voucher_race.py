"""Redemptions under a real race (PostgreSQL row locks, real threads, own connections)."""

import pytest

from core.errors import DomainError
from orders.models import Order
from orders.services import LineRequest, order_cancel, order_place
from promotions.models import Voucher, VoucherRedemption
from tests.accounts.factories import UserFactory
from tests.concurrency import errors_of, run_threads
from tests.orders.factories import ProductFactory
from tests.orders.helpers import ADDRESS
from tests.promotions import factories as promos

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_fifty_buyers_racing_for_ten_uses():
    product = ProductFactory(price="20.00", stock_quantity=100)
    promos.voucher("RACE10", "fixed", "5", usage_limit=10)
    buyers = [UserFactory(is_verified=True) for _ in range(50)]

    def buy(i):
        try:
            order_place(buyers[i], items=[LineRequest(product.pk, 1)], shipping_address=ADDRESS, voucher_code="RACE10")
            return "ok"
        except DomainError as exc:
            return exc.code

    results = run_threads(50, buy)
    assert not errors_of(results), errors_of(results)
    assert results.count("ok") == 10
    assert results.count("voucher_exhausted") == 40
    assert Order.objects.filter(voucher_code="RACE10").count() == 10 == Order.objects.count()
    assert Voucher.objects.get().used_count == 10 == VoucherRedemption.objects.count()


def test_a_cancelled_order_frees_a_use_for_the_next_racer():
    product = ProductFactory(price="20.00", stock_quantity=100)
    promos.voucher("ONE", "fixed", "5", usage_limit=1)
    first = order_place(
        UserFactory(is_verified=True), items=[LineRequest(product.pk, 1)], shipping_address=ADDRESS, voucher_code="ONE"
    )
    buyers = [UserFactory(is_verified=True) for _ in range(6)]

    def act(i):
        try:
            if i == 0:
                order_cancel(first.pk)
                return "cancelled"
            order_place(buyers[i], items=[LineRequest(product.pk, 1)], shipping_address=ADDRESS, voucher_code="ONE")
            return "ok"
        except DomainError as exc:
            return exc.code

    results = run_threads(6, act)
    assert results[0] == "cancelled"
    voucher = Voucher.objects.get()
    # Never more than one live use; at most one racer got the use the cancel gave back.
    assert results.count("ok") <= 1 and voucher.used_count == results.count("ok")
    assert VoucherRedemption.objects.filter(released_at__isnull=True).count() == voucher.used_count
