"""Stock only moves through the locked stock service (catalog.services.stock_move*), and
every move is in the ledger (StockMove). No other write, from the API or the admin, writes
back a stock level it read earlier."""

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from catalog import services
from catalog.models import Product
from orders.services import LineRequest, order_place
from tests.accounts.factories import UserFactory
from tests.catalog.factories import ProductFactory
from tests.orders.helpers import ADDRESS

pytestmark = pytest.mark.django_db


def buy(product, quantity=1, user=None):
    return order_place(
        user or UserFactory(is_verified=True), items=[LineRequest(product.pk, quantity)], shipping_address=ADDRESS
    )


def admin_form_data(page) -> dict:
    """The change form as the browser would post it back: every field with the value it
    was rendered with (inline formsets included)."""
    data = {}

    def put(form):
        for name in form.fields:
            value = form[name].value()
            if value is None or value is False:
                continue
            data[form.add_prefix(name)] = "on" if value is True else str(value)

    put(page.context["adminform"].form)
    for inline in page.context["inline_admin_formsets"]:
        formset = inline.formset
        put(formset.management_form)
        for form in formset.forms:
            put(form)
    data["_save"] = "Save"
    return data


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
