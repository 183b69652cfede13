"""Product.variant_price_max (the highest price of a parent's active variants), filled in
batches, and the (category, price) and (price, id) list indexes rebuilt as covering indexes that
hold it (and the other columns a price-filtered list tests).

Cheap on a big catalog: the column is added without a default (no table rewrite); it is
filled a batch of parents at a time, each batch its own short transaction (no long lock,
no giant transaction); the index is built CONCURRENTLY before the old one is dropped
CONCURRENTLY (writes go on meanwhile, and a list index exists at every moment). Hence
atomic = False. On SQLite (development, tests) the same steps run plainly."""

from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations, models, transaction
from django.db.migrations.operations import AddIndex, RemoveIndex
from django.db.models import Max, OuterRef, Subquery

BATCH = 5000


class AddIndexConcurrentlyOnPostgres(AddIndexConcurrently):
    """CREATE INDEX CONCURRENTLY on PostgreSQL, a plain CREATE INDEX elsewhere."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)
        else:
            AddIndex.database_forwards(self, app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)
        else:
            AddIndex.database_backwards(self, app_label, schema_editor, from_state, to_state)


class RemoveIndexConcurrentlyOnPostgres(RemoveIndexConcurrently):
    """DROP INDEX CONCURRENTLY on PostgreSQL, a plain DROP INDEX elsewhere."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)
        else:
            RemoveIndex.database_forwards(self, app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)
        else:
            RemoveIndex.database_backwards(self, app_label, schema_editor, from_state, to_state)


def fill_variant_price_max(apps, schema_editor):
    """Each parent's highest active variant price (null without one), as
    catalog.services.product_refresh_parent_prices keeps it: parents in id order, BATCH at a
    time (keyset on id), one UPDATE per batch in its own transaction."""
    Product = apps.get_model("catalog", "Product")
    alias = schema_editor.connection.alias
    parents = Product.objects.using(alias).filter(structure="parent").order_by("pk")
    dearest = (
        Product.objects.using(alias)
        .filter(parent=OuterRef("pk"), is_active=True)
        .order_by()
        .values("parent")
        .annotate(high=Max("price"))
        .values("high")
    )
    last = None
    while True:
        batch = parents if last is None else parents.filter(pk__gt=last)
        ids = list(batch.values_list("pk", flat=True)[:BATCH])
        if not ids:
            return
        with transaction.atomic(using=alias):
            Product.objects.using(alias).filter(pk__in=ids).update(variant_price_max=Subquery(dearest))
        last = ids[-1]


def vacuum_products(apps, schema_editor):
    """The fill rewrote a row on most pages of the table (parents are spread over it),
    which clears their visibility-map bits: until the next VACUUM an index-only scan of the
    new index reads the heap anyway, and autovacuum's default threshold (20% of the rows
    dead) is not reached by the parents alone. VACUUM cannot run in a transaction; inside
    one (a test's migration run) ANALYZE alone."""
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE catalog_product" if connection.in_atomic_block else "VACUUM (ANALYZE) catalog_product")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("catalog", "0009_product_weight_tax_class_discounted_price"),
    ]

    operations = [
        migrations.AddField(
            model_name="product",
            name="variant_price_max",
            field=models.DecimalField(blank=True, decimal_places=2, editable=False, max_digits=12, null=True),
        ),
        migrations.RunPython(fill_variant_price_max, migrations.RunPython.noop, elidable=True),
        migrations.RunPython(vacuum_products, migrations.RunPython.noop, elidable=True),
        AddIndexConcurrentlyOnPostgres(
            model_name="product",
            index=models.Index(
                condition=models.Q(("is_active", True), ("parent__isnull", True)),
                fields=["category", "price"],
                include=("structure", "variant_price_max", "created_at", "rating_avg", "id"),
                name="catalog_prod_cat_price_cov",
            ),
        ),
        RemoveIndexConcurrentlyOnPostgres(
            model_name="product",
            name="catalog_prod_cat_price",
        ),
        AddIndexConcurrentlyOnPostgres(
            model_name="product",
            index=models.Index(
                condition=models.Q(("is_active", True), ("parent__isnull", True)),
                fields=["price", "id"],
                include=("category", "structure", "variant_price_max"),
                name="catalog_prod_active_price_cov",
            ),
        ),
        RemoveIndexConcurrentlyOnPostgres(
            model_name="product",
            name="catalog_prod_active_price",
        ),
    ]
