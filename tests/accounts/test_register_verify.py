"""POST auth/register/, auth/verify-email/, auth/verify-email/resend/."""

import time

import pytest
from django.contrib.auth.hashers import identify_hasher
from django.core import mail
from django.test import override_settings

from accounts.models import User
from accounts.tokens import make_email_verification_token
from tests.accounts.factories import UserFactory
from tests.accounts.helpers import (
    REGISTER,
    RESEND,
    STRONG_PASSWORD,
    VERIFY,
    error_codes,
    last_mail_to,
    link_query,
)

pytestmark = pytest.mark.django_db


def register(client, capture, **body):
    data = {"email": "new.user@example.com", "password": STRONG_PASSWORD, **body}
    with capture(execute=True):
        return client.post(REGISTER, data, format="json")


def test_register_creates_an_unverified_customer_and_emails_a_link(api_client, django_capture_on_commit_callbacks):
    response = register(api_client, django_capture_on_commit_callbacks, email="New.User@Example.COM", first_name="Ann")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["email"] == "new.user@example.com"
    assert body["role"] == "customer" and body["is_verified"] is False and body["first_name"] == "Ann"
    assert "password" not in body
    user = User.objects.get(email="new.user@example.com")
    assert user.check_password(STRONG_PASSWORD)
    message = last_mail_to("new.user@example.com")
    assert message.alternatives and message.alternatives[0][1] == "text/html"
    assert "http://localhost:3000/verify-email?token=" in message.body


def test_mass_assignment_on_register_is_ignored(api_client, django_capture_on_commit_callbacks):
    response = register(
        api_client,
        django_capture_on_commit_callbacks,
        role="admin",
        is_verified=True,
        is_staff=True,
        is_superuser=True,
    )

    assert response.status_code == 201
    user = User.objects.get(email="new.user@example.com")
    assert (user.role, user.is_verified, user.is_staff, user.is_superuser) == ("customer", False, False, False)


def test_duplicate_email_in_another_case_is_400_unique(api_client, django_capture_on_commit_callbacks):
    UserFactory(email="taken@example.com")
    response = register(api_client, django_capture_on_commit_callbacks, email="TAKEN@Example.com")

    assert response.status_code == 400
    assert response.json()["type"] == "validation_error"
    assert error_codes(response) == [("unique", "email")]
    assert User.objects.filter(email__iexact="taken@example.com").count() == 1


@pytest.mark.parametrize(
    ("password", "code"),
    [("short1!", "password_too_short"), ("password123", "password_too_common"), ("83749261530", None)],
)
def test_weak_password_is_rejected_by_djangos_validators(
    api_client, django_capture_on_commit_callbacks, password, code
):
    response = register(api_client, django_capture_on_commit_callbacks, password=password)

    assert response.status_code == 400
    codes = error_codes(response)
    assert all(attr == "password" for _, attr in codes)
    assert code is None or (code, "password") in codes
    assert not User.objects.filter(email="new.user@example.com").exists()
    assert mail.outbox == []


def test_password_similar_to_email_is_rejected(api_client, django_capture_on_commit_callbacks):
    response = register(
        api_client, django_capture_on_commit_callbacks, email="zanzibar.q@example.com", password="zanzibar.q"
    )
    assert ("password_too_similar", "password") in error_codes(response)


def test_invalid_email_is_400(api_client):
    response = api_client.post(REGISTER, {"email": "not-an-email", "password": STRONG_PASSWORD}, format="json")
    assert response.status_code == 400
    assert error_codes(response) == [("invalid", "email")]


@override_settings(
    PASSWORD_HASHERS=[
        "django.contrib.auth.hashers.Argon2PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    ]
)
def test_passwords_are_hashed_with_argon2_and_pbkdf2_still_verifies(api_client, django_capture_on_commit_callbacks):
    register(api_client, django_capture_on_commit_callbacks)
    user = User.objects.get(email="new.user@example.com")
    assert identify_hasher(user.password).algorithm == "argon2"

    from django.contrib.auth.hashers import make_password

    user.password = make_password("legacy-password-1", hasher="pbkdf2_sha256")
    user.save(update_fields=["password"])
    user.refresh_from_db()
    assert user.check_password("legacy-password-1")
    user.refresh_from_db()
    assert identify_hasher(user.password).algorithm == "argon2"  # upgraded on successful check


def test_no_email_when_the_registration_rolls_back(api_client):
    # Without the commit callbacks running, nothing is sent: the task is queued on commit.
    api_client.post(REGISTER, {"email": "x@example.com", "password": STRONG_PASSWORD}, format="json")
    assert mail.outbox == []


# --- verification ------------------------------------------------------------------------


def test_register_then_verify_with_the_token_from_the_email(api_client, django_capture_on_commit_callbacks):
    register(api_client, django_capture_on_commit_callbacks)
    token = link_query(last_mail_to("new.user@example.com"))["token"]

    response = api_client.post(VERIFY, {"token": token}, format="json")

    assert response.status_code == 200
    assert response.json()["is_verified"] is True
    assert User.objects.get(email="new.user@example.com").is_verified


def test_verification_token_is_single_use(api_client):
    user = UserFactory(is_verified=False)
    token = make_email_verification_token(user)
    assert api_client.post(VERIFY, {"token": token}, format="json").status_code == 200

    response = api_client.post(VERIFY, {"token": token}, format="json")
    assert response.status_code == 400
    assert error_codes(response) == [("invalid_token", "token")]


@pytest.mark.parametrize("token", ["garbage", "eyJ1IjoiMSJ9:1abc:deadbeef"])
def test_bad_verification_token_is_400_invalid_token(api_client, token):
    response = api_client.post(VERIFY, {"token": token}, format="json")
    assert response.status_code == 400
    assert error_codes(response) == [("invalid_token", "token")]


def test_expired_verification_token_is_400_invalid_token(api_client):
    user = UserFactory(is_verified=False)
    token = make_email_verification_token(user)
    with override_settings(EMAIL_VERIFICATION_TOKEN_MAX_AGE=1):
        time.sleep(2.1)
        response = api_client.post(VERIFY, {"token": token}, format="json")
    assert response.status_code == 400
    assert error_codes(response) == [("invalid_token", "token")]
    user.refresh_from_db()
    assert not user.is_verified


def test_token_for_a_previous_email_address_is_refused(api_client):
    user = UserFactory(is_verified=False, email="old@example.com")
    token = make_email_verification_token(user)
    user.email = "new@example.com"
    user.save()
    assert api_client.post(VERIFY, {"token": token}, format="json").status_code == 400


def test_resend_needs_authentication(api_client):
    assert api_client.post(RESEND).status_code == 401


def test_resend_sends_a_fresh_link(django_capture_on_commit_callbacks):
    from tests.conftest import auth_client_for

    user = UserFactory(is_verified=False)
    with django_capture_on_commit_callbacks(execute=True):
        response = auth_client_for(user).post(RESEND)
    assert response.status_code == 202
    token = link_query(last_mail_to(user.email))["token"]
    assert auth_client_for(user).post(VERIFY, {"token": token}, format="json").status_code == 200


def test_resend_when_already_verified_sends_nothing(customer_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert customer_client.post(RESEND).status_code == 202
    assert mail.outbox == []
