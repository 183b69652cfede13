"""Checkout limits against stock hoarding (ORDER_MAX_UNITS_PER_PRODUCT,
ORDER_MAX_PENDING_PER_USER) and expiry without beat (eager mode, `make run`)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from carts.models import Cart, CartItem
from catalog.models import Product
from core.errors import DomainError
from orders.models import Order
from orders.services import LineRequest, order_cancel, order_place
from payments.services import payment_pay
from tests.accounts.factories import UserFactory
from tests.concurrency import run_threads
from tests.conftest import auth_client_for
from tests.orders.factories import ProductFactory
from tests.orders.helpers import ADDRESS, item, new_key, post_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def limits(settings):
    settings.ORDER_MAX_UNITS_PER_PRODUCT = 20
    settings.ORDER_MAX_PENDING_PER_USER = 3
    return settings


def _error(response):
    return response.json()["errors"][0]


# --- units of one product per order ------------------------------------------------------


def test_more_units_of_one_product_than_the_limit_is_409_and_takes_nothing(customer_client, limits):
    hoarded = ProductFactory(stock_quantity=412)
    other = ProductFactory(stock_quantity=5)

    response = post_order(customer_client, [item(hoarded, 412), item(other, 1)])

    assert response.status_code == 409
    error = _error(response)
    assert error["code"] == "order_limit"
    assert "20" in error["detail"]
    assert error["product_id"] == str(hoarded.pk) and error["requested"] == 412 and error["limit"] == 20
    assert len(response.json()["errors"]) == 1  # only the offending line
    assert Product.objects.get(pk=hoarded.pk).stock_quantity == 412
    assert not Order.objects.exists()
    assert post_order(customer_client, [item(hoarded, 20)]).status_code == 201


def test_the_unit_limit_counts_lines_naming_one_product_together(customer_client, limits):
    product = ProductFactory(stock_quantity=100)
    response = post_order(customer_client, [item(product, 15), item(product, 6)])
    assert response.status_code == 409 and _error(response)["code"] == "order_limit"


def test_the_unit_limit_applies_to_checkout_from_the_cart(customer, customer_client, limits):
    product = ProductFactory(stock_quantity=100)
    cart = Cart.objects.create(user=customer)
    CartItem.objects.create(cart=cart, product=product, quantity=21)
    response = post_order(customer_client, None)
    assert response.status_code == 409 and _error(response)["product_id"] == str(product.pk)
    assert CartItem.objects.filter(cart=cart).exists()  # nothing changed


# --- unpaid orders per customer ------------------------------------------------------------


def test_a_customer_holds_at_most_n_unpaid_orders(customer, customer_client, limits):
    product = ProductFactory(stock_quantity=100)
    placed = [post_order(customer_client, [item(product)]) for _ in range(3)]
    assert [r.status_code for r in placed] == [201, 201, 201]

    response = post_order(customer_client, [item(product)])

    assert response.status_code == 409
    error = _error(response)
    assert error["code"] == "order_limit" and "3" in error["detail"]
    assert error["limit"] == 3 and error["pending"] == 3
    assert Order.objects.filter(user=customer).count() == 3
    # Paying, cancelling or letting one expire frees a place.
    payment_pay(placed[0].json()["id"], user=customer, token="tok_visa", idempotency_key=new_key())
    assert post_order(customer_client, [item(product)]).status_code == 201
    order_cancel(placed[1].json()["id"])
    Order.objects.filter(pk=placed[2].json()["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert [post_order(customer_client, [item(product)]).status_code for _ in range(3)] == [201, 201, 409]


def test_staff_are_not_exempt(manager, manager_client, limits):
    product = ProductFactory(stock_quantity=100)
    assert post_order(manager_client, [item(product, 21)]).status_code == 409
    for _ in range(3):
        assert post_order(manager_client, [item(product)]).status_code == 201
    assert _error(post_order(manager_client, [item(product)]))["code"] == "order_limit"


def test_a_retry_of_a_placed_order_is_answered_even_at_the_limit(customer_client, limits):
    product = ProductFactory(stock_quantity=100)
    for _ in range(2):
        post_order(customer_client, [item(product)])
    first = post_order(customer_client, [item(product)], key="third")
    assert first.status_code == 201
    # The retry is replayed by the Idempotency-Key middleware, not refused as a fourth.
    again = post_order(customer_client, [item(product)], key="third")
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]


def test_zero_turns_a_limit_off(customer_client, settings):
    settings.ORDER_MAX_UNITS_PER_PRODUCT = 0
    settings.ORDER_MAX_PENDING_PER_USER = 0
    product = ProductFactory(stock_quantity=500)
    assert post_order(customer_client, [item(product, 400)]).status_code == 201
    assert all(post_order(customer_client, [item(product)]).status_code == 201 for _ in range(5))


def test_the_limits_are_in_the_settings_with_safe_defaults():
    from ecommerce.settings import base

    assert 0 < base.ORDER_MAX_UNITS_PER_PRODUCT <= 100
    assert 0 < base.ORDER_MAX_PENDING_PER_USER <= 5


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_checkouts_of_one_customer_never_pass_the_pending_limit(settings):
    settings.ORDER_MAX_PENDING_PER_USER = 3
    product = ProductFactory(stock_quantity=100)
    user = UserFactory(is_verified=True)

    def buy(i):
        try:
            order_place(user, items=[LineRequest(product.pk, 1)], shipping_address=ADDRESS)
            return "ok"
        except DomainError as exc:
            return exc.code

    results = run_threads(10, buy)
    assert results.count("ok") == 3
    assert results.count("order_limit") == 7
    assert Order.objects.filter(user=user, status="pending").count() == 3
    assert Product.objects.get(pk=product.pk).stock_quantity == 97


# --- expiry without beat -----------------------------------------------------------------


def _expired_order_of(user, product, quantity):
    order = order_place(user, items=[LineRequest(product.pk, quantity)], shipping_address=ADDRESS)
    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    return order


def test_without_a_broker_checkout_first_expires_due_orders(customer_client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True  # `make run`: no broker, so no beat either
    product = ProductFactory(stock_quantity=20)
    hoard = _expired_order_of(UserFactory(is_verified=True), product, 20)

    response = post_order(customer_client, [item(product, 5)])

    assert response.status_code == 201, response.json()
    assert Order.objects.get(pk=hoard.pk).status == "cancelled"
    assert Product.objects.get(pk=product.pk).stock_quantity == 15


def test_without_a_broker_order_reads_show_due_orders_expired(customer, customer_client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    order = _expired_order_of(customer, ProductFactory(stock_quantity=5), 2)

    assert customer_client.get(f"/api/v1/orders/{order.pk}/").json()["status"] == "cancelled"
    order = _expired_order_of(customer, ProductFactory(stock_quantity=5), 2)
    listed = customer_client.get("/api/v1/orders/").json()["results"]
    assert {o["id"]: o["status"] for o in listed}[str(order.pk)] == "cancelled"


def test_with_a_broker_expiry_is_left_to_beat(customer_client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    product = ProductFactory(stock_quantity=20)
    hoard = _expired_order_of(UserFactory(is_verified=True), product, 20)
    response = post_order(customer_client, [item(product, 5)])
    assert response.status_code == 409 and _error(response)["code"] == "insufficient_stock"
    assert Order.objects.get(pk=hoard.pk).status == "pending"


def test_a_pending_order_past_its_time_does_not_count_against_the_customer(customer, limits, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False  # beat has not run yet
    product = ProductFactory(stock_quantity=100)
    for _ in range(3):
        _expired_order_of(customer, product, 1)
    assert auth_client_for(customer).get("/api/v1/orders/").status_code == 200
    assert post_order(auth_client_for(customer), [item(product)]).status_code == 201
