"""Points where orders must trigger work owned by a higher app, which registers a handler
at startup (its AppConfig.ready()).

Orders sits below payments and cannot import it, yet cancelling a paid order must refund
it, in the cancel transaction, before the stock goes back, and approving a return must
refund the returned lines' share. So `order_cancel` and `return_approve` call the refund
handler that payments registers (`payments.apps.PaymentsConfig.ready()`): every caller of
those services (API, status endpoint, admin, expiry job, tests) refunds the same way. A plain registered function rather than a model signal: the call is part of
the business flow, its failure must roll the cancellation back, and there is exactly one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    from orders.models import Order
    from orders.services import RefundLine


@dataclass(frozen=True)
class RefundOutcome:
    """What the handler refunded: the amount and the document issued for it (the credit
    note's number)."""

    amount: Decimal
    document: str = ""


# Called as handler(order, reason=..., key=..., lines=..., amount=...) with the order row
# locked, inside the caller's transaction; returns a RefundOutcome, or None when the order
# has no payment to refund. Raising rolls the caller back (and the error reaches it).
RefundHandler = Callable[..., Any]

_refund_handler: RefundHandler | None = None


def register_refund_handler(handler: RefundHandler) -> None:
    """Make `handler` refund paid orders that are cancelled. One handler only: a second,
    different one is a configuration error (two apps would both give the money back)."""
    global _refund_handler
    if _refund_handler is not None and _refund_handler is not handler:
        raise ImproperlyConfigured(f"An order refund handler is already registered: {_refund_handler!r}.")
    _refund_handler = handler


def refund_paid_order(
    order: Order, *, reason: str, key: str, lines: Sequence[RefundLine], amount: Decimal | None = None
) -> RefundOutcome | None:
    """Refund `amount` of `order` (None: all that is left of its payment), row locked by the
    caller, through the registered handler. `lines` say what is refunded (the credit note's
    lines); `key` names the cause ("cancel:<order>", "return:<return>"): a second refund
    for one cause returns the first instead of refunding again. With no handler registered
    the caller fails rather than keep the customer's money."""
    if _refund_handler is None:
        raise ImproperlyConfigured("No order refund handler is registered (is the payments app installed?).")
    return _refund_handler(order, reason=reason, key=key, lines=lines, amount=amount)
