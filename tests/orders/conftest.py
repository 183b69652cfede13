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
