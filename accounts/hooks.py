"""Extension points of accounts for the apps above it.

accounts sits low in the dependency order (`payments -> orders -> carts -> catalog ->
accounts -> core`), so it never calls a higher app. When a higher app must act on an
accounts event, it registers a receiver here from its `AppConfig.ready()`; the service that
raises the event calls every receiver (plain function calls, no model signals).

- `on_sign_in(receiver)`: `receiver(user=..., request=...)` runs after a successful API
  sign-in (`services.auth_login`), outside any transaction, with the Django `HttpRequest`
  of the sign-in (or None when called without one). A receiver that raises is logged and
  never fails the sign-in. Example: carts merges the anonymous cart of `X-Cart-Token`.
- `register_personal_data(section, models=..., export=..., erase=...)`: what an app holds
  on a user, for the personal-data export and the account erasure (`accounts.privacy`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
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


# --- personal data: export and erasure ------------------------------------------------------
#
# Every app that keeps rows linked to a user says what they are, in one registration from
# its `AppConfig.ready()`: `accounts.privacy` builds the export document from every section
# and runs every eraser when an account is erased. A test walks the models with a relation
# to the user (`User._meta.related_objects`) and fails for any model no section covers, so
# a new app cannot forget its share.


@dataclass(frozen=True)
class PersonalData:
    """One app's share of what the shop holds on a user.

    - `section`: the key of this data in the export document (unique).
    - `models`: labels ("app_label.ModelName") of the models whose link to the user this
      section accounts for (exported, and erased or detached by `erase`).
    - `export(user)`: the records, JSON-ready (dicts, lists, str, int, bool, None; Decimal,
      datetime and UUID values are converted by `accounts.privacy.jsonable`). No secrets:
      no password hashes, token ids, card data or provider payloads.
    - `erase(user)`: delete or detach the records. It runs inside the erasure transaction,
      with the user's row locked, before the user row itself is pseudonymised; raising
      rolls the whole erasure back. Sections of higher apps run first (the reverse of the
      registration order, which follows INSTALLED_APPS).
    """

    section: str
    models: tuple[str, ...]
    export: Callable[[Any], Any]
    erase: Callable[[Any], None]


_personal_data: dict[str, PersonalData] = {}


def register_personal_data(
    section: str, *, models: tuple[str, ...], export: Callable[[Any], Any], erase: Callable[[Any], None]
) -> PersonalData:
    """Register (or, from a repeated `ready()`, replace) the section named `section`."""
    entry = PersonalData(section=section, models=tuple(models), export=export, erase=erase)
    _personal_data[section] = entry
    return entry


def personal_data_sections() -> list[PersonalData]:
    """Every registered section, in registration order (lower apps first)."""
    return list(_personal_data.values())
