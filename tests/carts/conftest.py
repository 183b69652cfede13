import os

import pytest

from tests.carts.factories import ProductFactory


def pytest_configure(config):
    """Make `cache.clear()` on django-redis delete only this process's keys.

    tests/conftest.py clears the cache before every test; on django-redis that is FLUSHDB,
    which (with pytest-xdist) wipes the keys of tests running at that moment in the other
    workers, although tests/settings give each worker its own KEY_PREFIX. Anonymous carts
    live in Redis, so cart tests failed at random under `-n 2` (and so does, for example,
    tests/core/test_errors.py::test_429_with_retry_after). Conftest files are imported by
    every worker, so this applies suite-wide. TODO(lead): move into tests/conftest.py's
    `_clear_cache` (`cache.delete_pattern("*")` on Redis) and delete this hook.
    """
    from django_redis.cache import RedisCache

    def clear_own_keys(self):
        self.delete_pattern("*")  # "*" becomes "<KEY_PREFIX>:<version>:*"

    RedisCache.clear = clear_own_keys


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
