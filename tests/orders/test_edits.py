"""Editing a pending order: POST/PATCH/DELETE orders/{id}/lines/…"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from catalog.models import StockMove
from orders.models import Order, OrderLine
from tests.accounts.factories import UserFactory
from tests.catalog.test_stock_ledger import assert_ledger_explains_stock
from tests.conftest import auth_client_for
from tests.orders.aftersales import line_of, paid
from tests.orders.factories import ProductFactory
from tests.orders.helpers import new_key

pytestmark = pytest.mark.django_db


def add(client, order, product, quantity, key=None):
    return client.post(
        f"/api/v1/orders/{order.pk}/lines/",
        {"product_id": str(product.pk), "quantity": quantity},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key or new_key(),
    )


def patch(client, order, line, quantity):
    return client.patch(f"/api/v1/orders/{order.pk}/lines/{line.pk}/", {"quantity": quantity}, format="json")


def delete(client, order, line):
    return client.delete(f"/api/v1/orders/{order.pk}/lines/{line.pk}/")


def code(response):
    return response.json()["errors"][0]["code"]


def test_add_change_remove_move_stock_exactly_and_recompute_totals(customer, customer_client, place):
    a = ProductFactory(price="10.00", stock_quantity=10)
    b = ProductFactory(price="4.50", stock_quantity=5)
    order = place(customer, (a, 2))

    response = add(customer_client, order, b, 3)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["subtotal"] == "33.50" and body["total_amount"] == "33.50"
    assert {(i["sku"], i["quantity"], i["unit_price"]) for i in body["items"]} == {
        (a.sku, 2, "10.00"),
        (b.sku, 3, "4.50"),
    }

    line_b = line_of(order, b)
    response = patch(customer_client, order, line_b, 1)
    assert response.status_code == 200 and response.json()["subtotal"] == "24.50"

    response = delete(customer_client, order, line_b)
    assert response.status_code == 200 and response.json()["total_amount"] == "20.00"
    assert [i["sku"] for i in response.json()["items"]] == [a.sku]

    response = patch(customer_client, order, line_of(order, a), 7)
    assert response.status_code == 200 and response.json()["subtotal"] == "70.00"

    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.stock_quantity, b.stock_quantity) == (3, 5)  # b fully back, a took 5 more
    assert_ledger_explains_stock(a, opening=10)
    assert_ledger_explains_stock(b, opening=5)
    edits = StockMove.objects.filter(order_id=order.pk, reason="edit").order_by("id")
    assert [(m.product_id, m.delta) for m in edits] == [(b.pk, -3), (b.pk, 2), (b.pk, 1), (a.pk, -5)]


def test_adding_a_product_already_on_the_order_adds_to_its_line(customer, customer_client, place):
    product = ProductFactory(stock_quantity=10)
    order = place(customer, (product, 2))
    assert add(customer_client, order, product, 3).status_code == 201
    assert OrderLine.objects.get(order=order).quantity == 5
    product.refresh_from_db()
    assert product.stock_quantity == 5


def test_an_edited_line_takes_the_current_price(customer, customer_client, place):
    product = ProductFactory(price="10.00", stock_quantity=10)
    other = ProductFactory(price="1.00", stock_quantity=10)
    order = place(customer, (product, 1), (other, 1))
    product.price = Decimal("12.00")
    product.save(update_fields=["price"])
    body = patch(customer_client, order, line_of(order, product), 2).json()
    assert {i["sku"]: i["unit_price"] for i in body["items"]} == {product.sku: "12.00", other.sku: "1.00"}
    assert body["subtotal"] == "25.00"


def test_history_records_what_changed_who_and_when(customer, customer_client, place):
    product = ProductFactory(price="10.00", stock_quantity=10)
    extra = ProductFactory(price="2.00", stock_quantity=10)
    order = place(customer, (product, 1))
    add(customer_client, order, extra, 2)
    patch(customer_client, order, line_of(order, product), 3)
    history = delete(customer_client, order, line_of(order, extra)).json()["history"]

    events = [(h["event"], h["from_status"], h["to_status"]) for h in history]
    assert events == [
        ("status", "", "pending"),
        ("line_added", "pending", "pending"),
        ("line_changed", "pending", "pending"),
        ("line_removed", "pending", "pending"),
    ]
    changed = history[2]
    assert changed["by"] == str(customer.pk) and changed["at"]
    assert changed["details"]["sku"] == product.sku
    assert (changed["details"]["from_quantity"], changed["details"]["to_quantity"]) == (1, 3)
    assert (changed["details"]["subtotal_before"], changed["details"]["subtotal_after"]) == ("14.00", "34.00")
    assert history[3]["details"]["to_quantity"] == 0


def test_short_stock_is_409_with_the_checkout_error_body_and_changes_nothing(customer, customer_client, place):
    product = ProductFactory(stock_quantity=5)
    order = place(customer, (product, 2))  # 3 left
    response = patch(customer_client, order, line_of(order, product), 6)
    assert response.status_code == 409
    error = response.json()["errors"][0]
    assert error["code"] == "insufficient_stock"
    assert (error["product_id"], error["requested"], error["available"]) == (str(product.pk), 6, 5)
    other = ProductFactory(stock_quantity=1)
    response = add(customer_client, order, other, 2)
    assert code(response) == "insufficient_stock" and response.json()["errors"][0]["available"] == 1
    product.refresh_from_db()
    assert product.stock_quantity == 3 and line_of(order, product).quantity == 2
    assert not StockMove.objects.filter(reason="edit").exists()


def test_the_per_product_unit_limit_still_holds(customer, customer_client, place, settings):
    settings.ORDER_MAX_UNITS_PER_PRODUCT = 4
    product = ProductFactory(stock_quantity=50)
    order = place(customer, (product, 3))
    assert code(add(customer_client, order, product, 2)) == "order_limit"
    assert code(patch(customer_client, order, line_of(order, product), 5)) == "order_limit"
    assert patch(customer_client, order, line_of(order, product), 4).status_code == 200


def test_an_inactive_product_cannot_be_added(customer, customer_client, place):
    order = place(customer, (ProductFactory(), 1))
    gone = ProductFactory(is_active=False, stock_quantity=5)
    assert code(add(customer_client, order, gone, 1)) == "product_unavailable"


def test_removing_the_last_line_is_order_empty(customer, customer_client, place):
    product = ProductFactory(stock_quantity=5)
    order = place(customer, (product, 2))
    response = delete(customer_client, order, line_of(order, product))
    assert response.status_code == 409 and code(response) == "order_empty"
    product.refresh_from_db()
    assert product.stock_quantity == 3


def test_only_a_pending_order_is_editable(customer, customer_client, place):
    product = ProductFactory(stock_quantity=10)
    order = paid(place(customer, (product, 1)), customer)
    for response in (
        add(customer_client, order, product, 1),
        patch(customer_client, order, line_of(order, product), 2),
        delete(customer_client, order, line_of(order, product)),
    ):
        assert response.status_code == 409 and code(response) == "order_not_editable"


def test_an_order_past_its_payment_time_is_not_editable(customer, customer_client, place, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False  # the expiry job has not run yet
    product = ProductFactory(stock_quantity=10)
    order = place(customer, (product, 1))
    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    assert code(add(customer_client, order, product, 1)) == "order_not_editable"


def test_staff_may_edit_a_customers_pending_order(customer, manager, manager_client, place):
    product = ProductFactory(stock_quantity=10)
    order = place(customer, (product, 1))
    response = patch(manager_client, order, line_of(order, product), 2)
    assert response.status_code == 200
    assert response.json()["history"][-1]["by"] == str(manager.pk)


def test_another_customers_order_and_lines_are_404(customer, place):
    product = ProductFactory(stock_quantity=10)
    order = place(customer, (product, 1))
    stranger = auth_client_for(UserFactory(is_verified=True))
    line = line_of(order, product)
    assert add(stranger, order, product, 1).status_code == 404
    assert patch(stranger, order, line, 3).status_code == 404
    assert delete(stranger, order, line).status_code == 404
    assert line_of(order, product).quantity == 1


def test_a_line_of_another_order_is_404(customer, customer_client, place):
    product = ProductFactory(stock_quantity=10)
    mine, other = place(customer, (product, 1)), place(customer, (ProductFactory(), 1))
    response = patch(customer_client, mine, other.lines.get(), 2)
    assert response.status_code == 404


def test_bad_input_is_400(customer, customer_client, place):
    product = ProductFactory(stock_quantity=10)
    order = place(customer, (product, 1))
    assert patch(customer_client, order, line_of(order, product), 0).status_code == 400
    assert add(customer_client, order, product, -1).status_code == 400
    response = customer_client.post(
        f"/api/v1/orders/{order.pk}/lines/",
        {"product_id": "nope", "quantity": 1},
        format="json",
        HTTP_IDEMPOTENCY_KEY=new_key(),
    )
    assert response.status_code == 400


def test_adding_needs_an_idempotency_key_and_a_retry_adds_once(customer, customer_client, place):
    product = ProductFactory(stock_quantity=10)
    order = place(customer, (product, 1))
    response = customer_client.post(
        f"/api/v1/orders/{order.pk}/lines/", {"product_id": str(product.pk), "quantity": 1}, format="json"
    )
    assert response.status_code == 400 and code(response) == "idempotency_key_required"

    key = new_key()
    first = add(customer_client, order, product, 2, key=key)
    again = add(customer_client, order, product, 2, key=key)
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert line_of(order, product).quantity == 3
    reused = add(customer_client, order, product, 5, key=key)
    assert reused.status_code == 422 and code(reused) == "idempotency_key_reused"
