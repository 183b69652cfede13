"""Payment provider slow or down (API.md, "Faults"): a call that takes longer than
PAYMENT_PROVIDER_TIMEOUT is cut off and the payment answers 502 `payment_provider_error`;
nothing is charged, the order stays payable, and once the provider answers again a retry
with the same Idempotency-Key charges exactly once. The offline test gateway's
`tok_timeout` is a provider that answers only after SLOW_ANSWER_SECONDS."""

from __future__ import annotations

import time

import pytest
from django.conf import settings as django_settings

from orders.models import Order
from payments.models import Payment, PaymentStatus
from payments.providers import ProviderTimeout, get_provider
from payments.providers import test as test_gateway
from tests.orders.factories import ProductFactory

pytestmark = [pytest.mark.faults, pytest.mark.django_db]

TIMEOUT = 0.3


def pay(client, order, *, key: str, token: str = "tok_timeout"):
    return client.post(
        f"/api/v1/orders/{order.pk}/pay/",
        {"payment_method": "card", "token": token},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key,
    )


def test_the_timeout_defaults_to_ten_seconds_and_reaches_the_provider(settings):
    assert django_settings.PAYMENT_PROVIDER_TIMEOUT == 10.0
    assert get_provider().timeout == 10.0
    settings.PAYMENT_PROVIDER_TIMEOUT = 2.5
    assert get_provider().timeout == 2.5


def test_a_provider_slower_than_the_timeout_is_cut_off(settings):
    settings.PAYMENT_PROVIDER_TIMEOUT = TIMEOUT
    started = time.perf_counter()
    with pytest.raises(ProviderTimeout):
        get_provider().charge(amount=1, currency="USD", token="tok_timeout", idempotency_key="k", metadata={})
    assert TIMEOUT <= time.perf_counter() - started < TIMEOUT + 0.5


def test_timeout_is_502_nothing_charged_and_the_retry_charges_once(
    settings, monkeypatch, customer, customer_client, place
):
    settings.PAYMENT_PROVIDER_TIMEOUT = TIMEOUT
    order = place(customer, (ProductFactory(), 1))

    started = time.perf_counter()
    response = pay(customer_client, order, key="pay-slow")
    took = time.perf_counter() - started
    assert response.status_code == 502, response.content
    assert response.json()["errors"][0]["code"] == "payment_provider_error"
    assert TIMEOUT <= took < TIMEOUT + 1.5, f"the payment took {took:.2f} s"
    order.refresh_from_db()
    assert order.status == "pending"  # still payable
    assert not Payment.objects.filter(status=PaymentStatus.SUCCEEDED).exists()
    assert Payment.objects.get(order=order).failure_code == "provider_error"

    # The provider answers in time again: the same request, with the same key, charges once.
    monkeypatch.setattr(test_gateway, "SLOW_ANSWER_SECONDS", 0.01)
    retry = pay(customer_client, order, key="pay-slow")
    assert retry.status_code == 201, retry.content
    assert "Idempotent-Replayed" not in retry  # the 502 was not stored: this one ran
    again = pay(customer_client, order, key="pay-slow")
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert Order.objects.get(pk=order.pk).status == "payment_confirmed"
    succeeded = Payment.objects.filter(order=order, status=PaymentStatus.SUCCEEDED)
    assert succeeded.count() == 1
    assert succeeded.get().transaction_id == retry.json()["transaction_id"]


def test_provider_outage_code_is_unchanged(customer, customer_client, place):
    """tok_error (an outage, no timeout involved) keeps API.md's 502 payment_provider_error."""
    order = place(customer, (ProductFactory(), 1))
    response = pay(customer_client, order, key="pay-error", token="tok_error")
    assert response.status_code == 502
    assert response.json()["errors"][0]["code"] == "payment_provider_error"
