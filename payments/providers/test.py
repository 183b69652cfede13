"""The offline test gateway (the default provider): no network, deterministic.

Tokens: `tok_visa` succeeds, `tok_declined` (or any other token) is declined, `tok_error`
is a provider outage (ProviderError: nothing charged), `tok_timeout` is a provider that
answers (and charges) only after SLOW_ANSWER_SECONDS, longer than any sensible timeout, so
the call is cut off after `timeout` seconds (ProviderTimeout). Transaction ids derive from
our idempotency key, so a retried charge yields the same transaction (the provider dedupes).
Webhooks: JSON `{"id", "type", "data": {...}}` signed with HMAC-SHA256 of the raw body
(hex) in `X-Signature`, secret `PAYMENT_WEBHOOK_SECRET`."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping
from decimal import Decimal

from django.conf import settings

from payments.providers.base import (
    ChargeResult,
    InvalidWebhook,
    PaymentProvider,
    ProviderError,
    ProviderTimeout,
    RefundResult,
    WebhookEventData,
    verify_signature,
)

TOKEN_SUCCESS = "tok_visa"  # noqa: S105 (test card tokens, not secrets)
TOKEN_DECLINED = "tok_declined"  # noqa: S105
TOKEN_ERROR = "tok_error"  # noqa: S105
TOKEN_TIMEOUT = "tok_timeout"  # noqa: S105
# Seconds the simulated provider takes to answer a `tok_timeout` charge (tests lower it to
# simulate the provider recovering).
SLOW_ANSWER_SECONDS = 60.0


def _derived_id(prefix: str, key: str) -> str:
    return f"{prefix}_{hashlib.sha256(key.encode()).hexdigest()[:24]}"


class TestProvider(PaymentProvider):
    __test__ = False  # not a pytest class
    name = "test"

    def charge(
        self, *, amount: Decimal, currency: str, token: str, idempotency_key: str, metadata: Mapping[str, str]
    ) -> ChargeResult:
        if token == TOKEN_ERROR:
            raise ProviderError("test gateway outage (tok_error)")
        if token == TOKEN_TIMEOUT:
            self._await_answer(SLOW_ANSWER_SECONDS)
        transaction_id = _derived_id("txn", idempotency_key)
        raw = {"id": transaction_id, "amount": str(amount), "currency": currency, "metadata": dict(metadata)}
        if token in (TOKEN_SUCCESS, TOKEN_TIMEOUT):  # a slow provider that answers charges the card
            return ChargeResult(True, transaction_id, raw={**raw, "status": "succeeded"})
        decline = "card_declined" if token == TOKEN_DECLINED else "invalid_token"
        return ChargeResult(False, transaction_id, decline_code=decline, raw={**raw, "status": "declined"})

    def _await_answer(self, answer_after: float) -> None:
        """Wait for an answer that comes after `answer_after` seconds, as a socket with a
        read timeout of `timeout` would: give up after `timeout` seconds."""
        if answer_after > self.timeout:
            time.sleep(self.timeout)
            raise ProviderTimeout(f"test gateway did not answer within {self.timeout:g} s (tok_timeout)")
        time.sleep(answer_after)

    def refund(self, *, transaction_id: str, amount: Decimal, currency: str, idempotency_key: str) -> RefundResult:
        refund_id = _derived_id("re", idempotency_key)
        raw = {"id": refund_id, "charge": transaction_id, "amount": str(amount), "currency": currency}
        return RefundResult(True, refund_id, raw={**raw, "status": "succeeded"})

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> WebhookEventData:
        if not verify_signature(body, headers.get("X-Signature", ""), settings.PAYMENT_WEBHOOK_SECRET):
            raise InvalidWebhook("invalid_signature", "The webhook signature is missing or wrong.")
        try:
            payload = json.loads(body)
            event_id, event_type = payload["id"], payload["type"]
            data = payload.get("data") or {}
            if not (isinstance(event_id, str) and isinstance(event_type, str) and isinstance(data, dict)):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            raise InvalidWebhook("invalid_payload", "The webhook body is not a valid event.")
        return WebhookEventData(event_id[:128], event_type[:64], data, payload)
