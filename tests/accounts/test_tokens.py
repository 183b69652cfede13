"""auth/token/, auth/token/refresh/, auth/logout/: sessions as refresh-token families."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import services
from accounts.models import RefreshTokenFamily
from tests.accounts.factories import DEFAULT_PASSWORD, UserFactory
from tests.accounts.helpers import LOGOUT, ME, REFRESH, TOKEN, bearer, error_codes, login
from tests.concurrency import run_threads

pytestmark = pytest.mark.django_db


def refresh(client, token):
    return client.post(REFRESH, {"refresh": token}, format="json")


def test_login_returns_a_working_access_and_refresh_pair(api_client, customer):
    pair = login(api_client, customer)

    assert set(pair) == {"access", "refresh"}
    assert bearer(APIClient(), pair["access"]).get(ME).json()["email"] == customer.email
    customer.refresh_from_db()
    assert customer.last_login is not None


def test_login_email_is_case_insensitive(api_client):
    UserFactory(email="mixed@example.com")
    response = api_client.post(TOKEN, {"email": "MIXED@Example.com", "password": DEFAULT_PASSWORD}, format="json")
    assert response.status_code == 200


@pytest.mark.parametrize("email", ["known@example.com", "unknown@example.com"])
def test_wrong_credentials_are_401_and_say_nothing_about_the_account(api_client, email):
    UserFactory(email="known@example.com")
    response = api_client.post(TOKEN, {"email": email, "password": "wrong-password"}, format="json")
    assert response.status_code == 401
    assert error_codes(response) == [("authentication_failed", None)]


def test_inactive_user_cannot_sign_in(api_client):
    user = UserFactory(is_active=False)
    response = api_client.post(TOKEN, {"email": user.email, "password": DEFAULT_PASSWORD}, format="json")
    assert response.status_code == 401


def test_a_stale_authorization_header_does_not_block_login(api_client, customer):
    api_client.credentials(HTTP_AUTHORIZATION="Bearer expired-or-garbage")
    assert api_client.post(TOKEN, {"email": customer.email, "password": DEFAULT_PASSWORD}).status_code == 200


def test_cart_token_header_is_passed_to_the_cart_merge(api_client, customer, monkeypatch):
    # Only the wiring: the carts app implements cart_merge. Sign-in must work either way.
    import sys
    import types

    calls = []
    fake = types.ModuleType("carts.services")
    fake.cart_merge = lambda *, user, token: calls.append((user.pk, token))
    monkeypatch.setitem(sys.modules, "carts.services", fake)

    login(api_client, customer, HTTP_X_CART_TOKEN="anon-cart-123")
    assert calls == [(customer.pk, "anon-cart-123")]


def test_login_without_cart_token_does_not_touch_carts(api_client, customer, monkeypatch):
    import sys
    import types

    fake = types.ModuleType("carts.services")
    fake.cart_merge = lambda **kw: pytest.fail("cart_merge called without X-Cart-Token")
    monkeypatch.setitem(sys.modules, "carts.services", fake)
    login(api_client, customer)


def test_a_failing_cart_merge_does_not_fail_the_login(api_client, customer, monkeypatch):
    import sys
    import types

    def boom(**kw):
        raise RuntimeError("cart store down")

    fake = types.ModuleType("carts.services")
    fake.cart_merge = boom
    monkeypatch.setitem(sys.modules, "carts.services", fake)
    login(api_client, customer, HTTP_X_CART_TOKEN="t")


# --- refresh rotation and reuse detection -------------------------------------------------


def test_refresh_rotates_and_a_refresh_token_works_once(api_client, customer):
    first = login(api_client, customer)

    response = refresh(api_client, first["refresh"])
    assert response.status_code == 200
    second = response.json()
    assert second["refresh"] != first["refresh"]
    assert bearer(APIClient(), second["access"]).get(ME).status_code == 200

    reused = refresh(api_client, first["refresh"])
    assert reused.status_code == 401
    assert error_codes(reused) == [("token_not_valid", None)]


def test_reuse_of_a_rotated_token_revokes_the_newer_token_of_the_family(api_client, customer):
    first = login(api_client, customer)
    second = refresh(api_client, first["refresh"]).json()

    assert refresh(api_client, first["refresh"]).status_code == 401  # the thief (or victim) replays

    assert refresh(api_client, second["refresh"]).status_code == 401  # the newest token died with it
    family = RefreshTokenFamily.objects.get(user=customer)
    assert family.revoked_reason == services.RevokeReason.REUSE


def test_reuse_detection_spares_the_users_other_sessions(api_client, customer):
    phone = login(api_client, customer)
    laptop = login(api_client, customer)
    refresh(api_client, phone["refresh"])
    refresh(api_client, phone["refresh"])  # reuse: phone's session dies

    assert refresh(api_client, laptop["refresh"]).status_code == 200


@pytest.mark.parametrize("token", ["", "not-a-jwt"])
def test_garbage_refresh_token(api_client, token):
    response = refresh(api_client, token)
    assert response.status_code in (400, 401)


def test_an_access_token_is_not_a_refresh_token(api_client, customer):
    pair = login(api_client, customer)
    assert refresh(api_client, pair["access"]).status_code == 401


def test_expired_refresh_token_is_401(api_client, customer, settings):
    from rest_framework_simplejwt.tokens import RefreshToken

    pair = login(api_client, customer)
    token = RefreshToken(pair["refresh"])
    token.set_exp(from_time=timezone.now() - timedelta(days=30))
    assert refresh(api_client, str(token)).status_code == 401


def test_refresh_token_without_a_session_family_is_refused(api_client, customer):
    from rest_framework_simplejwt.tokens import RefreshToken

    assert refresh(api_client, str(RefreshToken.for_user(customer))).status_code == 401


# --- logout and deactivation --------------------------------------------------------------


def test_logout_kills_the_refresh_token(api_client, customer):
    pair = login(api_client, customer)
    client = bearer(APIClient(), pair["access"])

    assert client.post(LOGOUT, {"refresh": pair["refresh"]}, format="json").status_code == 204
    assert refresh(api_client, pair["refresh"]).status_code == 401
    # logging out twice is harmless (from another session: this one's access token died too)
    other = bearer(APIClient(), login(api_client, customer)["access"])
    assert other.post(LOGOUT, {"refresh": pair["refresh"]}, format="json").status_code == 204
    assert client.post(LOGOUT, {"refresh": pair["refresh"]}, format="json").status_code == 401


def test_logout_needs_authentication(api_client, customer):
    pair = login(api_client, customer)
    assert api_client.post(LOGOUT, {"refresh": pair["refresh"]}, format="json").status_code == 401


def test_logout_with_someone_elses_refresh_token_is_refused(api_client, customer):
    victim = UserFactory()
    victim_pair = login(api_client, victim)
    response = bearer(APIClient(), login(api_client, customer)["access"]).post(
        LOGOUT, {"refresh": victim_pair["refresh"]}, format="json"
    )
    assert response.status_code == 400
    assert error_codes(response) == [("invalid_token", "refresh")]
    assert refresh(api_client, victim_pair["refresh"]).status_code == 200


def test_deactivated_users_tokens_stop_working(api_client, customer):
    pair = login(api_client, customer)
    customer.is_active = False
    customer.save()

    response = bearer(APIClient(), pair["access"]).get(ME)
    assert response.status_code == 401
    assert refresh(api_client, pair["refresh"]).status_code == 401


def test_deactivation_through_the_service_revokes_sessions(api_client, customer):
    pair = login(api_client, customer)
    services.user_deactivate(user=customer)
    assert RefreshTokenFamily.objects.get(user=customer).revoked_reason == services.RevokeReason.DEACTIVATED
    assert refresh(api_client, pair["refresh"]).status_code == 401


def test_flush_removes_only_expired_tokens_and_sessions(api_client, customer):
    from accounts.tasks import flush_expired_tokens

    live = login(api_client, customer)
    login(api_client, customer)
    family = RefreshTokenFamily.objects.order_by("-created_at").first()
    RefreshTokenFamily.objects.filter(pk=family.pk).update(expires_at=timezone.now() - timedelta(days=1))

    assert flush_expired_tokens() == {"families": 1}
    assert RefreshTokenFamily.objects.count() == 1
    assert refresh(api_client, live["refresh"]).status_code == 200


def test_flush_job_is_scheduled_daily(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["accounts-flush-expired-tokens"]
    assert entry["task"] == "accounts.flush_expired_tokens"


# --- concurrency (PostgreSQL row locks) ---------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_refreshes_with_one_token_exactly_one_succeeds():
    user = UserFactory()
    session = services.session_start(user=user)
    n = 6

    def attempt(_i):
        try:
            services.token_refresh(user_id=str(user.pk), family_id=str(session.family_id), jti=session.jti)
            return "ok"
        except services.RefreshTokenInvalid:
            return "refused"

    results = run_threads(n, attempt)
    assert sorted(results) == ["ok"] + ["refused"] * (n - 1)
    # the losers presented a token that had just been rotated: that is reuse, so the
    # session is revoked (RFC 9700 §4.14.2) and the client signs in again
    assert RefreshTokenFamily.objects.get(user=user).revoked_reason == services.RevokeReason.REUSE


# --- the JWT wire format (ecommerce.api.auth) and sessions carried over by migration 0004 ----


def test_both_tokens_name_the_user_and_the_session(api_client, customer):
    from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

    pair = login(api_client, customer)
    family = RefreshTokenFamily.objects.get(user=customer)
    access, refresh_token = AccessToken(pair["access"]), RefreshToken(pair["refresh"])

    assert access["user_id"] == refresh_token["user_id"] == str(customer.pk)
    assert access["fam"] == refresh_token["fam"] == str(family.pk)
    assert refresh_token["jti"] == family.current_jti
    assert abs(refresh_token["exp"] - family.expires_at.timestamp()) < 1


def test_sessions_started_before_0004_keep_working_and_keep_reuse_detection(customer):
    """Migration 0004 makes each live session's newest never-blacklisted token (from
    simplejwt's token_blacklist tables, which the old code wrote) its current one."""
    import importlib

    from django.apps import apps
    from django.db import connection
    from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
    from rest_framework_simplejwt.tokens import RefreshToken

    migration = importlib.import_module("accounts.migrations.0004_refresh_token_family_current_jti")
    family = RefreshTokenFamily.objects.create(user=customer, expires_at=timezone.now() + timedelta(days=1))
    orphan = RefreshTokenFamily.objects.create(user=customer, expires_at=timezone.now() + timedelta(days=1))

    def old_style_token():  # as accounts issued them before 0004
        token = RefreshToken()
        token["user_id"], token["fam"] = str(customer.pk), str(family.pk)
        row = OutstandingToken.objects.create(
            user=customer, jti=token["jti"], token=str(token), expires_at=timezone.now() + timedelta(days=1)
        )
        return token, row

    rotated, rotated_row = old_style_token()
    BlacklistedToken.objects.create(token=rotated_row)
    newest, _ = old_style_token()

    class SchemaEditor:
        pass

    editor = SchemaEditor()
    editor.connection = connection
    migration.carry_over_current_tokens(apps, editor)

    family.refresh_from_db()
    orphan.refresh_from_db()
    assert family.current_jti == newest["jti"]
    assert orphan.current_jti == ""
    rotated_again = services.token_refresh(user_id=str(customer.pk), family_id=str(family.pk), jti=newest["jti"])
    assert rotated_again.family_id == family.pk
    with pytest.raises(services.RefreshTokenInvalid):  # the token rotated before 0004 is reuse
        services.token_refresh(user_id=str(customer.pk), family_id=str(family.pk), jti=rotated["jti"])
    family.refresh_from_db()
    assert family.revoked_reason == services.RevokeReason.REUSE
    with pytest.raises(services.RefreshTokenInvalid):  # nothing to carry over: sign in again
        services.token_refresh(user_id=str(customer.pk), family_id=str(orphan.pk), jti="anything")


# --- sign-in hooks (accounts.hooks) -------------------------------------------------------


def test_carts_subscribes_to_sign_in_and_a_failing_receiver_does_not_fail_it(api_client, customer, monkeypatch):
    from accounts import hooks
    from carts.apps import merge_anonymous_cart_at_sign_in

    assert merge_anonymous_cart_at_sign_in in hooks._sign_in_receivers
    seen = []

    def boom(**kwargs):
        raise RuntimeError("receiver down")

    monkeypatch.setattr(hooks, "_sign_in_receivers", [boom, lambda *, user, request: seen.append(user.pk)])
    login(api_client, customer)
    assert seen == [customer.pk]  # the receiver after the failing one still ran
