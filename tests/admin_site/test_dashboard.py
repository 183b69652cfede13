"""The admin index: the shop's name, and a dashboard whose numbers come from the selectors of
the apps that own them (checked here against known data), on a fixed query budget."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from catalog.cache import record_lookup
from catalog.selectors import product_low_stock
from core.jobs import outbox_depth
from core.models import OutboxMessage
from orders.models import Order, OrderStatus
from orders.selectors import order_daily_totals, order_latest, order_status_counts
from orders.services import LineRequest, order_cancel, order_place, order_set_status
from payments.services import payment_pay
from tests.accounts.factories import UserFactory
from tests.orders.factories import ProductFactory
from tests.orders.helpers import ADDRESS, new_key

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_order_limits")]

INDEX = "/admin/"


@pytest.fixture
def no_order_limits(settings):
    settings.ORDER_MAX_PENDING_PER_USER = 0
    settings.ORDER_MAX_UNITS_PER_PRODUCT = 0


def place(user, product, qty=1, *, days_ago=0, paid=False):
    order = order_place(user, items=[LineRequest(product.pk, qty)], shipping_address=ADDRESS)
    if paid:
        payment_pay(order.pk, user=user, token="tok_visa", idempotency_key=new_key())
    if days_ago:
        # Placed earlier: only the date matters to the dashboard.
        Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - timedelta(days=days_ago))
    return Order.objects.get(pk=order.pk)


@pytest.fixture
def shop(customer):
    """Known orders: today 2 placed (1 paid 30.00), 3 days ago 1 paid (10.00) and 1 paid then
    cancelled (refunded: not a sale), 40 days ago 1 paid (outside the 30 days)."""
    product = ProductFactory(stock_quantity=100, price=Decimal("10.00"))
    today_paid = place(customer, product, 3, paid=True)
    today_pending = place(customer, product, 1)
    earlier_paid = place(customer, product, 1, days_ago=3, paid=True)
    refunded = place(customer, product, 2, days_ago=3, paid=True)
    order_cancel(refunded.pk, note="test")
    old = place(customer, product, 5, days_ago=40, paid=True)
    return {
        "product": product,
        "today_paid": today_paid,
        "today_pending": today_pending,
        "earlier_paid": earlier_paid,
        "refunded": refunded,
        "old": old,
    }


def test_daily_totals_count_orders_per_day_and_sales_of_paid_ones(shop):
    days = order_daily_totals(days=30)
    assert len(days) == 30 and days[-1]["day"] == timezone.localdate()
    assert days[0]["day"] == timezone.localdate() - timedelta(days=29)
    by_day = {row["day"]: row for row in days}
    today = by_day[timezone.localdate()]
    assert (today["orders"], today["sales"]) == (2, Decimal("30.00"))
    three = by_day[timezone.localdate() - timedelta(days=3)]
    assert (three["orders"], three["sales"]) == (2, Decimal("10.00"))  # the refunded one is no sale
    assert sum(row["orders"] for row in days) == 4  # the order 40 days ago is outside
    assert all(row["orders"] == 0 and row["sales"] == 0 for row in days if row not in (today, three))


def test_status_counts_cover_every_status(shop):
    counts = {status: n for status, _, n in order_status_counts()}
    assert counts == {
        "pending": 1,
        "payment_confirmed": 3,
        "processing": 0,
        "partially_shipped": 0,
        "shipped": 0,
        "delivered": 0,
        "cancelled": 1,
        "refunded": 0,
    }


def test_latest_orders_newest_first(shop):
    # The two backdated orders were moved in this order: the refunded one is the newer.
    latest = order_latest(limit=3)
    assert [o.pk for o in latest] == [shop["today_pending"].pk, shop["today_paid"].pk, shop["refunded"].pk]
    assert latest[0].user.email  # the customer came with the order (select_related)


def test_low_stock_lists_active_products_at_or_below_the_threshold_emptiest_first(settings):
    settings.CATALOG_LOW_STOCK_THRESHOLD = 5
    empty = ProductFactory(stock_quantity=0, name="Empty")
    low = ProductFactory(stock_quantity=5, name="Low")
    ProductFactory(stock_quantity=6, name="Enough")
    ProductFactory(stock_quantity=1, name="Hidden", is_active=False)
    assert [p.pk for p in product_low_stock()] == [empty.pk, low.pk]
    assert len(product_low_stock(limit=1)) == 1


def staff(role):
    return UserFactory(role=role, is_verified=True)


@override_settings(SHOP_NAME="Ada's Hardware")
def test_site_is_titled_with_the_shop_name(client):
    page = client.get(reverse("admin:login"))
    html = page.content.decode()
    assert "<title>Log in | Ada&#x27;s Hardware admin</title>" in html and "Ada&#x27;s Hardware" in html
    client.force_login(staff("manager"))
    html = client.get(INDEX).content.decode()
    assert "Dashboard | Ada&#x27;s Hardware admin" in html


def test_manager_sees_orders_and_stock_with_links_but_not_operations(client, shop, settings):
    settings.CATALOG_LOW_STOCK_THRESHOLD = 5
    low = ProductFactory(stock_quantity=2, name="Nearly gone")
    client.force_login(staff("manager"))
    page = client.get(INDEX)
    assert page.status_code == 200
    html = page.content.decode()
    dashboard = page.context["dashboard"]
    assert "operations" not in dashboard
    assert "dashboard-operations" not in html and "cache hit ratio" not in html.lower()
    # Orders per day (the table under the charts) and totals.
    assert dashboard["orders"]["daily_totals"] == {"orders": 4, "sales": Decimal("40.00")}
    today = timezone.localdate().isoformat()
    assert f'<tr data-day="{today}"><td>' in html and '<td class="num">30.00</td>' in html
    # Two SVG charts with a bar per day, each linking to the orders of that day.
    assert html.count('<figure class="shop-chart"') == 2 and html.count('<rect class="bar"') == 60
    d = timezone.localdate()
    assert f"?created_at__day={d.day}&amp;created_at__month={d.month}&amp;created_at__year={d.year}" in html
    # Orders by status link to the filtered order list.
    assert (
        '<tr data-status="payment_confirmed"><th scope="row"><a href="/admin/orders/order/?status__exact=payment_confirmed">'
        in html
    )
    # Latest orders link to their pages; low stock to the product.
    assert reverse("admin:orders_order_change", args=[shop["today_pending"].pk]) in html
    assert reverse("admin:catalog_product_change", args=[low.pk]) in html and "Nearly gone" in html
    assert "?in_stock=low&amp;is_active__exact=1" in html
    # Drawn on the server: the dashboard brings no script and nothing from another origin.
    panels = html.split('id="shop-dashboard"')[1].split('class="app-')[0]
    assert "<script" not in panels and "http" not in panels


def test_all_low_stock_link_filters_the_product_list(client, settings):
    settings.CATALOG_LOW_STOCK_THRESHOLD = 3
    ProductFactory(stock_quantity=3, name="Three left")
    ProductFactory(stock_quantity=4, name="Four left")
    client.force_login(staff("manager"))
    html = client.get(reverse("admin:catalog_product_changelist"), {"in_stock": "low"}).content.decode()
    assert "Three left" in html and "Four left" not in html


def test_admin_sees_cache_hit_ratio_and_outbox_depth(client, shop):
    for hit in (True, True, True, False):
        record_lookup(hit)
    depth = outbox_depth()["depth"]
    # A job due for a while and not published (a job deferred to later is no backlog).
    OutboxMessage.objects.create(task="orders.tasks.noop", args=[], available_at=timezone.now() - timedelta(hours=1))
    client.force_login(staff("admin"))
    page = client.get(INDEX)
    ops = page.context["dashboard"]["operations"]
    assert ops["cache"]["hits"] == 3 and ops["cache"]["misses"] == 1 and ops["cache"]["hit_percent"] == 75.0
    assert ops["outbox"]["depth"] == depth + 1
    html = page.content.decode()
    assert '<tr id="dashboard-cache-ratio"><th scope="row">Catalog cache hit ratio</th>' in html and "75.0 %" in html
    assert f'<td class="num">{depth + 1}</td>' in html


def test_customer_gets_the_admin_login_not_the_dashboard(client, customer):
    client.force_login(customer)
    page = client.get(INDEX)
    assert page.status_code == 302 and reverse("admin:login") in page["Location"]


def test_empty_shop_draws_flat_charts(client):
    client.force_login(staff("admin"))
    page = client.get(INDEX)
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count('height="0.0"') == 60 and "No orders yet." in html


@pytest.mark.parametrize(("role", "budget"), [("manager", 9), ("admin", 10)])
def test_dashboard_query_budget_does_not_grow_with_the_data(
    client, django_assert_max_num_queries, role, budget, customer
):
    user = staff(role)
    client.force_login(user)
    product = ProductFactory(stock_quantity=1000)

    def measure() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            assert client.get(INDEX).status_code == 200
        return len(ctx.captured_queries)

    small = measure()
    for _ in range(12):
        place(customer, product, 1, paid=True)
    for n in range(12):
        ProductFactory(stock_quantity=n % 3)
    for _ in range(3):
        order_set_status(Order.objects.filter(status=OrderStatus.PAYMENT_CONFIRMED).first().pk, "processing")
    # Session, user and the permissions (user's and role group's); one query per selector:
    # daily totals, statuses, latest orders, low stock (+ outbox depth for admins); the
    # "recent actions" sidebar.
    with django_assert_max_num_queries(budget):
        assert client.get(INDEX).status_code == 200
    assert measure() == small
