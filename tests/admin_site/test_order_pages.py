"""The order's admin page: lines, payments (with refund and invoice) and history inline, and
the list's actions for that one order, each through its service."""

from decimal import Decimal

import pytest
from django.urls import reverse

from orders.models import Order
from payments.services import payment_pay
from tests.accounts.factories import UserFactory
from tests.orders.factories import ProductFactory
from tests.orders.helpers import new_key

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager_session(client):
    client.force_login(UserFactory(role="manager", is_verified=True))
    return client


@pytest.fixture
def paid_order(customer, place):
    products = [ProductFactory(stock_quantity=10, name=f"Lamp {i}") for i in range(3)]
    order = place(customer, *[(p, 2) for p in products])
    payment_pay(order.pk, user=customer, token="tok_visa", idempotency_key=new_key())
    return Order.objects.get(pk=order.pk)


def page_of(order):
    return reverse("admin:orders_order_change", args=[order.pk])


def act_url(order):
    return reverse("admin:orders_order_act", args=[order.pk])


def test_page_shows_lines_payments_and_history_inline(manager_session, paid_order):
    html = manager_session.get(page_of(paid_order)).content.decode()
    for line in paid_order.lines.all():
        assert line.product_sku in html and line.product_name in html
    assert "20.00" in html  # a line's total: 2 x 10.00
    payment = paid_order.payments.get()
    assert payment.transaction_id in html and "Succeeded" in html
    assert paid_order.invoice.number in html  # the payment's invoice
    assert "Payment confirmed" in html  # the history's last change
    assert 'id="order-actions"' in html and "Mark selected orders as shipped" in html


def test_order_page_query_budget_does_not_grow_with_lines(
    manager_session, customer, place, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def count(order) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert manager_session.get(page_of(order)).status_code == 200
        return len(ctx.captured_queries)

    one = place(customer, (ProductFactory(stock_quantity=10), 1))
    payment_pay(one.pk, user=customer, token="tok_visa", idempotency_key=new_key())
    many = place(customer, *[(ProductFactory(stock_quantity=10), 1) for _ in range(8)])
    payment_pay(many.pk, user=customer, token="tok_visa", idempotency_key=new_key())
    assert count(many) == count(one)
    with django_assert_max_num_queries(14):  # 12 + the fulfillments and returns inlines
        manager_session.get(page_of(many))


def test_ship_from_the_order_page_calls_the_service(manager_session, paid_order):
    response = manager_session.post(act_url(paid_order), {"action": "mark_processing"})
    assert response.status_code == 302 and response["Location"] == page_of(paid_order)
    response = manager_session.post(
        act_url(paid_order), {"action": "mark_shipped", "tracking_number": "TRK-1"}, follow=True
    )
    assert "Shipped: 1 order(s)." in response.content.decode()
    paid_order.refresh_from_db()
    assert paid_order.status == "shipped" and paid_order.tracking_number == "TRK-1"
    assert list(paid_order.history.values_list("to_status", "changed_by__role")[2:]) == [
        ("processing", "manager"),
        ("shipped", "manager"),
    ]


def test_a_refused_transition_is_a_message_not_an_error(manager_session, paid_order):
    page = manager_session.post(act_url(paid_order), {"action": "mark_delivered"}, follow=True)
    assert page.status_code == 200
    assert "cannot move to &#x27;delivered&#x27;" in page.content.decode()
    assert Order.objects.get(pk=paid_order.pk).status == "payment_confirmed"


def test_cancel_from_the_order_page_refunds_and_restocks(manager_session, paid_order):
    manager_session.post(act_url(paid_order), {"action": "cancel_orders"})
    paid_order.refresh_from_db()
    assert paid_order.status == "cancelled"
    assert paid_order.payments.get().refunds.get().amount == Decimal("60.00")
    html = manager_session.get(page_of(paid_order)).content.decode()
    assert "60.00 USD Succeeded" in html  # the refund, on the payment's row


def test_an_action_the_user_may_not_run_is_refused(manager_session, paid_order):
    # Managers only view payments: recording one is an admin's action.
    page = manager_session.post(act_url(paid_order), {"action": "record_offline_payment"}, follow=True)
    assert "Choose an action you may run." in page.content.decode()
    html = manager_session.get(page_of(paid_order)).content.decode()
    assert "record_offline_payment" not in html
    assert manager_session.post(act_url(paid_order), {"action": "nonsense"}).status_code == 302


def test_actions_need_post_and_an_existing_order(manager_session, paid_order):
    assert manager_session.get(act_url(paid_order)).status_code == 405
    missing = reverse("admin:orders_order_act", args=["00000000-0000-0000-0000-000000000000"])
    assert manager_session.post(missing, {"action": "mark_processing"}).status_code == 302


def test_customers_cannot_run_order_actions(client, customer, paid_order):
    client.force_login(customer)
    response = client.post(act_url(paid_order), {"action": "mark_processing"})
    assert response.status_code == 302 and reverse("admin:login") in response["Location"]
    assert Order.objects.get(pk=paid_order.pk).status == "payment_confirmed"


def test_the_page_offers_only_the_fields_of_actions_the_user_may_run(client, manager_session, paid_order):
    html = manager_session.get(page_of(paid_order)).content.decode()
    assert 'name="tracking_number"' in html and 'name="transaction_id"' not in html
    client.force_login(UserFactory(role="admin", is_verified=True))
    html = client.get(page_of(paid_order)).content.decode()
    assert 'name="transaction_id"' in html and 'value="record_offline_payment"' in html


def test_shipping_address_reads_as_an_address(manager_session, paid_order):
    html = manager_session.get(page_of(paid_order)).content.decode()
    assert "Ada Lovelace<br>1 Main St<br>N1 London<br>GB<br>" in html
