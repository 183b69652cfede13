"""Personal data: the export of everything the shop holds on a user (GET auth/me/export/,
the admin's "Export personal data") and the erasure of an account (POST auth/me/delete/,
the admin's "Erase accounts"). One service each, called by the API and the admin alike.

Each app declares its share with `accounts.hooks.register_personal_data` from its
`AppConfig.ready()` (accounts' own sections are registered below): the export is one
document made of every section, the erasure runs every section's eraser in one transaction.

What erasure keeps: orders and invoices, for the books, with their address snapshots (the
name and address the customer bought with), detached from the account; payments and
refunds (they point at orders, never at the user); reviews, detached and shown as by a
deleted user; the admin log of what a staff member did. The user row stays, pseudonymised
(`erased-<id>@erased.invalid`, no names, an unusable password, inactive, no role), so the
rows that still point at it name nobody and it can never sign in again.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.apps import apps
from django.db import transaction
from django.utils import timezone

from accounts.errors import WrongPassword
from accounts.hooks import personal_data_sections, register_personal_data
from accounts.models import Address, RefreshTokenFamily, Role, User
from accounts.services import RevokeReason, sessions_revoke
from core.formats import iso_utc
from core.models import IdempotencyRecord, OutboxMessage

logger = logging.getLogger(__name__)

EXPORT_FORMAT = "ecommerce.personal-data.v1"
ERASED_EMAIL_DOMAIN = "erased.invalid"  # RFC 2606: a domain that can never receive mail


def jsonable(value: Any) -> Any:
    """`value` with Decimals as strings ("19.99", as the API writes money), datetimes in
    ISO 8601 UTC, dates ISO, UUIDs as strings, tuples as lists, recursively."""
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    return value


def erased_email(user: User) -> str:
    return f"erased-{user.pk.hex}@{ERASED_EMAIL_DOMAIN}"


# --- export -------------------------------------------------------------------------------


def _profile(user: User) -> dict[str, Any]:
    return {
        "id": user.pk,
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "role": user.role,
        "is_verified": user.is_verified,
        "is_active": user.is_active,
        "date_joined": user.date_joined,
        "last_login": user.last_login,
        "updated_at": user.updated_at,
        "groups": sorted(user.groups.values_list("name", flat=True)),
    }


def user_data_export(*, user: User) -> dict[str, Any]:
    """Every record the shop holds on `user`, as one JSON-ready document:
    `{format, exported_at, user: {profile}, <section>: ...}` with one key per registered
    section (addresses, sessions, reviews, cart, orders, payments, invoices...). Secrets are
    left out: the password hash, token ids, card data and provider payloads."""
    document: dict[str, Any] = {"format": EXPORT_FORMAT, "exported_at": timezone.now(), "user": _profile(user)}
    for entry in personal_data_sections():
        document[entry.section] = entry.export(user)
    return jsonable(document)


# --- erasure ------------------------------------------------------------------------------


def user_erase(*, user: User, password: str | None = None, by: User | None = None) -> bool:
    """Erase `user`'s account (GDPR art. 17), at once and for good.

    With `password` (the customer's own request), it is checked first: WrongPassword (400
    `invalid_password` on `password`) and nothing changes. Staff erasing from the admin pass
    `by` instead. Locks the user's row, then runs every registered eraser, higher apps first
    (orders: unpaid orders cancelled and their stock returned, orders detached; carts
    deleted; reviews detached), then accounts' own (addresses and sessions deleted, every
    token dead, including access tokens already issued), and pseudonymises the user row
    (see the module docstring). All in one transaction: an eraser that fails rolls it all
    back. Returns False, changing nothing, when the account was already erased."""
    if password is not None and not user.check_password(password):
        raise WrongPassword(attr="password")
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        if locked.erased_at is not None:
            return False
        for entry in reversed(personal_data_sections()):
            entry.erase(locked)
        _pseudonymise(locked)
    for name in ("email", "first_name", "last_name", "password", "is_active", "is_verified", "role", "erased_at"):
        setattr(user, name, getattr(locked, name))
    logger.info("account erased", extra={"user_id": str(user.pk), "by": str(by.pk) if by else "self"})
    return True


def _pseudonymise(user: User) -> None:
    user.email = erased_email(user)
    user.first_name = ""
    user.last_name = ""
    user.set_unusable_password()
    user.is_active = False
    user.is_verified = False
    user.is_superuser = False
    user.role = Role.CUSTOMER
    user.last_login = None
    user.erased_at = timezone.now()
    user.save(
        update_fields=[
            "email",
            "first_name",
            "last_name",
            "password",
            "is_active",
            "is_verified",
            "is_superuser",
            "role",
            "last_login",
            "erased_at",
            "updated_at",
        ]
    )
    user.groups.clear()
    user.user_permissions.clear()


# --- accounts' own sections -----------------------------------------------------------------


def _export_addresses(user: User) -> list[dict[str, Any]]:
    return list(
        Address.objects.filter(user=user)
        .order_by("created_at", "id")
        .values(
            "id",
            "full_name",
            "line1",
            "line2",
            "city",
            "region",
            "postal_code",
            "country",
            "phone",
            "is_default",
            "created_at",
            "updated_at",
        )
    )


def _erase_addresses(user: User) -> None:
    Address.objects.filter(user=user).delete()


def _legacy_tokens():
    # simplejwt's blacklist app stays installed for its table (see settings); sign-in no
    # longer writes it, but rows from before sessions existed may name the user. Reached
    # through the app registry: accounts does not import simplejwt (domain-without-drf).
    if not apps.is_installed("rest_framework_simplejwt.token_blacklist"):
        return None
    return apps.get_model("token_blacklist", "OutstandingToken")


def _export_sessions(user: User) -> dict[str, Any]:
    legacy = _legacy_tokens()
    return {
        # Without `current_jti`: a live token's id is a secret of the session.
        "sign_ins": list(
            RefreshTokenFamily.objects.filter(user=user)
            .order_by("created_at", "id")
            .values("id", "created_at", "last_refreshed_at", "expires_at", "revoked_at", "revoked_reason")
        ),
        "legacy_refresh_tokens": list(
            legacy.objects.filter(user=user).order_by("created_at", "id").values("created_at", "expires_at")
        )
        if legacy
        else [],
    }


def _erase_sessions(user: User) -> None:
    families = RefreshTokenFamily.objects.filter(user=user)
    # Revoked first: that also marks each session ended in the shared cache, so an access
    # token issued before is refused at once (deleting rows alone would leave a cached
    # "active" for up to SESSION_STATE_CACHE_SECONDS).
    sessions_revoke(families=families, reason=RevokeReason.ERASED)
    families.delete()
    legacy = _legacy_tokens()
    if legacy is not None:
        legacy.objects.filter(user=user).delete()  # their blacklist rows cascade


_ADMIN_ACTIONS = {1: "added", 2: "changed", 3: "deleted"}


def _export_admin_log(user: User) -> list[dict[str, Any]]:
    LogEntry = apps.get_model("admin", "LogEntry")
    rows = (
        LogEntry.objects.filter(user=user)
        .select_related("content_type")
        .order_by("action_time", "id")
        .values("action_time", "content_type__app_label", "content_type__model", "object_repr", "action_flag")
    )
    return [
        {
            "at": row["action_time"],
            "action": _ADMIN_ACTIONS.get(row["action_flag"], str(row["action_flag"])),
            "object_type": f"{row['content_type__app_label']}.{row['content_type__model']}",
            "object": row["object_repr"],
        }
        for row in rows
    ]


def _erase_admin_log(user: User) -> None:
    # What a staff member did stays on record (the audit trail), pointing at the
    # pseudonymised row. Entries *about* this user name them in `object_repr` (the email):
    # those are rewritten to the placeholder.
    LogEntry = apps.get_model("admin", "LogEntry")
    ContentType = apps.get_model("contenttypes", "ContentType")
    LogEntry.objects.filter(content_type=ContentType.objects.get_for_model(User), object_id=str(user.pk)).update(
        object_repr=erased_email(user)
    )


def _idempotency_scope(user: User) -> str:
    return f"user:{user.pk}"  # as ecommerce.api.idempotency.caller_scope writes it


def _export_idempotency_records(user: User) -> list[dict[str, Any]]:
    return list(
        IdempotencyRecord.objects.filter(scope=_idempotency_scope(user))
        .order_by("created_at", "id")
        .values("method", "path", "response_status", "created_at")
    )


def _erase_idempotency_records(user: User) -> None:
    # Stored responses of the user's requests (orders, addresses...), kept 24 h for replays.
    IdempotencyRecord.objects.filter(scope=_idempotency_scope(user)).delete()
    # Queued or recently published password-reset jobs carry the address itself.
    OutboxMessage.objects.filter(task="accounts.send_password_reset_email", args__0=user.email).delete()


def register_accounts_personal_data() -> None:
    """accounts' own sections (called from AccountsConfig.ready())."""
    register_personal_data("addresses", models=("accounts.Address",), export=_export_addresses, erase=_erase_addresses)
    register_personal_data(
        "sessions",
        models=("accounts.RefreshTokenFamily", "token_blacklist.OutstandingToken"),
        export=_export_sessions,
        erase=_erase_sessions,
    )
    register_personal_data("admin_log", models=("admin.LogEntry",), export=_export_admin_log, erase=_erase_admin_log)
    register_personal_data(
        "api_requests", models=(), export=_export_idempotency_records, erase=_erase_idempotency_records
    )
