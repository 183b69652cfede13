"""The full-text GIN index covers only products that are not variants (parent_id IS NULL):
every search goes through the product list, which never shows a variant.

Indexing the variants (more than half the rows of a catalog with variant families) made
the index half again as big, and the planner combined it with a second index for
`parent_id IS NULL` (a bitmap of ~450,000 rows on 1M products, most of a rare term's time)
or scanned the table for a common one. The partial index answers `parent_id IS NULL AND
search_vector @@ q` alone. Built CONCURRENTLY before the old one is dropped CONCURRENTLY
(searches and writes go on); PostgreSQL only, like the search trigger (0003)."""

from django.db import migrations

NEW = "catalog_prod_search_top_gin"
OLD = "catalog_prod_search_gin"


def _concurrently(schema_editor) -> str:
    # Outside a transaction (migrate runs this migration so) the builds do not block
    # writes; inside one (a test wrapping migrations) CONCURRENTLY is not allowed.
    return "" if schema_editor.connection.in_atomic_block else "CONCURRENTLY"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    how = _concurrently(schema_editor)
    schema_editor.execute(
        f"CREATE INDEX {how} IF NOT EXISTS {NEW} ON catalog_product USING gin (search_vector) WHERE parent_id IS NULL"
    )
    schema_editor.execute(f"DROP INDEX {how} IF EXISTS {OLD}")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    how = _concurrently(schema_editor)
    schema_editor.execute(f"CREATE INDEX {how} IF NOT EXISTS {OLD} ON catalog_product USING gin (search_vector)")
    schema_editor.execute(f"DROP INDEX {how} IF EXISTS {NEW}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("catalog", "0010_product_variant_price_max")]

    operations = [migrations.RunPython(forwards, backwards)]
