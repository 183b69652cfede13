"""The accounts operations document the statuses they answer (the contract fuzz test
checks responses against this schema)."""

import pytest

pytestmark = pytest.mark.django_db

EXPECTED = {
    ("/api/v1/auth/register/", "post"): {"201", "400", "429"},
    ("/api/v1/auth/verify-email/", "post"): {"200", "400"},
    ("/api/v1/auth/verify-email/resend/", "post"): {"202", "401", "429"},
    ("/api/v1/auth/token/", "post"): {"200", "400", "401", "429"},
    ("/api/v1/auth/token/refresh/", "post"): {"200", "400", "401"},
    ("/api/v1/auth/logout/", "post"): {"204", "400", "401"},
    ("/api/v1/auth/password/change/", "post"): {"204", "400", "401"},
    ("/api/v1/auth/password/reset/", "post"): {"202", "400", "429"},
    ("/api/v1/auth/password/reset/confirm/", "post"): {"204", "400"},
    ("/api/v1/auth/me/", "get"): {"200", "401"},
    ("/api/v1/auth/me/", "patch"): {"200", "400", "401"},
    ("/api/v1/users/", "get"): {"200", "401", "403"},
    ("/api/v1/users/{id}/", "patch"): {"200", "400", "401", "403", "404", "409"},
    ("/api/v1/addresses/", "post"): {"201", "400", "401"},
    ("/api/v1/addresses/{id}/", "get"): {"200", "401", "404"},
    ("/api/v1/addresses/{id}/", "delete"): {"204", "401", "404"},
}


def test_accounts_operations_document_their_statuses(client):
    schema = client.get("/api/schema/?format=json").json()
    for (path, method), statuses in EXPECTED.items():
        documented = set(schema["paths"][path][method]["responses"])
        assert statuses <= documented, f"{method.upper()} {path}: missing {statuses - documented}"


def test_login_documents_the_cart_token_header(client):
    schema = client.get("/api/schema/?format=json").json()
    params = schema["paths"]["/api/v1/auth/token/"]["post"].get("parameters", [])
    assert {"in": "header", "name": "X-Cart-Token"}.items() <= next(
        p for p in params if p["name"] == "X-Cart-Token"
    ).items()


def test_role_groups_exist_after_migrate():
    from django.contrib.auth.models import Group

    managers = Group.objects.get(name="Managers")
    assert managers.permissions.filter(content_type__app_label="catalog").exists()
    assert not managers.permissions.filter(content_type__app_label="accounts").exists()
    assert Group.objects.filter(name="Admins").exists()
