"""Customers' carts live in the database, are reachable only by their owner, and read in a
bounded number of queries."""

import pytest

from carts.models import Cart, CartItem
from carts.selectors import cart_lines_for_user
from carts.services import cart_clear_for_user
from tests.accounts.factories import UserFactory
from tests.carts.conftest import add, get_cart
from tests.carts.factories import ProductFactory
from tests.conftest import auth_client_for

pytestmark = pytest.mark.django_db


def test_customer_cart_is_stored_in_the_database(customer, customer_client, product):
    response = add(customer_client, product, 2)
    assert response.status_code == 201
    assert response.json()["token"] is None and "X-Cart-Token" not in response
    assert CartItem.objects.get(cart__user=customer).quantity == 2
    assert cart_lines_for_user(customer) == [(product.pk, 2)]


def test_another_customers_cart_is_unreachable(customer, customer_client, product, other_product):
    add(customer_client, product, 2)
    intruder = auth_client_for(UserFactory())
    assert get_cart(intruder).json()["items"] == []
    assert intruder.patch(f"/api/v1/cart/items/{product.pk}/", {"quantity": 1}, format="json").status_code == 404
    assert intruder.delete(f"/api/v1/cart/items/{product.pk}/").status_code == 404
    assert intruder.delete("/api/v1/cart/").status_code == 204
    add(intruder, other_product, 1)
    assert [(line["product"]["id"], line["quantity"]) for line in get_cart(customer_client).json()["items"]] == [
        (str(product.pk), 2)
    ]


def test_a_cart_token_header_does_not_reach_into_a_customers_cart(api_client, customer_client, product):
    """An authenticated caller always gets their own cart; an anonymous token is ignored."""
    token = add(api_client, product, 4)["X-Cart-Token"]
    assert get_cart(customer_client, token).json()["items"] == []


def test_the_cart_row_moves_updated_at_on_every_write(customer, customer_client, product):
    add(customer_client, product, 1)
    cart = Cart.objects.get(user=customer)
    Cart.objects.filter(pk=cart.pk).update(updated_at="2020-01-01T00:00:00Z")
    customer_client.patch(f"/api/v1/cart/items/{product.pk}/", {"quantity": 3}, format="json")
    cart.refresh_from_db()
    assert cart.updated_at.year > 2020


def test_clear_empties_the_cart(customer, customer_client, product, other_product):
    add(customer_client, product, 1)
    add(customer_client, other_product, 1)
    assert customer_client.delete("/api/v1/cart/").status_code == 204
    assert get_cart(customer_client).json()["items"] == []
    assert Cart.objects.filter(user=customer).exists()


def test_checkout_helpers_keep_their_contract(customer, customer_client, product, other_product):
    add(customer_client, other_product, 1)
    add(customer_client, product, 3)
    assert cart_lines_for_user(customer) == [(other_product.pk, 1), (product.pk, 3)]
    cart_clear_for_user(customer)
    assert cart_lines_for_user(customer) == []


@pytest.mark.parametrize("lines", [1, 12])
def test_get_cart_query_budget_does_not_grow_with_lines(customer_client, lines, django_assert_max_num_queries):
    for _ in range(lines):
        add(customer_client, ProductFactory(), 1)
    with django_assert_max_num_queries(3):
        response = get_cart(customer_client)
    assert len(response.json()["items"]) == lines


@pytest.mark.parametrize("lines", [1, 12])
def test_anonymous_get_cart_query_budget(api_client, lines, django_assert_max_num_queries):
    token = None
    for _ in range(lines):
        token = add(api_client, ProductFactory(), 1, token=token)["X-Cart-Token"]
    with django_assert_max_num_queries(3):
        response = get_cart(api_client, token)
    assert len(response.json()["items"]) == lines
