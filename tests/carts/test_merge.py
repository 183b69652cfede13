"""Merging an anonymous cart into a customer's cart: at login (service) and POST cart/merge/."""

from unittest import mock

import pytest

from carts import services
from carts.services import cart_merge
from carts.stores import anonymous_cart_store, new_cart_token
from tests.carts.conftest import add, get_cart
from tests.carts.factories import ProductFactory

pytestmark = pytest.mark.django_db


def lines_of(client):
    return {line["product"]["id"]: line["quantity"] for line in get_cart(client).json()["items"]}


def test_merge_sums_quantities_and_deletes_the_anonymous_cart(api_client, customer, customer_client, product):
    other = ProductFactory(stock_quantity=50)
    add(customer_client, product, 2)
    token = add(api_client, product, 3)["X-Cart-Token"]
    add(api_client, other, 4, token=token)

    response = customer_client.post("/api/v1/cart/merge/", {"token": token}, format="json")
    assert response.status_code == 200, response.content
    assert {line["product"]["id"]: line["quantity"] for line in response.json()["items"]} == {
        str(product.pk): 5,
        str(other.pk): 4,
    }
    assert get_cart(api_client, token).json()["items"] == []
    assert not anonymous_cart_store(token).exists()


def test_merge_caps_at_stock_without_reducing_what_the_customer_had(api_client, customer, customer_client):
    scarce = ProductFactory(stock_quantity=6)
    shrunk = ProductFactory(stock_quantity=10)
    add(customer_client, scarce, 4)
    add(customer_client, shrunk, 5)
    token = add(api_client, scarce, 5)["X-Cart-Token"]
    add(api_client, shrunk, 1, token=token)
    ProductFactory._meta.model.objects.filter(pk=shrunk.pk).update(stock_quantity=2)

    result = cart_merge(user=customer, token=token)
    assert lines_of(customer_client) == {str(scarce.pk): 6, str(shrunk.pk): 5}
    assert set(result.capped) == {scarce.pk, shrunk.pk}


def test_merging_twice_is_harmless(api_client, customer, customer_client, product):
    token = add(api_client, product, 3)["X-Cart-Token"]
    cart_merge(user=customer, token=token)
    second = cart_merge(user=customer, token=token)
    assert second.merged == []
    assert customer_client.post("/api/v1/cart/merge/", {"token": token}, format="json").status_code == 200
    assert lines_of(customer_client) == {str(product.pk): 3}


@pytest.mark.parametrize("token", [None, "", "garbage", "a" * 300, "x" * 43])
def test_unknown_expired_or_malformed_token_is_a_no_op(customer, customer_client, product, token):
    add(customer_client, product, 1)
    assert cart_merge(user=customer, token=token).merged == []
    assert lines_of(customer_client) == {str(product.pk): 1}


def test_merge_endpoint_with_a_malformed_token_is_200_and_changes_nothing(customer_client, product):
    add(customer_client, product, 1)
    response = customer_client.post("/api/v1/cart/merge/", {"token": "not-a-token"}, format="json")
    assert response.status_code == 200
    assert lines_of(customer_client) == {str(product.pk): 1}


def test_merge_endpoint_requires_authentication_and_a_token(api_client, customer_client):
    assert api_client.post("/api/v1/cart/merge/", {"token": new_cart_token()}, format="json").status_code == 401
    response = customer_client.post("/api/v1/cart/merge/", {}, format="json")
    assert response.status_code == 400 and response.json()["errors"][0]["attr"] == "token"


def test_merge_drops_inactive_and_deleted_products(api_client, customer, customer_client, product):
    hidden = ProductFactory()
    gone = ProductFactory()
    token = add(api_client, product, 1)["X-Cart-Token"]
    add(api_client, hidden, 1, token=token)
    add(api_client, gone, 1, token=token)
    ProductFactory._meta.model.objects.filter(pk=hidden.pk).update(is_active=False)
    ProductFactory._meta.model.objects.filter(pk=gone.pk).delete()

    result = cart_merge(user=customer, token=token)
    assert lines_of(customer_client) == {str(product.pk): 1}
    assert set(result.dropped) == {hidden.pk, gone.pk}


def test_merge_into_a_customer_without_a_cart_creates_it(api_client, customer, product):
    token = add(api_client, product, 2)["X-Cart-Token"]
    cart_merge(user=customer, token=token)
    assert customer.cart.items.get().quantity == 2


def test_a_failed_merge_leaves_the_anonymous_cart_in_place(api_client, customer, customer_client, product):
    token = add(api_client, product, 2)["X-Cart-Token"]
    with (
        mock.patch.object(services, "touch_cart", side_effect=RuntimeError("database hiccup")),
        pytest.raises(RuntimeError),
    ):
        cart_merge(user=customer, token=token)
    assert lines_of(customer_client) == {}  # the transaction rolled back
    assert [line["quantity"] for line in get_cart(api_client, token).json()["items"]] == [2]
    cart_merge(user=customer, token=token)  # and a retry merges it
    assert lines_of(customer_client) == {str(product.pk): 2}


def test_signing_in_with_x_cart_token_merges_the_anonymous_cart(api_client, customer, product):
    """API.md: POST auth/token/ with X-Cart-Token merges that anonymous cart."""
    from tests.accounts.factories import DEFAULT_PASSWORD

    token = add(api_client, product, 3)["X-Cart-Token"]
    response = api_client.post(
        "/api/v1/auth/token/",
        {"email": customer.email, "password": DEFAULT_PASSWORD},
        format="json",
        HTTP_X_CART_TOKEN=token,
    )
    assert response.status_code == 200, response.content
    signed_in = api_client.__class__()
    signed_in.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['access']}")
    assert lines_of(signed_in) == {str(product.pk): 3}
    assert not anonymous_cart_store(token).exists()


def test_signing_in_with_an_unknown_cart_token_still_signs_in(api_client, customer):
    from tests.accounts.factories import DEFAULT_PASSWORD

    response = api_client.post(
        "/api/v1/auth/token/",
        {"email": customer.email, "password": DEFAULT_PASSWORD},
        format="json",
        HTTP_X_CART_TOKEN="not-a-real-token",
    )
    assert response.status_code == 200
    assert response.json()["access"]
