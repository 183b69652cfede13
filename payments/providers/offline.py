"""Money received outside the shop (bank transfer, cash, a card terminal), recorded by staff
with `payments.services.payment_record_offline`. There is nothing to call: it charges no
card, takes no webhooks, and a refund is recorded as `pending` for staff to pay back by
the same route."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from decimal import Decimal

from payments.providers.base import (
    ChargeResult,
    InvalidWebhook,
    PaymentProvider,
    ProviderError,
    RefundResult,
    WebhookEventData,
)


class OfflineProvider(PaymentProvider):
    name = "offline"

    def charge(
        self, *, amount: Decimal, currency: str, token: str, idempotency_key: str, metadata: Mapping[str, str]
    ) -> ChargeResult:
        raise ProviderError("offline payments are recorded by staff, not charged")

    def refund(self, *, transaction_id: str, amount: Decimal, currency: str, idempotency_key: str) -> RefundResult:
        refund_id = f"offline_re_{hashlib.sha256(idempotency_key.encode()).hexdigest()[:24]}"
        raw = {"id": refund_id, "charge": transaction_id, "amount": str(amount), "currency": currency}
        # Not settled: staff return the money outside the shop.
        return RefundResult(False, refund_id, raw={**raw, "status": "to_be_paid_back_offline"})

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> WebhookEventData:
        raise InvalidWebhook("invalid_signature", "The offline provider sends no webhooks.")
