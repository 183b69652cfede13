"""POST orders/{id}/pay/ with the offline test provider; invoices."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from orders.models import Order
from payments.models import Invoice, InvoiceSequence, Payment, PaymentStatus
from payments.services import payment_pay
from tests.accounts.factories import UserFactory
from tests.concurrency import run_threads
from tests.conftest import auth_client_for
from tests.orders.factories import ProductFactory
from tests.orders.helpers import new_key

pytestmark = pytest.mark.django_db


def pay(client, order, token="tok_visa", key=None, **body):
    return client.post(
        f"/api/v1/orders/{order.pk}/pay/",
        {"payment_method": "card", "token": token, **body},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key or new_key(),
    )


def test_successful_payment_confirms_order_issues_invoice_and_emails_receipt(
    customer, customer_client, place, django_capture_on_commit_callbacks
):
    order = place(customer, (ProductFactory(price="12.50", stock_quantity=5), 2))
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = pay(customer_client, order)

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["order_id"] == str(order.pk)
    assert body["provider"] == "test"
    assert body["amount"] == "25.00" and body["currency"] == "USD"
    assert body["status"] == "succeeded"
    assert body["transaction_id"].startswith("txn_")
    order.refresh_from_db()
    assert order.status == "payment_confirmed" and order.paid_at
    invoice = customer_client.get(f"/api/v1/orders/{order.pk}/invoice/")
    assert invoice.status_code == 200
    year = timezone.now().year
    assert invoice.json()["number"] == f"INV-{year}-000001"
    assert invoice.json()["total_amount"] == "25.00"
    assert [m.subject for m in mail.outbox if "receipt" in m.subject.lower()]


def test_client_cannot_choose_the_amount(customer, customer_client, place):
    order = place(customer, (ProductFactory(price="99.00"), 1))
    response = pay(customer_client, order, amount="0.01")
    assert response.status_code == 201
    assert response.json()["amount"] == "99.00"


def test_declined_is_402_and_order_stays_pending(customer, customer_client, place):
    order = place(customer, (ProductFactory(), 1))
    response = pay(customer_client, order, token="tok_declined")
    assert response.status_code == 402
    assert response.json()["errors"][0]["code"] == "payment_declined"
    order.refresh_from_db()
    assert order.status == "pending"
    assert Payment.objects.get().status == PaymentStatus.FAILED  # the attempt is on record
    assert not Invoice.objects.exists()
    # A new attempt with another card works.
    assert pay(customer_client, order).status_code == 201


def test_provider_outage_is_502_and_nothing_is_charged(customer, customer_client, place):
    order = place(customer, (ProductFactory(), 1))
    key = new_key()
    response = pay(customer_client, order, token="tok_error", key=key)
    assert response.status_code == 502
    assert response.json()["errors"][0]["code"] == "payment_provider_error"
    order.refresh_from_db()
    assert order.status == "pending"
    assert not Payment.objects.filter(status=PaymentStatus.SUCCEEDED).exists()
    # A 5xx is not stored: the client may retry with the same key.
    retry = pay(customer_client, order, token="tok_error", key=key)
    assert retry.status_code == 502 and "Idempotent-Replayed" not in retry


def test_double_pay_is_409(customer, customer_client, place):
    order = place(customer, (ProductFactory(), 1))
    assert pay(customer_client, order).status_code == 201
    response = pay(customer_client, order)
    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "already_paid"
    assert Payment.objects.filter(status="succeeded").count() == 1


def test_retry_with_same_key_replays_and_charges_once(customer, customer_client, place):
    order = place(customer, (ProductFactory(), 1))
    first = pay(customer_client, order, key="pay-1")
    second = pay(customer_client, order, key="pay-1")
    assert first.status_code == second.status_code == 201
    assert second["Idempotent-Replayed"] == "true"
    assert second.json() == first.json()
    assert Payment.objects.count() == 1


def test_pay_requires_an_idempotency_key(customer, customer_client, place):
    order = place(customer, (ProductFactory(), 1))
    response = customer_client.post(
        f"/api/v1/orders/{order.pk}/pay/", {"payment_method": "card", "token": "tok_visa"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "idempotency_key_required"


def test_cancelled_order_cannot_be_paid(customer, customer_client, place):
    from orders.services import order_cancel

    order = place(customer, (ProductFactory(), 1))
    order_cancel(order.pk)
    response = pay(customer_client, order)
    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "order_not_payable"


def test_bad_payment_input_is_400(customer, customer_client, place):
    order = place(customer, (ProductFactory(), 1))
    assert pay(customer_client, order, payment_method="cash").status_code == 400


def test_invoice_of_unpaid_order_is_404(customer, customer_client, place):
    order = place(customer, (ProductFactory(), 1))
    assert customer_client.get(f"/api/v1/orders/{order.pk}/invoice/").status_code == 404


def test_invoice_numbers_are_sequential_per_year(customer, place):
    product = ProductFactory(stock_quantity=10)
    numbers = []
    for _ in range(3):
        order = place(customer, (product, 1))
        payment_pay(order.pk, user=customer, token="tok_visa", idempotency_key=new_key())
        numbers.append(Invoice.objects.get(order=order).number)
    year = timezone.now().year
    assert numbers == [f"INV-{year}-00000{i}" for i in (1, 2, 3)]


def test_declined_payment_does_not_consume_an_invoice_number(customer, place):
    product = ProductFactory(stock_quantity=10)
    a = place(customer, (product, 1))
    b = place(customer, (product, 1))
    payment_pay(a.pk, user=customer, token="tok_visa", idempotency_key=new_key())
    with pytest.raises(Exception):  # noqa: B017
        payment_pay(b.pk, user=customer, token="tok_declined", idempotency_key=new_key())
    payment_pay(b.pk, user=customer, token="tok_visa", idempotency_key=new_key())
    assert sorted(Invoice.objects.values_list("sequence", flat=True)) == [1, 2]


# --- concurrency (PostgreSQL) --------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_payments_with_one_key_charge_once():
    from orders.services import LineRequest, order_place
    from tests.orders.helpers import ADDRESS

    user = UserFactory(is_verified=True)
    order = order_place(user, items=[LineRequest(ProductFactory().pk, 1)], shipping_address=ADDRESS)

    def call(i):
        return pay(auth_client_for(user), order, key="one-key").status_code

    statuses = run_threads(20, call)
    assert statuses.count(201) >= 1
    assert set(statuses) <= {201, 409}
    assert Payment.objects.filter(order=order).count() == 1
    assert Order.objects.get(pk=order.pk).status == "payment_confirmed"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_payments_with_different_keys_charge_once():
    from orders.services import LineRequest, order_place
    from tests.orders.helpers import ADDRESS

    user = UserFactory(is_verified=True)
    order = order_place(user, items=[LineRequest(ProductFactory().pk, 1)], shipping_address=ADDRESS)

    statuses = run_threads(16, lambda i: pay(auth_client_for(user), order).status_code)
    assert sorted(statuses) == [201] + [409] * 15
    assert Payment.objects.filter(order=order, status="succeeded").count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_invoice_numbers_unique_and_gap_free_under_concurrency():
    from orders.services import LineRequest, order_place
    from tests.orders.helpers import ADDRESS

    product = ProductFactory(stock_quantity=100)
    users = [UserFactory(is_verified=True) for _ in range(20)]
    orders = [order_place(u, items=[LineRequest(product.pk, 1)], shipping_address=ADDRESS) for u in users]

    def call(i):
        token = "tok_declined" if i % 5 == 0 else "tok_visa"  # failures must not leave gaps
        try:
            payment_pay(orders[i].pk, user=users[i], token=token, idempotency_key=new_key())
            return "ok"
        except Exception as exc:  # noqa: BLE001
            return getattr(exc, "code", repr(exc))

    results = run_threads(20, call)
    assert results.count("ok") == 16 and results.count("payment_declined") == 4
    year = timezone.now().year
    sequences = sorted(Invoice.objects.values_list("sequence", flat=True))
    assert sequences == list(range(1, 17))
    assert InvoiceSequence.objects.get(year=year).last_number == 16
    assert Invoice.objects.values("number").distinct().count() == 16


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_expiry_job_vs_concurrent_payment():
    """The expiry job and a payment race for orders that are due: each order ends either
    paid (and kept) or cancelled (stock back, nothing charged) — never both."""
    from catalog.models import Product
    from orders.services import LineRequest, order_place, orders_expire
    from tests.orders.helpers import ADDRESS

    product = ProductFactory(stock_quantity=100)
    users = [UserFactory(is_verified=True) for _ in range(10)]
    orders = [order_place(u, items=[LineRequest(product.pk, 2)], shipping_address=ADDRESS) for u in users]
    # Due in a moment: payments that take the lock first still see a valid order.
    Order.objects.update(expires_at=timezone.now() + timedelta(milliseconds=300))

    def call(i):
        import time

        if i == 10:
            time.sleep(0.3)
            return orders_expire()
        time.sleep(0.29)
        try:
            payment_pay(orders[i].pk, user=users[i], token="tok_visa", idempotency_key=new_key())
            return "paid"
        except Exception as exc:  # noqa: BLE001
            return getattr(exc, "code", repr(exc))

    run_threads(11, call)
    orders_expire()  # whatever the race left due
    statuses = dict(Order.objects.values_list("pk", "status"))
    paid = [pk for pk, s in statuses.items() if s == "payment_confirmed"]
    cancelled = [pk for pk, s in statuses.items() if s == "cancelled"]
    assert len(paid) + len(cancelled) == 10
    assert Payment.objects.filter(status="succeeded").count() == len(paid)
    assert not Payment.objects.filter(order_id__in=cancelled, status="succeeded").exists()
    assert Product.objects.get(pk=product.pk).stock_quantity == 100 - 2 * len(paid)


def test_rate_limit_on_payment(customer, customer_client, place, rate_limits_on):
    order = place(customer, (ProductFactory(), 1))
    statuses = [pay(customer_client, order, token="tok_declined").status_code for _ in range(3)]
    assert statuses == [402, 402, 429]
    response = pay(customer_client, order)
    assert response.status_code == 429 and response["Retry-After"]


def test_same_key_declined_again_after_the_key_expired(customer, customer_client, place):
    """After 24 h a key is forgotten; the provider derives the same transaction id from it,
    and a second declined attempt must still be recorded (not a 500)."""
    from core.models import IdempotencyRecord

    order = place(customer, (ProductFactory(), 1))
    assert pay(customer_client, order, token="tok_declined", key="old-key").status_code == 402
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=25))
    assert pay(customer_client, order, token="tok_declined", key="old-key").status_code == 402
    assert Payment.objects.filter(order=order, status="failed").count() == 2
