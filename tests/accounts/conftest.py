import pytest

from tests.orders.conftest import place, rate_limits_on  # noqa: F401 (shared fixtures: privacy tests)


@pytest.fixture(autouse=True)
def _clear_cache():
    """Overrides the project-wide fixture for accounts tests: clears only this worker's
    keys. With Redis, `cache.clear()` is FLUSHDB, which also wipes the counters of tests
    running at the same moment in the other xdist workers."""
    from django.core.cache import cache

    from catalog.cache import _owed, _pending, _pending_lock
    from core.caching import tracked

    if hasattr(cache, "delete_pattern"):
        cache.delete_pattern("*")
    else:
        cache.clear()
    tracked.clear()  # the values this process held of the keys just deleted
    _owed.clear()  # a bump an earlier test could not write is nothing this one owes
    with _pending_lock:  # nor are the hits it counted and had not flushed yet
        _pending.update(dict.fromkeys(_pending, 0))
    yield


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
