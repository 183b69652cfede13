"""Models that moved app keep their rows: a database built by the previous schema migrates
forward with nothing lost (IdempotencyRecord orders -> core, OrderEmail -> core.SentEmail)."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tests.accounts.factories import UserFactory

BEFORE = [("orders", "0003_order_idempotency_key"), ("core", None)]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state([t for t in targets if t[1] is not None]).apps


def _latest():
    executor = MigrationExecutor(connection)
    return executor.loader.graph.leaf_nodes()


@pytest.mark.django_db(transaction=True)
def test_previous_schema_migrates_forward_without_losing_rows():
    user = UserFactory()
    try:
        old = _migrate(BEFORE)
        Order = old.get_model("orders", "Order")
        order = Order.objects.create(
            number="ORD-OLD-1",
            user_id=user.pk,
            shipping_address={"country": "GB"},
            subtotal="10.00",
            total_amount="10.00",
            currency="USD",
        )
        old.get_model("orders", "OrderEmail").objects.create(order_id=order.pk, kind="confirmation")
        old.get_model("orders", "IdempotencyRecord").objects.create(
            scope=f"user:{user.pk}", method="POST", path="/api/v1/orders/", key="k-1", request_hash="h"
        )

        new = _migrate(_latest())
        record = new.get_model("core", "IdempotencyRecord").objects.get()
        assert (record.key, record.scope) == ("k-1", f"user:{user.pk}")
        sent = new.get_model("core", "SentEmail").objects.get()
        assert (sent.kind, sent.key) == ("order.confirmation", str(order.pk)) and sent.sent_at is not None

        # And back: the per-order marks return to the old table.
        old = _migrate(BEFORE)
        assert old.get_model("orders", "OrderEmail").objects.get().kind == "confirmation"
        assert old.get_model("orders", "IdempotencyRecord").objects.count() == 1
    finally:
        _migrate(_latest())
        connection.cursor().execute("DELETE FROM orders_idempotencyrecord")
