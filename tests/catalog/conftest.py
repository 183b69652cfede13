import pytest


@pytest.fixture(autouse=True)
def _clear_cache():
    """Overrides the project-wide fixture for catalog tests: on Redis, `cache.clear()` is
    FLUSHDB and wipes the keys of every other xdist worker mid-test (e.g. rate-limit
    counters); deleting this worker's own prefixed keys isolates the tests just as well."""
    from django.core.cache import cache

    if hasattr(cache, "delete_pattern"):
        cache.delete_pattern("*")
    else:
        cache.clear()
    yield
