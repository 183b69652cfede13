from tests.orders.conftest import address, place, product  # noqa: F401 (shared fixtures)
