"""The anonymous store: TTL refreshed on writes, keys namespaced, and a Redis outage is a
clear 503 that changes nothing."""

import time

import pytest
from django.core.cache import cache

from carts import stores
from carts.stores import RedisCartStore, anonymous_cart_store
from tests.carts.conftest import add, error_of, get_cart, requires_redis

pytestmark = pytest.mark.django_db


def redis_conn():
    from django_redis import get_redis_connection

    return get_redis_connection("default")


@requires_redis
def test_anonymous_cart_is_a_namespaced_redis_hash_with_the_ttl(api_client, product, settings):
    settings.ANONYMOUS_CART_TTL = 3600
    token = add(api_client, product, 2)["X-Cart-Token"]
    key = RedisCartStore(token).key
    assert key.startswith(f"{settings.CACHES['default']['KEY_PREFIX']}:")  # the cache's prefix
    assert redis_conn().type(key) == b"hash"
    assert redis_conn().hget(key, f"p:{product.pk}") == b"2"
    assert 3590 < redis_conn().ttl(key) <= 3600


@requires_redis
def test_every_write_refreshes_the_ttl_and_reads_do_not(api_client, product, other_product, settings):
    settings.ANONYMOUS_CART_TTL = 3600
    token = add(api_client, product, 1)["X-Cart-Token"]
    key = RedisCartStore(token).key

    redis_conn().expire(key, 50)
    get_cart(api_client, token)
    assert redis_conn().ttl(key) <= 50

    writes = [
        lambda: add(api_client, other_product, 1, token=token),
        lambda: api_client.patch(
            f"/api/v1/cart/items/{product.pk}/", {"quantity": 2}, format="json", HTTP_X_CART_TOKEN=token
        ),
        lambda: api_client.delete(f"/api/v1/cart/items/{other_product.pk}/", HTTP_X_CART_TOKEN=token),
        lambda: api_client.delete("/api/v1/cart/", HTTP_X_CART_TOKEN=token),
    ]
    for write in writes:
        redis_conn().expire(key, 50)
        assert write().status_code in (200, 201, 204)
        assert redis_conn().ttl(key) > 3000


@requires_redis
def test_an_expired_redis_cart_reads_empty(api_client, product, settings):
    settings.ANONYMOUS_CART_TTL = 1
    token = add(api_client, product, 1)["X-Cart-Token"]
    time.sleep(2.1)
    assert get_cart(api_client, token).json() == {
        "items": [],
        "subtotal": "0.00",
        "item_count": 0,
        "currency": "USD",
        "token": None,
    }


def test_local_store_writes_refresh_the_ttl(settings, product):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "ttl"}}
    settings.ANONYMOUS_CART_TTL = 100
    store = anonymous_cart_store(stores.new_cart_token())
    assert isinstance(store, stores.LocalCacheCartStore)

    def expires_in() -> float:
        return cache._expire_info[cache.make_key(store.key)] - time.time()

    store.add(product.pk, 1, limit=10)
    assert 95 < expires_in() <= 100
    cache.touch(store.key, 5)
    store.lines()
    assert expires_in() <= 5
    store.set(product.pk, 3)
    assert 95 < expires_in() <= 100


@pytest.fixture
def redis_down(settings):
    """The production cache configuration, pointed at a Redis that does not answer."""
    settings.CACHES = {
        "default": {
            **settings.CACHES["default"],
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "SOCKET_CONNECT_TIMEOUT": 0.5,
                "SOCKET_TIMEOUT": 0.5,
                "IGNORE_EXCEPTIONS": True,
            },
        }
    }
    assert stores.uses_redis()


def assert_503(response):
    assert response.status_code == 503, response.content
    assert response.json()["type"] == "server_error"
    assert error_of(response)["code"] == "service_unavailable"


def test_redis_outage_is_a_503_on_every_anonymous_endpoint(api_client, product, redis_down):
    token = stores.new_cart_token()
    headers = {"HTTP_X_CART_TOKEN": token}
    assert_503(get_cart(api_client, token))
    assert_503(add(api_client, product, 1))
    assert_503(add(api_client, product, 1, token=token))
    assert_503(api_client.patch(f"/api/v1/cart/items/{product.pk}/", {"quantity": 1}, format="json", **headers))
    assert_503(api_client.delete(f"/api/v1/cart/items/{product.pk}/", **headers))
    assert_503(api_client.delete("/api/v1/cart/", **headers))


def test_redis_outage_does_not_touch_customers_carts(customer_client, product, redis_down):
    assert add(customer_client, product, 1).status_code == 201
    assert get_cart(customer_client).status_code == 200


def test_redis_outage_on_merge_is_503_on_the_endpoint_and_a_no_op_at_login(customer, customer_client, redis_down):
    from carts.services import cart_merge

    token = stores.new_cart_token()
    assert_503(customer_client.post("/api/v1/cart/merge/", {"token": token}, format="json"))
    assert cart_merge(user=customer, token=token).merged == []  # login must not fail on it
