"""The after-checkout migrations keep old rows meaningful: an order delivered before
`delivered_at` existed gets it from its history (its return window), and refunds made
before partial refunds existed fill `refunded_amount` on the payment and its order."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.accounts.factories import UserFactory
from tests.core.test_migrations import _latest, _migrate

BEFORE = [("orders", "0005_order_idempotency_key_to_the_middleware"), ("payments", "0001_initial")]


@pytest.mark.django_db(transaction=True)
def test_delivered_at_and_refunded_amounts_are_backfilled():
    user = UserFactory()
    try:
        old = _migrate(BEFORE)
        Order = old.get_model("orders", "Order")
        common = {"user_id": user.pk, "shipping_address": {"country": "GB"}, "currency": "USD"}
        delivered = Order.objects.create(
            number="OLD-D", status="delivered", subtotal="10.00", total_amount="10.00", **common
        )
        when = timezone.now() - timedelta(days=12)
        change = old.get_model("orders", "OrderStatusChange").objects.create(
            order_id=delivered.pk, from_status="shipped", to_status="delivered"
        )
        old.get_model("orders", "OrderStatusChange").objects.filter(pk=change.pk).update(created_at=when)
        cancelled = Order.objects.create(
            number="OLD-C", status="cancelled", subtotal="20.00", total_amount="20.00", **common
        )
        Payment = old.get_model("payments", "Payment")
        payment = Payment.objects.create(
            order_id=cancelled.pk,
            provider="test",
            transaction_id="txn_old",
            amount="20.00",
            currency="USD",
            status="refunded",
            idempotency_key="k",
        )
        old.get_model("payments", "Invoice").objects.create(
            order_id=cancelled.pk,
            payment_id=payment.pk,
            number="INV-OLD-1",
            year=2025,
            sequence=1,
            issued_at=timezone.now(),
            subtotal="20.00",
            total_amount="20.00",
            currency="USD",
        )
        old.get_model("payments", "Refund").objects.create(
            payment_id=payment.pk, amount="20.00", currency="USD", status="succeeded"
        )

        new = _migrate(_latest())
        NewOrder = new.get_model("orders", "Order")
        assert NewOrder.objects.get(pk=delivered.pk).delivered_at == when
        assert NewOrder.objects.get(pk=cancelled.pk).refunded_amount == Decimal("20.00")
        assert new.get_model("payments", "Payment").objects.get(pk=payment.pk).refunded_amount == Decimal("20.00")
        assert new.get_model("orders", "OrderStatusChange").objects.get(pk=change.pk).event == "status"
    finally:
        _migrate(_latest())
