"""The variants migration keeps every existing product standalone, and reverses; the
variant price range migration fills parents from their active variants."""

from decimal import Decimal

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


@pytest.mark.django_db(transaction=True)
def test_the_variant_price_range_migration_fills_parents_from_their_active_variants():
    before, after = (
        [("catalog", "0009_product_weight_tax_class_discounted_price")],
        [("catalog", "0010_product_variant_price_max")],
    )
    try:
        old = _migrate(before)
        Category = old.get_model("catalog", "Category")
        Product = old.get_model("catalog", "Product")
        category = Category.objects.create(name="Old", slug="old", path="x/")
        made = {}
        for sku, structure, parent, price, active in [
            ("OLD-P", "parent", None, "4.00", True),
            ("OLD-P-1", "child", "OLD-P", "4.00", True),
            ("OLD-P-2", "child", "OLD-P", "9.50", True),
            ("OLD-P-3", "child", "OLD-P", "50.00", False),  # inactive: not in the range
            ("OLD-Q", "parent", None, "7.00", True),
            ("OLD-Q-1", "child", "OLD-Q", "7.00", False),  # no active variant: no range
            ("OLD-S", "standalone", None, "3.00", True),
        ]:
            made[sku] = Product.objects.create(
                slug=sku.lower(), sku=sku, name=sku, price=price, stock_quantity=0, category=category,
                structure=structure, parent=made.get(parent), is_active=active,
            )  # fmt: skip
        new = _migrate(after)
        ranges = dict(
            new.get_model("catalog", "Product")
            .objects.filter(sku__startswith="OLD-")
            .values_list("sku", "variant_price_max")
        )
        assert ranges == {
            "OLD-P": Decimal("9.50"), "OLD-P-1": None, "OLD-P-2": None, "OLD-P-3": None,
            "OLD-Q": None, "OLD-Q-1": None, "OLD-S": None,
        }  # fmt: skip
        _migrate(before)  # and it reverses
    finally:
        _migrate(_latest())
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM catalog_product WHERE sku LIKE 'OLD-%%' AND parent_id IS NOT NULL")
            cursor.execute("DELETE FROM catalog_product WHERE sku LIKE 'OLD-%%'")
            cursor.execute("DELETE FROM catalog_category WHERE slug = 'old'")
