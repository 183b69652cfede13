"""Payment providers behind one small interface; `PAYMENT_PROVIDER` picks the default."""

from __future__ import annotations

from django.conf import settings

from payments.providers.base import (
    ChargeResult,
    InvalidWebhook,
    PaymentProvider,
    ProviderError,
    ProviderTimeout,
    RefundResult,
    WebhookEventData,
)
from payments.providers.test import TestProvider

PROVIDERS: dict[str, type[PaymentProvider]] = {TestProvider.name: TestProvider}


def get_provider(name: str | None = None) -> PaymentProvider:
    """The provider called `name` (default: settings.PAYMENT_PROVIDER). KeyError if unknown."""
    return PROVIDERS[name or settings.PAYMENT_PROVIDER]()


__all__ = [
    "ChargeResult",
    "InvalidWebhook",
    "PaymentProvider",
    "ProviderError",
    "ProviderTimeout",
    "RefundResult",
    "WebhookEventData",
    "get_provider",
]
