"""A parent's variant price range on its own row: `price` is its cheapest active variant's,
`variant_price_max` its dearest active variant's (null without any active variant). Every
write path keeps them right, and the price filters, which decide most parents on that
range, match exactly the parents with an active variant in range."""

from decimal import Decimal
from itertools import product as cross

import pytest
from django.urls import reverse

from catalog import services
from catalog.models import Product, ProductStructure
from tests.accounts.factories import UserFactory
from tests.catalog.factories import CategoryFactory, ProductFactory
from tests.catalog.test_variant_admin import _post_data
from tests.catalog.test_variants import make_family, make_type

pytestmark = pytest.mark.django_db
URL = "/api/v1/products/"
D = Decimal


def price_range(parent: Product) -> tuple[Decimal, Decimal | None]:
    row = Product.objects.values_list("price", "variant_price_max").get(pk=parent.pk)
    return row[0], row[1]


def test_variant_writes_keep_the_parents_range():
    parent, (small, medium) = make_family(prices=("10.00", "12.00"), stocks=(1, 1), sizes=("S", "M"))
    assert price_range(parent) == (D("10.00"), D("12.00"))
    # A new variant, dearer than all.
    large = services.product_create(
        sku="TEE-L", name="Tee L", price=D("19.50"), parent=parent, attributes={"size": "L"}
    )
    assert price_range(parent) == (D("10.00"), D("19.50"))
    # Price changes, both ways.
    services.product_update(large, price=D("11.00"))
    assert price_range(parent) == (D("10.00"), D("12.00"))
    services.product_update(small, price=D("30.00"))
    assert price_range(parent) == (D("11.00"), D("30.00"))
    # Deactivation (edit and bulk action) and reactivation.
    services.product_update(small, is_active=False)
    assert price_range(parent) == (D("11.00"), D("12.00"))
    services.product_set_active([large.pk], False)
    assert price_range(parent) == (D("12.00"), D("12.00"))
    services.product_set_active([small.pk], True)
    assert price_range(parent) == (D("12.00"), D("30.00"))
    # Deletion; with no active variant left the range is empty (the price is kept).
    services.product_delete(small)
    assert price_range(parent) == (D("12.00"), D("12.00"))
    services.product_update(medium, is_active=False)
    assert price_range(parent) == (D("12.00"), None)
    services.product_delete(medium)
    assert price_range(parent) == (D("12.00"), None)


def test_an_inactive_variant_created_does_not_count():
    parent, _ = make_family(prices=("10.00",), stocks=(1,), sizes=("S",))
    services.product_create(
        sku="TEE-M", name="Tee M", price=D("50.00"), parent=parent, attributes={"size": "M"}, is_active=False
    )
    assert price_range(parent) == (D("10.00"), D("10.00"))


def test_a_standalone_product_gets_the_range_with_its_first_variant():
    standalone = ProductFactory(product_type=make_type(), stock_quantity=0, price=D("40.00"), attributes={})
    assert price_range(standalone) == (D("40.00"), None)
    services.product_create(sku="V-S", name="V", price=D("25.00"), parent=standalone, attributes={"size": "S"})
    standalone.refresh_from_db()
    assert standalone.structure == ProductStructure.PARENT
    assert price_range(standalone) == (D("25.00"), D("25.00"))


def test_parent_edits_never_write_the_range_back():
    parent, (small, _, _) = make_family(prices=("10.00", "12.00", "15.00"))
    stale = Product.objects.get(pk=parent.pk)  # read before the variant changes
    services.product_update(small, price=D("20.00"))
    assert price_range(parent) == (D("12.00"), D("20.00"))
    # A full save of the stale copy (an admin form), and a price edit of the parent: the
    # range stays its variants' (a parent's price is re-derived from them).
    services.product_save(stale)
    assert price_range(parent) == (D("12.00"), D("20.00"))
    services.product_update(stale, price=D("1.00"), name="Renamed")
    assert price_range(parent) == (D("12.00"), D("20.00"))
    services.product_update(stale, is_active=False)
    assert price_range(parent) == (D("12.00"), D("20.00"))


def test_api_writes_keep_the_range(manager_client):
    parent, (small, _, _) = make_family(prices=("10.00", "12.00", "15.00"))
    response = manager_client.patch(f"{URL}{small.id}/", {"price": "99.00"}, format="json")
    assert response.status_code == 200, response.json()
    assert price_range(parent) == (D("12.00"), D("99.00"))
    response = manager_client.patch(f"{URL}{parent.id}/", {"variant_price_max": "1.00"}, format="json")
    assert price_range(parent) == (D("12.00"), D("99.00"))  # not writable
    assert manager_client.delete(f"{URL}{small.id}/").status_code == 204
    assert price_range(parent) == (D("12.00"), D("15.00"))


def test_the_admin_variant_inline_keeps_the_range(client):
    client.force_login(UserFactory(role="admin", is_superuser=True))
    parent, _ = make_family(prices=("10.00", "12.00", "15.00"))
    url = reverse("admin:catalog_product_change", args=[parent.pk])
    data = _post_data(client.get(url))
    prices = sorted(k for k in data if k.startswith("variants-") and k.endswith("-price"))
    assert len(prices) == 3
    data[prices[0]] = "55.00"
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    low, high = price_range(parent)
    assert high == D("55.00")
    assert low == min(Product.objects.filter(parent=parent).values_list("price", flat=True))


# Variants priced 10, 20 and 30 (20 inactive) against ranges below, inside, between
# (15-18: the range straddles the filter, no variant in it), at the edges and above.
BOUNDS = [None, "5", "10", "11", "15", "18", "19.99", "20", "25", "30", "31"]


def _in_range(price: Decimal, low: str | None, high: str | None) -> bool:
    return (low is None or price >= D(low)) and (high is None or price <= D(high))


def test_price_filters_match_exactly_the_parents_with_an_active_variant_in_range(api_client, settings):
    settings.CATALOG_CACHE_ENABLED = False
    category = CategoryFactory(slug="tees")
    parent, (_, twenty, _) = make_family(
        prices=("10.00", "20.00", "30.00"), stocks=(1, 1, 1), sizes=("S", "M", "L"), category=category
    )
    services.product_update(twenty, is_active=False)
    empty, (gone,) = make_family(sku="EMPTY", prices=("20.00",), stocks=(1,), sizes=("S",), category=category)
    services.product_update(gone, is_active=False)  # a parent without active variants never matches
    standalone = ProductFactory(price=D("20.00"), category=category)
    active_prices = [D("10.00"), D("30.00")]
    for low, high in cross(BOUNDS, BOUNDS):
        params = {k: v for k, v in (("min_price", low), ("max_price", high)) if v is not None}
        if not params:
            continue
        expected = set()
        if any(_in_range(p, low, high) for p in active_prices):
            expected.add(str(parent.id))
        if _in_range(D("20.00"), low, high):
            expected.add(str(standalone.id))
        for extra in ({}, {"category": "tees"}, {"ordering": "price"}, {"in_stock": "true"}):
            got = {r["id"] for r in api_client.get(URL, {**params, **extra}).json()["results"]}
            assert got == expected, (params, extra)
            assert str(empty.id) not in got


def test_an_out_of_stock_filter_still_needs_an_active_variant_in_range(api_client, settings):
    settings.CATALOG_CACHE_ENABLED = False  # the same list is read again after each change
    parent, (small, large) = make_family(prices=("10.00", "30.00"), stocks=(0, 0), sizes=("S", "L"))
    ids = lambda params: [r["id"] for r in api_client.get(URL, params).json()["results"]]  # noqa: E731
    assert ids({"in_stock": "false", "min_price": "25"}) == [str(parent.id)]
    assert ids({"in_stock": "false", "min_price": "31"}) == []
    services.product_update(large, is_active=False)
    assert ids({"in_stock": "false", "min_price": "25"}) == []
    assert ids({"in_stock": "false"}) == [str(parent.id)]
    services.product_update(small, is_active=False)
    assert ids({"in_stock": "false"}) == []  # no active variant at all
