"""Cursor paging is a row comparison the keyset index can seek on (PostgreSQL)."""

from urllib.parse import parse_qs, urlparse

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.catalog.factories import ProductFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]
URL = "/api/v1/products/"


@pytest.mark.parametrize(
    ("ordering", "index"), [("-created_at", "catalog_prod_active_created"), ("price", "catalog_prod_active_price_cov")]
)
def test_a_cursor_page_is_an_index_range_scan(api_client, settings, ordering, index):
    settings.CATALOG_CACHE_ENABLED = False
    for _ in range(5):
        ProductFactory()
    first = api_client.get(URL, {"ordering": ordering, "cursor": "", "page_size": 2}).json()
    cursor = parse_qs(urlparse(first["next"]).query)["cursor"][0]
    with CaptureQueriesContext(connection) as ctx:
        assert api_client.get(URL, {"ordering": ordering, "cursor": cursor, "page_size": 2}).status_code == 200
    # The page's ids: the last ORM query of products (the rows are then read by id).
    page_sql = [q["sql"] for q in ctx.captured_queries if 'FROM "catalog_product"' in q["sql"]][-1]
    with connection.cursor() as cursor_:
        cursor_.execute("SET LOCAL enable_seqscan = off")  # a 5-row table is cheaper to scan whole
        cursor_.execute("SET LOCAL enable_sort = off")  # ... or to sort (the plan flipped with the statistics)
        cursor_.execute(f"EXPLAIN {page_sql}")
        plan = "\n".join(row[0] for row in cursor_.fetchall())
    # The page's ids are picked in the index alone (catalog.pagination.page_rows).
    assert f"Index Only Scan using {index}" in plan, plan
    assert "Index Cond: (ROW(" in plan, plan
