from decimal import Decimal

import pytest

from tests.catalog.factories import BrandFactory, CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def products():
    root = CategoryFactory(slug="root")
    leaf = CategoryFactory(slug="leaf", parent=root)
    other = CategoryFactory(slug="other")
    acme, zeta = BrandFactory(slug="acme"), BrandFactory(slug="zeta")
    ProductFactory(category=leaf, brand=acme, price=Decimal("10.00"), attributes={"color": "red", "size": "M"})
    ProductFactory(category=leaf, brand=zeta, price=Decimal("20.00"), attributes={"color": "blue"})
    ProductFactory(category=root, brand=acme, price=Decimal("30.00"), attributes={"color": "red"}, stock_quantity=0)
    ProductFactory(category=other, brand=None, price=Decimal("99.00"), attributes={})


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"category": "root"},
        {"brand": "acme"},
        {"in_stock": "true"},
        {"attributes": "color:red"},
        {"max_price": "25"},
    ],
)
def test_facet_counts_match_the_filtered_list(api_client, products, params):
    listing = api_client.get("/api/v1/products/", {**params, "page_size": 100}).json()["results"]
    facets = api_client.get("/api/v1/products/facets/", params).json()
    assert facets["is_exact"] is True and facets["total"] == len(listing)

    def tally(key):
        counts = {}
        for row in listing:
            if row[key]:
                counts[row[key]["slug"]] = counts.get(row[key]["slug"], 0) + 1
        return counts

    assert {c["slug"]: c["count"] for c in facets["categories"]} == tally("category")
    assert {b["slug"]: b["count"] for b in facets["brands"]} == tally("brand")
    attrs = {}
    for row in listing:
        for k, v in row["attributes"].items():
            attrs.setdefault(k, {}).setdefault(v, 0)
            attrs[k][v] += 1
    assert {k: {e["value"]: e["count"] for e in v} for k, v in facets["attributes"].items()} == attrs
    prices = [Decimal(r["price"]) for r in listing]
    assert facets["price"] == {"min": f"{min(prices):.2f}", "max": f"{max(prices):.2f}"}


def test_facets_reject_bad_filters(api_client, products):
    assert api_client.get("/api/v1/products/facets/", {"min_price": "x"}).status_code == 400


def test_facets_beyond_the_cap_say_so(api_client, products, settings):
    settings.CATALOG_FACET_MAX_ROWS = 2
    facets = api_client.get("/api/v1/products/facets/").json()
    assert facets["is_exact"] is False and facets["total"] == 2


def test_facets_read_json_values_as_text_on_every_database(api_client):
    """One facet statement for PostgreSQL and SQLite: non-text values written around the
    API (imports, the shell) count as their JSON text on both, and prices keep cents."""
    category = CategoryFactory(slug="misc")
    ProductFactory(category=category, price=Decimal("19.99"), attributes={"waterproof": True, "pack": 2})
    ProductFactory(category=category, price=Decimal("5.00"), attributes={"waterproof": False, "pack": 2})
    ProductFactory(category=category, price=Decimal("7.50"), attributes=["not", "an", "object"])
    facets = api_client.get("/api/v1/products/facets/", {"category": "misc"}).json()
    assert facets["total"] == 3
    assert facets["attributes"] == {
        "pack": [{"value": "2", "count": 2}],
        "waterproof": [{"value": "false", "count": 1}, {"value": "true", "count": 1}],
    }
    assert facets["price"] == {"min": "5.00", "max": "19.99"}
    assert facets["categories"] == [{"id": str(category.id), "slug": "misc", "name": category.name, "count": 3}]
