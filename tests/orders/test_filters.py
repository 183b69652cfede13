"""GET orders/ filters and paging: every value is honoured or answered 400 (never 500);
a page past the end is the standard 404."""

from datetime import timedelta

import pytest
from django.utils import timezone

from orders.models import Order
from tests.orders.factories import ProductFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/orders/"


def test_the_schemathesis_request_is_not_a_500(customer_client):
    # Found by schemathesis (500 on PostgreSQL: "time zone displacement out of range").
    response = customer_client.get(
        URL + "?created_after=2500-07-26T18:56:35Z&created_before=1005-01-14T16:09:49-17:06"
        "&page=62366&page_size=116072&status=cancelled"
    )
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "not_found"


def test_an_offset_postgresql_cannot_store_is_honoured_in_utc(customer, customer_client, place):
    # -17:06 is valid ISO 8601 (and Python) but beyond PostgreSQL's ±15:59: the filter
    # compares in UTC, so the database never sees the offset.
    order = place(customer, (ProductFactory(), 1))
    created = Order.objects.get(pk=order.pk).created_at
    just_after = (created + timedelta(seconds=1)).astimezone(timezone.get_fixed_timezone(-(17 * 60 + 6)))
    assert just_after.isoformat().endswith("-17:06")

    before = customer_client.get(URL, {"created_before": just_after.isoformat()})
    after = customer_client.get(URL, {"created_after": just_after.isoformat()})

    assert before.status_code == 200 and before.json()["count"] == 1
    assert after.status_code == 200 and after.json()["count"] == 0


@pytest.mark.parametrize(
    ("attr", "value"),
    [
        # Valid ISO 8601, but no such instant in UTC within datetime's years 1..9999.
        ("created_after", "0001-01-01T00:00:00+01:00"),
        ("created_before", "9999-12-31T23:59:59-01:00"),
        ("created_after", "2026-02-30T00:00:00Z"),
        ("created_after", "2026-01-01T25:00:00Z"),
        ("created_before", "yesterday"),
        ("created_before", "2026-01-01T00:00:00+24:00"),
        ("status", "paid"),
        ("status", "\x00"),
        ("user", "not-a-uuid"),
    ],
)
def test_a_filter_value_that_cannot_be_honoured_is_400_naming_it(customer_client, manager_client, attr, value):
    for client in (customer_client, manager_client):
        response = client.get(URL, {attr: value})
        assert response.status_code == 400, (attr, value, response.content)
        body = response.json()
        assert body["type"] == "validation_error"
        assert body["errors"][0]["attr"] == attr


@pytest.mark.parametrize("page", ["2", "62366", "0", "-1", "last2", "1e3", "9" * 40])
def test_a_page_that_does_not_exist_is_404_not_found(customer, customer_client, place, page):
    place(customer, (ProductFactory(), 1))
    response = customer_client.get(URL, {"page": page})
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "not_found"


def test_page_size_is_clamped_not_an_error(customer, customer_client, place):
    place(customer, (ProductFactory(), 1))
    for page_size in ("116072", "0", "-5", "x"):
        response = customer_client.get(URL, {"page_size": page_size, "page": "1"})
        assert response.status_code == 200 and response.json()["count"] == 1
