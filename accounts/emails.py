"""The emails accounts sends: plain text plus HTML, links into the storefront."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.template.loader import render_to_string

from accounts.tokens import make_email_verification_token, make_password_reset_token
from core.emails import send_multipart_email


def _send(*, to: str, subject: str, template: str, context: dict) -> None:
    context = {"frontend_url": settings.FRONTEND_URL, **context}
    text = render_to_string(f"accounts/email/{template}.txt", context)
    html = render_to_string(f"accounts/email/{template}.html", context)
    send_multipart_email(to=to, subject=subject, text=text, html=html)


def verification_link(user) -> str:
    return f"{settings.FRONTEND_URL}/verify-email?{urlencode({'token': make_email_verification_token(user)})}"


def password_reset_link(user) -> str:
    uid, token = make_password_reset_token(user)
    return f"{settings.FRONTEND_URL}/reset-password?{urlencode({'uid': uid, 'token': token})}"


def send_verification_email(user) -> None:
    hours = settings.EMAIL_VERIFICATION_TOKEN_MAX_AGE // 3600
    _send(
        to=user.email,
        subject="Confirm your email address",
        template="verify_email",
        context={"user": user, "link": verification_link(user), "hours": hours},
    )


def send_password_reset_email(user) -> None:
    hours = settings.PASSWORD_RESET_TIMEOUT // 3600
    _send(
        to=user.email,
        subject="Reset your password",
        template="password_reset",
        context={"user": user, "link": password_reset_link(user), "hours": hours},
    )
