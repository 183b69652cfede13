"""The interface every payment provider implements.

Amounts are Decimals in the order's currency. Every call carries our idempotency key so
the provider dedupes retries too (a retried charge never charges twice)."""

from __future__ import annotations

import hashlib
import hmac
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings


class ProviderError(Exception):
    """The provider could not be reached or failed: nothing was charged or refunded."""


class ProviderTimeout(ProviderError):
    """The provider did not answer within the provider's `timeout`. The outcome is then
    unknown to us; the charge is recorded as failed, and a retry carries the same
    idempotency key, so the provider returns the first charge rather than making another."""


class InvalidWebhook(Exception):
    """Bad signature or unreadable body."""

    def __init__(self, code: str, detail: str) -> None:
        self.code = code
        self.detail = detail
        super().__init__(detail)


@dataclass(frozen=True)
class ChargeResult:
    succeeded: bool
    transaction_id: str
    decline_code: str = ""
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RefundResult:
    succeeded: bool
    refund_id: str
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class WebhookEventData:
    """A verified event. For payment events the provider also reads, in its own format,
    the charge it is about: `transaction_id`, `amount` (None when absent or unreadable)
    and `currency` (upper case; empty when absent). The service compares them with the
    payment it holds and applies nothing when they differ."""

    event_id: str
    event_type: str
    data: dict[str, Any]
    payload: dict[str, Any]
    transaction_id: str = ""
    amount: Decimal | None = None
    currency: str = ""


def sign(body: bytes, secret: str, timestamp: int) -> str:
    """hex(HMAC-SHA256(secret, "{timestamp}." + body)): the timestamp is signed with the
    body, so an old delivery cannot be replayed with a fresh timestamp."""
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


_WRONG = "The webhook signature is missing or wrong."


def verify_signature(
    body: bytes, signature: str, timestamp: str, secret: str, *, tolerance: int, now: float | None = None
) -> None:
    """Check that `signature` (hex, optionally prefixed `sha256=`) is the HMAC of
    `"{timestamp}." + body` under `secret` and that `timestamp` (Unix seconds) is within
    `tolerance` seconds of now. Raises InvalidWebhook("invalid_signature") otherwise.
    An empty secret accepts nothing (webhooks are off)."""
    if not secret or not signature:
        raise InvalidWebhook("invalid_signature", _WRONG)
    timestamp = timestamp.strip()
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        raise InvalidWebhook(
            "invalid_signature",
            "The signature timestamp (X-Signature-Timestamp, Unix seconds) is missing or malformed.",
        )
    signature = signature.strip()
    if signature.startswith("sha256="):
        signature = signature[len("sha256=") :]
    # compare_digest raises on a non-ASCII str: that is a bad signature, not a 500.
    if not signature.isascii() or not hmac.compare_digest(sign(body, secret, int(timestamp)), signature):
        raise InvalidWebhook("invalid_signature", _WRONG)
    # After the HMAC: only a holder of the secret learns that the timestamp is the problem.
    if abs((time.time() if now is None else now) - int(timestamp)) > tolerance:
        raise InvalidWebhook(
            "invalid_signature", f"The signature timestamp is more than {tolerance} seconds away from now."
        )


class PaymentProvider(ABC):
    """Every call to the provider is bounded by `timeout` seconds (PAYMENT_PROVIDER_TIMEOUT
    by default): an implementation passes it to its HTTP client (connect and read) and
    raises ProviderTimeout when it runs out, so a slow provider costs a request (and the
    order row lock the payment holds) at most that long."""

    name: str = ""

    def __init__(self, *, timeout: float | None = None) -> None:
        self.timeout = float(settings.PAYMENT_PROVIDER_TIMEOUT if timeout is None else timeout)

    @abstractmethod
    def charge(
        self, *, amount: Decimal, currency: str, token: str, idempotency_key: str, metadata: Mapping[str, str]
    ) -> ChargeResult:
        """Charge `amount`. A decline is a result (succeeded=False); an outage raises ProviderError."""

    @abstractmethod
    def refund(self, *, transaction_id: str, amount: Decimal, currency: str, idempotency_key: str) -> RefundResult:
        """Refund `amount` of a charge. Raises ProviderError on an outage."""

    @abstractmethod
    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> WebhookEventData:
        """Verify the signature and parse the event. Raises InvalidWebhook."""
