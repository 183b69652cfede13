"""Stock only moves through the locked stock service (catalog.services.stock_move*), and
every move is in the ledger (StockMove). No other write, from the API or the admin, writes
back a stock level it read earlier."""

import io
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from catalog import services
from catalog.errors import InsufficientStock
from catalog.models import Product, StockMove, StockReason
from core.errors import InvalidInput, NotFound
from orders.services import LineRequest, order_place
from tests.accounts.factories import UserFactory
from tests.catalog.factories import ProductFactory, ReviewFactory
from tests.catalog.helpers import admin_form_data
from tests.orders.helpers import ADDRESS

pytestmark = pytest.mark.django_db


def buy(product, quantity=1, user=None):
    return order_place(
        user or UserFactory(is_verified=True), items=[LineRequest(product.pk, quantity)], shipping_address=ADDRESS
    )


@pytest.fixture
def manager_browser(manager):
    browser = Client()
    browser.force_login(manager)
    return browser


def test_admin_change_form_saved_after_a_sale_keeps_the_sale(manager_browser):
    """The reported defect: the form is opened at stock 10, a customer buys 3, the form is
    saved with only the price changed: the stock must stay 7 (it was reset to 10)."""
    product = ProductFactory(stock_quantity=10, price=Decimal("20.00"))
    url = reverse("admin:catalog_product_change", args=[product.pk])
    page = manager_browser.get(url)
    assert page.status_code == 200
    data = admin_form_data(page)
    buy(product, 3)

    data["price"] = "25.00"
    data["stock_quantity"] = "10"  # the stale level a browser would send back, if it could
    response = manager_browser.post(url, data)

    assert response.status_code == 302, response.content[:3000]
    product.refresh_from_db()
    assert product.price == Decimal("25.00")
    assert product.stock_quantity == 7


def test_product_update_from_a_stale_read_keeps_the_sale():
    product = ProductFactory(stock_quantity=10)
    stale = Product.objects.get(pk=product.pk)  # read before the sale, as a view or form does
    buy(product, 3)

    services.product_update(stale, price=Decimal("1.23"))

    product.refresh_from_db()
    assert product.price == Decimal("1.23")
    assert product.stock_quantity == 7


def test_product_save_never_writes_back_stock_or_rating_counters():
    product = ProductFactory(stock_quantity=10)
    stale = Product.objects.get(pk=product.pk)
    buy(product, 2)
    Product.objects.filter(pk=product.pk).update(review_count=4, rating_avg=Decimal("4.50"))

    stale.name = "Renamed"
    services.product_save(stale)

    product.refresh_from_db()
    assert (product.name, product.stock_quantity, product.review_count) == ("Renamed", 8, 4)
    assert product.rating_avg == Decimal("4.50")


# --- the ledger ------------------------------------------------------------------------


def assert_ledger_explains_stock(product, opening: int) -> None:
    """The product's moves, in id order, chain from `opening` to its current stock."""
    product.refresh_from_db()
    level = opening
    for move in StockMove.objects.filter(product=product).order_by("id"):
        level += move.delta
        assert move.quantity_after == level, (move, level)
    assert level == product.stock_quantity


def test_delta_move_is_locked_relative_and_recorded(manager):
    product = ProductFactory(stock_quantity=10)
    move = services.stock_move(product.pk, delta=-4, reason="adjustment", by=manager, note="broken in transit")
    product.refresh_from_db()
    assert product.stock_quantity == 6
    assert (move.delta, move.quantity_after, move.reason, move.by, move.note) == (
        -4,
        6,
        "adjustment",
        manager,
        "broken in transit",
    )
    assert move.created_at is not None and move.order_id is None


def test_set_to_computes_the_delta_against_the_level_under_the_lock(manager):
    product = ProductFactory(stock_quantity=10)
    stale = Product.objects.get(pk=product.pk)
    buy(product, 3)  # 7 now; the stale copy still says 10

    move = services.stock_move(stale.pk, set_to=20, reason="adjustment", by=manager)

    assert (move.delta, move.quantity_after) == (13, 20)  # not +10 from the stale read
    assert_ledger_explains_stock(product, opening=10)


def test_set_to_the_current_level_records_nothing():
    product = ProductFactory(stock_quantity=5)
    assert services.stock_move(product.pk, set_to=5, reason="adjustment") is None
    assert not StockMove.objects.exists()


def test_a_move_below_zero_is_refused_and_changes_nothing():
    product = ProductFactory(stock_quantity=2)
    with pytest.raises(InsufficientStock) as exc:
        services.stock_move(product.pk, delta=-3, reason="adjustment")
    error = exc.value.as_errors()[0]
    assert (error["code"], error["product_id"], error["requested"], error["available"]) == (
        "insufficient_stock",
        str(product.pk),
        3,
        2,
    )
    with pytest.raises(InvalidInput):
        services.stock_move(product.pk, set_to=-1, reason="adjustment")
    product.refresh_from_db()
    assert product.stock_quantity == 2 and not StockMove.objects.exists()


def test_bulk_move_is_all_or_nothing():
    plenty, scarce = ProductFactory(stock_quantity=10), ProductFactory(stock_quantity=1)
    with pytest.raises(InsufficientStock) as exc:
        services.stock_move_many({plenty.pk: -2, scarce.pk: -2}, reason="adjustment")
    assert [e["product_id"] for e in exc.value.as_errors()] == [str(scarce.pk)]
    plenty.refresh_from_db(), scarce.refresh_from_db()
    assert (plenty.stock_quantity, scarce.stock_quantity) == (10, 1)
    assert not StockMove.objects.exists()

    moves = services.stock_move_many({plenty.pk: -2, scarce.pk: 4}, reason="adjustment")
    assert {(m.product_id, m.delta, m.quantity_after) for m in moves} == {(plenty.pk, -2, 8), (scarce.pk, 4, 5)}


def test_unknown_product_or_reason_is_refused():
    product = ProductFactory()
    with pytest.raises(NotFound):
        services.stock_move(uuid.uuid4(), delta=1, reason="adjustment")
    with pytest.raises(ValueError):
        services.stock_move(product.pk, delta=1, reason="gift")
    with pytest.raises(TypeError):
        services.stock_move(product.pk, delta=1, set_to=3, reason="adjustment")


@pytest.mark.parametrize("reason", [choice.value for choice in StockReason])
def test_every_reason_is_recorded(reason):
    product = ProductFactory(stock_quantity=3)
    order_id = uuid.uuid4()
    services.stock_move(product.pk, delta=2, reason=reason, order_id=order_id)
    assert StockMove.objects.get().reason == reason
    assert StockMove.objects.get().order_id == order_id


def test_checkout_cancel_and_expiry_are_recorded_with_their_order(customer):
    from orders.models import Order
    from orders.services import order_cancel, orders_expire

    product = ProductFactory(stock_quantity=10)
    cancelled = buy(product, 3, user=customer)
    expired = buy(product, 2, user=customer)
    order_cancel(cancelled.pk, by=customer)
    Order.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    assert orders_expire() == 1

    moves = list(StockMove.objects.filter(product=product).order_by("id"))
    assert [(m.reason, m.delta, m.quantity_after, m.order_id) for m in moves] == [
        ("sale", -3, 7, cancelled.pk),
        ("sale", -2, 5, expired.pk),
        ("cancel", 3, 8, cancelled.pk),
        ("cancel", 2, 10, expired.pk),
    ]
    assert [m.by for m in moves] == [customer, customer, customer, None]  # expiry: the system
    assert moves[-1].note == "payment timeout"
    assert_ledger_explains_stock(product, opening=10)


def test_checkout_costs_the_same_queries_whatever_its_line_count(customer):
    """The ledger adds one bulk INSERT to a checkout, not a query per line."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    products = [ProductFactory(stock_quantity=10) for _ in range(6)]

    def queries_of(lines):
        with CaptureQueriesContext(connection) as ctx:
            order_place(customer, items=[LineRequest(p.pk, 1) for p in lines], shipping_address=ADDRESS)
        return len(ctx.captured_queries)

    assert queries_of(products[:1]) == queries_of(products[1:])
    assert StockMove.objects.filter(reason="sale").count() == 6


# --- other writes never write stock ----------------------------------------------------


def test_product_save_refuses_to_write_a_counter():
    product = ProductFactory()
    with pytest.raises(ValueError):
        services.product_save(product, fields=["price", "stock_quantity"])


def test_rating_refresh_writes_only_the_rating_from_sql():
    product = ProductFactory(stock_quantity=10, name="Kept")
    stale = Product.objects.get(pk=product.pk)
    buy(product, 4)
    stale.name = "Not saved"
    ReviewFactory(product=product, rating=2)
    ReviewFactory(product=product, rating=3)
    ReviewFactory(product=product, rating=5, is_approved=False)

    services.product_rating_refresh(stale)

    assert (stale.rating_avg, stale.review_count) == (Decimal("2.50"), 2)
    product.refresh_from_db()
    assert (product.name, product.stock_quantity, product.rating_avg, product.review_count) == (
        "Kept",
        6,
        Decimal("2.50"),
        2,
    )


URL = "/api/v1/products/{}/"


def test_api_patch_of_price_only_keeps_the_sale_and_records_nothing(manager_client):
    product = ProductFactory(stock_quantity=10)
    buy(product, 3)
    response = manager_client.patch(URL.format(product.pk), {"price": "9.99"}, format="json")
    assert response.status_code == 200 and response.json()["stock_quantity"] == 7
    assert StockMove.objects.filter(reason="adjustment").count() == 0


def test_api_patch_or_put_with_stock_is_an_adjustment_by_the_user(manager, manager_client):
    product = ProductFactory(stock_quantity=10)
    buy(product, 3)
    response = manager_client.patch(URL.format(product.pk), {"price": "9.99", "stock_quantity": 12}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["stock_quantity"] == 12
    move = StockMove.objects.get(reason="adjustment")
    assert (move.delta, move.quantity_after, move.by) == (5, 12, manager)

    body = {
        "sku": product.sku,
        "name": "Put",
        "price": "1.00",
        "stock_quantity": 4,
        "category_id": str(product.category_id),
        "is_active": True,
    }
    assert manager_client.put(URL.format(product.pk), body, format="json").status_code == 200
    assert StockMove.objects.filter(reason="adjustment").order_by("-id").first().delta == -8
    assert_ledger_explains_stock(product, opening=10)


def test_csv_import_counts_stock_through_the_ledger_and_an_empty_cell_keeps_it(tmp_path):
    from catalog.csv_io import import_products

    product = ProductFactory(sku="CSV-1", stock_quantity=10)
    buy(product, 3)
    category = product.category.slug
    report = import_products(
        io.StringIO(
            f"sku,name,price,stock_quantity,category\nCSV-1,Renamed,2.00,,{category}\nNEW-1,New,1.00,5,{category}\n"
        )
    )
    assert (report.created, report.updated, report.errors) == (1, 1, [])
    product.refresh_from_db()
    assert (product.name, product.stock_quantity) == ("Renamed", 7)
    assert Product.objects.get(sku="NEW-1").stock_quantity == 5  # the opening level: not a move
    assert not StockMove.objects.filter(reason="import").exists()

    import_products(io.StringIO(f"sku,name,price,stock_quantity,category\nCSV-1,Renamed,2.00,9,{category}\n"))
    move = StockMove.objects.get(reason="import")
    assert (move.delta, move.quantity_after) == (2, 9)


@pytest.mark.django_db(transaction=True)  # as run for real: no deferred checks pending from the setup
def test_reseeding_replaces_the_ledger_with_the_catalog():
    from django.core.management import call_command

    services.stock_move(ProductFactory(stock_quantity=1).pk, delta=1, reason="adjustment")
    call_command("seed_catalog", products=20, categories=3, brands=2, stdout=io.StringIO(), verbosity=0)
    assert Product.objects.count() == 20 and not StockMove.objects.exists()  # new products: no history


# --- staff see the ledger; customers do not --------------------------------------------


def test_staff_detail_lists_the_last_moves_newest_first(manager, manager_client, admin_client_api):
    product = ProductFactory(stock_quantity=10)
    order = buy(product, 2)
    services.stock_move(product.pk, delta=5, reason="adjustment", by=manager, note="recount")
    for client in (manager_client, admin_client_api):
        moves = client.get(URL.format(product.pk)).json()["stock_moves"]
        assert [(m["delta"], m["quantity_after"], m["reason"]) for m in moves] == [
            (5, 13, "adjustment"),
            (-2, 8, "sale"),
        ]
        assert moves[0]["by"] == manager.email and moves[0]["note"] == "recount" and moves[0]["order_id"] is None
        assert moves[1]["order_id"] == str(order.pk) and moves[1]["at"].endswith("Z")


def test_staff_detail_shows_at_most_the_last_20_moves(manager_client):
    product = ProductFactory(stock_quantity=0)
    for _ in range(25):
        services.stock_move(product.pk, delta=1, reason="adjustment")
    moves = manager_client.get(URL.format(product.pk)).json()["stock_moves"]
    assert [m["quantity_after"] for m in moves] == list(range(25, 5, -1))


def test_customers_and_anonymous_do_not_get_the_ledger(api_client, customer_client, manager_client):
    product = ProductFactory(stock_quantity=10)
    buy(product, 1)
    for client in (api_client, customer_client):
        for _ in range(2):  # a cache miss, then a hit
            body = client.get(URL.format(product.pk)).json()
            assert "stock_moves" not in body and body["stock_quantity"] == 9
    assert "stock_moves" in manager_client.get(URL.format(product.pk)).json()
    listing = manager_client.get("/api/v1/products/").json()["results"]
    assert "stock_moves" not in listing[0]  # detail only


def test_a_move_is_visible_on_the_next_cached_staff_detail(manager_client, django_capture_on_commit_callbacks):
    product = ProductFactory(stock_quantity=10)
    assert manager_client.get(URL.format(product.pk)).json()["stock_moves"] == []
    assert manager_client.get(URL.format(product.pk))["X-Cache"] == "HIT"
    with django_capture_on_commit_callbacks(execute=True):
        services.stock_move(product.pk, delta=1, reason="adjustment")
    response = manager_client.get(URL.format(product.pk))
    assert response["X-Cache"] == "MISS" and len(response.json()["stock_moves"]) == 1


# --- admin -----------------------------------------------------------------------------


def test_admin_list_does_not_edit_stock(manager_browser):
    from catalog.admin import ProductAdmin

    assert "stock_quantity" not in ProductAdmin.list_editable
    ProductFactory()
    page = manager_browser.get(reverse("admin:catalog_product_changelist"))
    assert page.status_code == 200
    assert 'name="form-0-stock_quantity"' not in page.content.decode()


def test_admin_change_form_shows_stock_read_only_and_the_last_moves(manager_browser, manager):
    product = ProductFactory(stock_quantity=10)
    buy(product, 2)
    services.stock_move(product.pk, delta=7, reason="adjustment", by=manager, note="found a box")
    page = manager_browser.get(reverse("admin:catalog_product_change", args=[product.pk]))
    html = page.content.decode()
    assert 'name="stock_quantity"' not in html
    assert "found a box" in html and manager.email in html
    assert html.index("found a box") < html.index("sale (checkout)")  # newest first


def test_admin_add_form_takes_the_opening_stock(manager_browser):
    category = ProductFactory().category
    response = manager_browser.post(
        reverse("admin:catalog_product_add"),
        {
            "name": "Fresh",
            "slug": "fresh",
            "sku": "FRESH-1",
            "price": "3.00",
            "stock_quantity": "12",
            "category": str(category.pk),
            "attributes": "{}",
            "is_active": "on",
            "images-TOTAL_FORMS": "0",
            "images-INITIAL_FORMS": "0",
            "reviews-TOTAL_FORMS": "0",
            "reviews-INITIAL_FORMS": "0",
            "stock_moves-TOTAL_FORMS": "0",
            "stock_moves-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content[:3000]
    assert Product.objects.get(sku="FRESH-1").stock_quantity == 12
    assert not StockMove.objects.exists()  # a new product's stock is its opening level


def test_admin_change_form_saves_after_more_moves_than_it_shows(manager_browser):
    product = ProductFactory(stock_quantity=100)
    for _ in range(22):
        services.stock_move(product.pk, delta=-1, reason="adjustment")
    url = reverse("admin:catalog_product_change", args=[product.pk])
    data = admin_form_data(manager_browser.get(url))
    for _ in range(3):  # the moves the form showed are no longer the last 20
        buy(product, 1)
    data["name"] = "Renamed"
    assert manager_browser.post(url, data).status_code == 302
    product.refresh_from_db()
    assert (product.name, product.stock_quantity) == ("Renamed", 75)


def _action(browser, products, **fields):
    return browser.post(
        reverse("admin:catalog_product_changelist"),
        {"action": "adjust_stock", "_selected_action": [str(p.pk) for p in products], "index": "0", **fields},
        follow=True,
    )


def test_admin_adjust_stock_action_moves_through_the_ledger(manager_browser, manager):
    a, b = ProductFactory(stock_quantity=10), ProductFactory(stock_quantity=1)
    buy(a, 3)

    _action(manager_browser, [a, b], stock_delta="5", stock_note="delivery 42")
    _action(manager_browser, [a], stock_level="2", stock_note="recount")

    a.refresh_from_db(), b.refresh_from_db()
    assert (a.stock_quantity, b.stock_quantity) == (2, 6)
    moves = [
        (m.product_id, m.delta, m.note, m.by) for m in StockMove.objects.filter(reason="adjustment").order_by("id")
    ]
    assert moves == sorted(
        [(a.pk, 5, "delivery 42", manager), (b.pk, 5, "delivery 42", manager)], key=lambda m: m[0]
    ) + [(a.pk, -10, "recount", manager)]
    assert_ledger_explains_stock(a, opening=10)


def test_admin_adjust_stock_action_refuses_bad_input_and_negative_stock(manager_browser):
    a, b = ProductFactory(stock_quantity=10), ProductFactory(stock_quantity=1)
    neither = _action(manager_browser, [a])
    both = _action(manager_browser, [a], stock_delta="1", stock_level="3")
    for response in (neither, both):
        assert "Give either the units to add or the new stock level" in response.content.decode()
    too_many = _action(manager_browser, [a, b], stock_delta="-5")
    assert f"{b.sku}: " in too_many.content.decode()
    a.refresh_from_db(), b.refresh_from_db()
    assert (a.stock_quantity, b.stock_quantity) == (5, 1)  # each product on its own: a moved, b refused
    assert StockMove.objects.count() == 1
