import time
from unittest import mock

import pytest
from django.test import Client

from catalog.models import Product
from catalog.services import product_stock_changed
from tests.catalog.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db(transaction=True)  # on_commit invalidation really runs


def get(client, url, **params):
    response = client.get(url, params)
    assert response.status_code == 200, response.content
    return response


@pytest.mark.parametrize(
    "path", ["/api/v1/products/", "/api/v1/products/facets/", "/api/v1/categories/", "/api/v1/categories/tree/"]
)
def test_second_get_is_a_hit_with_the_same_bytes(api_client, path):
    ProductFactory()
    first, second = get(api_client, path), get(api_client, path)
    assert first["X-Cache"] == "MISS" and second["X-Cache"] == "HIT"
    assert first.content == second.content


def test_detail_hit_and_query_string_normalisation(api_client):
    product = ProductFactory()
    assert get(api_client, f"/api/v1/products/{product.id}/")["X-Cache"] == "MISS"
    assert get(api_client, f"/api/v1/products/{product.id}/")["X-Cache"] == "HIT"
    assert get(api_client, "/api/v1/products/?ordering=price&page_size=5")["X-Cache"] == "MISS"
    assert get(api_client, "/api/v1/products/?page_size=5&ordering=price")["X-Cache"] == "HIT"


def test_a_hit_touches_no_database(api_client, django_assert_num_queries):
    product = ProductFactory()
    get(api_client, f"/api/v1/products/{product.id}/")
    with django_assert_num_queries(0):
        assert get(api_client, f"/api/v1/products/{product.id}/")["X-Cache"] == "HIT"


def test_api_write_is_visible_on_the_next_get(api_client, manager_client):
    product = ProductFactory(price="10.00")
    url = f"/api/v1/products/{product.id}/"
    get(api_client, url), get(api_client, "/api/v1/products/")
    assert manager_client.patch(url, {"price": "12.50"}).status_code == 200
    detail = get(api_client, url)
    assert detail["X-Cache"] == "MISS" and detail.json()["price"] == "12.50"
    assert get(api_client, "/api/v1/products/").json()["results"][0]["price"] == "12.50"


def test_staff_and_public_do_not_share_entries(api_client, manager_client):
    product = ProductFactory(is_active=False)
    assert api_client.get(f"/api/v1/products/{product.id}/").status_code == 404
    assert manager_client.get(f"/api/v1/products/{product.id}/").status_code == 200
    assert get(manager_client, "/api/v1/products/").json()["count"] == 1
    assert get(api_client, "/api/v1/products/").json()["count"] == 0


def test_admin_write_is_visible_on_the_next_get(api_client, admin_user):
    product = ProductFactory(name="Before")
    admin_user.is_staff = True
    admin_user.is_superuser = True
    admin_user.save()
    browser = Client()
    browser.force_login(admin_user)
    get(api_client, f"/api/v1/products/{product.id}/")
    response = browser.post(
        f"/admin/catalog/product/{product.id}/change/",
        {
            "name": "After",
            "slug": product.slug,
            "sku": product.sku,
            "description": "",
            "price": "5.00",
            "category": str(product.category_id),
            "brand": str(product.brand_id),
            "attributes": "{}",
            "is_active": "on",
            "images-TOTAL_FORMS": "0",
            "images-INITIAL_FORMS": "0",
            "reviews-TOTAL_FORMS": "0",
            "reviews-INITIAL_FORMS": "0",
            "stock_moves-TOTAL_FORMS": "0",
            "stock_moves-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    detail = get(api_client, f"/api/v1/products/{product.id}/")
    assert detail["X-Cache"] == "MISS" and detail.json()["name"] == "After"


def test_admin_bulk_deactivate_invalidates(api_client, admin_user):
    product = ProductFactory()
    admin_user.is_staff = admin_user.is_superuser = True
    admin_user.save()
    browser = Client()
    browser.force_login(admin_user)
    assert get(api_client, "/api/v1/products/").json()["count"] == 1
    browser.post(
        "/admin/catalog/product/", {"action": "deactivate", "_selected_action": [str(product.id)], "index": "0"}
    )
    assert not Product.objects.get(pk=product.pk).is_active
    assert get(api_client, "/api/v1/products/").json()["count"] == 0


def test_stock_change_from_checkout_is_visible(api_client):
    from django.db import transaction

    product = ProductFactory(stock_quantity=5)
    get(api_client, f"/api/v1/products/{product.id}/")
    with transaction.atomic():
        Product.objects.filter(pk=product.pk).update(stock_quantity=2)
        product_stock_changed([product.pk])
    assert get(api_client, f"/api/v1/products/{product.id}/").json()["stock_quantity"] == 2


ADDRESS = {"full_name": "B", "line1": "1 St", "city": "Oslo", "postal_code": "1", "country": "NO"}


def checkout(client, product, quantity, key):
    placed = client.post(
        "/api/v1/orders/",
        {"items": [{"product_id": str(product.id), "quantity": quantity}], "shipping_address": ADDRESS},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key,
    )
    assert placed.status_code == 201, placed.content
    return placed


def stock_by_id(response):
    return {p["id"]: (p["stock_quantity"], p["in_stock"]) for p in response.json()["results"]}


def test_after_a_checkout_cached_pages_stay_hits_and_show_the_new_stock(api_client, customer_client, settings):
    """Orders no longer empty the catalog cache: the cached list, the product's detail and
    the facets are still hits, and the stock they show is the stock after the order."""
    bought, other = ProductFactory(stock_quantity=5), ProductFactory(stock_quantity=7)
    pages = ["/api/v1/products/", f"/api/v1/products/{bought.id}/", "/api/v1/products/facets/"]
    for path in pages:
        assert get(api_client, path)["X-Cache"] == "MISS"

    checkout(customer_client, bought, 2, "cache-test-order")

    listed, detail, facets = (get(api_client, path) for path in pages)
    assert [listed["X-Cache"], detail["X-Cache"], facets["X-Cache"]] == ["HIT", "HIT", "HIT"]
    assert stock_by_id(listed) == {str(bought.id): (3, True), str(other.id): (7, True)}
    assert (detail.json()["stock_quantity"], detail.json()["in_stock"]) == (3, True)
    settings.CATALOG_CACHE_ENABLED = False  # the same page rendered from the database
    assert listed.content == get(api_client, "/api/v1/products/").content


def test_a_hit_after_a_stock_move_reads_stock_once_then_not_at_all(
    api_client, customer_client, django_assert_max_num_queries
):
    bought = ProductFactory(stock_quantity=5)
    get(api_client, "/api/v1/products/")
    checkout(customer_client, bought, 1, "cache-test-one-query")
    with django_assert_max_num_queries(1):  # SELECT id, stock_quantity ... WHERE id IN (page ids)
        assert get(api_client, "/api/v1/products/")["X-Cache"] == "HIT"
    with django_assert_max_num_queries(0):
        assert get(api_client, "/api/v1/products/")["X-Cache"] == "HIT"


def test_staff_see_exact_stock_on_the_next_get_after_any_write(api_client, manager_client):
    from django.db import transaction

    product = ProductFactory(stock_quantity=5)
    detail, listing = f"/api/v1/products/{product.id}/", "/api/v1/products/"
    for client in (manager_client, api_client):
        get(client, detail), get(client, listing)

    assert manager_client.patch(detail, {"stock_quantity": 9}).status_code == 200  # an edit
    for client in (manager_client, api_client):
        assert get(client, detail).json()["stock_quantity"] == 9
        assert get(client, listing).json()["results"][0]["stock_quantity"] == 9

    with transaction.atomic():  # a stock move (checkout, cancellation, adjustment)
        Product.objects.filter(pk=product.pk).update(stock_quantity=0)
        product_stock_changed([product.pk])
    for client in (manager_client, api_client):
        assert get(client, detail).json()["in_stock"] is False
        assert get(client, listing).json()["results"][0]["stock_quantity"] == 0


def test_in_stock_filtered_pages_change_only_when_a_product_crosses_zero(api_client, customer_client):
    scarce, plenty = ProductFactory(stock_quantity=2), ProductFactory(stock_quantity=50)
    pages = ["/api/v1/products/?in_stock=true", "/api/v1/products/facets/?in_stock=true"]
    for path in pages:
        get(api_client, path)

    checkout(customer_client, scarce, 1, "cache-test-2-to-1")  # still in stock: membership unchanged
    assert [get(api_client, path)["X-Cache"] for path in pages] == ["HIT", "HIT"]
    assert stock_by_id(get(api_client, pages[0]))[str(scarce.id)] == (1, True)

    checkout(customer_client, scarce, 1, "cache-test-1-to-0")  # sold out: it leaves the in-stock list
    listed, facets = (get(api_client, path) for path in pages)
    assert [listed["X-Cache"], facets["X-Cache"]] == ["MISS", "MISS"]
    assert list(stock_by_id(listed)) == [str(plenty.id)] and facets.json()["total"] == 1


def test_a_move_reported_without_deltas_is_assumed_to_cross_zero(api_client):
    from django.db import transaction

    product = ProductFactory(stock_quantity=0)
    assert get(api_client, "/api/v1/products/?in_stock=true").json()["count"] == 0
    with transaction.atomic():
        Product.objects.filter(pk=product.pk).update(stock_quantity=4)
        product_stock_changed([product.pk])
    listed = get(api_client, "/api/v1/products/?in_stock=true")
    assert listed["X-Cache"] == "MISS" and listed.json()["count"] == 1


def test_restocking_from_zero_with_deltas_brings_the_product_back(api_client):
    from django.db import transaction

    product = ProductFactory(stock_quantity=0)
    assert get(api_client, "/api/v1/products/?in_stock=true").json()["count"] == 0
    with transaction.atomic():
        Product.objects.filter(pk=product.pk).update(stock_quantity=3)
        product_stock_changed({product.pk: 3})
    assert get(api_client, "/api/v1/products/?in_stock=true").json()["count"] == 1


def test_a_stock_fill_that_raced_a_move_is_never_served(api_client, monkeypatch):
    """The per-product stock entry is stamped with the product's stock token read before
    the database: a move committed after the read (and its token bump) makes it stale."""
    from django.db import transaction

    from catalog import cache as catalog_cache
    from catalog import selectors

    product = ProductFactory(stock_quantity=5)
    get(api_client, "/api/v1/products/")
    with transaction.atomic():
        Product.objects.filter(pk=product.pk).update(stock_quantity=4)
        product_stock_changed([product.pk])

    real = selectors.product_stock_levels

    def read_then_a_move_commits(ids):
        levels = real(ids)  # 4, read from the database...
        with transaction.atomic():  # ...then a checkout commits and bumps the token
            Product.objects.filter(pk=product.pk).update(stock_quantity=1)
            product_stock_changed([product.pk])
        return levels

    monkeypatch.setattr(catalog_cache, "product_stock_levels", read_then_a_move_commits)
    assert get(api_client, "/api/v1/products/").json()["results"][0]["stock_quantity"] == 4
    monkeypatch.setattr(catalog_cache, "product_stock_levels", real)
    assert get(api_client, "/api/v1/products/").json()["results"][0]["stock_quantity"] == 1


def test_hits_and_misses_are_counted_for_staff_stats(api_client, manager_client):
    ProductFactory()
    before = get(manager_client, "/api/v1/products/stats/").json()["cache"]
    for _ in range(3):
        get(api_client, "/api/v1/products/")
    after = get(manager_client, "/api/v1/products/stats/").json()["cache"]
    assert (after["hits"] - before["hits"], after["misses"] - before["misses"]) == (2, 1)
    assert 0 <= after["hit_ratio"] <= 1


def test_a_catalog_write_invalidates_every_detail(api_client, manager_client):
    product, other = ProductFactory(), ProductFactory()
    get(api_client, f"/api/v1/products/{other.id}/")
    assert manager_client.patch(f"/api/v1/products/{product.id}/", {"name": "Renamed"}).status_code == 200
    # A write may change what every detail embeds (category, brand names): all miss.
    assert get(api_client, f"/api/v1/products/{other.id}/")["X-Cache"] == "MISS"


def test_category_write_invalidates_the_tree(api_client, manager_client):
    CategoryFactory(name="Old")
    get(api_client, "/api/v1/categories/tree/")
    assert manager_client.post("/api/v1/categories/", {"name": "Brand new"}).status_code == 201
    tree = get(api_client, "/api/v1/categories/tree/")
    assert tree["X-Cache"] == "MISS" and "Brand new" in [n["name"] for n in tree.json()]


def test_cache_setting_off_bypasses(api_client, settings):
    settings.CATALOG_CACHE_ENABLED = False
    ProductFactory()
    get(api_client, "/api/v1/products/")
    assert get(api_client, "/api/v1/products/")["X-Cache"] == "MISS"


def test_cache_outage_only_means_misses(api_client):
    ProductFactory()
    # django-redis with IGNORE_EXCEPTIONS answers every read with the default when Redis is down.
    down = mock.patch("catalog.cache.cache.get", side_effect=lambda key, default=None, **kw: default)
    down_many = mock.patch("catalog.cache.cache.get_many", return_value={})
    with down, down_many, mock.patch("catalog.cache.cache.add"), mock.patch("catalog.cache.cache.set"):
        assert get(api_client, "/api/v1/products/")["X-Cache"] == "MISS"
        assert get(api_client, "/api/v1/products/")["X-Cache"] == "MISS"


def test_an_encoded_ampersand_does_not_share_an_entry_with_two_filters(api_client):
    """Security finding 6: one `brand` value holding `&search=` used to produce the same
    cache key as the two filters, so the empty answer to the first poisoned the second."""
    from tests.catalog.factories import BrandFactory

    ProductFactory(brand=BrandFactory(slug="acme"), name="Breathable tee")
    poisoned = get(api_client, "/api/v1/products/?brand=acme%26search%3DBreathable")
    assert poisoned.json()["count"] == 0
    real = get(api_client, "/api/v1/products/?brand=acme&search=Breathable")
    assert real["X-Cache"] == "MISS" and real.json()["count"] == 1
    assert get(api_client, "/api/v1/products/?search=Breathable&brand=acme")["X-Cache"] == "HIT"


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ([("brand", "x&search=y")], [("brand", "x"), ("search", "y")]),
        ([("brand", "x=y")], [("brand=x", "y")]),
        ([("a", "1"), ("a", "2")], [("a", "1&a=2")]),
        ([("a", "%26")], [("a", "&")]),
    ],
)
def test_cache_keys_are_built_from_the_parsed_parameters(one, other):
    from catalog.cache import response_cache_key

    key = lambda query: response_cache_key("products", "public", "http://testserver/api/v1/products/", query)  # noqa: E731
    assert key(one) != key(other)
    assert key([("b", "2"), ("a", "1")]) == key([("a", "1"), ("b", "2")])


def test_the_representation_variant_is_part_of_the_key(api_client, settings):
    ProductFactory()
    get(api_client, "/api/v1/products/")
    settings.CURRENCY = "EUR"
    listed = get(api_client, "/api/v1/products/")
    assert listed["X-Cache"] == "MISS" and listed.json()["results"][0]["currency"] == "EUR"
    indented = api_client.get("/api/v1/products/", HTTP_ACCEPT="application/json; indent=2")
    assert indented["X-Cache"] == "MISS" and indented.content.startswith(b"{\n")


# --- a miss stores the stock it rendered (catalog.cache.store_page, stock_tokens_since) ------


def _move_stock(product, quantity):
    from django.db import transaction

    with transaction.atomic():
        Product.objects.filter(pk=product.pk).update(stock_quantity=quantity)
        product_stock_changed({product.pk: quantity - product.stock_quantity})


def test_a_miss_reads_the_stock_once(api_client, django_assert_num_queries, settings):
    """The stock the page was rendered with is stored as it is: no second stock read."""
    for name in "abc":
        ProductFactory(name=name, stock_quantity=4)
    # Known from here on: the count and the stock sequence (not the stock of product "c").
    get(api_client, "/api/v1/products/?ordering=name&page_size=1")
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        assert get(api_client, "/api/v1/products/?ordering=-name&page_size=1")["X-Cache"] == "MISS"
    # selectors.product_stock_levels (its annotation `level`): not run again
    assert queries and not [q["sql"] for q in queries if 'AS "level"' in q["sql"]]
    with django_assert_num_queries(0):
        assert get(api_client, "/api/v1/products/?ordering=-name&page_size=1")["X-Cache"] == "HIT"


@pytest.mark.parametrize("path", ["/api/v1/products/", "detail"])
def test_a_stock_move_between_the_render_and_the_store_is_never_served_stale(api_client, path):
    """A move that commits after the page read the stock, before the page is stored: the
    stored page must not vouch for the old level (the next GET shows the new one)."""
    from catalog import views

    product = ProductFactory(stock_quantity=5)
    url = f"/api/v1/products/{product.id}/" if path == "detail" else path
    get(api_client, "/api/v1/products/?ordering=name")  # the stock sequence is known from here on
    real_render, real_cut = views.render_stock_template, views.cut_stock_template
    moved = []

    def render_then_move(rows, render):
        moved.append(_move_stock(product, 2))  # the rows already hold 5
        return real_render(rows, render)

    def cut_then_move(content, slot, levels):  # the list's items as the database wrote them
        moved.append(_move_stock(product, 2))
        return real_cut(content, slot, levels)

    with (
        mock.patch.object(views, "render_stock_template", render_then_move),
        mock.patch.object(views, "cut_stock_template", cut_then_move),
    ):
        first = get(api_client, url)
    assert len(moved) == 1
    assert first["X-Cache"] == "MISS"
    again = get(api_client, url)
    data = again.json()
    shown = data["results"][0]["stock_quantity"] if path != "detail" else data["stock_quantity"]
    assert again["X-Cache"] == "HIT" and shown == 2


def test_a_lost_stock_sequence_makes_the_miss_read_the_stock_again(api_client):
    from django.core.cache import cache

    from catalog.cache import STOCK_SEQUENCE_KEY

    product = ProductFactory(stock_quantity=5)
    get(api_client, "/api/v1/products/?ordering=price")
    cache.delete(STOCK_SEQUENCE_KEY)  # evicted between two requests
    assert get(api_client, "/api/v1/products/?ordering=name").json()["results"][0]["stock_quantity"] == 5
    _move_stock(product, 1)
    listed = get(api_client, "/api/v1/products/?ordering=name")
    assert listed["X-Cache"] == "HIT" and listed.json()["results"][0]["stock_quantity"] == 1


def test_a_process_serves_the_entry_it_holds_while_its_stamp_and_stock_are_current(api_client):
    """catalog.cache holds the entries it stored or read: a hit serves the held bytes
    without fetching them while the stamp and the stock sequence are where the entry saw
    them; after a stock move it reads what Redis holds (here: the real page, filled in
    with the new level), after a catalog write it misses."""
    from catalog import cache as catalog_cache
    from catalog.cache import bump_catalog_generation

    product, _ = ProductFactory.create_batch(2)
    catalog_cache._local_entries.clear()
    get(api_client, "/api/v1/products/")
    [key] = [k for k in catalog_cache._local_entries if ":products:" in k]
    entry, size, until = catalog_cache._local_entries[key]
    held = (*entry[:4], {"": b'{"held": true}'}, *entry[5:])
    catalog_cache._local_entries[key] = (held, size, until)
    assert get(api_client, "/api/v1/products/").content == b'{"held": true}'  # the held copy, no fetch

    _move_stock(product, 1)
    moved = get(api_client, "/api/v1/products/")
    assert moved["X-Cache"] == "HIT"
    assert {p["id"]: p["stock_quantity"] for p in moved.json()["results"]}[str(product.pk)] == 1

    catalog_cache._local_entries[key] = (held, size, until)
    bump_catalog_generation()
    assert get(api_client, "/api/v1/products/")["X-Cache"] == "MISS"


def test_a_held_entry_is_served_no_longer_than_the_cache_ttl(api_client):
    """Even with its stamp current: once the TTL has passed since this process stored or
    fetched it, a hit reads what Redis holds (here: nothing, it expired too)."""
    from django.core.cache import cache

    from catalog import cache as catalog_cache

    ProductFactory.create_batch(2)
    catalog_cache._local_entries.clear()
    get(api_client, "/api/v1/products/")
    [key] = [k for k in catalog_cache._local_entries if ":products:" in k]
    entry, size, _ = catalog_cache._local_entries[key]
    cache.delete(key)  # expired in Redis
    assert get(api_client, "/api/v1/products/")["X-Cache"] == "HIT"  # the held copy, within its TTL
    catalog_cache._local_entries[key] = (entry, size, time.monotonic() - 1)  # its TTL has passed
    assert get(api_client, "/api/v1/products/")["X-Cache"] == "MISS"


def test_held_entries_stay_within_their_byte_budget(settings):
    from catalog import cache as catalog_cache

    settings.CATALOG_LOCAL_ENTRIES_BYTES = 5000
    catalog_cache._local_entries.clear()
    catalog_cache._local_bytes[0] = 0
    entry = lambda n: ((), (), (), (), {"": b"x" * n}, {}, None)  # noqa: E731
    for i in range(10):
        catalog_cache._keep_local(f"k{i}", entry(1000))
    assert catalog_cache._local_bytes[0] <= 5000 and list(catalog_cache._local_entries)[-1] == "k9"
    assert "k0" not in catalog_cache._local_entries
    catalog_cache._keep_local("huge", entry(10_000))  # larger than the budget: not held
    assert "huge" not in catalog_cache._local_entries


def test_an_anonymous_list_miss_reads_its_count_with_the_page_entry(api_client, monkeypatch):
    """The early path reads the list's remembered count in the round trip that finds the
    page missing (catalog.middleware), and the view counts nothing and asks for nothing more."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from catalog import cache as catalog_cache
    from catalog.cache import list_count_key

    ProductFactory.create_batch(3)
    get(api_client, "/api/v1/products/?ordering=name&page_size=1")  # the count is remembered
    count_key = list_count_key("public", "/api/v1/products/", [])
    reads = []
    real = catalog_cache.cache.get_many

    def get_many(keys, *args, **kwargs):
        reads.append(list(keys))
        return real(keys, *args, **kwargs)

    monkeypatch.setattr(catalog_cache.cache, "get_many", get_many)
    with CaptureQueriesContext(connection) as queries:
        assert get(api_client, "/api/v1/products/?ordering=-name&page_size=1&page=2")["X-Cache"] == "MISS"
    with_count = [keys for keys in reads if count_key in keys]
    assert len(with_count) == 1 and ":products:" in with_count[0][0]  # read with the page's entry
    assert not [q["sql"] for q in queries if "COUNT(" in q["sql"].upper()]
    listed = get(api_client, "/api/v1/products/?ordering=-name&page_size=1&page=3").json()
    assert listed["count"] == 3


def test_a_products_stock_key_is_the_same_whatever_the_spelling_of_its_id():
    """The canonical spelling (PostgreSQL's, str(UUID)'s) is taken as it is; any other is
    parsed; what is not a UUID is refused."""
    import uuid

    from catalog.cache import product_stock_key

    pk = uuid.UUID("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0")
    expected = "catalog:stock:0f1e2d3c4b5a69788796a5b4c3d2e1f0"
    for spelling in (pk, str(pk), str(pk).upper(), pk.hex, "{" + str(pk) + "}", f"urn:uuid:{pk}"):
        assert product_stock_key(spelling) == expected
    for bad in ("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f", "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1fg", "x" * 36, ""):
        with pytest.raises(ValueError):
            product_stock_key(bad)


@pytest.mark.parametrize("encoding", [None, "gzip"])
def test_every_stock_move_is_refilled_from_the_entry(api_client, encoding):
    """Move after move, each a hit with the new level: the refill keeps the entry's layout,
    and so does the entry a compressing client had an encoding added to."""
    headers = {"HTTP_ACCEPT_ENCODING": encoding} if encoding else {}
    products = ProductFactory.create_batch(3, stock_quantity=5)
    url = "/api/v1/products/?ordering=name"
    assert api_client.get(url, **headers)["X-Cache"] == "MISS"
    assert api_client.get(url, **headers)["X-Cache"] == "HIT"
    for n, level in enumerate([3, 8, 0, 4]):
        product = products[n % 3]
        _move_stock(product, level)
        product.stock_quantity = level
        listed = api_client.get(url)  # the identity
        assert listed["X-Cache"] == "HIT", (n, level)
        assert {p["id"]: p["stock_quantity"] for p in listed.json()["results"]}[str(product.pk)] == level
        assert api_client.get(url, **headers)["X-Cache"] == "HIT"


def test_a_parent_page_is_refilled_byte_for_byte(api_client, settings, tmp_path):
    """A page of parents (their stock the sum of their variants'), refilled after moves of
    its variants, is the page an uncached read renders."""
    import io

    from catalog import demo
    from catalog.models import ProductStructure, StockReason
    from catalog.services import stock_move

    settings.MEDIA_ROOT = str(tmp_path)
    demo.load(io.StringIO())
    url = "/api/v1/products/?search=merino&ordering=name"
    assert get(api_client, url)["X-Cache"] == "MISS"
    parent = Product.objects.get(structure=ProductStructure.PARENT, name__icontains="merino")
    for n, variant in enumerate(Product.objects.filter(parent=parent).order_by("sku")[:3]):
        stock_move(variant.pk, set_to=11 + n * 7, reason=StockReason.ADJUSTMENT)
        refilled = get(api_client, url)
        assert refilled["X-Cache"] == "HIT"
        settings.CATALOG_CACHE_ENABLED = False
        fresh = get(api_client, url)
        settings.CATALOG_CACHE_ENABLED = True
        assert refilled.content == fresh.content
