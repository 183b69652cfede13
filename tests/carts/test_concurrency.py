"""Concurrent adds to one cart never lose an update (real threads, real stores)."""

import contextlib

import pytest

from carts import services
from carts.errors import InsufficientStock
from carts.models import Cart, CartItem
from carts.stores import LineLimitExceeded, LocalCacheCartStore, RedisCartStore, new_cart_token
from tests.accounts.factories import UserFactory
from tests.carts.conftest import requires_redis
from tests.carts.factories import ProductFactory
from tests.concurrency import errors_of, run_threads

THREADS = 8
ADDS_PER_THREAD = 5


def run_concurrently(work) -> list[Exception]:
    """Run `work()` ADDS_PER_THREAD times in each of THREADS threads released at once."""

    def adds(_i):
        for _ in range(ADDS_PER_THREAD):
            work()

    return errors_of(run_threads(THREADS, adds))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_adds_to_a_database_cart_are_all_counted():
    user = UserFactory()
    product = ProductFactory(stock_quantity=1000)

    errors = run_concurrently(lambda: services.cart_add_item(user=user, product_id=product.pk, quantity=1))

    assert errors == []
    assert Cart.objects.filter(user=user).count() == 1  # the racing first adds share one cart
    assert CartItem.objects.get(cart__user=user).quantity == THREADS * ADDS_PER_THREAD


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_adds_never_exceed_stock_in_a_database_cart():
    user = UserFactory()
    product = ProductFactory(stock_quantity=17)

    def add_one():
        with contextlib.suppress(InsufficientStock):
            services.cart_add_item(user=user, product_id=product.pk, quantity=1)

    assert run_concurrently(add_one) == []
    assert CartItem.objects.get(cart__user=user).quantity == 17


@requires_redis
@pytest.mark.django_db(transaction=True)
def test_concurrent_adds_to_a_redis_cart_are_all_counted():
    product = ProductFactory(stock_quantity=1000)
    token = services.cart_add_item(token=None, product_id=product.pk, quantity=1).token

    errors = run_concurrently(lambda: services.cart_add_item(token=token, product_id=product.pk, quantity=1))

    assert errors == []
    assert RedisCartStore(token).lines() == {product.pk: 1 + THREADS * ADDS_PER_THREAD}


@requires_redis
def test_concurrent_adds_to_a_redis_cart_respect_the_limit():
    store = RedisCartStore(new_cart_token())
    product_id = ProductFactory.build().pk

    def add_one():
        with contextlib.suppress(LineLimitExceeded):
            store.add(product_id, 1, limit=23)

    assert run_concurrently(add_one) == []
    assert store.lines() == {product_id: 23}


def test_concurrent_adds_to_a_local_cache_cart_are_all_counted(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "race"}}
    store = LocalCacheCartStore(new_cart_token())
    product_id = ProductFactory.build().pk

    assert run_concurrently(lambda: store.add(product_id, 1, limit=10_000)) == []
    assert store.lines() == {product_id: THREADS * ADDS_PER_THREAD}
