"""POST payments/webhook/{provider}/: signature, once-only, effects through the services."""

import json
import time

import pytest

from orders.models import Order
from payments.models import Invoice, Payment, PaymentStatus, Refund, WebhookEvent
from payments.providers.base import sign
from payments.providers.test import signed_headers
from payments.services import payment_pay
from tests.orders.factories import ProductFactory
from tests.orders.helpers import new_key

pytestmark = pytest.mark.django_db

SECRET = "whsec_test_secret"
URL = "/api/v1/payments/webhook/test/"


@pytest.fixture(autouse=True)
def _secret(settings):
    settings.PAYMENT_WEBHOOK_SECRET = SECRET


def send(client, event, *, secret=SECRET, signature=None, raw=None, timestamp=None):
    """Post `event` signed as the test gateway signs it (now, unless `timestamp`)."""
    body = raw if raw is not None else json.dumps(event).encode()
    signed = signed_headers(body, secret=secret, timestamp=timestamp)
    if signature is not None:
        signed["X-Signature"] = signature
    headers = {"HTTP_" + name.upper().replace("-", "_"): value for name, value in signed.items()}
    return client.post(URL, body, content_type="application/json", **headers)


def paid(payment, **extra):
    """The data of a payment event about `payment` (its transaction, amount, currency)."""
    return {
        "transaction_id": payment.transaction_id,
        "amount": str(payment.amount),
        "currency": payment.currency,
        **extra,
    }


def _processing_payment(customer, place):
    order = place(customer, (ProductFactory(stock_quantity=5), 1))
    return Payment.objects.create(
        order=order,
        provider="test",
        transaction_id="txn_async_1",
        amount=order.total_amount,
        currency=order.currency,
        status=PaymentStatus.PROCESSING,
        idempotency_key="k",
    )


def test_bad_signature_is_400(api_client):
    event = {"id": "evt_1", "type": "payment.succeeded", "data": {}}
    response = send(api_client, event, secret="wrong")
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "invalid_signature"
    assert not WebhookEvent.objects.exists()


def test_non_ascii_signature_is_400_not_500(api_client):
    # Header values arrive decoded as latin-1; hmac.compare_digest refuses non-ASCII str.
    response = send(api_client, {"id": "evt_1", "type": "payment.succeeded", "data": {}}, signature="sha256=é" * 8)
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "invalid_signature"


def test_missing_signature_is_400(api_client):
    response = api_client.post(URL, {"id": "evt"}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "invalid_signature"


def test_no_secret_configured_rejects_everything(api_client, settings):
    settings.PAYMENT_WEBHOOK_SECRET = ""
    response = send(api_client, {"id": "evt_1", "type": "x", "data": {}}, secret="")
    assert response.status_code == 400


@pytest.mark.parametrize("raw", [b"not json", b"[]", b'{"id": 1}', b"\xff\xfe", b""])
def test_junk_body_is_400_not_500(api_client, raw):
    response = send(api_client, None, raw=raw)
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "invalid_payload"


def test_unknown_provider_is_404(api_client):
    response = api_client.post("/api/v1/payments/webhook/nope/", b"{}", content_type="application/json")
    assert response.status_code == 404


def test_payment_succeeded_confirms_the_order_once(api_client, customer, place):
    payment = _processing_payment(customer, place)
    event = {"id": "evt_ok", "type": "payment.succeeded", "data": paid(payment)}

    first = send(api_client, event)
    second = send(api_client, event)

    assert first.status_code == 200 and first.json()["result"] == "payment_succeeded"
    assert second.status_code == 200 and second.json()["result"] == "duplicate"
    payment.refresh_from_db()
    assert payment.status == "succeeded"
    order = Order.objects.get(pk=payment.order_id)
    assert order.status == "payment_confirmed"
    assert order.history.filter(to_status="payment_confirmed").count() == 1
    assert hasattr(order, "invoice")
    assert WebhookEvent.objects.get().processed_at is not None


def test_payment_failed_marks_the_payment(api_client, customer, place):
    payment = _processing_payment(customer, place)
    event = {"id": "evt_f", "type": "payment.failed", "data": {"transaction_id": "txn_async_1"}}
    assert send(api_client, event).json()["result"] == "payment_failed"
    payment.refresh_from_db()
    assert payment.status == "failed"
    assert Order.objects.get(pk=payment.order_id).status == "pending"


def test_late_success_for_a_cancelled_order_is_refunded(api_client, customer, place):
    from orders.services import order_cancel

    payment = _processing_payment(customer, place)
    order_cancel(payment.order_id)
    event = {"id": "evt_late", "type": "payment.succeeded", "data": paid(payment)}
    assert send(api_client, event).json()["result"] == "refunded_late_payment"
    payment.refresh_from_db()
    assert payment.status == "refunded"
    assert Refund.objects.filter(payment=payment).exists()
    assert Order.objects.get(pk=payment.order_id).status == "cancelled"


def test_late_success_whose_refund_fails_is_502_and_not_recorded(api_client, customer, place, monkeypatch):
    from orders.services import order_cancel
    from payments.providers.base import ProviderError
    from payments.providers.test import TestProvider

    payment = _processing_payment(customer, place)
    order_cancel(payment.order_id)

    def outage(self, **kwargs):
        raise ProviderError("provider down")

    monkeypatch.setattr(TestProvider, "refund", outage)
    event = {"id": "evt_late_outage", "type": "payment.succeeded", "data": paid(payment)}
    response = send(api_client, event)
    assert response.status_code == 502
    assert response.json()["errors"][0]["code"] == "payment_provider_error"
    # Not recorded as applied: the provider's redelivery gets another try.
    assert not WebhookEvent.objects.filter(event_id="evt_late_outage").exists()
    monkeypatch.undo()
    assert send(api_client, event).json()["result"] == "refunded_late_payment"


def test_refund_succeeded_updates_the_refund(api_client, customer, place):
    from orders.services import order_cancel

    order = place(customer, (ProductFactory(stock_quantity=5), 1))
    payment_pay(order.pk, user=customer, token="tok_visa", idempotency_key=new_key())
    order_cancel(order.pk)
    refund = Refund.objects.get()
    Refund.objects.filter(pk=refund.pk).update(status="pending")
    event = {"id": "evt_r", "type": "refund.succeeded", "data": {"refund_id": refund.provider_refund_id}}
    assert send(api_client, event).json()["result"] == "refund_succeeded"
    refund.refresh_from_db()
    assert refund.status == "succeeded"


def test_unknown_event_types_and_payments_are_acknowledged(api_client):
    assert send(api_client, {"id": "e1", "type": "customer.created", "data": {}}).json()["result"] == "ignored"
    data = {"transaction_id": "txn_nope", "amount": "1.00", "currency": "USD"}
    r = send(api_client, {"id": "e2", "type": "payment.succeeded", "data": data})
    assert r.status_code == 200 and r.json()["result"] == "unknown_payment"


def test_signature_with_prefix_is_accepted(api_client):
    body = json.dumps({"id": "e3", "type": "x", "data": {}}).encode()
    now = int(time.time())
    response = send(api_client, None, raw=body, timestamp=now, signature="sha256=" + sign(body, SECRET, now))
    assert response.status_code == 200


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicate_deliveries_apply_once(settings):
    from rest_framework.test import APIClient

    from orders.services import LineRequest, order_place
    from tests.accounts.factories import UserFactory
    from tests.concurrency import run_threads
    from tests.orders.helpers import ADDRESS

    settings.PAYMENT_WEBHOOK_SECRET = SECRET
    user = UserFactory(is_verified=True)
    order = order_place(user, items=[LineRequest(ProductFactory().pk, 1)], shipping_address=ADDRESS)
    payment = Payment.objects.create(
        order=order,
        provider="test",
        transaction_id="txn_c",
        amount=order.total_amount,
        currency="USD",
        status="processing",
        idempotency_key="k",
    )
    event = {"id": "evt_c", "type": "payment.succeeded", "data": paid(payment)}
    results = run_threads(10, lambda i: send(APIClient(), event).json()["result"])
    assert results.count("payment_succeeded") == 1
    assert results.count("duplicate") == 9
    assert Order.objects.get(pk=order.pk).history.filter(to_status="payment_confirmed").count() == 1


# --- finding 1: a signed webhook must not turn a declined payment into a paid order ---


def _declined_payment(customer, place):
    from tests.conftest import auth_client_for

    order = place(customer, (ProductFactory(price="40.00", stock_quantity=5), 1))
    response = auth_client_for(customer).post(
        f"/api/v1/orders/{order.pk}/pay/",
        {"payment_method": "card", "token": "tok_declined"},
        format="json",
        HTTP_IDEMPOTENCY_KEY=new_key(),
    )
    assert response.status_code == 402
    return order, Payment.objects.get(pk=response.json()["errors"][0]["payment_id"])


def test_the_reported_attack_a_bare_payment_id_with_a_wrong_amount_pays_nothing(api_client, customer, place):
    order, payment = _declined_payment(customer, place)
    event = {
        "id": "evt_attack",
        "type": "payment.succeeded",
        "data": {"payment_id": str(payment.pk), "amount": "0.01", "currency": "XXX"},
    }
    response = send(api_client, event)
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "webhook_mismatch"
    order.refresh_from_db()
    payment.refresh_from_db()
    assert order.status == "pending" and payment.status == "failed"
    assert not hasattr(order, "invoice")
    # Stored for the record, with what was (not) done.
    assert WebhookEvent.objects.get(event_id="evt_attack").result == "mismatch"


def test_a_declined_payment_stays_failed_even_with_its_transaction_and_amount(api_client, customer, place):
    order, payment = _declined_payment(customer, place)
    data = {"transaction_id": payment.transaction_id, "amount": "40.00", "currency": "USD"}
    response = send(api_client, {"id": "evt_revive", "type": "payment.succeeded", "data": data})
    assert response.status_code == 200
    assert response.json()["result"] == "ignored_not_processing"
    order.refresh_from_db()
    payment.refresh_from_db()
    assert order.status == "pending" and payment.status == "failed"
    assert not Invoice.objects.filter(order=order).exists()


@pytest.mark.parametrize(
    "data",
    [
        {"transaction_id": "txn_async_1", "amount": "0.01", "currency": "USD"},
        {"transaction_id": "txn_async_1", "amount": "10.00", "currency": "XXX"},
        {"transaction_id": "txn_async_1", "currency": "USD"},
        {"transaction_id": "txn_async_1", "amount": "10.00"},
        {"transaction_id": "txn_async_1", "amount": "ten", "currency": "USD"},
        {"transaction_id": "txn_async_1", "amount": 10.0, "currency": "USD"},
        {"transaction_id": "txn_async_1", "amount": "NaN", "currency": "USD"},
    ],
)
def test_success_whose_amount_or_currency_differs_is_400_mismatch_and_applies_nothing(
    api_client, customer, place, data
):
    payment = _processing_payment(customer, place)  # 10.00 USD
    response = send(api_client, {"id": "evt_mm", "type": "payment.succeeded", "data": data})
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "webhook_mismatch"
    payment.refresh_from_db()
    assert payment.status == "processing"
    assert Order.objects.get(pk=payment.order_id).status == "pending"
    assert WebhookEvent.objects.get(event_id="evt_mm").result == "mismatch"


def test_payment_events_without_a_transaction_id_are_400_mismatch(api_client, customer, place):
    payment = _processing_payment(customer, place)
    for n, event_type in enumerate(("payment.succeeded", "payment.failed")):
        data = {"payment_id": str(payment.pk), "amount": "10.00", "currency": "USD"}
        response = send(api_client, {"id": f"evt_noid_{n}", "type": event_type, "data": data})
        assert response.status_code == 400
        assert response.json()["errors"][0]["code"] == "webhook_mismatch"
    payment.refresh_from_db()
    assert payment.status == "processing"


@pytest.mark.parametrize("age", [305, -305, 10**6])  # clear of the second boundary (int() truncation)
def test_a_signed_timestamp_outside_the_tolerance_is_400(api_client, settings, age):
    settings.PAYMENT_WEBHOOK_TOLERANCE = 300
    event = {"id": "evt_old", "type": "x", "data": {}}
    response = send(api_client, event, timestamp=int(time.time()) - age)
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "invalid_signature"
    assert not WebhookEvent.objects.exists()
    assert send(api_client, event, timestamp=int(time.time()) - 290).status_code == 200


def test_the_timestamp_is_signed_and_required(api_client):
    body = json.dumps({"id": "evt_ts", "type": "x", "data": {}}).encode()
    old = int(time.time()) - 3600
    # A captured delivery replayed with a fresh timestamp: the signature no longer matches.
    replay = {"HTTP_X_SIGNATURE": sign(body, SECRET, old), "HTTP_X_SIGNATURE_TIMESTAMP": str(int(time.time()))}
    # The scheme before timestamps (HMAC of the body alone, no timestamp header).
    import hashlib
    import hmac

    body_only = {"HTTP_X_SIGNATURE": hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()}
    for headers in (replay, body_only, {**body_only, "HTTP_X_SIGNATURE_TIMESTAMP": "soon"}):
        response = api_client.post(URL, body, content_type="application/json", **headers)
        assert response.status_code == 400, headers
        assert response.json()["errors"][0]["code"] == "invalid_signature"
    assert not WebhookEvent.objects.exists()
