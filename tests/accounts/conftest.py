import pytest

from tests.orders.conftest import place, rate_limits_on  # noqa: F401 (shared fixtures: privacy tests)


@pytest.fixture
def private_cache(settings):
    """A cache no other test process can flush, for tests that count on what they stored
    (rate-limit counters, sent-email marks). The shared conftest flushes the whole Redis
    database before every test, in every xdist worker."""
    import os

    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"accounts-private-{os.getpid()}",
        }
    }
    from django.core.cache import cache

    cache.clear()
    yield cache
