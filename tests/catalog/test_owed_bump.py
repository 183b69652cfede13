"""A catalog write whose generation bump cannot reach Redis (a partition, or Redis
restarting with its data on disk) is not lost: the bump is owed, paid by this process before its next cache read
(so the page stored before the write is never served once Redis answers again) and by a
job in the outbox for any process that never reads again."""

from __future__ import annotations

from decimal import Decimal
from unittest import mock

import pytest
import redis

from catalog import cache as catalog_cache
from catalog.models import Product
from core.models import OutboxMessage
from tests.catalog.factories import ProductFactory
from tests.faults.services import redis_cache_setting

pytestmark = pytest.mark.django_db(transaction=True)


def unreachable():
    """Redis unreachable for writes while this lasts (the MSET of a bump never arrives)."""
    return mock.patch.object(redis.Redis, "mset", side_effect=redis.ConnectionError("partitioned"))


@pytest.fixture
def own_cache(settings, redis_server):
    settings.CACHES = redis_cache_setting(redis_server.url(0), prefix="owed-test", timeout=0.3)
    catalog_cache._owed.clear()
    catalog_cache._local_entries.clear()
    yield redis_server
    catalog_cache._owed.clear()


def price_shown(api_client, product) -> tuple[str, str]:
    response = api_client.get(f"/api/v1/products/{product.pk}/")
    assert response.status_code == 200
    return response["X-Cache"], response.json()["price"]


def test_a_bump_lost_while_redis_hung_is_paid_before_the_next_read(own_cache, api_client):
    product = ProductFactory(price=Decimal("10.00"))
    assert price_shown(api_client, product) == ("MISS", "10.00")
    assert price_shown(api_client, product) == ("HIT", "10.00")

    Product.objects.filter(pk=product.pk).update(price=Decimal("12.00"))
    with unreachable():
        catalog_cache.bump_catalog_generation()  # what the write's on-commit hook does
    assert catalog_cache._owed.is_set()
    assert OutboxMessage.objects.filter(task="catalog.bump_owed_generation").count() == 1

    with unreachable():  # still: the read serves nothing stored before the bump
        assert price_shown(api_client, product) == ("MISS", "12.00")
    assert catalog_cache._owed.is_set()
    assert price_shown(api_client, product) == ("MISS", "12.00")  # paid, and not the page stored before
    assert not catalog_cache._owed.is_set()
    assert price_shown(api_client, product) == ("HIT", "12.00")


def test_the_outbox_job_bumps_for_a_process_that_never_reads_again(own_cache, api_client):
    from catalog.tasks import bump_owed_generation

    product = ProductFactory(price=Decimal("10.00"))
    price_shown(api_client, product)
    assert price_shown(api_client, product) == ("HIT", "10.00")
    Product.objects.filter(pk=product.pk).update(price=Decimal("11.00"))
    with unreachable():
        catalog_cache.bump_catalog_generation()
        bump_owed_generation()  # the job, run while Redis is still unreachable: owed again, queued again
    assert OutboxMessage.objects.filter(task="catalog.bump_owed_generation").count() == 2
    catalog_cache._owed.clear()  # as another process sees it: it owes nothing itself
    assert price_shown(api_client, product) == ("HIT", "10.00")  # the lost bump, visible
    bump_owed_generation()  # the job again, Redis back
    assert price_shown(api_client, product) == ("MISS", "11.00")


def test_a_stock_move_that_cannot_be_recorded_owes_the_generation(own_cache, api_client):
    from django.db import transaction

    from catalog.services import product_stock_changed

    product = ProductFactory(stock_quantity=5)
    api_client.get(f"/api/v1/products/{product.pk}/")
    assert api_client.get(f"/api/v1/products/{product.pk}/")["X-Cache"] == "HIT"
    lost = mock.patch.object(redis.Redis, "evalsha", side_effect=redis.ConnectionError("partitioned"))
    with lost, transaction.atomic():
        Product.objects.filter(pk=product.pk).update(stock_quantity=2)
        product_stock_changed({product.pk: -3})
    assert catalog_cache._owed.is_set()
    response = api_client.get(f"/api/v1/products/{product.pk}/")
    assert (response["X-Cache"], response.json()["stock_quantity"]) == ("MISS", 2)


def test_a_list_count_stored_before_the_lost_bump_is_not_served(own_cache):
    from catalog.cache import CATALOG_STAMP, cached_count

    catalog_cache.bump_catalog_generation()  # a stamp to count under
    assert cached_count("count-key", CATALOG_STAMP, lambda: (3, True)) == (3, True)
    assert cached_count("count-key", CATALOG_STAMP, lambda: (99, True)) == (3, True)  # remembered
    with unreachable():
        catalog_cache.bump_catalog_generation()
        assert cached_count("count-key", CATALOG_STAMP, lambda: (4, True)) == (4, True)  # owed: counted
    assert cached_count("count-key", CATALOG_STAMP, lambda: (4, True)) == (4, True)  # paid, counted anew


def test_a_bump_that_went_out_before_a_failure_does_not_pay_for_it():
    owed = catalog_cache._Owed()
    with mock.patch.object(owed, "_queue"):
        owed.owe("a write")
        covered = owed.snapshot()  # a bump starts, covering that failure
        owed.owe("another thread's write")  # fails meanwhile
        owed.paid(covered)  # the first bump went out
        assert owed.is_set()
        owed.paid(owed.snapshot())
        assert not owed.is_set()


def test_one_job_per_outage_and_a_job_that_could_not_be_queued_is_queued_by_the_next_failure():
    from django.db import DatabaseError

    owed = catalog_cache._Owed()
    with mock.patch("core.jobs.enqueue", side_effect=[DatabaseError("down"), None, None]) as enqueue:
        owed.owe("a write")  # the database refuses the job too
        owed.owe("a read that could not pay")  # queued now
        owed.owe("another")  # already queued for this outage
        assert enqueue.call_count == 2
        owed.paid(owed.snapshot())
        owed.owe("the next outage")
        assert enqueue.call_count == 3
