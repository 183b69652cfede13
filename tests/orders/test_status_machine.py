"""Status machine, cancellation, expiry, history, BOLA and query budgets."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from catalog.models import Review
from orders.errors import InvalidTransition
from orders.models import Order, OrderStatus
from orders.selectors import user_has_purchased
from orders.services import (
    TRANSITIONS,
    order_cancel,
    order_fulfill,
    order_set_status,
    orders_expire,
    return_approve,
    return_request_create,
)
from payments.models import Payment, PaymentStatus, Refund
from payments.services import payment_pay
from tests.accounts.factories import UserFactory
from tests.conftest import auth_client_for
from tests.orders.factories import ProductFactory
from tests.orders.helpers import new_key

pytestmark = pytest.mark.django_db

ALL = [s.value for s in OrderStatus]
ALLOWED = {
    ("pending", "payment_confirmed"),
    ("pending", "cancelled"),
    ("payment_confirmed", "processing"),
    ("payment_confirmed", "cancelled"),
    ("processing", "shipped"),
    ("processing", "partially_shipped"),
    ("partially_shipped", "shipped"),
    ("shipped", "delivered"),
    ("delivered", "refunded"),
}
# Moves that only their own service makes (a payment, a shipment of some lines, refunds).
NOT_BY_STATUS_ENDPOINT = {"payment_confirmed", "partially_shipped", "refunded"}


def test_transition_table_is_exactly_the_contract():
    table = {(a, b) for a, targets in TRANSITIONS.items() for b in targets}
    assert table == ALLOWED


def _order_in(status, customer, place, manager=None):
    order = place(customer, (ProductFactory(stock_quantity=10), 2))
    path = ["pending", "payment_confirmed", "processing", "shipped", "delivered"]
    if status == "cancelled":
        order_cancel(order.pk)
        return Order.objects.get(pk=order.pk)
    if status == "partially_shipped":
        for target in ("payment_confirmed", "processing"):
            if target == "payment_confirmed":
                payment_pay(order.pk, user=customer, token="tok_visa", idempotency_key=new_key())
            else:
                order_set_status(order.pk, target, by=manager)
        order_fulfill(order.pk, lines=[(order.lines.get().pk, 1)], by=manager)
        return Order.objects.get(pk=order.pk)
    if status == "refunded":
        delivered = _order_in("delivered", customer, place, manager)
        return_request = return_request_create(delivered.pk, user=customer, lines=[(delivered.lines.get().pk, 2)])
        return_approve(return_request.pk, by=manager)
        return Order.objects.get(pk=delivered.pk)
    for target in path[1 : path.index(status) + 1]:
        if target == "payment_confirmed":
            payment_pay(order.pk, user=customer, token="tok_visa", idempotency_key=new_key())
        else:
            order_set_status(order.pk, target, by=manager)
    return Order.objects.get(pk=order.pk)


@pytest.mark.parametrize("from_status", ALL)
@pytest.mark.parametrize("to_status", ALL)
def test_every_transition_through_the_api(from_status, to_status, customer, manager, manager_client, place):
    order = _order_in(from_status, customer, place, manager)
    response = manager_client.post(
        f"/api/v1/orders/{order.pk}/status/", {"status": to_status, "tracking_number": "TRK1"}, format="json"
    )
    allowed = (from_status, to_status) in ALLOWED and to_status not in NOT_BY_STATUS_ENDPOINT
    if allowed:
        assert response.status_code == 200, response.json()
        assert response.json()["status"] == to_status
        assert response.json()["history"][-1]["from_status"] == from_status
        assert response.json()["history"][-1]["to_status"] == to_status
        assert response.json()["history"][-1]["by"] == str(manager.pk)
    else:
        assert response.status_code == 409
        assert response.json()["errors"][0]["code"] == "invalid_transition"
        assert Order.objects.get(pk=order.pk).status == from_status


def test_customer_cannot_set_status(customer_client, customer, place):
    order = place(customer, (ProductFactory(), 1))
    response = customer_client.post(f"/api/v1/orders/{order.pk}/status/", {"status": "processing"}, format="json")
    assert response.status_code == 403


def test_shipped_records_tracking_and_emails_it(customer, manager, place, django_capture_on_commit_callbacks):
    order = _order_in("processing", customer, place, manager)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        order_set_status(order.pk, "shipped", by=manager, tracking_number="1Z999AA10123456784")
    order.refresh_from_db()
    assert order.tracking_number == "1Z999AA10123456784"
    assert len(mail.outbox) == 1 and "1Z999AA10123456784" in mail.outbox[0].body


def test_full_lifecycle_history(customer, manager, customer_client, place):
    order = _order_in("delivered", customer, place, manager)
    history = customer_client.get(f"/api/v1/orders/{order.pk}/").json()["history"]
    assert [(h["from_status"], h["to_status"]) for h in history] == [
        ("", "pending"),
        ("pending", "payment_confirmed"),
        ("payment_confirmed", "processing"),
        ("processing", "shipped"),
        ("shipped", "delivered"),
    ]
    assert all(h["at"] for h in history)


def test_cancel_pending_restores_stock_exactly_once(
    customer, customer_client, place, django_capture_on_commit_callbacks
):
    product = ProductFactory(stock_quantity=10)
    order = place(customer, (product, 4))
    product.refresh_from_db()
    assert product.stock_quantity == 6

    with django_capture_on_commit_callbacks(execute=True):
        first = customer_client.post(f"/api/v1/orders/{order.pk}/cancel/", {}, format="json")
    second = customer_client.post(f"/api/v1/orders/{order.pk}/cancel/", {}, format="json")

    assert first.status_code == 200 and first.json()["status"] == "cancelled"
    assert second.status_code == 409 and second.json()["errors"][0]["code"] == "invalid_transition"
    product.refresh_from_db()
    assert product.stock_quantity == 10
    assert any("cancelled" in m.subject for m in mail.outbox)


def test_cancel_paid_order_refunds_through_the_provider(customer, customer_client, place):
    product = ProductFactory(stock_quantity=10)
    order = place(customer, (product, 3))
    payment = payment_pay(order.pk, user=customer, token="tok_visa", idempotency_key=new_key())

    response = customer_client.post(f"/api/v1/orders/{order.pk}/cancel/", {"reason": "changed my mind"}, format="json")

    assert response.status_code == 200
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REFUNDED
    refund = Refund.objects.get(payment=payment)
    assert refund.amount == payment.amount and refund.status == "succeeded"
    product.refresh_from_db()
    assert product.stock_quantity == 10


def test_refund_outage_changes_nothing(customer, customer_client, place, monkeypatch):
    from payments.providers import ProviderError
    from payments.providers.test import TestProvider

    product = ProductFactory(stock_quantity=10)
    order = place(customer, (product, 3))
    payment_pay(order.pk, user=customer, token="tok_visa", idempotency_key=new_key())

    def outage(self, **kwargs):
        raise ProviderError("down")

    monkeypatch.setattr(TestProvider, "refund", outage)
    response = customer_client.post(f"/api/v1/orders/{order.pk}/cancel/", {}, format="json")
    assert response.status_code == 502
    order.refresh_from_db()
    assert order.status == "payment_confirmed"
    product.refresh_from_db()
    assert product.stock_quantity == 7
    assert not Refund.objects.exists()


def test_cannot_cancel_after_processing(customer, customer_client, manager, place):
    order = _order_in("processing", customer, place, manager)
    response = customer_client.post(f"/api/v1/orders/{order.pk}/cancel/", {}, format="json")
    assert response.status_code == 409


def test_service_raises_invalid_transition(customer, place):
    order = place(customer, (ProductFactory(), 1))
    with pytest.raises(InvalidTransition):
        order_set_status(order.pk, "shipped")


# --- expiry ----------------------------------------------------------------------------


def test_expiry_cancels_unpaid_orders_and_returns_stock(customer, place):
    product = ProductFactory(stock_quantity=10)
    stale = place(customer, (product, 3))
    fresh = place(customer, (product, 2))
    Order.objects.filter(pk=stale.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    assert orders_expire() == 1
    assert orders_expire() == 0  # nothing twice

    assert Order.objects.get(pk=stale.pk).status == "cancelled"
    assert Order.objects.get(pk=fresh.pk).status == "pending"
    product.refresh_from_db()
    assert product.stock_quantity == 8


def test_expiry_leaves_paid_orders_alone(customer, place):
    product = ProductFactory(stock_quantity=10)
    order = place(customer, (product, 3))
    payment_pay(order.pk, user=customer, token="tok_visa", idempotency_key=new_key())
    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert orders_expire() == 0
    assert Order.objects.get(pk=order.pk).status == "payment_confirmed"


def test_expire_orders_command(customer, place, capsys):
    order = place(customer, (ProductFactory(stock_quantity=5), 1))
    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    call_command("expire_orders")
    assert "1" in capsys.readouterr().out
    assert Order.objects.get(pk=order.pk).status == "cancelled"


def test_expired_order_cannot_be_paid(customer, customer_client, place):
    order = place(customer, (ProductFactory(stock_quantity=5), 1))
    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = customer_client.post(
        f"/api/v1/orders/{order.pk}/pay/",
        {"payment_method": "card", "token": "tok_visa"},
        format="json",
        HTTP_IDEMPOTENCY_KEY=new_key(),
    )
    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "order_expired"
    assert not Payment.objects.exists()


# --- reviews -----------------------------------------------------------------------------


def test_paid_order_verifies_existing_reviews_and_selector(customer, place):
    product = ProductFactory(stock_quantity=5)
    review = Review.objects.create(product=product, user=customer, rating=5)
    order = place(customer, (product, 1))
    assert not user_has_purchased(customer, product.pk)  # pending is not a purchase

    payment_pay(order.pk, user=customer, token="tok_visa", idempotency_key=new_key())

    review.refresh_from_db()
    assert review.verified_purchase
    assert user_has_purchased(customer, product.pk)
    order_cancel(order.pk)
    review.refresh_from_db()
    assert not review.verified_purchase
    assert not user_has_purchased(customer, product.pk)


# --- visibility (BOLA), listing, filters, query budgets -----------------------------------


def test_other_users_order_is_404(customer, place):
    order = place(customer, (ProductFactory(), 1))
    intruder = auth_client_for(UserFactory(is_verified=True))
    assert intruder.get(f"/api/v1/orders/{order.pk}/").status_code == 404
    assert intruder.post(f"/api/v1/orders/{order.pk}/cancel/", {}, format="json").status_code == 404
    assert intruder.get(f"/api/v1/orders/{order.pk}/invoice/").status_code == 404
    pay = intruder.post(
        f"/api/v1/orders/{order.pk}/pay/",
        {"payment_method": "card", "token": "tok_visa"},
        format="json",
        HTTP_IDEMPOTENCY_KEY=new_key(),
    )
    assert pay.status_code == 404
    assert intruder.get("/api/v1/orders/").json()["count"] == 0
    assert Order.objects.get(pk=order.pk).status == "pending"


def test_staff_see_all_and_filter(customer, manager_client, place):
    other = UserFactory(is_verified=True)
    a = place(customer, (ProductFactory(), 1))
    place(other, (ProductFactory(), 1))
    order_cancel(a.pk)
    assert manager_client.get("/api/v1/orders/").json()["count"] == 2
    assert manager_client.get("/api/v1/orders/", {"status": "cancelled"}).json()["count"] == 1
    assert manager_client.get("/api/v1/orders/", {"user": str(other.pk)}).json()["count"] == 1
    future = (timezone.now() + timedelta(days=1)).isoformat()
    assert manager_client.get("/api/v1/orders/", {"created_after": future}).json()["count"] == 0
    assert manager_client.get("/api/v1/orders/", {"created_before": future}).json()["count"] == 2
    assert manager_client.get("/api/v1/orders/", {"status": "nope"}).status_code == 400


def test_list_query_budget_does_not_grow_with_page_size(
    customer, customer_client, place, django_assert_max_num_queries, settings
):
    settings.ORDER_MAX_PENDING_PER_USER = 0  # 15 unpaid orders of one customer
    for _ in range(3):
        place(customer, (ProductFactory(), 1), (ProductFactory(), 2))
    # + fulfillments and returns (prefetched; their lines too once there are any: see
    # tests/orders/test_aftersales_api.py).
    with django_assert_max_num_queries(8):
        small = customer_client.get("/api/v1/orders/")
    for _ in range(12):
        place(customer, (ProductFactory(), 1), (ProductFactory(), 2))
    with django_assert_max_num_queries(8):
        big = customer_client.get("/api/v1/orders/", {"page_size": 50})
    assert small.json()["count"] == 3 and big.json()["count"] == 15


def test_detail_query_budget(customer, customer_client, place, django_assert_max_num_queries):
    order = place(customer, *[(ProductFactory(), 1) for _ in range(10)])
    with django_assert_max_num_queries(7):
        response = customer_client.get(f"/api/v1/orders/{order.pk}/")
    assert len(response.json()["items"]) == 10
