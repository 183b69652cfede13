"""Tokens of accounts: JWT refresh tokens bound to a session family, email-verification
tokens (signed, expiring, single use) and password-reset tokens (Django's generator)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core import signing
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import RefreshToken, Token

FAMILY_CLAIM = "fam"
VERIFY_EMAIL_SALT = "accounts.verify-email"


class FamilyRefreshToken(RefreshToken):
    """A refresh token carrying the id of its session family (`fam`).

    Its `verify()` checks signature, expiry and type but not the blacklist: the refresh
    service checks that itself, under the family's row lock, to tell a reuse (theft) from
    a merely invalid token."""

    def verify(self, *args, **kwargs) -> None:
        Token.verify(self, *args, **kwargs)

    @classmethod
    def issue(cls, user, family_id) -> FamilyRefreshToken:
        token = cls()
        token[jwt_settings.USER_ID_CLAIM] = str(getattr(user, jwt_settings.USER_ID_FIELD))
        token[FAMILY_CLAIM] = str(family_id)
        return token


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
