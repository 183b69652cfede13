"""The variants migration keeps every existing product standalone, and reverses."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("catalog", "0007_review_user_set_null_on_erasure")]
AFTER = [("catalog", "0008_product_types_and_variants")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state(targets).apps


def _latest():
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


@pytest.mark.django_db(transaction=True)
def test_existing_products_stay_standalone_and_the_migration_reverses():
    try:
        old = _migrate(BEFORE)
        Category = old.get_model("catalog", "Category")
        Product = old.get_model("catalog", "Product")
        category = Category.objects.create(name="Old", slug="old", path="x/")
        Product.objects.create(
            slug="old-1", sku="OLD-1", name="Old", price="3.00", stock_quantity=4, category=category,
            attributes={"color": "red"},
        )  # fmt: skip
        new = _migrate(AFTER)
        product = new.get_model("catalog", "Product").objects.get(sku="OLD-1")
        assert (product.structure, product.parent_id, product.product_type_id) == ("standalone", None, None)
        assert product.stock_quantity == 4 and product.attributes == {"color": "red"}
        back = _migrate(BEFORE)
        assert back.get_model("catalog", "Product").objects.get(sku="OLD-1").stock_quantity == 4
    finally:
        _migrate(_latest())
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM catalog_product WHERE sku = 'OLD-1'")
            cursor.execute("DELETE FROM catalog_category WHERE slug = 'old'")
