from tests.orders.conftest import place  # noqa: F401 (the orders tests' fixture: place an order through the service)
