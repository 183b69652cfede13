import os

import pytest

from tests.carts.factories import ProductFactory

REDIS_SKIP_REASON = "needs Redis (set REDIS_URL=redis://...)"

requires_redis = pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason=REDIS_SKIP_REASON)


@pytest.fixture
def product(db):
    return ProductFactory(price="19.99", stock_quantity=10)


@pytest.fixture
def other_product(db):
    return ProductFactory(price="5.00", stock_quantity=50)


def add(client, product, quantity=1, token=None):
    headers = {"HTTP_X_CART_TOKEN": token} if token else {}
    return client.post("/api/v1/cart/items/", {"product_id": str(product.pk), "quantity": quantity}, **headers)


def get_cart(client, token=None):
    headers = {"HTTP_X_CART_TOKEN": token} if token else {}
    return client.get("/api/v1/cart/", **headers)


def error_of(response) -> dict:
    return response.json()["errors"][0]
