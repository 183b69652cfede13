"""Tokens of accounts: email-verification tokens (signed, expiring, single use) and
password-reset tokens (Django's generator).

Sign-in sessions are refresh-token families (`accounts.models.RefreshTokenFamily`,
`accounts.services`); their JWT encoding lives in the API layer (`ecommerce.api.auth`)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core import signing
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode

VERIFY_EMAIL_SALT = "accounts.verify-email"


def make_email_verification_token(user) -> str:
    return signing.dumps({"u": str(user.pk), "e": user.email}, salt=VERIFY_EMAIL_SALT, compress=True)


def read_email_verification_token(token: str) -> dict | None:
    """The payload of a well-signed, unexpired token, else None."""
    try:
        payload = signing.loads(token, salt=VERIFY_EMAIL_SALT, max_age=settings.EMAIL_VERIFICATION_TOKEN_MAX_AGE)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    if not isinstance(payload, dict) or not {"u", "e"} <= payload.keys():
        return None
    return payload


def make_password_reset_token(user) -> tuple[str, str]:
    """(uid, token). The token dies when the password (or last_login) changes, so it is
    single use, and after PASSWORD_RESET_TIMEOUT seconds."""
    return urlsafe_base64_encode(force_bytes(user.pk)), default_token_generator.make_token(user)


def decode_uid(uid: str) -> str | None:
    try:
        return force_str(urlsafe_base64_decode(uid))
    except (ValueError, TypeError, UnicodeDecodeError):
        return None


def check_password_reset_token(user, token: str) -> bool:
    return default_token_generator.check_token(user, token)
