"""Content-Security-Policy on every response, JWT keys separate from SECRET_KEY, and the
API docs closable (security review findings 4 and 13)."""

from datetime import timedelta

import jwt
import pytest
from django.conf import settings
from django.test import override_settings
from django.urls import clear_url_caches
from django.utils import timezone

pytestmark = pytest.mark.django_db


def test_json_answers_carry_default_src_none(api_client):
    response = api_client.get("/api/v1/products/")
    assert response["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert api_client.get("/api/v1/nope/")["Content-Security-Policy"].startswith("default-src 'none'")


@pytest.mark.parametrize("path", ["/admin/login/", "/api/docs/", "/api/redoc/"])
def test_html_pages_allow_scripts_from_this_origin_only(client, path):
    response = client.get(path)
    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
    # No inline <script> body (it would be blocked): every script is a file of ours.
    body = response.content.decode()
    assert "<script>" not in body.replace(" ", "")


def test_swagger_ui_start_up_script_is_a_file(client):
    response = client.get("/api/docs/?script=")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/javascript")


def test_a_token_signed_with_secret_key_is_refused(api_client, admin_user):
    """Finding 4: tokens were signed with SECRET_KEY, whose local default is public."""
    assert settings.SIMPLE_JWT["SIGNING_KEY"] != settings.SECRET_KEY
    now = timezone.now()
    forged = jwt.encode(
        {
            "token_type": "access",
            "user_id": str(admin_user.pk),
            "jti": "forged",
            "exp": int((now + timedelta(minutes=5)).timestamp()),
            "iat": int(now.timestamp()),
        },
        settings.SECRET_KEY,
        algorithm="HS256",
    )
    response = api_client.get("/api/v1/users/", HTTP_AUTHORIZATION=f"Bearer {forged}")
    assert response.status_code == 401


def test_api_docs_can_be_closed(client):
    import ecommerce.urls

    try:
        with override_settings(API_DOCS_PUBLIC=False):
            import importlib

            importlib.reload(ecommerce.urls)
            clear_url_caches()
            for path in ("/api/docs/", "/api/redoc/", "/api/schema/"):
                assert client.get(path).status_code == 404
    finally:
        importlib.reload(ecommerce.urls)
        clear_url_caches()
    assert client.get("/api/schema/").status_code == 200
