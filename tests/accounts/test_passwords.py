"""auth/password/change/, auth/password/reset/, auth/password/reset/confirm/."""

import pytest
from django.core import mail
from django.test import override_settings
from rest_framework.test import APIClient

from accounts.models import RefreshTokenFamily
from accounts.tokens import make_password_reset_token
from tests.accounts.factories import DEFAULT_PASSWORD, UserFactory
from tests.accounts.helpers import (
    PASSWORD_CHANGE,
    PASSWORD_RESET,
    PASSWORD_RESET_CONFIRM,
    REFRESH,
    STRONG_PASSWORD,
    TOKEN,
    bearer,
    error_codes,
    last_mail_to,
    link_query,
    login,
)

pytestmark = pytest.mark.django_db


def test_change_password_keeps_this_session_and_revokes_the_others(api_client, customer):
    this = login(api_client, customer)
    other = login(api_client, customer)
    client = bearer(APIClient(), this["access"])

    response = client.post(
        PASSWORD_CHANGE, {"old_password": DEFAULT_PASSWORD, "new_password": STRONG_PASSWORD}, format="json"
    )

    assert response.status_code == 204
    customer.refresh_from_db()
    assert customer.check_password(STRONG_PASSWORD)
    assert api_client.post(REFRESH, {"refresh": other["refresh"]}, format="json").status_code == 401
    assert api_client.post(REFRESH, {"refresh": this["refresh"]}, format="json").status_code == 200
    assert api_client.post(TOKEN, {"email": customer.email, "password": STRONG_PASSWORD}).status_code == 200


def test_change_password_needs_the_current_one(customer_client, customer):
    response = customer_client.post(
        PASSWORD_CHANGE, {"old_password": "not-my-password", "new_password": STRONG_PASSWORD}, format="json"
    )
    assert response.status_code == 400
    assert error_codes(response) == [("invalid_password", "old_password")]
    customer.refresh_from_db()
    assert customer.check_password(DEFAULT_PASSWORD)


def test_change_password_validates_the_new_one(customer_client):
    response = customer_client.post(
        PASSWORD_CHANGE, {"old_password": DEFAULT_PASSWORD, "new_password": "123"}, format="json"
    )
    assert response.status_code == 400
    assert ("password_too_short", "new_password") in error_codes(response)


def test_change_password_needs_authentication(api_client):
    response = api_client.post(PASSWORD_CHANGE, {"old_password": "a", "new_password": "b"}, format="json")
    assert response.status_code == 401


def test_reset_flow_end_to_end_with_the_emailed_link(api_client, django_capture_on_commit_callbacks):
    user = UserFactory(email="forgetful@example.com", is_verified=False)
    session = login(api_client, user)

    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(PASSWORD_RESET, {"email": "Forgetful@Example.com"}, format="json")
    assert response.status_code == 202
    message = last_mail_to("forgetful@example.com")
    assert "http://localhost:3000/reset-password?" in message.body
    params = link_query(message)

    response = api_client.post(PASSWORD_RESET_CONFIRM, {**params, "new_password": STRONG_PASSWORD}, format="json")

    assert response.status_code == 204
    user.refresh_from_db()
    assert user.check_password(STRONG_PASSWORD)
    assert user.is_verified  # the link proved the address
    assert api_client.post(REFRESH, {"refresh": session["refresh"]}, format="json").status_code == 401
    assert not RefreshTokenFamily.objects.filter(user=user, revoked_at__isnull=True).exists()

    again = api_client.post(PASSWORD_RESET_CONFIRM, {**params, "new_password": "An0ther-str0ng-pass"}, format="json")
    assert again.status_code == 400
    assert error_codes(again) == [("invalid_token", "token")]


def test_reset_for_an_unknown_email_answers_the_same_and_sends_nothing(api_client, django_capture_on_commit_callbacks):
    UserFactory(email="someone@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        unknown = api_client.post(PASSWORD_RESET, {"email": "nobody@example.com"}, format="json")
        known = api_client.post(PASSWORD_RESET, {"email": "someone@example.com"}, format="json")

    assert unknown.status_code == known.status_code == 202
    assert unknown.json() == known.json()
    assert [m.to for m in mail.outbox] == [["someone@example.com"]]


def test_reset_for_an_inactive_account_sends_nothing(api_client, django_capture_on_commit_callbacks):
    UserFactory(email="gone@example.com", is_active=False)
    with django_capture_on_commit_callbacks(execute=True):
        assert api_client.post(PASSWORD_RESET, {"email": "gone@example.com"}, format="json").status_code == 202
    assert mail.outbox == []


@pytest.mark.parametrize(
    "body",
    [
        {"uid": "garbage", "token": "garbage"},
        {"uid": "", "token": "x"},
    ],
)
def test_reset_confirm_with_a_bad_link_is_400_invalid_token(api_client, body):
    response = api_client.post(PASSWORD_RESET_CONFIRM, {**body, "new_password": STRONG_PASSWORD}, format="json")
    assert response.status_code == 400


def test_reset_confirm_with_another_users_uid_is_invalid(api_client, customer):
    uid, token = make_password_reset_token(customer)
    other_uid, _ = make_password_reset_token(UserFactory())
    response = api_client.post(
        PASSWORD_RESET_CONFIRM, {"uid": other_uid, "token": token, "new_password": STRONG_PASSWORD}, format="json"
    )
    assert error_codes(response) == [("invalid_token", "token")]


def test_expired_reset_link_is_invalid(api_client, customer):
    uid, token = make_password_reset_token(customer)
    with override_settings(PASSWORD_RESET_TIMEOUT=-1):
        response = api_client.post(
            PASSWORD_RESET_CONFIRM, {"uid": uid, "token": token, "new_password": STRONG_PASSWORD}, format="json"
        )
    assert error_codes(response) == [("invalid_token", "token")]


def test_reset_confirm_validates_the_new_password(api_client, customer):
    uid, token = make_password_reset_token(customer)
    response = api_client.post(
        PASSWORD_RESET_CONFIRM, {"uid": uid, "token": token, "new_password": "password"}, format="json"
    )
    assert response.status_code == 400
    assert ("password_too_common", "new_password") in error_codes(response)
    customer.refresh_from_db()
    assert customer.check_password(DEFAULT_PASSWORD)
