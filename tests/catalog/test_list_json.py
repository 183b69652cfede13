"""A product list page whose items PostgreSQL writes as JSON text (catalog.selectors.PageJSON):
sent as they are, with their stock fields cut out and filled in (catalog.cache.
cut_stock_template), and read by a prepared statement (core.statements). Every item must be
what ProductSerializer gives; what only Python writes right (attribute values that are not
text, numbers or booleans, file names a URL must quote, another storage) is built in Python.
tests/catalog/test_list_fast_path.py compares whole lists; these pin the choices."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog import selectors
from catalog.cache import cut_stock_template, fill_template, layout_template, template_layout
from catalog.models import Product, ProductImage
from catalog.services import bump_catalog_generation
from core.statements import fetch_prepared
from tests.catalog.factories import CategoryFactory, ProductFactory
from tests.catalog.test_list_fast_path import expected, listed
from tests.catalog.test_variants import make_family

pytestmark = pytest.mark.django_db

URL = "/api/v1/products/?page_size=100"


@pytest.fixture
def reads(monkeypatch):
    """How each page was read: True when the database wrote its items, False when it gave
    them up to Python (a page with something only Python writes right)."""
    seen = []
    real = selectors._read_json_items

    def spy(*args, **kwargs):
        items = real(*args, **kwargs)
        seen.append(items is not None)
        return items

    monkeypatch.setattr(selectors, "_read_json_items", spy)
    return seen


def _all_as_the_serializer_writes(client, user=None):
    items = listed(client, URL)
    assert items and all(item == expected(item["id"], user) for item in items)
    return items


@pytest.mark.postgres
@pytest.mark.parametrize("who", ["api_client", "manager_client"])
def test_the_database_writes_a_plain_page(request, reads, who):
    parent, variants = make_family(sku="JS", category=CategoryFactory())
    Product.objects.filter(pk=variants[0].pk).update(is_active=False)
    ProductFactory(attributes={"colour": "grün", "size": 42, "eco": True, "ratio": 1.5}, description='"quoted"\n')
    ProductImage.objects.create(
        product=parent, image="products/ab/c-d_e.1.jpg", width=10, height=5, thumbnails={"small": "t/s.webp"}
    )
    bump_catalog_generation()
    user = request.getfixturevalue("manager") if who == "manager_client" else None
    items = _all_as_the_serializer_writes(request.getfixturevalue(who), user)
    assert reads == [True]
    family = next(item for item in items if item["sku"] == "JS")
    # The parent shows its active variants' stock (3 of the 5 + 0 left once S is inactive).
    assert family["stock_quantity"] == 5 and family["price_range"] == {"min": "12.00", "max": "15.00"}
    assert family["images"][0]["url"] == "/media/products/ab/c-d_e.1.jpg"
    assert family["images"][0]["thumbnails"] == {"small": "/media/t/s.webp", "medium": None, "large": None}


@pytest.mark.postgres
@pytest.mark.parametrize(
    "attributes", [{"tags": ["a", "b"]}, {"none": None}, {"nested": {"x": 1}}], ids=["list", "null", "object"]
)
@pytest.mark.parametrize("on", ["product", "variant"])
def test_attribute_values_only_python_writes_send_the_page_built_in_python(api_client, reads, attributes, on):
    """Written only by imports of old data (the API keeps attributes to text, numbers and
    booleans): Python shows such a value as its text, so the page is built there."""
    parent, variants = make_family(sku="OLD", category=CategoryFactory())
    target = parent if on == "product" else variants[1]
    Product.objects.filter(pk=target.pk).update(attributes=attributes)
    ProductFactory()
    bump_catalog_generation()
    _all_as_the_serializer_writes(api_client)
    assert reads == [False]


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("image", "thumbnails"),
    [
        ("products/a b/ü.jpg", {}),  # quoted in its URL
        ("products/../x.jpg", {}),  # a segment urljoin would resolve
        ("products/x.jpg", {"small": "t/ä.webp"}),
        ("products/x.jpg", {"small": 5}),  # not a name
    ],
)
def test_file_names_a_url_must_quote_send_the_page_built_in_python(api_client, reads, image, thumbnails):
    product = ProductFactory()
    ProductImage.objects.create(product=product, image=image, width=1, height=1, thumbnails=thumbnails)
    bump_catalog_generation()
    if thumbnails.get("small") == 5:  # Python cannot write that one either: the database must not
        assert selectors._read_json_items([product.pk], staff=False, slot='"@@x@@"', using="default") is None
        return
    _all_as_the_serializer_writes(api_client)
    assert reads == [False]


@pytest.mark.postgres
def test_an_absolute_media_url_is_the_prefix_of_every_file(api_client, settings, reads):
    settings.MEDIA_URL = "https://cdn.example.com/media/"
    product = ProductFactory()
    ProductImage.objects.create(product=product, image="p/1.jpg", width=1, height=1, thumbnails={"large": "p/1.l.webp"})
    bump_catalog_generation()
    [item] = _all_as_the_serializer_writes(api_client)
    assert item["images"][0]["url"] == "https://cdn.example.com/media/p/1.jpg" and reads == [True]


@pytest.mark.postgres
def test_another_storage_builds_every_page_in_python(api_client, settings, reads):
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"}}
    ProductImage.objects.create(product=ProductFactory(), image="p/1.jpg", width=1, height=1)
    bump_catalog_generation()
    assert selectors.page_json_media_prefix() is None
    _all_as_the_serializer_writes(api_client)
    assert reads == []  # not even asked


@pytest.mark.postgres
def test_an_indented_answer_and_the_browsable_api_are_built_in_python(api_client, reads):
    ProductFactory()
    assert api_client.get(URL, HTTP_ACCEPT="application/json; indent=2").status_code == 200
    assert api_client.get(URL, HTTP_ACCEPT="text/html").status_code == 200
    assert reads == []
    assert api_client.get(URL).status_code == 200 and reads == [True]


@pytest.mark.postgres
def test_a_search_page_is_written_by_the_database_too(api_client, reads):
    from django.core.management import call_command

    ProductFactory(name="Trail runner")
    ProductFactory(name="Road runner")
    call_command("rebuild_search_index", verbosity=0)
    items = listed(api_client, "/api/v1/products/?search=runner")
    assert len(items) == 2 and all(item == expected(item["id"]) for item in items) and reads == [True]


def test_cutting_a_page_at_its_placeholders():
    slot = b'"@@n0nce@@"'
    content = b'{"a":' + slot + b',"b":' + slot + b',"c":' + slot + b',"v":[' + b",".join([slot] * 3) + b"]}"
    levels = {"p": (4, "2026-01-01T00:00:00Z"), "v": (0, "2026-01-02T00:00:00.5Z")}
    filled, template = cut_stock_template(content, slot, levels)
    assert filled == b'{"a":4,"b":true,"c":"2026-01-01T00:00:00Z","v":[0,false,"2026-01-02T00:00:00.5Z"]}'
    assert fill_template(template, {**levels, "p": (0, "x")}).startswith(b'{"a":0,"b":false,"c":"x"')
    # Not three placeholders per product: not cut (the page is then built in Python).
    assert cut_stock_template(content, slot, {"p": levels["p"]}) is None
    assert cut_stock_template(content + slot, slot, levels) is None


def test_a_refill_cuts_the_page_out_of_the_bytes_the_entry_holds():
    """The cache keeps no template beside an entry (a second copy of the page): its layout
    (catalog.cache.template_layout) and the levels it shows give the template back, and
    bytes that do not show those levels where the layout says give none."""
    slot = b'"@@n0nce@@"'
    content = b'{"a":' + slot + b',"b":' + slot + b',"c":' + slot + b',"v":[' + b",".join([slot] * 3) + b"]}"
    levels = {"p": (4, "2026-01-01T00:00:00Z"), "v": (0, "2026-01-02T00:00:00.5Z")}
    filled, template = cut_stock_template(content, slot, levels)
    layout = template_layout(template)
    shown = (levels["p"], levels["v"])
    assert layout_template(filled, layout, shown) == template
    moved = {**levels, "p": (12, "2026-01-03T00:00:00Z")}
    refilled = fill_template(template, moved)
    assert layout_template(refilled, layout, (moved["p"], moved["v"])) == template  # the same layout after a refill
    assert layout_template(refilled, layout, shown) is None  # not the levels these bytes show
    assert layout_template(filled[:-1], layout, shown)[0][-1] == b"]"  # the tail is whatever follows the last value
    assert layout_template(filled, layout, shown[:1]) is None
    assert template_layout(([b"{}"], [], [])) is None  # no stock fields: nothing to refill


@pytest.mark.postgres
def test_the_page_statement_is_prepared_once_per_connection(api_client, settings):
    settings.CATALOG_CACHE_ENABLED = False  # every GET reads the page
    ProductFactory()
    for _ in range(3):
        assert api_client.get(URL).status_code == 200
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), max(generic_plans + custom_plans) FROM pg_prepared_statements"
            " WHERE statement LIKE 'WITH k AS (SELECT $1::text AS slot%%'"
        )
        (prepared, runs) = cursor.fetchone()
    assert prepared == 1 and runs >= 3


@pytest.mark.postgres
def test_fixed_statements_are_not_prepared_when_the_database_options_say_so(monkeypatch):
    connection.ensure_connection()
    sql = "SELECT %s::int + 40 AS answer_not_prepared"
    monkeypatch.setattr(connection.connection, "prepare_threshold", None)
    with CaptureQueriesContext(connection) as queries:
        assert fetch_prepared("default", sql, [2]) == [(42,)]
    assert queries.captured_queries[0]["sql"] == "SELECT 2::int + 40 AS answer_not_prepared"
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE '%%answer_not_prepared%%'")
        assert cursor.fetchone() == (0,)


def test_prepared_statements_follow_the_setting(monkeypatch):
    from ecommerce.settings.base import database_settings

    monkeypatch.setenv("DATABASE_URL", "postgres://u@127.0.0.1:5432/shop")
    assert database_settings(pool_default=False)["default"]["OPTIONS"]["prepare_threshold"] == 5
    monkeypatch.setenv("DB_PREPARED_STATEMENTS", "false")
    assert database_settings(pool_default=False)["default"]["OPTIONS"]["prepare_threshold"] is None


@pytest.mark.postgres
def test_the_levels_are_what_the_cache_reads_on_a_hit():
    """A refill after a stock move uses selectors.product_stock_levels and iso_utc: the
    levels the database wrote must be the same text, or pages would change bytes for
    nothing."""
    from core.formats import iso_utc

    parent, variants = make_family(sku="LV", category=CategoryFactory())
    Product.objects.filter(pk=variants[2].pk).update(updated_at="2026-03-04T05:06:07Z")  # no microseconds
    items = selectors._read_json_items([parent.pk], staff=True, slot='"@@s@@"', using="default")
    levels = selectors.json_item_levels(items)
    live = selectors.product_stock_levels(levels)
    assert levels == {pk: (quantity, iso_utc(updated_at)) for pk, (quantity, updated_at) in live.items()}
    assert levels[str(variants[2].pk)][1] == "2026-03-04T05:06:07Z"


def _other_connection():
    import psycopg

    params = connection.get_connection_params()
    return psycopg.connect(
        dbname=connection.settings_dict["NAME"],
        host=params.get("host"),
        port=params.get("port"),
        user=params.get("user"),
        autocommit=True,
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_migration_widening_a_column_leaves_the_prepared_page_working(api_client, settings):
    """The next release's migration, run while this one serves: PostgreSQL refuses to run a
    prepared statement whose result type changed (a 500 on every list page of every
    connection that had prepared it, until it closed); the statement's columns carry no
    length, so the type does not change."""
    settings.CATALOG_CACHE_ENABLED = False
    ProductFactory()
    for _ in range(2):
        assert api_client.get(URL).status_code == 200
    other = _other_connection()
    try:
        other.execute("ALTER TABLE catalog_product ALTER COLUMN name TYPE varchar(300)")
        assert [api_client.get(URL).status_code for _ in range(3)] == [200, 200, 200]
    finally:
        other.execute("ALTER TABLE catalog_product ALTER COLUMN name TYPE varchar(255)")
        other.close()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_prepared_statement_gone_behind_psycopgs_back_is_prepared_again(api_client, settings, caplog):
    settings.CATALOG_CACHE_ENABLED = False
    ProductFactory()
    assert api_client.get(URL).status_code == 200
    with connection.cursor() as cursor:  # as a pooler or another tool would: psycopg does not see it
        cursor.execute("SELECT name FROM pg_prepared_statements WHERE statement LIKE 'WITH k AS%%'")
        [(name,)] = cursor.fetchall()
        cursor.execute(f'DEALLOCATE "{name}"')
    assert api_client.get(URL).status_code == 200
    assert "prepared statements of default dropped" in caplog.text
    assert api_client.get(URL).status_code == 200


@pytest.mark.postgres
def test_a_product_deactivated_between_the_ids_and_the_page_is_left_out(api_client, settings, monkeypatch):
    """The page's ids and its rows are two statements: a product deactivated in between is
    not shown to customers (staff see inactive products anyway)."""
    settings.CATALOG_CACHE_ENABLED = False
    first, second = ProductFactory(), ProductFactory()
    real = selectors._read_json_items

    def deactivate_then_read(ids, **kwargs):
        Product.objects.filter(pk=first.pk).update(is_active=False)
        return real(ids, **kwargs)

    monkeypatch.setattr(selectors, "_read_json_items", deactivate_then_read)
    assert [item["id"] for item in listed(api_client, URL)] == [str(second.pk)]
