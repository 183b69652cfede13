import re
from urllib.parse import parse_qs, urlparse

from django.core import mail

from tests.accounts.factories import DEFAULT_PASSWORD

REGISTER = "/api/v1/auth/register/"
VERIFY = "/api/v1/auth/verify-email/"
RESEND = "/api/v1/auth/verify-email/resend/"
TOKEN = "/api/v1/auth/token/"
REFRESH = "/api/v1/auth/token/refresh/"
LOGOUT = "/api/v1/auth/logout/"
ME = "/api/v1/auth/me/"
PASSWORD_CHANGE = "/api/v1/auth/password/change/"
PASSWORD_RESET = "/api/v1/auth/password/reset/"
PASSWORD_RESET_CONFIRM = "/api/v1/auth/password/reset/confirm/"
USERS = "/api/v1/users/"
ADDRESSES = "/api/v1/addresses/"

STRONG_PASSWORD = "Tr0ub4dor&3-horse-staple"


def error_codes(response) -> list[tuple[str, str | None]]:
    return [(e["code"], e["attr"]) for e in response.json()["errors"]]


def login(client, user, password: str = DEFAULT_PASSWORD, **extra):
    response = client.post(TOKEN, {"email": user.email, "password": password}, format="json", **extra)
    assert response.status_code == 200, response.content
    return response.json()


def bearer(client, access: str):
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def link_query(message) -> dict[str, str]:
    """The query parameters of the storefront link in an email (checked in both parts)."""
    text_link = re.search(r"(https?://\S+)", message.body).group(1)
    html = message.alternatives[0][0]
    assert text_link.replace("&", "&amp;") in html or text_link in html
    return {k: v[0] for k, v in parse_qs(urlparse(text_link).query).items()}


def last_mail_to(email: str):
    sent = [m for m in mail.outbox if email in m.to]
    assert sent, f"no email to {email}"
    return sent[-1]
