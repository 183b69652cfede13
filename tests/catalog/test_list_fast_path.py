"""The product list builds its items from rows (catalog.selectors.product_list_rows,
catalog.serializers.product_row_data), not from model instances: every item must equal
what ProductSerializer gives for the same product, for every audience, ordering and kind
of paging, cached or not."""

import json

import pytest
from django.contrib.auth.models import AnonymousUser

from catalog.models import Product, ProductImage
from catalog.selectors import product_attach_variants
from catalog.serializers import ProductSerializer
from catalog.services import bump_catalog_generation
from tests.catalog.factories import BrandFactory, CategoryFactory, ProductFactory
from tests.catalog.test_variants import make_family

pytestmark = pytest.mark.django_db


@pytest.fixture
def products():
    root = CategoryFactory(name="Shoes", slug="shoes")
    child = CategoryFactory(name="Trail", slug="trail", parent=root)
    brand = BrandFactory(name="Acme", slug="acme")
    made = [
        ProductFactory(
            name="Trail runner", category=child, brand=brand, attributes={"color": "red", "size": "42"}, price="89.90"
        ),
        ProductFactory(name="Plain sock", category=root, brand=None, stock_quantity=0, price="3.00"),
        ProductFactory(name="Hidden boot", category=child, brand=brand, is_active=False, price="120.00"),
        ProductFactory(name="Numbers", category=root, brand=brand, attributes={"weight": 12, "eco": True}),
        ProductFactory(name="Not a dict", category=root, brand=brand, attributes=["odd"], meta_title="Odd one"),
        ProductFactory(name='Ünïcode ☃ \u2028 quote"s', category=child, brand=brand, description="Line\nbreak <b>"),
    ]
    for position, (name, thumbs) in enumerate(
        [("products/a/1.jpg", {"small": "products/a/1.small.webp", "large": "products/a/1.large.webp"}),
         ("products/a/2.jpg", {}), ("products/a/0.jpg", None)]
    ):  # fmt: skip
        ProductImage.objects.create(
            product=made[0], image=name, width=100 + position, height=50, position=2 - position, thumbnails=thumbs or {}
        )
    ProductImage.objects.create(product=made[2], image="products/b/1.jpg", width=1, height=1, position=0)
    # Two images at the same position: ordered by id, as the prefetch orders them.
    for _ in range(2):
        ProductImage.objects.create(product=made[3], image="products/c/1.jpg", width=2, height=2, position=5)
    # A parent with three variants, one of them inactive (staff list it, customers do not).
    parent, variants = make_family(sku="FAM", category=root, attributes={"color": "red"})
    Product.objects.filter(pk=variants[1].pk).update(is_active=False)
    ProductImage.objects.create(product=parent, image="products/d/1.jpg", width=3, height=3, position=0)
    made.append(parent)
    bump_catalog_generation()
    return made


def expected(product_id, user=None) -> dict:
    # The serializer's path: a model instance, its related objects and its variants.
    product = Product.objects.select_related("category", "brand", "product_type").prefetch_related("images")
    product = product.get(pk=product_id)
    product_attach_variants([product], user or AnonymousUser())
    return json.loads(json.dumps(ProductSerializer(product).data))


def listed(client, url) -> list[dict]:
    response = client.get(url)
    assert response.status_code == 200, response.content
    return response.json()["results"]


URLS = [
    "/api/v1/products/",
    "/api/v1/products/?ordering=price",
    "/api/v1/products/?ordering=-name&page_size=2&page=2",
    "/api/v1/products/?ordering=-rating_avg&page_size=3&page=2",
    "/api/v1/products/?cursor=&page_size=4",
    "/api/v1/products/?cursor=&ordering=price&page_size=2",
    "/api/v1/products/?category=shoes&brand=acme",
    "/api/v1/products/?in_stock=false",
    "/api/v1/products/?attributes=color:red",
]


@pytest.mark.parametrize("cache_enabled", [True, False])
@pytest.mark.parametrize("who", ["api_client", "manager_client"])
def test_every_list_item_equals_the_serializers_output(request, settings, products, who, cache_enabled):
    settings.CATALOG_CACHE_ENABLED = cache_enabled
    client = request.getfixturevalue(who)
    user = request.getfixturevalue("manager") if who == "manager_client" else None
    seen = set()
    for url in URLS:
        for item in listed(client, url):
            assert item == expected(item["id"], user), url
            seen.add(item["id"])
    family = next(item for item in listed(client, "/api/v1/products/?page_size=100") if item["sku"] == "FAM")
    assert len(family["variants"]) == (3 if user else 2) and family["price_range"] is not None
    hidden = str(products[2].id)
    # Staff list inactive products too (with their images); customers never see them.
    assert (hidden in seen) == (who == "manager_client")
    assert len(seen) == len(products) - (who == "api_client")


def test_the_next_cursor_page_continues_where_the_rows_stopped(api_client, products):
    first = api_client.get("/api/v1/products/?cursor=&ordering=price&page_size=2").json()
    second = api_client.get(first["next"]).json()
    prices = [item["price"] for item in first["results"] + second["results"]]
    assert prices == sorted(prices, key=float) and len({i["id"] for i in first["results"] + second["results"]}) == 4


@pytest.mark.postgres
def test_search_pages_equal_the_serializers_output(api_client, products):
    from django.core.management import call_command

    call_command("rebuild_search_index", verbosity=0)
    for url in ["/api/v1/products/?search=trail", "/api/v1/products/?search=trail&cursor="]:
        items = listed(api_client, url)
        assert items and all(item == expected(item["id"]) for item in items)


def test_page_ids_picked_by_subquery_give_the_same_pages_as_offset(settings, products):
    settings.CATALOG_CACHE_ENABLED = False
    from django.http import QueryDict

    from catalog import selectors
    from catalog.pagination import page_rows

    for ordering in ["price", "-price", "name", "-name", "created_at", "-created_at", "-rating_avg"]:
        filterset = selectors.product_filterset(AnonymousUser(), QueryDict(f"ordering={ordering}"))
        assert filterset.is_valid()
        queryset = selectors.product_list(filterset)
        _, rows = selectors.product_list_rows(queryset)
        whole = [p.id for p in queryset]
        for start in range(len(whole) + 1):
            assert [r.id for r in page_rows(queryset, start, start + 2, rows)] == whole[start : start + 2]
