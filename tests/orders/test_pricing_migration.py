"""Orders placed before pricing (shipping, tax, discounts) existed: a database built by the
previous schema migrates forward, and those orders read and pay as before (zeros, no
method, no voucher, total = subtotal)."""

from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tests.accounts.factories import UserFactory
from tests.conftest import auth_client_for
from tests.orders.helpers import ADDRESS, new_key

BEFORE = [
    ("orders", "0007_order_user_set_null_on_erasure"),
    ("catalog", "0008_product_types_and_variants"),
    ("promotions", None),
    ("shipping", None),
]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state([t for t in targets if t[1] is not None]).apps


def _latest():
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


@pytest.mark.django_db(transaction=True)
def test_orders_from_before_pricing_migrate_read_and_pay():
    user = UserFactory(is_verified=True)
    try:
        old = _migrate(BEFORE)
        category = old.get_model("catalog", "Category").objects.create(name="Old", slug="old", path="x/")
        product = old.get_model("catalog", "Product").objects.create(
            slug="old-1", sku="OLD-1", name="Old product", price="12.50", stock_quantity=3, category_id=category.pk
        )
        order = old.get_model("orders", "Order").objects.create(
            number="20250101-OLDONE",
            user_id=user.pk,
            status="pending",
            shipping_address={"line2": "", "region": "", "phone": "", **ADDRESS},
            subtotal="25.00",
            total_amount="25.00",
            currency="USD",
        )
        old.get_model("orders", "OrderLine").objects.create(
            order_id=order.pk, product_id=product.pk, product_name="Old product", product_sku="OLD-1",
            quantity=2, unit_price="12.50",
        )  # fmt: skip

        new = _migrate(_latest())
        migrated = new.get_model("orders", "Order").objects.get(pk=order.pk)
        assert (migrated.discount_amount, migrated.shipping_amount, migrated.tax_amount) == (0, 0, 0)
        assert migrated.shipping_method_id is None and migrated.voucher_id is None and not migrated.prices_include_tax
        line = new.get_model("orders", "OrderLine").objects.get()
        assert (line.discount_amount, line.tax_rate, line.tax_amount, line.undiscounted_unit_price) == (0, 0, 0, None)
        moved = new.get_model("catalog", "Product").objects.get(pk=product.pk)
        assert (moved.weight, moved.tax_class, moved.discounted_price) == (0, "standard", None)

        client = auth_client_for(user)
        body = client.get(f"/api/v1/orders/{order.pk}/").json()
        assert (body["subtotal"], body["discount_amount"], body["tax_amount"], body["total_amount"]) == (
            "25.00", "0.00", "0.00", "25.00",
        )  # fmt: skip
        assert body["items"][0]["line_total"] == "25.00" and body["shipping_method"] is None
        paid = client.post(
            f"/api/v1/orders/{order.pk}/pay/", {"payment_method": "card", "token": "tok_visa"}, format="json",
            HTTP_IDEMPOTENCY_KEY=new_key(),
        )  # fmt: skip
        assert paid.status_code == 201 and Decimal(paid.json()["amount"]) == Decimal("25.00")
        assert client.get(f"/api/v1/orders/{order.pk}/invoice/").json()["taxes"] == [
            {"rate": "0.00", "base": "25.00", "tax": "0.00"}
        ]
    finally:
        _migrate(_latest())
