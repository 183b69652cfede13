"""Quantity bounds, stock checks and unavailable products, for both kinds of cart."""

import pytest
from django.test import override_settings

from carts.services import cart_add_item
from core.errors import InvalidInput
from tests.carts.conftest import add, error_of, get_cart
from tests.carts.factories import ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["anonymous", "customer"])
def client(request, api_client, customer_client):
    return api_client if request.param == "anonymous" else customer_client


@pytest.mark.parametrize("quantity", [0, -1, 10_001, 2.5, "two", None, True])
def test_quantity_outside_1_to_10000_is_400(client, product, quantity):
    response = client.post("/api/v1/cart/items/", {"product_id": str(product.pk), "quantity": quantity}, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["type"] == "validation_error"
    assert error_of(response)["attr"] == "quantity"


def test_patch_quantity_below_1_is_400(client, product):
    token = add(client, product, 1).get("X-Cart-Token")
    headers = {"HTTP_X_CART_TOKEN": token} if token else {}
    response = client.patch(f"/api/v1/cart/items/{product.pk}/", {"quantity": 0}, format="json", **headers)
    assert response.status_code == 400
    assert error_of(response)["code"] == "min_value"


def test_the_service_validates_quantity_too(product):
    for bad in (0, 10_001, "3", 1.0):
        with pytest.raises(InvalidInput):
            cart_add_item(token=None, product_id=product.pk, quantity=bad)


def test_missing_or_malformed_product_id_is_400(client):
    assert client.post("/api/v1/cart/items/", {"quantity": 1}, format="json").status_code == 400
    response = client.post("/api/v1/cart/items/", {"product_id": "nope", "quantity": 1}, format="json")
    assert response.status_code == 400 and error_of(response)["attr"] == "product_id"


def test_unknown_product_is_404(client):
    response = client.post(
        "/api/v1/cart/items/", {"product_id": "00000000-0000-0000-0000-000000000000", "quantity": 1}, format="json"
    )
    assert response.status_code == 404 and error_of(response)["code"] == "not_found"


def test_inactive_product_is_404(client):
    hidden = ProductFactory(is_active=False)
    response = add(client, hidden, 1)
    assert response.status_code == 404 and error_of(response)["code"] == "not_found"


def test_adding_beyond_stock_is_409_with_available(client, product):
    response = add(client, product, 11)  # stock 10
    assert response.status_code == 409, response.content
    error = error_of(response)
    assert error["code"] == "insufficient_stock"
    assert error["available"] == 10 and error["requested"] == 11 and error["product_id"] == str(product.pk)


def test_adding_up_to_stock_then_one_more_is_409_and_changes_nothing(client, product):
    first = add(client, product, 8)
    token = first.get("X-Cart-Token")
    assert first.status_code == 201
    assert add(client, product, 2, token=token).status_code == 201  # exactly the stock
    response = add(client, product, 1, token=token)
    assert response.status_code == 409
    assert error_of(response)["requested"] == 11
    assert get_cart(client, token).json()["items"][0]["quantity"] == 10


def test_patch_beyond_stock_is_409(client, product):
    token = add(client, product, 1).get("X-Cart-Token")
    headers = {"HTTP_X_CART_TOKEN": token} if token else {}
    response = client.patch(f"/api/v1/cart/items/{product.pk}/", {"quantity": 11}, format="json", **headers)
    assert response.status_code == 409 and error_of(response)["available"] == 10


def test_out_of_stock_product_cannot_be_added(client):
    sold_out = ProductFactory(stock_quantity=0)
    response = add(client, sold_out, 1)
    assert response.status_code == 409 and error_of(response)["available"] == 0


@override_settings(CART_MAX_QUANTITY=5)
def test_a_line_never_exceeds_the_maximum_even_with_stock(client):
    plenty = ProductFactory(stock_quantity=1000)
    token = add(client, plenty, 5).get("X-Cart-Token")
    response = add(client, plenty, 1, token=token)
    assert response.status_code == 400
    assert error_of(response)["code"] == "max_value" and error_of(response)["attr"] == "quantity"


def test_inactive_and_out_of_stock_lines_are_flagged_not_dropped(client, product, other_product):
    token = add(client, product, 3).get("X-Cart-Token")
    add(client, other_product, 2, token=token)
    ProductFactory._meta.model.objects.filter(pk=product.pk).update(is_active=False)
    ProductFactory._meta.model.objects.filter(pk=other_product.pk).update(stock_quantity=1, price="7.50")

    body = get_cart(client, token).json()
    inactive, short = body["items"]
    assert inactive["product"]["id"] == str(product.pk)
    assert inactive["available"] is False and inactive["available_quantity"] == 0
    assert short["available"] is False and short["available_quantity"] == 1 and short["quantity"] == 2
    assert short["unit_price"] == "7.50" and short["line_total"] == "15.00"  # live price
    assert body["subtotal"] == "15.00" and body["item_count"] == 2  # the inactive line has no price


def test_a_flagged_line_can_still_be_removed(client, product):
    token = add(client, product, 3).get("X-Cart-Token")
    ProductFactory._meta.model.objects.filter(pk=product.pk).update(is_active=False)
    headers = {"HTTP_X_CART_TOKEN": token} if token else {}
    assert client.delete(f"/api/v1/cart/items/{product.pk}/", **headers).status_code == 204
    assert get_cart(client, token).json()["items"] == []
