"""Security finding 10: an access token is only as alive as its session. Ending a session
(logout, refresh-token reuse, password change or reset, deactivation, the admin's revoke
action) refuses its access tokens on the very next request, not when they expire.

Each test makes one request first, so the session's state is in the cache when it ends:
the revocation must reach the cache, not only the database."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.test import APIClient, APIRequestFactory
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from accounts import selectors, services
from accounts.tokens import make_password_reset_token
from ecommerce.api.auth import bearer_user_id
from tests.accounts.factories import DEFAULT_PASSWORD, UserFactory
from tests.accounts.helpers import (
    LOGOUT,
    ME,
    PASSWORD_CHANGE,
    PASSWORD_RESET_CONFIRM,
    REFRESH,
    STRONG_PASSWORD,
    USERS,
    bearer,
    error_codes,
    login,
)
from tests.conftest import auth_client_for

pytestmark = pytest.mark.django_db


def me(access: str):
    return bearer(APIClient(), access).get(ME)


def assert_refused(response):
    assert response.status_code == 401, response.content
    assert error_codes(response) == [("token_not_valid", None)]


def forget_cached_state():
    # Only this worker's keys (FLUSHDB on a shared Redis would hit other workers' tests).
    from django.core.cache import cache

    cache.delete_pattern("*") if hasattr(cache, "delete_pattern") else cache.clear()


def signed_in(client, user) -> dict:
    pair = login(client, user)
    assert me(pair["access"]).status_code == 200  # the session's state is now cached
    return pair


def test_logout_ends_the_access_token_at_once(api_client, customer):
    pair = signed_in(api_client, customer)
    assert bearer(APIClient(), pair["access"]).post(LOGOUT, {"refresh": pair["refresh"]}).status_code == 204
    assert_refused(me(pair["access"]))


def test_logout_ends_only_that_session(api_client, customer):
    this, other = signed_in(api_client, customer), signed_in(api_client, customer)
    assert bearer(APIClient(), this["access"]).post(LOGOUT, {"refresh": this["refresh"]}).status_code == 204
    assert me(other["access"]).status_code == 200


def test_refresh_token_reuse_ends_every_access_token_of_the_session(api_client, customer):
    first = signed_in(api_client, customer)
    second = api_client.post(REFRESH, {"refresh": first["refresh"]}).json()
    assert me(second["access"]).status_code == 200

    assert api_client.post(REFRESH, {"refresh": first["refresh"]}).status_code == 401  # replayed: reuse
    assert_refused(me(second["access"]))
    assert_refused(me(first["access"]))


def test_password_change_ends_the_other_sessions_and_keeps_this_one(api_client, customer):
    this, other = signed_in(api_client, customer), signed_in(api_client, customer)
    response = bearer(APIClient(), this["access"]).post(
        PASSWORD_CHANGE, {"old_password": DEFAULT_PASSWORD, "new_password": STRONG_PASSWORD}
    )
    assert response.status_code == 204
    assert_refused(me(other["access"]))
    assert me(this["access"]).status_code == 200


def test_password_reset_ends_every_session(api_client, customer):
    pair = signed_in(api_client, customer)
    customer.refresh_from_db()  # the sign-in set last_login, which the reset token covers
    uid, token = make_password_reset_token(customer)
    body = {"uid": uid, "token": token, "new_password": STRONG_PASSWORD}
    assert api_client.post(PASSWORD_RESET_CONFIRM, body).status_code == 204
    assert_refused(me(pair["access"]))


def test_deactivation_through_the_users_api_ends_access_at_once(api_client, admin_client_api, customer):
    pair = signed_in(api_client, customer)
    assert admin_client_api.patch(f"{USERS}{customer.pk}/", {"is_active": False}).status_code == 200
    assert_refused(me(pair["access"]))


def test_deactivation_in_the_django_admin_ends_access_at_once(api_client, client):
    client.force_login(UserFactory(role="admin", is_superuser=True))
    user = UserFactory()
    pair = signed_in(api_client, user)
    form = {
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "role": "customer",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
        "addresses-TOTAL_FORMS": "0",
        "addresses-INITIAL_FORMS": "0",
        "addresses-MIN_NUM_FORMS": "0",
        "addresses-MAX_NUM_FORMS": "1000",
    }
    assert client.post(reverse("admin:accounts_user_change", args=[user.pk]), form).status_code == 302
    assert_refused(me(pair["access"]))


def test_the_admins_deactivate_action_ends_access_at_once(api_client, client):
    client.force_login(UserFactory(role="admin", is_superuser=True))
    user = UserFactory()
    pair = signed_in(api_client, user)
    url = reverse("admin:accounts_user_changelist")
    assert client.post(url, {"action": "deactivate_users", "_selected_action": [user.pk]}).status_code == 302
    assert_refused(me(pair["access"]))


def test_the_admins_revoke_sessions_action_ends_access_at_once(api_client, client, customer):
    client.force_login(UserFactory(role="admin", is_superuser=True))
    pair = signed_in(api_client, customer)
    family_id = AccessToken(pair["access"])["fam"]
    url = reverse("admin:accounts_refreshtokenfamily_changelist")
    assert client.post(url, {"action": "revoke_sessions", "_selected_action": [family_id]}).status_code == 302
    assert_refused(me(pair["access"]))


def test_an_access_token_without_a_session_is_refused(customer):
    """Only accounts issues tokens, always with a session (`fam`); a token without one could
    never be revoked, so it is not accepted."""
    assert_refused(me(str(RefreshToken.for_user(customer).access_token)))


def test_a_session_that_no_longer_exists_is_refused(api_client, customer):
    pair = signed_in(api_client, customer)
    services.expired_tokens_flush()  # nothing expired yet: still there
    assert me(pair["access"]).status_code == 200
    customer.token_families.all().delete()
    forget_cached_state()
    assert_refused(me(pair["access"]))


# --- cost: one indexed lookup on a cache miss, nothing on a hit -----------------------------


def _family_queries(context) -> list[str]:
    return [q["sql"] for q in context.captured_queries if "accounts_refreshtokenfamily" in q["sql"]]


def test_the_session_check_costs_one_query_on_a_miss_and_none_on_a_hit(api_client, customer):
    access = login(api_client, customer)["access"]
    forget_cached_state()
    with CaptureQueriesContext(connection) as miss:
        assert me(access).status_code == 200
    with CaptureQueriesContext(connection) as hit:
        assert me(access).status_code == 200

    assert len(_family_queries(miss)) == 1
    assert _family_queries(hit) == []
    assert len(miss.captured_queries) == len(hit.captured_queries) + 1


def test_a_revocation_overwrites_the_cached_state(api_client, customer, django_capture_on_commit_callbacks):
    """After the revocation commits, the cache itself says "ended": the next check needs no
    query, and a check that read the database just before cannot put "alive" back."""
    pair = signed_in(api_client, customer)
    family_id, user_id = AccessToken(pair["access"])["fam"], str(customer.pk)
    with django_capture_on_commit_callbacks(execute=True):
        assert bearer(APIClient(), pair["access"]).post(LOGOUT, {"refresh": pair["refresh"]}).status_code == 204

    with CaptureQueriesContext(connection) as queries:
        assert selectors.session_is_active(family_id=family_id, user_id=user_id) is False
    assert _family_queries(queries) == []


def test_with_the_cache_down_every_request_asks_the_database(api_client, customer, settings):
    pair = signed_in(api_client, customer)
    other = signed_in(api_client, customer)
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    services.auth_logout(user=customer, token_user_id=str(customer.pk), family_id=AccessToken(pair["access"])["fam"])

    assert_refused(me(pair["access"]))
    assert me(other["access"]).status_code == 200


def test_a_failing_cache_falls_back_to_the_database(api_client, customer, monkeypatch):
    from django.core.cache import cache

    pair = signed_in(api_client, customer)

    def broken(*args, **kwargs):
        raise ConnectionError("cache down")

    for name in ("get", "add", "set", "set_many", "delete", "delete_many"):
        monkeypatch.setattr(cache, name, broken)
    assert me(pair["access"]).status_code == 200
    services.auth_logout(user=customer, token_user_id=str(customer.pk), family_id=AccessToken(pair["access"])["fam"])
    assert_refused(me(pair["access"]))


# --- the idempotency middleware reads the bearer token the same way --------------------------


def test_bearer_user_id_refuses_the_token_of_an_ended_session(api_client, customer):
    pair = signed_in(api_client, customer)
    request = APIRequestFactory().post("/", HTTP_AUTHORIZATION=f"Bearer {pair['access']}")
    assert bearer_user_id(request) == str(customer.pk)

    services.token_families_revoke(user=customer, reason=services.RevokeReason.ADMIN)
    with pytest.raises(AuthenticationFailed):
        bearer_user_id(request)


def test_the_test_clients_carry_a_real_session(customer):
    client = auth_client_for(customer)
    assert client.get(ME).status_code == 200
    services.token_families_revoke(user=customer, reason=services.RevokeReason.ADMIN)
    assert_refused(client.get(ME))
