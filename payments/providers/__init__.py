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
from payments.providers.offline import OfflineProvider
from payments.providers.test import TestProvider

# `offline` records money received outside the shop (staff, admin); it is never the
# PAYMENT_PROVIDER that charges cards.
PROVIDERS: dict[str, type[PaymentProvider]] = {TestProvider.name: TestProvider, OfflineProvider.name: OfflineProvider}


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
