"""POST /api/v1/orders/ — checkout: success and every failure code."""

from decimal import Decimal

import pytest
from django.core import mail

from carts.models import Cart, CartItem
from catalog.models import Product
from orders.models import Order
from tests.accounts.factories import UserFactory
from tests.conftest import auth_client_for
from tests.orders.factories import AddressFactory, ProductFactory
from tests.orders.helpers import ADDRESS, item, post_order

pytestmark = pytest.mark.django_db


def test_place_order_from_items_takes_stock_and_snapshots_prices(customer_client, customer):
    a = ProductFactory(price=Decimal("19.99"), stock_quantity=5)
    b = ProductFactory(price=Decimal("5.00"), stock_quantity=3)

    response = post_order(customer_client, [item(a, 2), item(b, 3, unit_price="5.00")])

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "pending"
    assert body["subtotal"] == "54.98"
    assert body["total_amount"] == "54.98"
    assert body["currency"] == "USD"
    assert body["number"] and body["expires_at"] and body["created_at"]
    assert body["shipping_address"]["city"] == "London"
    assert {(i["product_id"], i["quantity"], i["unit_price"]) for i in body["items"]} == {
        (str(a.pk), 2, "19.99"),
        (str(b.pk), 3, "5.00"),
    }
    assert [h["to_status"] for h in body["history"]] == ["pending"]
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.stock_quantity, b.stock_quantity) == (3, 0)
    # The line keeps the price at purchase even if the catalog changes later.
    Product.objects.filter(pk=a.pk).update(price=Decimal("99.00"))
    detail = customer_client.get(f"/api/v1/orders/{body['id']}/").json()
    assert {i["unit_price"] for i in detail["items"]} == {"19.99", "5.00"}


def test_place_order_from_cart_and_the_cart_is_emptied(customer_client, customer, django_capture_on_commit_callbacks):
    product = ProductFactory(stock_quantity=4, price=Decimal("3.50"))
    cart = Cart.objects.create(user=customer)
    CartItem.objects.create(cart=cart, product=product, quantity=2)

    with django_capture_on_commit_callbacks(execute=True):
        response = post_order(customer_client, None)

    assert response.status_code == 201, response.json()
    assert response.json()["subtotal"] == "7.00"
    assert not CartItem.objects.filter(cart=cart).exists()
    product.refresh_from_db()
    assert product.stock_quantity == 2
    # The confirmation email went out after the commit, plain text and HTML.
    assert len(mail.outbox) == 1
    assert response.json()["number"] in mail.outbox[0].subject
    assert mail.outbox[0].alternatives[0][1] == "text/html"


def test_saved_address_is_copied_not_linked(customer_client, customer):
    address = AddressFactory(user=customer, city="Paris", country="FR")
    product = ProductFactory()
    response = customer_client.post(
        "/api/v1/orders/",
        {"shipping_address_id": str(address.pk), "items": [item(product)]},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k-addr",
    )
    assert response.status_code == 201
    address.delete()
    order = Order.objects.get(pk=response.json()["id"])
    assert order.shipping_address["city"] == "Paris"


def test_another_users_address_is_rejected(customer_client):
    other_address = AddressFactory()
    response = customer_client.post(
        "/api/v1/orders/",
        {"shipping_address_id": str(other_address.pk), "items": [item(ProductFactory())]},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k-other-addr",
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "invalid_address"


def test_insufficient_stock_lists_every_short_line_and_changes_nothing(customer_client, customer):
    ok = ProductFactory(stock_quantity=10)
    short1 = ProductFactory(stock_quantity=1)
    short2 = ProductFactory(stock_quantity=0)
    cart = Cart.objects.create(user=customer)
    CartItem.objects.create(cart=cart, product=ok, quantity=1)

    response = post_order(customer_client, [item(ok, 2), item(short1, 3), item(short2, 1)])

    assert response.status_code == 409
    errors = response.json()["errors"]
    assert {e["code"] for e in errors} == {"insufficient_stock"}
    assert {(e["product_id"], e["requested"], e["available"]) for e in errors} == {
        (str(short1.pk), 3, 1),
        (str(short2.pk), 1, 0),
    }
    assert [p.stock_quantity for p in Product.objects.filter(pk__in=[ok.pk, short1.pk, short2.pk]).order_by("sku")] == [
        10,
        1,
        0,
    ]
    assert not Order.objects.exists()
    assert CartItem.objects.filter(cart=cart).count() == 1  # the cart is untouched


def test_unverified_email_is_403(db):
    client = auth_client_for(UserFactory(is_verified=False))
    response = post_order(client, [item(ProductFactory())])
    assert response.status_code == 403
    assert response.json()["errors"][0]["code"] == "email_not_verified"


def test_anonymous_is_401(api_client):
    response = post_order(api_client, [item(ProductFactory())])
    assert response.status_code == 401


def test_empty_cart_is_400(customer_client):
    response = post_order(customer_client, None)
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "empty_order"


def test_empty_items_is_400(customer_client):
    response = post_order(customer_client, [])
    assert response.status_code == 400


@pytest.mark.parametrize("quantity", [0, -1, "x"])
def test_bad_quantity_is_400(customer_client, quantity):
    response = post_order(customer_client, [item(ProductFactory(), quantity)])
    assert response.status_code == 400


def test_missing_address_is_400(customer_client):
    response = customer_client.post(
        "/api/v1/orders/", {"items": [item(ProductFactory())]}, format="json", HTTP_IDEMPOTENCY_KEY="k-noaddr"
    )
    assert response.status_code == 400


def test_missing_idempotency_key_is_400(customer_client):
    response = post_order(customer_client, [item(ProductFactory())], key=False)
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "idempotency_key_required"
    assert not Order.objects.exists()


def test_price_changed_is_409_and_changes_nothing(customer_client):
    product = ProductFactory(price=Decimal("12.00"), stock_quantity=5)
    response = post_order(customer_client, [item(product, 1, unit_price="10.00")])
    assert response.status_code == 409
    error = response.json()["errors"][0]
    assert error["code"] == "price_changed"
    assert error["product_id"] == str(product.pk)
    assert error["current"] == "12.00"
    product.refresh_from_db()
    assert product.stock_quantity == 5
    assert not Order.objects.exists()


@pytest.mark.parametrize("state", ["inactive", "unknown"])
def test_unavailable_product_is_409(customer_client, state):
    product = ProductFactory(is_active=state != "inactive")
    product_id = product.pk
    if state == "unknown":
        product.delete()
    response = post_order(customer_client, [{"product_id": str(product_id), "quantity": 1}])
    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "product_unavailable"


def test_duplicate_lines_are_merged(customer_client):
    product = ProductFactory(stock_quantity=3)
    response = post_order(customer_client, [item(product, 2), item(product, 1)])
    assert response.status_code == 201
    assert response.json()["items"][0]["quantity"] == 3
    product.refresh_from_db()
    assert product.stock_quantity == 0


@pytest.mark.parametrize("prices", [("10.00", "8.00"), ("0.00", "10.00")])
def test_every_sent_price_is_checked_when_lines_repeat_a_product(customer_client, prices):
    # Each line's unit_price is checked, not just the first one kept by the merge ("0.00"
    # included, which is falsy).
    product = ProductFactory(price=Decimal("10.00"), stock_quantity=5)
    response = post_order(customer_client, [item(product, 1, unit_price=p) for p in prices])
    assert response.status_code == 409
    errors = response.json()["errors"]
    assert {e["code"] for e in errors} == {"price_changed"}
    assert [e["sent"] for e in errors] == [p for p in prices if p != "10.00"]
    product.refresh_from_db()
    assert product.stock_quantity == 5


def test_an_order_total_beyond_what_an_order_holds_is_400_not_500(customer_client):
    # Each price fits the 12-digit money columns; their sum does not.
    a, b = (ProductFactory(price=Decimal("6000000000.00"), stock_quantity=5) for _ in range(2))
    response = post_order(customer_client, [item(a), item(b)])
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["code"] == "order_too_large" and error["maximum"] == "9999999999.99"
    assert not Order.objects.exists()
    assert {p.stock_quantity for p in Product.objects.all()} == {5}


def test_duplicate_lines_over_stock_are_409(customer_client):
    product = ProductFactory(stock_quantity=2)
    response = post_order(customer_client, [item(product, 2), item(product, 1)])
    assert response.status_code == 409
    assert response.json()["errors"][0]["requested"] == 3


def test_database_constraint_is_the_last_line_of_defence(db):
    from django.db import IntegrityError, transaction

    product = ProductFactory(stock_quantity=1)
    from django.db.models import F

    with pytest.raises(IntegrityError), transaction.atomic():
        Product.objects.filter(pk=product.pk).update(stock_quantity=F("stock_quantity") - 2)


def test_order_numbers_are_unique_and_date_prefixed(customer, place, settings):
    settings.ORDER_MAX_PENDING_PER_USER = 0  # 20 unpaid orders of one customer
    product = ProductFactory(stock_quantity=50)
    numbers = {place(customer, (product, 1)).number for _ in range(20)}
    assert len(numbers) == 20
    assert all(n[:8].isdigit() for n in numbers)


def test_rate_limit_on_order_placement(customer_client, rate_limits_on):
    product = ProductFactory(stock_quantity=10)
    statuses = [post_order(customer_client, [item(product)]).status_code for _ in range(3)]
    assert statuses == [201, 201, 429]


def test_shipping_address_validation(customer_client):
    bad = {**ADDRESS, "country": "Narnia"}
    response = post_order(customer_client, [item(ProductFactory())], address=bad)
    assert response.status_code == 400
