"""Points where orders must trigger work owned by a higher app, which registers a handler
at startup (its AppConfig.ready()).

Orders sits below payments and cannot import it, yet cancelling a paid order must refund
it, in the cancel transaction, before the stock goes back. So `order_cancel` calls the
refund handler that payments registers (`payments.apps.PaymentsConfig.ready()`): every
caller of the one cancel service (API, status endpoint, admin, expiry job, tests) refunds
the same way. A plain registered function rather than a model signal: the call is part of
the business flow, its failure must roll the cancellation back, and there is exactly one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    from orders.models import Order

# Called as handler(order, reason=...) with the order row locked, inside the cancel
# transaction; raising rolls the cancellation back (and the error reaches the caller).
RefundHandler = Callable[..., Any]

_refund_handler: RefundHandler | None = None


def register_refund_handler(handler: RefundHandler) -> None:
    """Make `handler` refund paid orders that are cancelled. One handler only: a second,
    different one is a configuration error (two apps would both give the money back)."""
    global _refund_handler
    if _refund_handler is not None and _refund_handler is not handler:
        raise ImproperlyConfigured(f"An order refund handler is already registered: {_refund_handler!r}.")
    _refund_handler = handler


def refund_paid_order(order: Order, *, reason: str) -> None:
    """Refund `order` (paid, row locked by the caller) through the registered handler.
    With none registered the cancellation fails rather than keep the customer's money."""
    if _refund_handler is None:
        raise ImproperlyConfigured("No order refund handler is registered (is the payments app installed?).")
    _refund_handler(order, reason=reason)
