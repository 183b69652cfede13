from urllib.parse import parse_qs, urlparse

import pytest
from django.db import connection

from catalog.models import Brand, Product
from catalog.services import brand_update, product_update
from tests.catalog.factories import BrandFactory, ProductFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]
URL = "/api/v1/products/"


def names(response):
    assert response.status_code == 200, response.json()
    return [row["name"] for row in response.json()["results"]]


def test_ranking_puts_name_matches_above_description_matches(api_client):
    ProductFactory(name="Plain sock", description="Goes well with a running shoe.")
    ProductFactory(name="Running shoe", description="Light.")
    ProductFactory(name="Teapot", description="Porcelain.")
    assert names(api_client.get(URL, {"search": "running shoe"})) == ["Running shoe", "Plain sock"]


def test_stemming_and_prefix_matching(api_client):
    ProductFactory(name="Running jacket")
    ProductFactory(name="Rain hat")
    assert names(api_client.get(URL, {"search": "runs"})) == ["Running jacket"]  # stem
    assert names(api_client.get(URL, {"search": "runn"})) == ["Running jacket"]  # prefix
    assert names(api_client.get(URL, {"search": "jack"})) == ["Running jacket"]


def test_search_covers_sku_and_brand_and_websearch_syntax(api_client):
    acme = BrandFactory(name="Acmecorp")
    ProductFactory(name="Kettle", sku="KT-9981", brand=acme)
    ProductFactory(name="Kettle lid", sku="KL-1")
    assert names(api_client.get(URL, {"search": "acmecorp"})) == ["Kettle"]
    assert names(api_client.get(URL, {"search": "KT-9981"}))[0] == "Kettle"
    assert names(api_client.get(URL, {"search": "kettle -lid"})) == ["Kettle"]


def test_search_vector_follows_every_write(api_client):
    product = ProductFactory(name="Old name")
    product_update(product, name="Brand new widget")
    assert names(api_client.get(URL, {"search": "widget"})) == ["Brand new widget"]
    brand = product.brand
    brand_update(brand, name="Zyxco")
    assert names(api_client.get(URL, {"search": "zyxco"})) == ["Brand new widget"]
    Product.objects.filter(pk=product.pk).update(description="now with tungsten")  # raw ORM update: trigger
    assert names(api_client.get(URL, {"search": "tungsten"})) == ["Brand new widget"]
    assert Brand.objects.filter(name="Zyxco").exists()


def test_search_with_explicit_ordering_and_cursor(api_client):
    for i in range(5):
        ProductFactory(name=f"Lamp {i}", price=10 + i)
    assert names(api_client.get(URL, {"search": "lamp", "ordering": "-price"}))[0] == "Lamp 4"
    body = api_client.get(URL, {"search": "lamp", "cursor": "", "page_size": 2}).json()
    assert len(body["results"]) == 2 and body["next"]


def test_ranking_is_bounded_to_the_candidate_cap(api_client, settings):
    settings.CATALOG_SEARCH_CANDIDATES = 3
    for i in range(6):
        ProductFactory(name=f"Chair {i}")
    body = api_client.get(URL, {"search": "chair", "page_size": 100}).json()
    assert len(body["results"]) == 3
    assert body["count"] == 3 and body["count_is_exact"] is False  # only the ranked ones are listed
    ordered = api_client.get(URL, {"search": "chair", "ordering": "name"}).json()
    assert ordered["count"] == 6 and ordered["count_is_exact"] is True


@pytest.mark.parametrize("term", ["", "   ", "!!!", "the", "a & b | !c", "'quote", "\\", ":*"])
def test_odd_search_input_never_errors(api_client, term):
    ProductFactory(name="Thing")
    assert api_client.get(URL, {"search": term}).status_code == 200


def test_last_word_of_a_multi_word_query_is_a_prefix(api_client):
    ProductFactory(name="Trail running jacket")
    ProductFactory(name="Trail bike")
    assert names(api_client.get(URL, {"search": "trail runn"})) == ["Trail running jacket"]


def test_cursor_paging_of_a_search_keeps_relevance_order(api_client):
    """API.md: relevance is the default ordering of a search, cursor paging included."""
    ProductFactory(name="Plain hat", description="Not a shoe, but shoe-adjacent: shoe shoe.")
    ProductFactory(name="Red running shoe")
    ProductFactory(name="Blue shoe")
    ProductFactory(name="Green hat", description="Goes with a shoe.")
    by_page = names(api_client.get(URL, {"search": "shoe", "page_size": 100}))

    walked, cursor = [], ""
    while cursor is not None:
        body = api_client.get(URL, {"search": "shoe", "cursor": cursor, "page_size": 1}).json()
        walked += [p["name"] for p in body["results"]]
        cursor = parse_qs(urlparse(body["next"]).query)["cursor"][0] if body["next"] else None
    assert walked == by_page and len(walked) == 4


def test_search_cursor_from_another_list_is_rejected(api_client):
    ProductFactory(name="Desk lamp")
    response = api_client.get(URL, {"search": "lamp", "cursor": "bm90LWEtY3Vyc29y"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "invalid_cursor"


def test_equal_ranks_list_newest_first_then_by_id(api_client, settings):
    settings.CATALOG_CACHE_ENABLED = False
    same = {"name": "Canvas shoe", "description": "Light.", "brand": None}
    products = [ProductFactory(**same) for _ in range(4)]
    moments = ["2025-01-02T00:00:00Z", "2025-03-01T00:00:00Z", "2025-03-01T00:00:00Z", "2025-02-01T00:00:00Z"]
    for product, moment in zip(products, moments, strict=True):
        Product.objects.filter(pk=product.pk).update(created_at=moment)
    tied = sorted((p.id for p in products[1:3]), reverse=True)
    expected = [str(pk) for pk in [*tied, products[3].id, products[0].id]]
    assert [r["id"] for r in api_client.get(URL, {"search": "shoe"}).json()["results"]] == expected


def test_the_search_index_holds_no_variants():
    """Migration 0011: every search is of the list (parent_id IS NULL), so the GIN index is
    partial on it; the planner no longer ANDs it with a second index for that condition."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'catalog_product'")
        indexes = dict(cursor.fetchall())
    assert "catalog_prod_search_gin" not in indexes
    assert indexes["catalog_prod_search_top_gin"].endswith("USING gin (search_vector) WHERE (parent_id IS NULL)")
