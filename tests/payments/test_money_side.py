"""The money side: a refunded order's invoice says so; paying is the owner's action (staff
record offline payments in the admin instead)."""

import pytest
from django.core import mail
from django.urls import reverse

from core.errors import NotFound
from orders.models import Order
from orders.services import order_cancel
from payments.errors import AlreadyPaid
from payments.models import Invoice, Payment, Refund
from payments.services import payment_pay, payment_record_offline
from tests.accounts.factories import UserFactory
from tests.orders.factories import ProductFactory
from tests.orders.helpers import new_key
from tests.payments.test_pay import pay

pytestmark = pytest.mark.django_db


# --- (a) the invoice of a refunded order --------------------------------------------------


def test_the_invoice_of_a_refunded_cancelled_order_says_it_was_refunded(
    customer, customer_client, manager_client, place
):
    order = place(customer, (ProductFactory(price="12.50", stock_quantity=5), 2))
    assert pay(customer_client, order).status_code == 201
    before = customer_client.get(f"/api/v1/orders/{order.pk}/invoice/").json()
    assert before["refunded"] is False and before["refunded_amount"] == "0.00" and before["refunded_at"] is None

    order_cancel(order.pk, note="changed my mind")

    for client in (customer_client, manager_client):
        invoice = client.get(f"/api/v1/orders/{order.pk}/invoice/")
        assert invoice.status_code == 200
        body = invoice.json()
        assert body["number"] == before["number"] and body["total_amount"] == "25.00"
        assert body["refunded"] is True
        assert body["refunded_amount"] == "25.00"
        assert body["refunded_at"] == Refund.objects.get().created_at.isoformat().replace("+00:00", "Z")


def test_the_invoice_schema_documents_the_refund_fields(client):
    schema = client.get("/api/schema/?format=json").json()
    invoice = schema["components"]["schemas"]["Invoice"]
    assert {"refunded", "refunded_amount", "refunded_at"} <= set(invoice["properties"])
    assert {"refunded", "refunded_amount", "refunded_at"} <= set(invoice["required"])
    assert invoice["properties"]["refunded_at"].get("nullable") is True


# --- (b) paying is the owner's action -------------------------------------------------------


@pytest.mark.parametrize("role", ["manager", "admin"])
def test_staff_cannot_pay_a_customers_order_it_is_404(customer, place, role):
    from tests.conftest import auth_client_for

    order = place(customer, (ProductFactory(), 1))
    staff = auth_client_for(UserFactory(role=role, is_verified=True))

    response = pay(staff, order)

    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "not_found"
    assert not Payment.objects.exists()
    assert Order.objects.get(pk=order.pk).status == "pending"
    # Reading the invoice stays open to staff (once there is one).
    payment_pay(order.pk, user=customer, token="tok_visa", idempotency_key=new_key())
    assert staff.get(f"/api/v1/orders/{order.pk}/invoice/").status_code == 200


def test_staff_pay_their_own_orders(manager, manager_client, place):
    order = place(manager, (ProductFactory(), 1))
    assert pay(manager_client, order).status_code == 201


def test_the_pay_service_refuses_anyone_but_the_owner(customer, manager, place):
    order = place(customer, (ProductFactory(), 1))
    with pytest.raises(NotFound):
        payment_pay(order.pk, user=manager, token="tok_visa", idempotency_key=new_key())
    assert not Payment.objects.exists()


# --- (b) offline payments recorded by staff -------------------------------------------------


def test_record_offline_payment_confirms_the_order_like_a_card_payment(
    customer, admin_user, place, django_capture_on_commit_callbacks
):
    order = place(customer, (ProductFactory(price="30.00", stock_quantity=5), 1))
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        payment = payment_record_offline(order.pk, by=admin_user, transaction_id="BANK-2026-0042")

    assert payment.provider == "offline" and payment.transaction_id == "BANK-2026-0042"
    assert payment.status == "succeeded" and payment.amount == order.total_amount
    order.refresh_from_db()
    assert order.status == "payment_confirmed" and order.paid_at
    assert Invoice.objects.get(order=order).payment == payment
    change = order.history.get(to_status="payment_confirmed")
    assert change.changed_by == admin_user
    assert f"offline payment recorded by {admin_user.email}" in change.note
    assert [m for m in mail.outbox if "receipt" in m.subject.lower()]
    with pytest.raises(AlreadyPaid):
        payment_record_offline(order.pk, by=admin_user)


def test_an_offline_payment_without_a_reference_gets_one_and_refunds_offline(customer, admin_user, place):
    order = place(customer, (ProductFactory(stock_quantity=5), 1))
    payment = payment_record_offline(order.pk, by=admin_user)
    assert payment.transaction_id.startswith("offline_")

    order_cancel(order.pk, by=admin_user, note="customer asked")  # money goes back by hand

    refund = Refund.objects.get(payment=payment)
    assert refund.status == "pending" and refund.amount == payment.amount
    assert Order.objects.get(pk=order.pk).status == "cancelled"


@pytest.fixture
def admin_site_client(client, admin_user):
    client.force_login(admin_user)
    return client


def test_the_order_admin_action_records_an_offline_payment(admin_site_client, admin_user, customer, place):
    order = place(customer, (ProductFactory(stock_quantity=5), 1))
    url = reverse("admin:orders_order_changelist")
    page = admin_site_client.get(url)
    assert "Record offline payment" in page.content.decode()

    response = admin_site_client.post(
        url, {"action": "record_offline_payment", "_selected_action": [order.pk], "transaction_id": "BANK-77"}
    )

    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == "payment_confirmed"
    assert Payment.objects.get(order=order).transaction_id == "BANK-77"
    assert "offline payment recorded by" in order.history.get(to_status="payment_confirmed").note


def test_the_admin_action_refuses_one_reference_for_several_orders_and_reused_ones(admin_site_client, customer, place):
    product = ProductFactory(stock_quantity=10)
    a, b = place(customer, (product, 1)), place(customer, (product, 1))
    url = reverse("admin:orders_order_changelist")
    both = {"action": "record_offline_payment", "_selected_action": [a.pk, b.pk], "transaction_id": "BANK-1"}
    admin_site_client.post(url, both)
    assert not Payment.objects.exists()

    admin_site_client.post(url, {**both, "_selected_action": [a.pk]})
    admin_site_client.post(url, {**both, "_selected_action": [b.pk]})  # the same bank reference again
    assert Order.objects.get(pk=a.pk).status == "payment_confirmed"
    assert Order.objects.get(pk=b.pk).status == "pending"
    assert Payment.objects.count() == 1


def test_managers_cannot_record_payments(client, customer, place):
    # Managers fulfil orders; money records (payments) are view-only for them.
    manager = UserFactory(role="manager", is_verified=True)
    client.force_login(manager)
    order = place(customer, (ProductFactory(stock_quantity=5), 1))
    url = reverse("admin:orders_order_changelist")
    assert "Record offline payment" not in client.get(url).content.decode()
    client.post(url, {"action": "record_offline_payment", "_selected_action": [order.pk]})
    assert Order.objects.get(pk=order.pk).status == "pending"
    assert not Payment.objects.exists()
