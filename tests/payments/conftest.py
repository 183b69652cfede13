from tests.orders.conftest import address, place, product, rate_limits_on  # noqa: F401 (shared fixtures)
