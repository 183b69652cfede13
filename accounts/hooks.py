"""Extension points of accounts for the apps above it.

accounts sits low in the dependency order (`payments -> orders -> carts -> catalog ->
accounts -> core`), so it never calls a higher app. When a higher app must act on an
accounts event, it registers a receiver here from its `AppConfig.ready()`; the service that
raises the event calls every receiver (plain function calls, no model signals).

- `on_sign_in(receiver)`: `receiver(user=..., request=...)` runs after a successful API
  sign-in (`services.auth_login`), outside any transaction, with the Django `HttpRequest`
  of the sign-in (or None when called without one). A receiver that raises is logged and
  never fails the sign-in. Example: carts merges the anonymous cart of `X-Cart-Token`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)

SignInReceiver = Callable[..., Any]

_sign_in_receivers: list[SignInReceiver] = []


def on_sign_in(receiver: SignInReceiver) -> SignInReceiver:
    """Register `receiver` (once, however often `ready()` runs); usable as a decorator."""
    if receiver not in _sign_in_receivers:
        _sign_in_receivers.append(receiver)
    return receiver


def signed_in(*, user, request=None) -> None:
    """Call every sign-in receiver; a failing receiver is logged, the others still run."""
    for receiver in list(_sign_in_receivers):
        try:
            receiver(user=user, request=request)
        except Exception:
            logger.exception(
                "a sign-in receiver failed",
                extra={"user_id": str(user.pk), "receiver": getattr(receiver, "__qualname__", repr(receiver))},
            )
