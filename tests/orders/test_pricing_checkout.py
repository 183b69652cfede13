"""Checkout priced by the pipeline through the API: shipping zones and methods, taxes,
vouchers, promotions; the quote equals the order; every error code; query budgets."""

from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.core import mail
from django.utils import timezone

from orders.models import Order
from orders.services import order_cancel
from promotions.models import Voucher, VoucherRedemption
from tests.accounts.factories import UserFactory
from tests.catalog.factories import BrandFactory, CategoryFactory
from tests.conftest import auth_client_for
from tests.orders.factories import ProductFactory
from tests.orders.helpers import ADDRESS, item, new_key
from tests.promotions import factories as promos
from tests.shipping import factories as ship

pytestmark = pytest.mark.django_db

US = {**ADDRESS, "country": "US", "region": "CA", "city": "LA"}


def quote(client, items=None, **body):
    if items is not None:
        body["items"] = items
    body.setdefault("shipping_address", ADDRESS)
    return client.post("/api/v1/checkout/quote/", body, format="json")


def place(client, items=None, **body):
    if items is not None:
        body["items"] = items
    body.setdefault("shipping_address", ADDRESS)
    return client.post("/api/v1/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY=new_key())


def code_of(response):
    return response.json()["errors"][0]["code"]


@pytest.fixture
def uk(db):
    """A UK zone with a flat method and a weight-banded one; 20% VAT."""
    zone = ship.zone("UK", ["GB", "IE"])
    standard = ship.method(zone, "Standard", price="4.99", min_days=2, max_days=4)
    parcel = ship.method(
        zone,
        "Parcel",
        kind="weight",
        price="0",
        bands=[{"up_to": "1000", "price": "3.00"}, {"up_to": "5000", "price": "8.00"}],
    )
    ship.tax_rate("GB", "20.00")
    return zone, standard, parcel


# --- shipping ---------------------------------------------------------------------------------


def test_no_zone_at_all_ships_free_without_a_method(customer_client):
    product = ProductFactory(price="10.00")
    response = place(customer_client, [item(product, 2)])
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["shipping_amount"] == "0.00" and body["shipping_method"] is None
    assert body["total_amount"] == "20.00" == body["subtotal"]


def test_quote_lists_the_methods_for_the_address_and_their_prices(customer_client, uk):
    _, standard, parcel = uk
    product = ProductFactory(price="10.00", weight=600)
    body = quote(customer_client, [item(product, 2)]).json()  # 1200 g
    assert body["shipping_methods"] == [
        {"id": standard.pk, "name": "Standard", "price": "4.99", "min_days": 2, "max_days": 4},
        {"id": parcel.pk, "name": "Parcel", "price": "8.00", "min_days": None, "max_days": None},
    ]
    assert body["shipping_method_id"] is None and body["shipping_amount"] == "0.00"
    chosen = quote(customer_client, [item(product, 1)], shipping_method_id=parcel.pk).json()  # 600 g
    assert chosen["shipping_method_id"] == parcel.pk and chosen["shipping_amount"] == "3.00"


def test_zone_matching_by_country(customer_client, uk):
    product = ProductFactory(price="10.00")
    other = ship.zone("US", ["US"], methods=[{"name": "Ground", "price": D("7.00")}])
    response = place(customer_client, [item(product)], shipping_address={**ADDRESS, "country": "FR"})
    assert response.status_code == 400 and code_of(response) == "shipping_unavailable"
    assert code_of(quote(customer_client, [item(product)], shipping_address={**ADDRESS, "country": "FR"})) == (
        "shipping_unavailable"
    )
    # Ireland is in the UK zone; the US method is not offered there.
    ie = {**ADDRESS, "country": "IE"}
    response = place(customer_client, [item(product)], shipping_address=ie, shipping_method_id=other.methods.get().pk)
    assert response.status_code == 400 and code_of(response) == "invalid_shipping_method"
    response = place(customer_client, [item(product)], shipping_address=ie, shipping_method_id=uk[1].pk)
    assert response.status_code == 201, response.json()
    assert response.json()["shipping_method"] == {"id": uk[1].pk, "name": "Standard"}


def test_shipping_method_required_and_unknown(customer_client, uk):
    product = ProductFactory(price="10.00")
    missing = place(customer_client, [item(product)])
    assert missing.status_code == 400 and code_of(missing) == "invalid_shipping_method"
    unknown = place(customer_client, [item(product)], shipping_method_id=999999)
    assert unknown.status_code == 400 and code_of(unknown) == "invalid_shipping_method"
    assert Order.objects.count() == 0


def test_weight_price_bands_and_free_over(customer_client):
    zone = ship.zone("UK", ["GB"])
    by_price = ship.method(
        zone, "By value", kind="price", bands=[{"up_to": "50", "price": "6.00"}, {"up_to": "500", "price": "2.00"}]
    )
    free = ship.method(zone, "Free over 100", price="9.00", free_over=D("100"))
    heavy = ProductFactory(price="30.00", weight=6000)
    cheap = ProductFactory(price="20.00")
    assert quote(customer_client, [item(cheap)], shipping_method_id=by_price.pk).json()["shipping_amount"] == "6.00"
    assert quote(customer_client, [item(cheap, 3)], shipping_method_id=by_price.pk).json()["shipping_amount"] == "2.00"
    assert quote(customer_client, [item(cheap, 4)], shipping_method_id=free.pk).json()["shipping_amount"] == "9.00"
    assert quote(customer_client, [item(cheap, 5)], shipping_method_id=free.pk).json()["shipping_amount"] == "0.00"
    parcel = ship.method(zone, "Parcel", kind="weight", bands=[{"up_to": "5000", "price": "8.00"}])
    too_heavy = quote(customer_client, [item(heavy)], shipping_method_id=parcel.pk)
    assert too_heavy.status_code == 400 and code_of(too_heavy) == "invalid_shipping_method"


# --- tax ----------------------------------------------------------------------------------------


def test_net_prices_add_tax_per_line_and_on_shipping(customer_client, uk, settings):
    settings.PRICES_INCLUDE_TAX = False
    ship.tax_rate("GB", "5.00", tax_class="reduced")
    book = ProductFactory(price="9.99", tax_class="reduced")
    lamp = ProductFactory(price="25.00")
    response = place(customer_client, [item(book, 2), item(lamp)], shipping_method_id=uk[1].pk)
    assert response.status_code == 201, response.json()
    body = response.json()
    lines = {line["product_id"]: line for line in body["items"]}
    assert lines[str(book.pk)]["tax_rate"] == "5.00" and lines[str(book.pk)]["tax_amount"] == "1.00"  # 5% of 19.98
    assert lines[str(lamp.pk)]["tax_rate"] == "20.00" and lines[str(lamp.pk)]["tax_amount"] == "5.00"
    assert lines[str(lamp.pk)]["line_total"] == "30.00"
    # shipping 4.99 at 20% = 1.00 (0.998)
    assert body["tax_amount"] == "7.00"
    assert body["total_amount"] == "56.97"  # 44.98 + 4.99 + 7.00
    order = Order.objects.get()
    assert order.shipping_tax_rate == D("20.00") and order.shipping_tax_amount == D("1.00")
    assert not order.prices_include_tax


def test_gross_prices_show_the_tax_inside(customer_client, uk, settings):
    settings.PRICES_INCLUDE_TAX = True
    lamp = ProductFactory(price="24.00")
    response = place(customer_client, [item(lamp)], shipping_method_id=uk[1].pk)
    body = response.json()
    assert body["items"][0]["tax_amount"] == "4.00" and body["items"][0]["line_total"] == "24.00"
    assert body["tax_amount"] == "4.83"  # 4.00 + 4.99/6 = 0.83
    assert body["total_amount"] == "28.99" and body["prices_include_tax"] is True


# --- vouchers ---------------------------------------------------------------------------------------


def test_voucher_percent_is_shared_by_the_lines_and_quote_equals_order(customer, customer_client, uk):
    promos.voucher("WELCOME10", "percent", "10")
    a, b = ProductFactory(price="33.33"), ProductFactory(price="10.00")
    items = [item(a), item(b, 2)]
    q = quote(customer_client, items, shipping_method_id=uk[1].pk, voucher_code="welcome10")
    assert q.status_code == 200, q.json()
    q = q.json()
    assert q["discount_amount"] == "5.33" and q["voucher_code"] == "WELCOME10"
    assert sum(D(line["discount_amount"]) for line in q["lines"]) == D("5.33")
    response = place(
        customer_client, items, shipping_method_id=uk[1].pk, voucher_code="WELCOME10", expected_total=q["total_amount"]
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    for key in ("subtotal", "discount_amount", "shipping_amount", "tax_amount", "total_amount"):
        assert body[key] == q[key], key
    assert [(i["discount_amount"], i["tax_amount"], i["line_total"]) for i in body["items"]] == [
        (line["discount_amount"], line["tax_amount"], line["line_total"]) for line in q["lines"]
    ]
    assert body["voucher_code"] == "WELCOME10"
    voucher = Voucher.objects.get()
    assert voucher.used_count == 1
    assert VoucherRedemption.objects.get().order_id == Order.objects.get().pk


def test_expected_total_that_differs_is_price_changed(customer_client, uk):
    product = ProductFactory(price="10.00", stock_quantity=5)
    response = place(customer_client, [item(product)], shipping_method_id=uk[1].pk, expected_total="14.99")
    assert response.status_code == 409 and code_of(response) == "price_changed"
    assert response.json()["errors"][0]["total_amount"] == "17.99"  # 10 + 4.99 + 20% of 14.99 (3.00)
    product.refresh_from_db()
    assert product.stock_quantity == 5 and Order.objects.count() == 0


def test_voucher_errors(customer, customer_client):
    product = ProductFactory(price="20.00")
    now = timezone.now()
    promos.voucher("LATER", starts_at=now + timedelta(days=1))
    promos.voucher("OVER", ends_at=now - timedelta(seconds=1), starts_at=now - timedelta(days=2))
    promos.voucher("BIG", min_subtotal=D("50.00"))
    promos.voucher("BRAND", products=[], brands=[BrandFactory()])
    promos.voucher("USED", usage_limit=1).__class__.objects.filter(code="USED").update(used_count=1)
    cases = {
        "NOPE": "Unknown",
        "LATER": "not valid yet",
        "OVER": "expired",
        "BIG": "at least",
        "BRAND": "does not apply",
    }
    for code, detail in cases.items():
        response = place(customer_client, [item(product)], voucher_code=code)
        assert response.status_code == 400, code
        assert code_of(response) == "voucher_invalid" and detail in response.json()["errors"][0]["detail"]
        assert response.json()["errors"][0]["attr"] == "voucher_code"
    response = place(customer_client, [item(product)], voucher_code="USED")
    assert response.status_code == 409 and code_of(response) == "voucher_exhausted"
    assert code_of(quote(customer_client, [item(product)], voucher_code="USED")) == "voucher_exhausted"
    assert Order.objects.count() == 0


def test_voucher_scope_by_category_reaches_descendants(customer_client):
    root = CategoryFactory()
    child = CategoryFactory(parent=root)
    inside, outside = ProductFactory(price="40.00", category=child), ProductFactory(price="60.00")
    promos.voucher("CAT", "fixed", "15", categories=[root])
    body = quote(customer_client, [item(inside), item(outside)], voucher_code="CAT").json()
    shares = {line["product_id"]: line["discount_amount"] for line in body["lines"]}
    assert shares == {str(inside.pk): "15.00", str(outside.pk): "0.00"}


def test_per_customer_limit_and_cancel_gives_the_redemption_back(customer, customer_client):
    promos.voucher("ONCE", "fixed", "5", per_customer_limit=1, usage_limit=5)
    product = ProductFactory(price="20.00")
    first = place(customer_client, [item(product)], voucher_code="ONCE")
    assert first.status_code == 201 and first.json()["total_amount"] == "15.00"
    again = place(customer_client, [item(product)], voucher_code="ONCE")
    assert again.status_code == 409 and code_of(again) == "voucher_exhausted"
    someone_else = auth_client_for(UserFactory(is_verified=True))
    assert place(someone_else, [item(product)], voucher_code="ONCE").status_code == 201
    assert Voucher.objects.get().used_count == 2

    response = customer_client.post(f"/api/v1/orders/{first.json()['id']}/cancel/", {}, format="json")
    assert response.status_code == 200
    voucher = Voucher.objects.get()
    assert voucher.used_count == 1
    assert VoucherRedemption.objects.get(order_id=first.json()["id"]).released_at is not None
    assert place(customer_client, [item(product)], voucher_code="ONCE").status_code == 201  # usable again


def test_free_shipping_voucher(customer_client, uk):
    promos.voucher("SHIPFREE", "free_shipping", "0")
    product = ProductFactory(price="10.00")
    body = place(customer_client, [item(product)], shipping_method_id=uk[1].pk, voucher_code="SHIPFREE").json()
    assert body["shipping_amount"] == "0.00" and body["discount_amount"] == "0.00"
    assert body["total_amount"] == "12.00"  # 10 + 20% tax


# --- promotions ------------------------------------------------------------------------------------


def test_promotion_lowers_the_unit_price_and_a_stale_sent_price_is_refused(customer_client):
    product = ProductFactory(price="50.00")
    promos.promotion("Summer", "percent", "20", products=[product])
    body = quote(customer_client, [item(product)]).json()
    assert body["lines"][0]["unit_price"] == "40.00" and body["lines"][0]["undiscounted_unit_price"] == "50.00"
    stale = place(customer_client, [item(product, unit_price="50.00")])
    assert stale.status_code == 409 and code_of(stale) == "price_changed"
    assert stale.json()["errors"][0]["current"] == "40.00"
    ok = place(customer_client, [item(product, unit_price="40.00")])
    assert ok.status_code == 201 and ok.json()["items"][0]["undiscounted_unit_price"] == "50.00"


def test_promotion_window_at_checkout(customer_client):
    product = ProductFactory(price="50.00")
    now = timezone.now()
    promos.promotion("Future", "fixed", "10", starts_at=now + timedelta(hours=1), products=[product])
    promos.promotion("Past", "fixed", "20", starts_at=now - timedelta(days=2), ends_at=now - timedelta(days=1))
    assert quote(customer_client, [item(product)]).json()["lines"][0]["unit_price"] == "50.00"


# --- cart, budgets, old orders, invoice, email ----------------------------------------------------------


def test_quote_of_the_cart(customer_client, uk):
    product = ProductFactory(price="12.00")
    customer_client.post("/api/v1/cart/items/", {"product_id": str(product.pk), "quantity": 2}, format="json")
    body = quote(customer_client, shipping_method_id=uk[1].pk).json()
    assert body["subtotal"] == "24.00" and body["total_amount"] == "34.79"  # 24 + 4.99 + 5.80


def test_quote_needs_authentication_and_validates_input(api_client, customer_client):
    assert quote(api_client, [item(ProductFactory())]).status_code == 401
    assert quote(customer_client, [], shipping_address=ADDRESS).status_code == 400
    bad = quote(customer_client, [item(ProductFactory())], shipping_method_id="x")
    assert bad.status_code == 400 and bad.json()["errors"][0]["attr"] == "shipping_method_id"


def test_query_budgets_of_quote_and_checkout(customer_client, uk, django_assert_max_num_queries):
    promos.voucher("WELCOME10")
    promos.promotion("Cat", categories=[CategoryFactory()])  # a category scope: one query for paths
    products = [ProductFactory(price="10.00") for _ in range(6)]
    quote(customer_client, [item(products[0])], shipping_method_id=uk[1].pk)  # warm the pricing config
    # session, user, products, the voucher and its three scope relations, category paths;
    # zones, methods, rates and promotions come from the cache.
    with django_assert_max_num_queries(8):
        response = quote(
            customer_client, [item(p) for p in products[:5]], shipping_method_id=uk[1].pk, voucher_code="WELCOME10"
        )
    assert response.status_code == 200
    with django_assert_max_num_queries(8):
        assert quote(customer_client, [item(products[0])], voucher_code="WELCOME10").status_code == 200

    def checkout_queries(lines, context):
        response = place(customer_client, lines, shipping_method_id=uk[1].pk, voucher_code="WELCOME10")
        assert response.status_code == 201, response.json()
        return len(context.captured_queries)

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        checkout_queries([item(products[0])], one)
    with CaptureQueriesContext(connection) as five:
        checkout_queries([item(p) for p in products[1:]], five)
    assert len(one) == len(five) <= 40


def test_orders_placed_before_pricing_still_read_and_pay(customer, customer_client):
    """An order as the migration leaves it: no method, no voucher, zeros."""
    product = ProductFactory(price="15.00", stock_quantity=5)
    order = Order.objects.create(
        number="20250101-OLDORDER",
        user=customer,
        shipping_address={"line2": "", "region": "", "phone": "", **ADDRESS},
        subtotal=D("30.00"),
        total_amount=D("30.00"),
        currency="USD",
        expires_at=timezone.now() + timedelta(hours=1),
    )
    order.lines.create(
        product=product, product_name=product.name, product_sku=product.sku, quantity=2, unit_price=D("15.00")
    )
    body = customer_client.get(f"/api/v1/orders/{order.pk}/").json()
    assert (body["discount_amount"], body["shipping_amount"], body["tax_amount"]) == ("0.00", "0.00", "0.00")
    assert body["shipping_method"] is None and body["voucher_code"] == ""
    assert body["items"][0]["line_total"] == "30.00" and body["items"][0]["undiscounted_unit_price"] is None
    paid = customer_client.post(
        f"/api/v1/orders/{order.pk}/pay/", {"payment_method": "card", "token": "tok_visa"}, format="json",
        HTTP_IDEMPOTENCY_KEY=new_key(),
    )  # fmt: skip
    assert paid.status_code == 201 and paid.json()["amount"] == "30.00"
    invoice = customer_client.get(f"/api/v1/orders/{order.pk}/invoice/").json()
    assert invoice["taxes"] == [{"rate": "0.00", "base": "30.00", "tax": "0.00"}]
    assert invoice["total_amount"] == "30.00"


def test_payment_charges_the_total_and_the_invoice_and_receipt_show_the_breakdown(
    customer_client, uk, django_capture_on_commit_callbacks
):
    ship.tax_rate("GB", "5.00", tax_class="reduced")
    promos.voucher("TEN", "fixed", "10")
    book, lamp = ProductFactory(price="20.00", tax_class="reduced"), ProductFactory(price="40.00")
    with django_capture_on_commit_callbacks(execute=True):
        order = place(customer_client, [item(book), item(lamp)], shipping_method_id=uk[1].pk, voucher_code="TEN").json()
    confirmation = mail.outbox[-1].body
    assert "Discount (TEN): -10.00 USD" in confirmation and "Shipping (Standard): 4.99 USD" in confirmation
    assert "Tax 20.00%" in confirmation and "Tax 5.00%" in confirmation
    with django_capture_on_commit_callbacks(execute=True):
        paid = customer_client.post(
            f"/api/v1/orders/{order['id']}/pay/", {"payment_method": "card", "token": "tok_visa"}, format="json",
            HTTP_IDEMPOTENCY_KEY=new_key(),
        )  # fmt: skip
    assert paid.json()["amount"] == order["total_amount"]
    invoice = customer_client.get(f"/api/v1/orders/{order['id']}/invoice/").json()
    assert invoice["discount_amount"] == "10.00" and invoice["shipping_amount"] == "4.99"
    assert invoice["voucher_code"] == "TEN" and invoice["shipping_method"] == "Standard"
    # book 20 - 3.33 share = 16.67 at 5%; lamp 40 - 6.67 = 33.33 at 20%, plus shipping 4.99
    assert invoice["taxes"] == [
        {"rate": "5.00", "base": "16.67", "tax": "0.83"},
        {"rate": "20.00", "base": "38.32", "tax": "7.67"},
    ]
    assert D(invoice["tax_amount"]) == D("8.50")
    assert "Tax 20.00%" in mail.outbox[-1].body


def test_cancel_through_the_service_releases_once(customer):
    from orders.services import LineRequest, order_place

    promos.voucher("TWICE", "fixed", "1", usage_limit=2)
    product = ProductFactory(price="5.00")
    order = order_place(customer, items=[LineRequest(product.pk, 1)], shipping_address=ADDRESS, voucher_code="TWICE")
    order_cancel(order.pk)
    assert Voucher.objects.get().used_count == 0
    with pytest.raises(Exception):  # noqa: B017 - a second cancel is an invalid transition
        order_cancel(order.pk)
    assert Voucher.objects.get().used_count == 0
