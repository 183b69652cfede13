import pytest

from orders.services import LineRequest, order_place
from tests.orders.factories import AddressFactory, ProductFactory
from tests.orders.helpers import ADDRESS


@pytest.fixture
def product(db):
    return ProductFactory(stock_quantity=10)


@pytest.fixture
def address(customer):
    return AddressFactory(user=customer)


@pytest.fixture
def place(db):
    """Place an order through the service: place(user, (product, qty), ...)."""

    def _place(user, *lines):
        return order_place(user, items=[LineRequest(p.pk, qty) for p, qty in lines], shipping_address=ADDRESS)

    return _place


@pytest.fixture
def rate_limits_on(settings):
    """Rate limits on, counted in a private local-memory cache: with Redis, another xdist
    worker's cache.clear() (FLUSHDB) would reset the shared counters mid-test."""
    settings.CACHES = {
        **settings.CACHES,
        "orders-ratelimit-test": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "orders-rl"},
    }
    settings.RATELIMIT_USE_CACHE = "orders-ratelimit-test"
    settings.RATELIMIT_ENABLE = True
    settings.RATELIMIT_DEFAULT = "1000/m"
    settings.RATELIMIT_ORDERS = "2/h"  # an hour window: a reset mid-test is unlikely
    yield
    from django.core.cache import caches

    caches["orders-ratelimit-test"].clear()
