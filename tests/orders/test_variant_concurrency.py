"""The no-oversell guarantee holds for variants: checkout locks a variant's row exactly as
it locks a standalone product's (PostgreSQL row locks, real threads)."""

import pytest

from catalog.models import Product
from core.errors import DomainError
from orders.models import OrderLine
from orders.services import LineRequest, order_place
from tests.accounts.factories import UserFactory
from tests.catalog.test_variants import make_family
from tests.concurrency import run_threads
from tests.orders.helpers import ADDRESS

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_concurrent_buyers_never_oversell_a_variant():
    parent, (small, medium) = make_family(stocks=(10, 3), prices=("5.00", "6.00"), sizes=("S", "M"))
    buyers = [UserFactory(is_verified=True) for _ in range(24)]

    def buy(i):
        # Most buyers want S; every fourth wants S and M together (two locked rows).
        items = [LineRequest(small.pk, 1)] + ([LineRequest(medium.pk, 1)] if i % 4 == 0 else [])
        try:
            order_place(buyers[i], items=items, shipping_address=ADDRESS)
            return "ok"
        except DomainError as exc:
            return exc.code

    results = run_threads(24, buy)
    assert set(results) <= {"ok", "insufficient_stock"}, results
    small.refresh_from_db()
    medium.refresh_from_db()
    assert small.stock_quantity == 0 and medium.stock_quantity >= 0
    assert results.count("ok") == 10
    sold = {
        pid: sum(OrderLine.objects.filter(product_id=pid).values_list("quantity", flat=True))
        for pid in (small.pk, medium.pk)
    }
    assert sold[small.pk] == 10 and sold[medium.pk] == 3 - medium.stock_quantity
    assert Product.objects.get(pk=parent.pk).stock_quantity == 0


def test_concurrent_variant_creation_keeps_axis_values_unique():
    from catalog import services

    parent, _ = make_family(stocks=(1,), prices=("5.00",), sizes=("S",))

    def create(i):
        try:
            services.product_create(sku=f"RACE-{i}", name="r", price=1, parent=parent, attributes={"size": "M"})
            return "ok"
        except DomainError as exc:
            return exc.code

    results = run_threads(20, create)
    assert results.count("ok") == 1 and results.count("unique") == 19, results
    assert Product.objects.filter(parent=parent).count() == 2
