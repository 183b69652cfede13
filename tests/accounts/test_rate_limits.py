"""Rate limits of API.md for login, register, password reset and verification resend.
Limits are off in test settings; each test turns on the one it checks (hourly windows,
so a test never straddles a window boundary)."""

import pytest
from django.test import override_settings

from tests.accounts.factories import DEFAULT_PASSWORD, UserFactory
from tests.accounts.helpers import PASSWORD_RESET, REGISTER, RESEND, STRONG_PASSWORD, TOKEN, error_codes
from tests.conftest import auth_client_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("private_cache")]


def assert_throttled(response):
    assert response.status_code == 429, response.content
    assert error_codes(response) == [("throttled", None)]
    assert int(response["Retry-After"]) >= 1


def attempt(client, email, password="wrong-password", ip="10.0.0.1"):
    return client.post(TOKEN, {"email": email, "password": password}, format="json", REMOTE_ADDR=ip)


@override_settings(RATELIMIT_ENABLE=True, RATELIMIT_LOGIN_IP="2/h", RATELIMIT_LOGIN_EMAIL="100/h")
def test_login_is_limited_per_ip(api_client, customer):
    assert attempt(api_client, customer.email, DEFAULT_PASSWORD).status_code == 200
    assert attempt(api_client, "a@example.com").status_code == 401
    assert_throttled(attempt(api_client, "b@example.com"))
    # another client IP is not affected
    assert attempt(api_client, customer.email, DEFAULT_PASSWORD, ip="10.0.0.2").status_code == 200


@override_settings(RATELIMIT_ENABLE=True, RATELIMIT_LOGIN_IP="100/h", RATELIMIT_LOGIN_EMAIL="2/h")
def test_failed_logins_are_limited_per_email_across_ips(api_client, customer):
    assert attempt(api_client, customer.email, ip="10.0.0.1").status_code == 401
    assert attempt(api_client, customer.email.upper(), ip="10.0.0.2").status_code == 401

    # even the right password is refused now: the guesser must not learn it
    assert_throttled(attempt(api_client, customer.email, DEFAULT_PASSWORD, ip="10.0.0.3"))
    # other accounts are not affected
    other = UserFactory()
    assert attempt(api_client, other.email, DEFAULT_PASSWORD, ip="10.0.0.3").status_code == 200


@override_settings(RATELIMIT_ENABLE=True, RATELIMIT_LOGIN_IP="100/h", RATELIMIT_LOGIN_EMAIL="2/h")
def test_successful_logins_do_not_count_against_the_email(api_client, customer):
    for _ in range(4):
        assert attempt(api_client, customer.email, DEFAULT_PASSWORD).status_code == 200


@override_settings(RATELIMIT_ENABLE=True, RATELIMIT_REGISTER_IP="2/h")
def test_register_is_limited_per_ip(api_client):
    for i in range(2):
        body = {"email": f"r{i}@example.com", "password": STRONG_PASSWORD}
        assert api_client.post(REGISTER, body, format="json").status_code == 201
    assert_throttled(api_client.post(REGISTER, {"email": "r9@example.com", "password": STRONG_PASSWORD}, format="json"))


@override_settings(RATELIMIT_ENABLE=True, RATELIMIT_PASSWORD_RESET="2/h")
def test_password_reset_is_limited_per_ip_and_per_email(api_client):
    assert api_client.post(PASSWORD_RESET, {"email": "a@example.com"}, REMOTE_ADDR="10.0.0.1").status_code == 202
    assert api_client.post(PASSWORD_RESET, {"email": "a@example.com"}, REMOTE_ADDR="10.0.0.2").status_code == 202
    # per email, whatever the IP
    assert_throttled(api_client.post(PASSWORD_RESET, {"email": "A@example.com"}, REMOTE_ADDR="10.0.0.3"))
    # per IP, whatever the email
    assert api_client.post(PASSWORD_RESET, {"email": "b@example.com"}, REMOTE_ADDR="10.0.0.1").status_code == 202
    assert_throttled(api_client.post(PASSWORD_RESET, {"email": "c@example.com"}, REMOTE_ADDR="10.0.0.1"))


@override_settings(RATELIMIT_ENABLE=True, RATELIMIT_VERIFY_RESEND="1/h")
def test_verification_resend_is_limited_per_user():
    user = UserFactory(is_verified=False)
    client = auth_client_for(user)
    assert client.post(RESEND).status_code == 202
    assert_throttled(client.post(RESEND))
    assert auth_client_for(UserFactory(is_verified=False)).post(RESEND).status_code == 202


def test_limits_are_off_when_disabled(api_client, customer):
    for _ in range(15):
        assert attempt(api_client, customer.email).status_code == 401


# --- one lockout for every door: the API and the Django admin login -------------------------

ADMIN_LOGIN = "/admin/login/"


def admin_attempt(client, email, password="wrong-password"):
    return client.post(ADMIN_LOGIN, {"username": email, "password": password, "next": "/admin/"})


def admin_is_signed_in(client) -> bool:
    return client.get("/admin/").status_code == 200


@override_settings(RATELIMIT_ENABLE=True, RATELIMIT_LOGIN_EMAIL="5/h")
def test_admin_login_locks_an_email_after_five_failures(client):
    staff = UserFactory(role="manager")
    for _ in range(5):
        response = admin_attempt(client, staff.email)
        assert response.status_code == 200 and not admin_is_signed_in(client)

    response = admin_attempt(client, staff.email.upper(), DEFAULT_PASSWORD)  # the right password
    assert response.status_code == 200  # the form again, with an error: no 500, no redirect
    assert response.context["form"].errors.as_data()["__all__"][0].code == "throttled"
    assert "Too many failed sign-ins" in response.content.decode()
    assert not admin_is_signed_in(client)
    # other staff are not affected
    other = UserFactory(role="manager")
    assert admin_attempt(client, other.email, DEFAULT_PASSWORD).status_code == 302


@override_settings(RATELIMIT_ENABLE=True, RATELIMIT_LOGIN_IP="100/h", RATELIMIT_LOGIN_EMAIL="5/h")
def test_admin_failures_lock_the_api_sign_in(client, api_client):
    staff = UserFactory(role="admin")
    for _ in range(5):
        admin_attempt(client, staff.email)
    assert_throttled(attempt(api_client, staff.email, DEFAULT_PASSWORD))


@override_settings(RATELIMIT_ENABLE=True, RATELIMIT_LOGIN_IP="100/h", RATELIMIT_LOGIN_EMAIL="5/h")
def test_api_failures_lock_the_admin_sign_in(client, api_client):
    staff = UserFactory(role="admin")
    for _ in range(5):
        assert attempt(api_client, staff.email).status_code == 401
    response = admin_attempt(client, staff.email, DEFAULT_PASSWORD)
    assert response.status_code == 200 and not admin_is_signed_in(client)
    assert response.context["form"].errors.as_data()["__all__"][0].code == "throttled"


@override_settings(RATELIMIT_ENABLE=True, RATELIMIT_LOGIN_EMAIL="2/h")
def test_successful_admin_logins_do_not_count_against_the_email(client):
    staff = UserFactory(role="manager")
    for _ in range(4):
        client.logout()
        assert admin_attempt(client, staff.email, DEFAULT_PASSWORD).status_code == 302


@override_settings(RATELIMIT_ENABLE=True, RATELIMIT_LOGIN_EMAIL="2/h")
def test_the_lockout_is_a_service_rule_not_a_view_rule():
    from accounts import services
    from core.errors import RateLimited

    user = UserFactory()
    assert services.authenticate_with_lockout(email=user.email, password="nope") is None
    assert services.authenticate_with_lockout(email=user.email, password="nope") is None
    with pytest.raises(RateLimited) as excinfo:
        services.authenticate_with_lockout(email=user.email, password=DEFAULT_PASSWORD)
    assert excinfo.value.retry_after >= 1


@override_settings(RATELIMIT_ENABLE=True, RATELIMIT_PASSWORD_RESET="1/h")
def test_password_reset_per_email_limit_is_a_service_rule():
    from accounts import services
    from core.errors import RateLimited

    services.password_reset_request(email="someone@example.com")
    with pytest.raises(RateLimited):
        services.password_reset_request(email="SomeOne@example.com")
    services.password_reset_request(email="else@example.com")
