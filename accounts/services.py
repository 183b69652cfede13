"""Writes of accounts: registration, sign-in (with its per-email lockout), sessions
(refresh-token families), email verification, password flows, roles, addresses.

Callable alike from the API, the admin, tasks, management commands and tests. Errors are
the plain exceptions of `accounts.errors`; the API maps them to HTTP in one place.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import update_last_login
from django.contrib.auth.password_validation import validate_password
from django.core.cache import cache
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts import hooks, tasks
from accounts.errors import (
    EmailTaken,
    InvalidCredentials,
    InvalidToken,
    RefreshTokenInvalid,
    WeakPassword,
    WrongPassword,
)
from accounts.models import Address, RefreshTokenFamily, Role, User, normalize_email
from accounts.selectors import SESSION_STATE_CACHE_SECONDS, session_cache_key
from accounts.tokens import check_password_reset_token, decode_uid, read_email_verification_token
from core.addresses import validate_address
from core.errors import Conflict, RateLimited
from core.jobs import enqueue
from core.ratelimit import limit_hit, seconds_until_allowed
from core.redis_circuit import bypass

logger = logging.getLogger(__name__)


class RevokeReason:
    LOGOUT = "logout"
    REUSE = "reuse_detected"
    PASSWORD_CHANGE = "password_change"  # noqa: S105
    PASSWORD_RESET = "password_reset"  # noqa: S105
    DEACTIVATED = "deactivated"
    ADMIN = "admin"
    ERASED = "account_erased"


# --- registration and verification ------------------------------------------------------


def _check_password_strength(password: str, user: User, attr: str = "password") -> None:
    try:
        validate_password(password, user=user)
    except DjangoValidationError as exc:
        problems = [(err.code or "invalid", message) for err in exc.error_list for message in err.messages]
        raise WeakPassword(problems, attr=attr)


def user_register(*, email: str, password: str, first_name: str = "", last_name: str = "") -> User:
    """Create a customer (never any other role, never verified) and queue the verification
    email once the transaction commits. Raises EmailTaken (whatever the case or Unicode
    spelling of the address: `normalize_email`) and WeakPassword (Django's validators)."""
    email = normalize_email(email)
    user = User(email=email, first_name=first_name, last_name=last_name, role=Role.CUSTOMER, is_verified=False)
    if User.objects.filter(email=email).exists():
        raise EmailTaken()
    _check_password_strength(password, user)
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save(force_insert=True)
            enqueue(tasks.send_verification_email, str(user.pk), uuid.uuid4().hex)
    except IntegrityError:  # a concurrent registration of the same address won the race
        raise EmailTaken()
    return user


def user_verify_email(*, token: str) -> User:
    """Mark the token's user verified. The token is single use: it names the address it
    was sent to and is only accepted while that user is still unverified. Raises
    InvalidToken for a bad signature, an expired token, a used token or a changed email."""
    payload = read_email_verification_token(token)
    if payload is None:
        raise InvalidToken()
    with transaction.atomic():
        try:
            user = User.objects.select_for_update().filter(pk=payload["u"], is_active=True).first()
        except DjangoValidationError:
            user = None
        if user is None or user.is_verified or user.email != payload["e"]:
            raise InvalidToken()
        user.is_verified = True
        user.save(update_fields=["is_verified", "updated_at"])
    return user


def email_verification_resend(*, user: User) -> bool:
    """Queue a fresh verification email; a no-op for a verified user. True if queued."""
    if user.is_verified:
        return False
    enqueue(tasks.send_verification_email, str(user.pk), uuid.uuid4().hex)
    return True


def user_mark_verified(*, user: User) -> None:
    """Staff override (admin action) for a user who proved their address another way."""
    User.objects.filter(pk=user.pk).update(is_verified=True, updated_at=timezone.now())
    user.is_verified = True


# --- sign-in and its per-email lockout ----------------------------------------------------

LOGIN_LOCKOUT_GROUP = "login-email"
PASSWORD_RESET_EMAIL_GROUP = "password-reset-email"  # noqa: S105 (a counter name)


def _email_key(email: str) -> str:
    return f"email:{email}"


def authenticate_with_lockout(*, email: str, password: str, request=None) -> User | None:
    """Check an email and password behind the per-email lockout; every door calls this
    (the API's `auth_login`, and the Django admin login through `RoleModelBackend`), so they
    share one counter. The check itself is Django's ModelBackend (inactive users refused).

    Only failures count (RATELIMIT_LOGIN_EMAIL): an owner is never locked out by their own
    sign-ins, a guesser is. Once the email is over the limit every attempt is refused until
    the window ends, the right password included, so guessing teaches nothing. Returns the
    user, or None for bad credentials; raises RateLimited (429, Retry-After) while locked."""
    email = normalize_email(email)
    rate = settings.RATELIMIT_LOGIN_EMAIL
    wait = seconds_until_allowed(group=LOGIN_LOCKOUT_GROUP, key=_email_key(email), rate=rate)
    if wait:
        raise RateLimited(retry_after=wait)
    user = ModelBackend().authenticate(request, username=email, password=password)
    if user is None:
        limit_hit(group=LOGIN_LOCKOUT_GROUP, key=_email_key(email), rate=rate)
    return user


# --- sessions: refresh-token families -------------------------------------------------------


@dataclass(frozen=True)
class SessionToken:
    """A refresh token to hand out, as plain data: the API layer signs it as a JWT
    (`ecommerce.api.auth.token_pair`), together with an access token of the same family."""

    user: User
    family_id: uuid.UUID
    jti: str
    expires_at: datetime


def _new_token(family: RefreshTokenFamily) -> SessionToken:
    # The new token becomes the family's only valid one (the caller saves the family).
    now = timezone.now()
    family.current_jti = uuid.uuid4().hex
    family.expires_at = now + settings.SIMPLE_JWT["REFRESH_TOKEN_LIFETIME"]
    return SessionToken(user=family.user, family_id=family.id, jti=family.current_jti, expires_at=family.expires_at)


def session_start(*, user: User) -> SessionToken:
    """A new sign-in session (token family) and its first refresh token. Its state goes
    into the cache, so the first requests of the session cost no lookup (were the insert
    rolled back, no token of it would have been handed out)."""
    family = RefreshTokenFamily(user=user)
    token = _new_token(family)
    family.save(force_insert=True)
    try:
        cache.add(session_cache_key(family.id), str(user.pk), SESSION_STATE_CACHE_SECONDS)
    except Exception:
        logger.warning("session state cache unavailable", exc_info=True)
    return token


def auth_login(*, email: str, password: str, request=None) -> SessionToken:
    """Sign in with email and password (the per-email lockout of
    `authenticate_with_lockout` applies) and start a session; then the sign-in hooks of
    other apps run (`accounts.hooks`, e.g. carts merges an anonymous cart), outside any
    transaction, never failing the sign-in. `request` is the Django HttpRequest, if any.
    Raises InvalidCredentials (the same for an unknown email, a wrong password and an
    inactive account) and RateLimited."""
    user = authenticate(request, email=normalize_email(email), password=password)
    if user is None:
        raise InvalidCredentials()
    token = session_start(user=user)
    if settings.SIMPLE_JWT.get("UPDATE_LAST_LOGIN"):
        update_last_login(None, user)
    hooks.signed_in(user=user, request=request)
    return token


def _sessions_forget(family_ids: list[Any]) -> None:
    """Make ended sessions refuse their access tokens at once (`selectors.session_is_active`
    caches a session's state). The cached state is dropped now, so the next check asks the
    database (inside this transaction, or after it); once the transaction commits it is
    overwritten with "ended", so a check that read the database before the commit cannot
    leave "active" behind (it only `add`s). If the transaction rolls back, dropping was
    harmless. A cache that fails is logged and skipped: entries expire on their own within
    SESSION_STATE_CACHE_SECONDS."""
    if not family_ids:
        return
    keys = [session_cache_key(family_id) for family_id in family_ids]

    def overwrite() -> None:
        try:
            with bypass():  # through an open circuit: other processes hold "active"
                cache.set_many(dict.fromkeys(keys, ""), SESSION_STATE_CACHE_SECONDS)
        except Exception:
            logger.warning("session state cache unavailable; ended sessions stay cached", exc_info=True)

    try:
        with bypass():
            cache.delete_many(keys)
    except Exception:
        logger.warning("session state cache unavailable; ended sessions stay cached", exc_info=True)
    transaction.on_commit(overwrite)


def _revoke_family(family: RefreshTokenFamily, reason: str) -> None:
    if family.revoked_at is None:
        family.revoked_at = timezone.now()
        family.revoked_reason = reason
        family.save(update_fields=["revoked_at", "revoked_reason"])
        _sessions_forget([family.id])


def token_refresh(*, user_id: str, family_id: str | None, jti: str) -> SessionToken:
    """Rotate the refresh token `jti` of session `family_id` (claims of a token whose
    signature and expiry the API layer checked): a new token of the same family replaces it.

    The family row is locked (SELECT ... FOR UPDATE) for the whole check-and-rotate, so of
    two concurrent refreshes with one token exactly one succeeds. Presenting a token of the
    family other than its newest means it was already rotated away: reuse (RFC 9700
    §4.14.2). Someone else holds a copy, so the whole family is revoked, including the
    newest token, and both parties must sign in again. Raises RefreshTokenInvalid (401) in
    every failure case; a revocation made while detecting reuse is committed before raising."""
    try:
        family_id = uuid.UUID(str(family_id))
    except ValueError:
        raise RefreshTokenInvalid()

    failure: str | None = None
    token: SessionToken | None = None
    with transaction.atomic():
        family = RefreshTokenFamily.objects.select_for_update(of=("self",)).select_related("user")
        family = family.filter(pk=family_id).first()
        if family is None or family.is_revoked or str(family.user_id) != user_id or not family.current_jti:
            # (a family without a current token predates 0004 and had none to carry over)
            failure = "revoked"
        elif jti != family.current_jti:
            _revoke_family(family, RevokeReason.REUSE)
            failure = "reuse"
        elif not family.user.is_active:
            _revoke_family(family, RevokeReason.DEACTIVATED)
            failure = "inactive"
        else:
            token = _new_token(family)
            family.last_refreshed_at = timezone.now()
            family.save(update_fields=["current_jti", "expires_at", "last_refreshed_at"])
    if failure == "reuse":
        logger.warning(
            "refresh token reuse detected; session revoked",
            extra={"user_id": str(family.user_id), "family_id": str(family_id)},
        )
    if failure or token is None:
        raise RefreshTokenInvalid()
    return token


def auth_logout(*, user: User, token_user_id: str, family_id: str | None) -> None:
    """End the session of a refresh token `user` presented (its claims, read by the API
    layer): the family is revoked, so its every token is dead. Idempotent. Raises
    InvalidToken on `refresh` for another user's token."""
    if token_user_id != str(user.pk):
        raise InvalidToken("This refresh token is not valid.", attr="refresh")
    if not family_id:
        return  # made outside accounts: no session to end (such tokens never refresh)
    with transaction.atomic():
        family = RefreshTokenFamily.objects.select_for_update().filter(pk=family_id, user=user).first()
        if family is not None:
            _revoke_family(family, RevokeReason.LOGOUT)


def token_families_revoke(*, user: User, reason: str, keep_family_id: Any = None) -> int:
    """Revoke every live session of `user` (except `keep_family_id`): their refresh tokens
    and their access tokens stop working at once (the next request is refused)."""
    families = RefreshTokenFamily.objects.filter(user=user)
    if keep_family_id:
        families = families.exclude(pk=keep_family_id)
    return sessions_revoke(families=families, reason=reason)


def sessions_revoke(*, families: QuerySet[RefreshTokenFamily], reason: str = RevokeReason.ADMIN) -> int:
    """Revoke the given sessions (the admin's action, password flows, deactivation);
    already revoked ones are left as they are. Their access tokens stop working at once. Returns how many were live."""
    with transaction.atomic():
        live = list(families.filter(revoked_at__isnull=True).values_list("pk", flat=True))
        count = RefreshTokenFamily.objects.filter(pk__in=live, revoked_at__isnull=True).update(
            revoked_at=timezone.now(), revoked_reason=reason
        )
        _sessions_forget(live)
    return count


def expired_tokens_flush() -> dict[str, int]:
    """Delete the sessions whose newest refresh token has expired (the daily job)."""
    families, _ = RefreshTokenFamily.objects.filter(expires_at__lte=timezone.now()).delete()
    return {"families": families}


# --- passwords --------------------------------------------------------------------------


def password_change(*, user: User, old_password: str, new_password: str, keep_family_id: Any = None) -> None:
    """Change the password after checking the current one; every other session of the
    user is revoked (the one making the change, `keep_family_id`, stays signed in).
    Raises WrongPassword, WeakPassword."""
    if not user.check_password(old_password):
        raise WrongPassword()
    _check_password_strength(new_password, user, attr="new_password")
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password", "updated_at"])
        token_families_revoke(user=user, reason=RevokeReason.PASSWORD_CHANGE, keep_family_id=keep_family_id)


def password_reset_request(*, email: str) -> None:
    """Queue a reset email. The lookup happens in the task, so this costs the same whether
    or not the address has an account: the answer reveals nothing. Limited per email
    (RATELIMIT_PASSWORD_RESET, whoever asks), so nobody can flood an inbox: raises
    RateLimited (429) over the limit."""
    email = normalize_email(email)
    limit_hit(group=PASSWORD_RESET_EMAIL_GROUP, key=_email_key(email), rate=settings.RATELIMIT_PASSWORD_RESET)
    enqueue(tasks.send_password_reset_email, email, uuid.uuid4().hex)


def password_reset_confirm(*, uid: str, token: str, new_password: str) -> User:
    """Set a new password from a reset link. The token dies with the password change
    (single use). Receiving the link proves the address, so the user becomes verified;
    every session is revoked. Raises InvalidToken, WeakPassword."""
    user_id = decode_uid(uid)
    user = None
    if user_id:
        try:
            user = User.objects.filter(pk=user_id, is_active=True).first()
        except DjangoValidationError:
            user = None
    if user is None or not check_password_reset_token(user, token):
        raise InvalidToken()
    _check_password_strength(new_password, user, attr="new_password")
    with transaction.atomic():
        user.set_password(new_password)
        user.is_verified = True
        user.save(update_fields=["password", "is_verified", "updated_at"])
        token_families_revoke(user=user, reason=RevokeReason.PASSWORD_RESET)
    return user


# --- profile and roles ------------------------------------------------------------------

PROFILE_FIELDS = ("first_name", "last_name")


def user_update_profile(*, user: User, data: dict[str, Any]) -> User:
    """The user's own editable fields only; anything else in `data` is ignored."""
    fields = [name for name in PROFILE_FIELDS if name in data]
    for name in fields:
        setattr(user, name, data[name])
    if fields:
        user.save(update_fields=[*fields, "updated_at"])
    return user


def user_update_by_admin(*, user: User, actor: User | None = None, data: dict[str, Any]) -> User:
    """Change a user's `role` and/or `is_active` (names too). `is_staff` follows the role.
    Deactivation revokes every session. An admin cannot demote or deactivate themselves
    (Conflict), so the shop is never left without the admin who was using it."""
    changes_own_access = data.get("is_active") is False or data.get("role", user.role) != user.role
    if actor is not None and actor.pk == user.pk and changes_own_access:
        raise Conflict("You cannot change your own role or deactivate yourself.", code="own_account")
    fields = [name for name in (*PROFILE_FIELDS, "role", "is_active") if name in data]
    for name in fields:
        setattr(user, name, data[name])
    with transaction.atomic():
        if fields:
            user.save(update_fields=[*fields, "updated_at"])
        if not user.is_active:
            token_families_revoke(user=user, reason=RevokeReason.DEACTIVATED)
    return user


def user_deactivate(*, user: User) -> None:
    """Admin action: the account can no longer sign in and its tokens stop working at once."""
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(is_active=False, updated_at=timezone.now())
        user.is_active = False
        token_families_revoke(user=user, reason=RevokeReason.DEACTIVATED)


# --- addresses --------------------------------------------------------------------------


def _lock_owner(user: User) -> None:
    # Serializes one user's address writes, so "one default" is kept without racing into
    # the partial unique constraint.
    list(User.objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True))


def address_create(*, user: User, data: dict[str, Any]) -> Address:
    """Create an address (fields checked and normalised by `core.addresses`). The first
    address becomes the default; `is_default=true` moves the default here. Raises
    InvalidAddressFields."""
    fields = validate_address(data)
    with transaction.atomic():
        _lock_owner(user)
        has_default = Address.objects.filter(user=user, is_default=True).exists()
        is_default = bool(data.get("is_default")) or not has_default
        if is_default and has_default:
            Address.objects.filter(user=user, is_default=True).update(is_default=False)
        return Address.objects.create(user=user, is_default=is_default, **fields)


def address_update(*, address: Address, data: dict[str, Any]) -> Address:
    """Change the address fields present in `data` (checked like `address_create`);
    `is_default=true` moves the default here. Saves only what changes. Raises
    InvalidAddressFields."""
    fields = validate_address(data, partial=True)
    with transaction.atomic():
        _lock_owner(address.user)
        for name, value in fields.items():
            setattr(address, name, value)
        changed = [*fields]
        if data.get("is_default") and not address.is_default:
            Address.objects.filter(user_id=address.user_id, is_default=True).update(is_default=False)
            address.is_default = True
            changed.append("is_default")
        elif data.get("is_default") is False and address.is_default:
            address.is_default = False
            changed.append("is_default")
        address.save(update_fields=[*changed, "updated_at"])
    return address


def address_delete(*, address: Address) -> None:
    """Delete; if it was the default, the most recent remaining address takes over."""
    with transaction.atomic():
        _lock_owner(address.user)
        was_default = address.is_default
        user_id = address.user_id
        address.delete()
        if was_default:
            successor = Address.objects.filter(user_id=user_id).order_by("-created_at").first()
            if successor is not None:
                successor.is_default = True
                successor.save(update_fields=["is_default", "updated_at"])
