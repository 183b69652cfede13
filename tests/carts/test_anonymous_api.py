"""Anonymous carts over the API: the token is issued on the first write, reused after, and is
the only key to a cart."""

import pytest

from carts.stores import anonymous_cart_store, new_cart_token
from tests.carts.conftest import add, error_of, get_cart
from tests.carts.factories import ProductFactory

pytestmark = pytest.mark.django_db

CART = "/api/v1/cart/"


def test_first_write_issues_a_token_that_later_requests_reuse(api_client, product, other_product):
    first = add(api_client, product, 2)
    assert first.status_code == 201, first.content
    token = first["X-Cart-Token"]
    assert len(token) >= 22 and first.json()["token"] == token  # >= 128 bits of base64url

    second = add(api_client, other_product, 1, token=token)
    assert second.status_code == 201
    assert second["X-Cart-Token"] == token

    body = get_cart(api_client, token).json()
    assert [(line["product"]["id"], line["quantity"]) for line in body["items"]] == [
        (str(product.pk), 2),
        (str(other_product.pk), 1),
    ]
    assert body["token"] == token


def test_cart_body_prices_lines_with_two_decimal_strings(api_client, product, other_product):
    token = add(api_client, product, 3)["X-Cart-Token"]
    add(api_client, other_product, 2, token=token)
    body = get_cart(api_client, token).json()
    assert body["items"][0]["unit_price"] == "19.99"
    assert body["items"][0]["line_total"] == "59.97"
    assert body["items"][1]["line_total"] == "10.00"
    assert body["subtotal"] == "69.97"
    assert body["item_count"] == 5
    assert body["currency"] == "USD"


def test_adding_the_same_product_sums_quantities(api_client, product):
    token = add(api_client, product, 2)["X-Cart-Token"]
    response = add(api_client, product, 3, token=token)
    assert response.json()["items"][0]["quantity"] == 5
    assert len(response.json()["items"]) == 1


@pytest.mark.parametrize("token", [None, "", "short", "x" * 43 + "!", "../../etc/passwd"])
def test_read_without_a_valid_token_is_an_empty_cart(api_client, product, token):
    response = get_cart(api_client, token)
    assert response.status_code == 200
    assert response.json() == {"items": [], "subtotal": "0.00", "item_count": 0, "currency": "USD", "token": None}
    assert "X-Cart-Token" not in response


def test_read_with_an_unknown_token_is_empty_and_returns_no_token(api_client, product):
    response = get_cart(api_client, new_cart_token())
    assert response.json()["items"] == [] and response.json()["token"] is None


def test_write_with_an_unknown_token_starts_a_new_cart_under_a_fresh_token(api_client, product):
    made_up = new_cart_token()
    response = add(api_client, product, 1, token=made_up)
    assert response.status_code == 201
    assert response["X-Cart-Token"] != made_up
    assert get_cart(api_client, made_up).json()["items"] == []


def test_write_with_an_expired_token_starts_a_new_cart(api_client, product):
    token = add(api_client, product, 1)["X-Cart-Token"]
    anonymous_cart_store(token).take()  # what expiry does: the hash is gone
    response = add(api_client, product, 1, token=token)
    assert response["X-Cart-Token"] != token
    assert response.json()["items"][0]["quantity"] == 1


def test_another_visitors_token_never_sees_my_items(api_client, product, other_product):
    mine = add(api_client, product, 4)["X-Cart-Token"]
    theirs = add(api_client, other_product, 1)["X-Cart-Token"]
    assert mine != theirs
    assert [line["product"]["id"] for line in get_cart(api_client, theirs).json()["items"]] == [str(other_product.pk)]
    assert [line["product"]["id"] for line in get_cart(api_client, mine).json()["items"]] == [str(product.pk)]


def test_tokens_are_unguessable_and_distinct():
    tokens = {new_cart_token() for _ in range(1000)}
    assert len(tokens) == 1000
    assert all(len(t) == 43 for t in tokens)  # 32 random bytes, base64url


def test_patch_sets_the_quantity(api_client, product):
    token = add(api_client, product, 2)["X-Cart-Token"]
    response = api_client.patch(f"{CART}items/{product.pk}/", {"quantity": 7}, format="json", HTTP_X_CART_TOKEN=token)
    assert response.status_code == 200, response.content
    assert response.json()["items"][0]["quantity"] == 7


def test_patch_of_a_line_not_in_the_cart_is_404(api_client, product, other_product):
    token = add(api_client, product, 2)["X-Cart-Token"]
    response = api_client.patch(
        f"{CART}items/{other_product.pk}/", {"quantity": 1}, format="json", HTTP_X_CART_TOKEN=token
    )
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_delete_line_then_delete_cart(api_client, product, other_product):
    token = add(api_client, product, 2)["X-Cart-Token"]
    add(api_client, other_product, 1, token=token)

    assert api_client.delete(f"{CART}items/{product.pk}/", HTTP_X_CART_TOKEN=token).status_code == 204
    assert [line["product"]["id"] for line in get_cart(api_client, token).json()["items"]] == [str(other_product.pk)]
    assert api_client.delete(f"{CART}items/{product.pk}/", HTTP_X_CART_TOKEN=token).status_code == 404

    assert api_client.delete(CART, HTTP_X_CART_TOKEN=token).status_code == 204
    body = get_cart(api_client, token).json()
    assert body["items"] == [] and body["token"] == token  # emptied, and the token still names it
    assert add(api_client, product, 1, token=token)["X-Cart-Token"] == token


def test_delete_without_a_cart_is_harmless(api_client):
    assert api_client.delete(CART).status_code == 204
    assert api_client.delete(CART, HTTP_X_CART_TOKEN=new_cart_token()).status_code == 204


def test_lines_of_a_deleted_product_disappear_from_the_cart(api_client, product, other_product):
    token = add(api_client, product, 1)["X-Cart-Token"]
    add(api_client, other_product, 1, token=token)
    ProductFactory._meta.model.objects.filter(pk=product.pk).delete()
    assert [line["product"]["id"] for line in get_cart(api_client, token).json()["items"]] == [str(other_product.pk)]


def test_a_rejected_first_add_leaves_no_cart_behind(api_client, product, monkeypatch):
    from carts import services

    token = new_cart_token()
    monkeypatch.setattr(services, "new_cart_token", lambda: token)
    assert add(api_client, product, 11).status_code == 409  # stock 10
    assert not anonymous_cart_store(token).exists()
    assert add(api_client, product, 1)["X-Cart-Token"] == token
    assert anonymous_cart_store(token).exists()
