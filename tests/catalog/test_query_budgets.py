import pytest

from catalog.cache import prices_ensure_current
from catalog.models import ProductImage
from tests.catalog.factories import BrandFactory, CategoryFactory, ProductFactory, ReviewFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_cache(settings):
    settings.CATALOG_CACHE_ENABLED = False  # budgets are about the database path


@pytest.fixture
def catalog():
    root = CategoryFactory(slug="root")
    child = CategoryFactory(slug="child", parent=root)
    CategoryFactory(parent=child)
    brands = [BrandFactory() for _ in range(3)]
    products = [
        ProductFactory(category=child if i % 2 else root, brand=brands[i % 3], attributes={"color": "red"})
        for i in range(30)
    ]
    for i, product in enumerate(products):  # 1-3 images each, as seeded
        for position in range(1 + i % 3):
            ProductImage.objects.create(
                product=product, image=f"products/q/{position}.jpg", width=1, height=1, position=position
            )
    return root, child, products


@pytest.mark.parametrize("page", [1, 2])
@pytest.mark.parametrize("page_size", [1, 30])
@pytest.mark.parametrize(
    "params", [{}, {"category": "root", "brand": "x", "min_price": "1", "attributes": "color:red"}]
)
def test_product_list_at_most_5_queries(
    manager_client, catalog, django_assert_max_num_queries, page_size, params, page
):
    if page == 2 and page_size == 30:
        page_size = 10  # a second page that exists
    with django_assert_max_num_queries(5):  # user, category, count, page, the page's images
        response = manager_client.get("/api/v1/products/", {**params, "page_size": page_size, "page": page})
    assert response.status_code in (200, 404)  # the filtered list may have no second page


def test_product_list_with_search_and_cursor(manager_client, catalog, django_assert_max_num_queries):
    with django_assert_max_num_queries(5):
        assert manager_client.get("/api/v1/products/", {"search": "Product", "page_size": 30}).status_code == 200
    with django_assert_max_num_queries(5):
        assert manager_client.get("/api/v1/products/", {"cursor": "", "page_size": 30}).status_code == 200


def test_product_detail_at_most_4_queries(manager_client, catalog, django_assert_max_num_queries):
    with django_assert_max_num_queries(4):  # user, product (with its authors), images, stock moves
        assert manager_client.get(f"/api/v1/products/{catalog[2][0].id}/").status_code == 200


def test_category_tree_list_and_detail_at_most_3_queries(api_client, catalog, django_assert_max_num_queries):
    root, child, _ = catalog
    for url in ("/api/v1/categories/tree/", "/api/v1/categories/", f"/api/v1/categories/{child.id}/"):
        with django_assert_max_num_queries(3):
            assert api_client.get(url).status_code == 200


def test_facets_and_reviews_do_not_grow(api_client, catalog, django_assert_max_num_queries):
    product = catalog[2][0]
    for _ in range(5):
        ReviewFactory(product=product)
    with django_assert_max_num_queries(4):
        assert api_client.get("/api/v1/products/facets/", {"category": "root"}).status_code == 200
    with django_assert_max_num_queries(3):
        assert api_client.get(f"/api/v1/products/{product.id}/reviews/").status_code == 200


@pytest.mark.parametrize("who", ["api_client", "manager_client"])
def test_with_the_cache_a_miss_adds_at_most_the_stock_fill_and_a_hit_makes_none(
    request, settings, catalog, django_assert_max_num_queries, who
):
    settings.CATALOG_CACHE_ENABLED = True
    client = request.getfixturevalue(who)
    # The promotion boundary is read once per cache lifetime (a cold cache asks the
    # promotions for it): warm it, as any earlier read would have, to count a steady miss.
    prices_ensure_current()
    for url, budget in (("/api/v1/products/?page_size=30", 5), (f"/api/v1/products/{catalog[2][0].id}/", 5)):
        with django_assert_max_num_queries(budget):  # the database path + one stock read by id
            assert client.get(url)["X-Cache"] == "MISS"
        with django_assert_max_num_queries(0 if who == "api_client" else 1):  # staff: the user, to know the audience
            assert client.get(url)["X-Cache"] == "HIT"
