"""Order edits under real concurrency (PostgreSQL, real threads): edits and checkouts
competing for the last units never oversell, and the ledger explains the stock."""

import pytest

from core.errors import DomainError
from orders.models import OrderLine
from orders.services import LineRequest, order_line_add, order_line_set_quantity, order_place
from tests.accounts.factories import UserFactory
from tests.catalog.test_stock_ledger import assert_ledger_explains_stock
from tests.concurrency import run_threads
from tests.orders.factories import ProductFactory
from tests.orders.helpers import ADDRESS

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_edits_and_checkouts_racing_for_the_last_units_never_oversell():
    product = ProductFactory(stock_quantity=15)
    other = ProductFactory(stock_quantity=100)
    owners = [UserFactory(is_verified=True) for _ in range(10)]
    # Ten pending orders hold one unit each: 5 left for 15 competitors. The edits and the
    # additions work on different orders: an addition landing first on an order would
    # turn its "1 -> 2" edit into a no-op that takes no unit.
    orders = [order_place(u, items=[LineRequest(product.pk, 1)], shipping_address=ADDRESS) for u in owners]
    buyers = [UserFactory(is_verified=True) for _ in range(5)]

    def compete(i):
        try:
            if i < 5:  # a line edit 1 -> 2
                line = OrderLine.objects.get(order=orders[i])
                order_line_set_quantity(orders[i].pk, line.pk, quantity=2, by=owners[i])
            elif i < 10:  # a line added to an order (another product's order, locks in pk order)
                order_line_add(orders[i].pk, product_id=other.pk, quantity=1, by=owners[i])
                order_line_add(orders[i].pk, product_id=product.pk, quantity=1, by=owners[i])
            else:  # a checkout
                order_place(buyers[i - 10], items=[LineRequest(product.pk, 1)], shipping_address=ADDRESS)
            return "ok"
        except DomainError as exc:
            return exc.code

    results = run_threads(15, compete)

    assert set(results) <= {"ok", "insufficient_stock"}, results
    product.refresh_from_db()
    assert product.stock_quantity == 0
    assert results.count("ok") == 5  # 15 competitors, each wanting one more unit, for 5 units
    held = sum(OrderLine.objects.filter(product=product).values_list("quantity", flat=True))
    assert held == 15  # every unit is on exactly one order line
    assert_ledger_explains_stock(product, opening=15)
