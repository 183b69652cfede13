"""Services called directly, as the admin, tasks and commands do."""

from datetime import timedelta

import pytest
from django.conf import settings

from accounts import services
from accounts.errors import EmailTaken, InvalidCredentials, RefreshTokenInvalid, WeakPassword
from accounts.models import RefreshTokenFamily, User
from tests.accounts.factories import DEFAULT_PASSWORD, AddressFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_token_lifetimes_are_short_access_and_days_long_refresh():
    assert timedelta(minutes=5) <= settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"] <= timedelta(minutes=15)
    assert settings.SIMPLE_JWT["REFRESH_TOKEN_LIFETIME"] >= timedelta(days=1)


def test_register_service_rules():
    user = services.user_register(email=" Someone@Example.COM ", password="An-0k-passphrase")
    assert user.email == "someone@example.com" and user.role == "customer" and not user.is_verified
    with pytest.raises(EmailTaken):
        services.user_register(email="SOMEONE@example.com", password="An-0k-passphrase")
    with pytest.raises(WeakPassword) as excinfo:
        services.user_register(email="other@example.com", password="12345678")
    assert {e["code"] for e in excinfo.value.as_errors()} >= {"password_too_common", "password_entirely_numeric"}


def test_login_service_refuses_bad_credentials_alike():
    UserFactory(email="known@example.com")
    for email, password in [("known@example.com", "nope"), ("unknown@example.com", DEFAULT_PASSWORD)]:
        with pytest.raises(InvalidCredentials):
            services.auth_login(email=email, password=password)


def test_sessions_are_independent_and_revocable_per_user():
    user, other = UserFactory(), UserFactory()
    a = services.session_start(user=user)
    b = services.session_start(user=user)
    c = services.session_start(user=other)

    keep = RefreshTokenFamily.objects.filter(user=user).order_by("created_at").first()
    assert services.token_families_revoke(user=user, reason="test", keep_family_id=keep.pk) == 1

    def rotate(session):
        return services.token_refresh(user_id=str(session.user.pk), family_id=str(session.family_id), jti=session.jti)

    rotate(a)
    with pytest.raises(RefreshTokenInvalid):
        rotate(b)
    rotate(c)


def test_profile_update_ignores_everything_but_names():
    user = UserFactory(role="customer", is_verified=False)
    services.user_update_profile(user=user, data={"first_name": "New", "role": "admin", "is_verified": True})
    user.refresh_from_db()
    assert user.first_name == "New" and user.role == "customer" and not user.is_verified


def test_admin_role_change_sets_staff_flag():
    user = UserFactory(role="customer")
    services.user_update_by_admin(user=user, actor=UserFactory(role="admin"), data={"role": "manager"})
    assert User.objects.get(pk=user.pk).is_staff


def test_address_services_keep_one_default():
    user = UserFactory()
    data = {"full_name": "A", "line1": "1 Road", "city": "Town", "postal_code": "1000", "country": "BE"}
    first = services.address_create(user=user, data=data)
    second = services.address_create(user=user, data={**data, "is_default": True})
    first.refresh_from_db()
    assert second.is_default and not first.is_default

    services.address_update(address=first, data={"is_default": True})
    second.refresh_from_db()
    assert first.is_default and not second.is_default

    services.address_delete(address=first)
    second.refresh_from_db()
    assert second.is_default


def test_deleting_a_non_default_address_keeps_the_default():
    user = UserFactory()
    default = AddressFactory(user=user, is_default=True)
    other = AddressFactory(user=user)
    services.address_delete(address=other)
    default.refresh_from_db()
    assert default.is_default
