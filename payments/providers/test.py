"""The offline test gateway (the default provider): no network, deterministic.

Tokens: `tok_visa` succeeds, `tok_declined` (or any other token) is declined, `tok_error`
is a provider outage (ProviderError: nothing charged), `tok_timeout` is a provider that
answers (and charges) only after SLOW_ANSWER_SECONDS, longer than any sensible timeout, so
the call is cut off after `timeout` seconds (ProviderTimeout). Transaction ids derive from
our idempotency key, so a retried charge yields the same transaction (the provider dedupes).
Webhooks: JSON `{"id", "type", "data": {...}}`; payment events carry `data.transaction_id`,
`data.amount` (decimal string, e.g. "19.99") and `data.currency` (ISO 4217). Signed as
hex(HMAC-SHA256(PAYMENT_WEBHOOK_SECRET, "{timestamp}." + raw body)) in `X-Signature`
(optionally prefixed `sha256=`), the Unix time of signing in `X-Signature-Timestamp`;
a timestamp more than PAYMENT_WEBHOOK_TOLERANCE seconds from now is refused.

Refunds may be partial, as at a real gateway: each refund of a charge is its own refund
(its id derives from our idempotency key, so a retried refund is the same refund and is
not counted twice), and refunds summing to more than the charge are refused. The gateway
remembers the charges and refunds of this process (a bounded in-memory ledger): a charge
it never saw (made by another process) is refunded without that check — the shop's own
locked check on the payment row is what guarantees the sum."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

from django.conf import settings

from payments.providers.base import (
    ChargeResult,
    InvalidWebhook,
    PaymentProvider,
    ProviderError,
    ProviderTimeout,
    RefundResult,
    WebhookEventData,
    sign,
    verify_signature,
)

TOKEN_SUCCESS = "tok_visa"  # noqa: S105 (test card tokens, not secrets)
TOKEN_DECLINED = "tok_declined"  # noqa: S105
TOKEN_ERROR = "tok_error"  # noqa: S105
TOKEN_TIMEOUT = "tok_timeout"  # noqa: S105
# Seconds the simulated provider takes to answer a `tok_timeout` charge (tests lower it to
# simulate the provider recovering).
SLOW_ANSWER_SECONDS = 60.0


SIGNATURE_HEADER = "X-Signature"
TIMESTAMP_HEADER = "X-Signature-Timestamp"


def signed_headers(body: bytes, *, secret: str | None = None, timestamp: int | None = None) -> dict[str, str]:
    """The headers the gateway sends with `body` (signed now, unless `timestamp` is given):
    what a test, or a tool replaying a delivery, needs to post a webhook."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    secret = settings.PAYMENT_WEBHOOK_SECRET if secret is None else secret
    return {SIGNATURE_HEADER: sign(body, secret, timestamp), TIMESTAMP_HEADER: str(timestamp)}


def _amount(value) -> Decimal | None:
    # A decimal string (or an integer); a float or anything else is not an amount we trust.
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    try:
        amount = Decimal(value)
    except (InvalidOperation, ValueError):
        return None
    return amount if amount.is_finite() else None


class _Ledger:
    """The gateway's memory of charges (amount) and refunds (by our key), bounded: the
    oldest entries are forgotten past MAX_ENTRIES."""

    MAX_ENTRIES = 10_000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.charged: OrderedDict[str, Decimal] = OrderedDict()
        self.refunds: OrderedDict[str, tuple[str, Decimal]] = OrderedDict()  # key -> (charge, amount)

    def _trim(self, entries: OrderedDict) -> None:
        while len(entries) > self.MAX_ENTRIES:
            entries.popitem(last=False)

    def record_charge(self, transaction_id: str, amount: Decimal) -> None:
        with self._lock:
            self.charged[transaction_id] = amount
            self._trim(self.charged)

    def record_refund(self, transaction_id: str, amount: Decimal, key: str) -> bool:
        """False when the refund would take the charge's refunds past its amount. A key
        already recorded is the same refund: True, counted once."""
        with self._lock:
            if key in self.refunds:
                return True
            charged = self.charged.get(transaction_id)
            if charged is not None:
                refunded = sum((a for charge, a in self.refunds.values() if charge == transaction_id), Decimal(0))
                if refunded + amount > charged:
                    return False
            self.refunds[key] = (transaction_id, amount)
            self._trim(self.refunds)
            return True


LEDGER = _Ledger()


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
            LEDGER.record_charge(transaction_id, amount)
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
        if not (amount > 0 and amount == amount.quantize(Decimal("0.01"))):
            raise ProviderError(f"test gateway: cannot refund {amount} (a positive amount in cents)")
        if not LEDGER.record_refund(transaction_id, amount, idempotency_key):
            raise ProviderError(f"test gateway: refunds of {transaction_id} would exceed the charge")
        refund_id = _derived_id("re", idempotency_key)
        raw = {"id": refund_id, "charge": transaction_id, "amount": str(amount), "currency": currency}
        return RefundResult(True, refund_id, raw={**raw, "status": "succeeded"})

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> WebhookEventData:
        verify_signature(
            body,
            headers.get(SIGNATURE_HEADER, ""),
            headers.get(TIMESTAMP_HEADER, ""),
            settings.PAYMENT_WEBHOOK_SECRET,
            tolerance=settings.PAYMENT_WEBHOOK_TOLERANCE,
        )
        try:
            payload = json.loads(body)
            event_id, event_type = payload["id"], payload["type"]
            data = payload.get("data") or {}
            if not (isinstance(event_id, str) and isinstance(event_type, str) and isinstance(data, dict)):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            raise InvalidWebhook("invalid_payload", "The webhook body is not a valid event.")
        transaction_id = data.get("transaction_id")
        currency = data.get("currency")
        return WebhookEventData(
            event_id[:128],
            event_type[:64],
            data,
            payload,
            transaction_id=transaction_id if isinstance(transaction_id, str) else "",
            amount=_amount(data.get("amount")),
            currency=currency.upper() if isinstance(currency, str) else "",
        )
