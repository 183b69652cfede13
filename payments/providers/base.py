"""The interface every payment provider implements.

Amounts are Decimals in the order's currency. Every call carries our idempotency key so
the provider dedupes retries too (a retried charge never charges twice)."""

from __future__ import annotations

import hashlib
import hmac
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
    event_id: str
    event_type: str
    data: dict[str, Any]
    payload: dict[str, Any]


def sign(body: bytes, secret: str) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(body: bytes, signature: str, secret: str) -> bool:
    if not secret or not signature:
        return False
    signature = signature.strip()
    if signature.startswith("sha256="):
        signature = signature[len("sha256=") :]
    if not signature.isascii():  # compare_digest raises on non-ASCII str: a bad signature
        return False
    return hmac.compare_digest(sign(body, secret), signature)


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
