"""The stock ledger under real concurrency (PostgreSQL row locks, real threads, each with
its own connection): checkouts interleaved with price edits from the API and from the
admin change form never lose a sale, and the ledger always explains the stock."""

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from catalog import services
from catalog.models import Product, StockMove
from core.errors import DomainError
from orders.models import OrderLine
from orders.services import LineRequest, order_place
from tests.accounts.factories import UserFactory
from tests.catalog.factories import ProductFactory
from tests.catalog.helpers import admin_form_data
from tests.concurrency import errors_of, run_threads
from tests.conftest import auth_client_for
from tests.orders.helpers import ADDRESS

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROUNDS = 3


def _ledger_chain(product: Product, opening: int) -> int:
    """Walk the product's moves in id (= lock) order from `opening`; each quantity_after
    must be the level before plus the delta. Returns the level the chain ends at."""
    level = opening
    for move in StockMove.objects.filter(product=product).order_by("id"):
        level += move.delta
        assert move.quantity_after == level, (move.pk, move.delta, move.quantity_after, level)
    return level


def test_checkouts_interleaved_with_api_and_admin_price_edits_never_lose_a_sale():
    initial = 40
    product = ProductFactory(stock_quantity=initial, price=Decimal("10.00"))
    manager = UserFactory(role="manager")
    url = reverse("admin:catalog_product_change", args=[product.pk])

    buyers = [UserFactory(is_verified=True) for _ in range(8)]
    api_editors = [auth_client_for(manager) for _ in range(3)]
    browsers = []
    for _ in range(3):
        browser = Client()
        browser.force_login(manager)
        browsers.append(browser)
    # The change form as it was opened before any sale: it shows (and would post back)
    # stock 40. Every admin save below is made from this stale form.
    stale_form = admin_form_data(browsers[0].get(url))
    stale_form["stock_quantity"] = str(initial)

    def work(i):
        outcomes = []
        for round_ in range(ROUNDS):
            if i < len(buyers):
                try:
                    order_place(buyers[i], items=[LineRequest(product.pk, 1)], shipping_address=ADDRESS)
                    outcomes.append("sold")
                except DomainError as exc:
                    outcomes.append(exc.code)
            elif i < len(buyers) + len(api_editors):
                client = api_editors[i - len(buyers)]
                price = f"{11 + round_}.00"
                outcomes.append(client.patch(f"/api/v1/products/{product.pk}/", {"price": price}, format="json"))
            else:
                browser = browsers[i - len(buyers) - len(api_editors)]
                outcomes.append(browser.post(url, {**stale_form, "price": f"{20 + round_}.00"}))
        return outcomes

    results = run_threads(len(buyers) + len(api_editors) + len(browsers), work)

    assert errors_of(results) == []
    sales = [o for r in results[: len(buyers)] for o in r]
    assert sales == ["sold"] * len(buyers) * ROUNDS
    edits = [o for r in results[len(buyers) :] for o in r]
    assert [e.status_code for e in edits] == [200] * 9 + [302] * 9
    product.refresh_from_db()
    sold = sum(OrderLine.objects.filter(product=product).values_list("quantity", flat=True))
    assert sold == len(buyers) * ROUNDS
    assert product.stock_quantity == initial - sold  # not one sale undone by an edit
    assert product.price in {Decimal(f"{p}.00") for p in (11, 12, 13, 20, 21, 22)}
    moves = StockMove.objects.filter(product=product)
    assert moves.count() == sold and set(moves.values_list("reason", flat=True)) == {"sale"}
    assert initial + sum(moves.values_list("delta", flat=True)) == product.stock_quantity
    assert _ledger_chain(product, initial) == product.stock_quantity


def test_stock_counts_interleaved_with_checkouts_keep_the_ledger_exact():
    """Staff stock counts (PATCH stock_quantity: set_to under the lock) racing checkouts:
    every level is explained by the ledger, nothing goes below zero."""
    initial = 5
    product = ProductFactory(stock_quantity=initial)
    manager = UserFactory(role="manager")
    buyers = [UserFactory(is_verified=True) for _ in range(8)]
    counters = [auth_client_for(manager) for _ in range(3)]

    def work(i):
        outcomes = []
        for round_ in range(ROUNDS):
            if i < len(buyers):
                try:
                    order_place(buyers[i], items=[LineRequest(product.pk, 2)], shipping_address=ADDRESS)
                    outcomes.append("sold")
                except DomainError as exc:
                    outcomes.append(exc.code)
            else:
                body = {"stock_quantity": 3 + 2 * round_ + i % 2}
                outcomes.append(counters[i - len(buyers)].patch(f"/api/v1/products/{product.pk}/", body, format="json"))
        return outcomes

    results = run_threads(len(buyers) + len(counters), work)

    assert errors_of(results) == []
    sales = [o for r in results[: len(buyers)] for o in r]
    assert set(sales) <= {"sold", "insufficient_stock"}
    assert [o.status_code for r in results[len(buyers) :] for o in r] == [200] * len(counters) * ROUNDS
    product.refresh_from_db()
    assert product.stock_quantity >= 0
    sold = sum(OrderLine.objects.filter(product=product).values_list("quantity", flat=True))
    assert sold == 2 * sales.count("sold")
    moves = StockMove.objects.filter(product=product)
    assert -sum(moves.filter(reason="sale").values_list("delta", flat=True)) == sold
    assert set(moves.filter(reason="adjustment").values_list("by", flat=True)) <= {manager.pk}
    assert initial + sum(moves.values_list("delta", flat=True)) == product.stock_quantity
    assert _ledger_chain(product, initial) == product.stock_quantity


def test_concurrent_adjustments_and_bulk_moves_in_opposite_orders_do_not_deadlock():
    a, b = ProductFactory(stock_quantity=100), ProductFactory(stock_quantity=100)

    def move(i):
        first, second = (a, b) if i % 2 else (b, a)
        for _ in range(ROUNDS):
            services.stock_move_many({first.pk: -1, second.pk: -2}, reason="adjustment")
        return "ok"

    assert run_threads(12, move) == ["ok"] * 12
    for product in (a, b):
        product.refresh_from_db()
        assert _ledger_chain(product, 100) == product.stock_quantity
    assert a.stock_quantity + b.stock_quantity == 200 - 12 * ROUNDS * 3
