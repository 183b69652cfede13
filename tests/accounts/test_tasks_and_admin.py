"""Email tasks (idempotent, retried on SMTP errors) and the Django admin of users."""

from smtplib import SMTPServerDisconnected

import pytest
from django.core import mail
from django.urls import reverse

from accounts import emails, tasks
from accounts.models import Address, RefreshTokenFamily, User
from accounts.roles import sync_role_groups
from tests.accounts.factories import AddressFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_verification_task_sends_once_per_send_id(private_cache):
    user = UserFactory(is_verified=False)
    assert tasks.send_verification_email(str(user.pk), "send-1") is True
    assert tasks.send_verification_email(str(user.pk), "send-1") is False  # redelivered
    assert len(mail.outbox) == 1
    assert tasks.send_verification_email(str(user.pk), "send-2") is True  # a new resend
    assert len(mail.outbox) == 2


def test_verification_task_skips_verified_or_missing_users():
    verified = UserFactory(is_verified=True)
    assert tasks.send_verification_email(str(verified.pk), "a") is False
    assert tasks.send_verification_email("00000000-0000-0000-0000-000000000000", "b") is False
    assert mail.outbox == []


def test_email_tasks_retry_with_backoff_on_smtp_errors():
    for task in (tasks.send_verification_email, tasks.send_password_reset_email):
        assert issubclass(SMTPServerDisconnected, task.autoretry_for)
        assert task.retry_backoff and task.max_retries >= 3


def test_a_failed_send_can_be_retried_with_the_same_send_id(monkeypatch, private_cache):
    user = UserFactory(is_verified=False)
    real_send = emails.send_verification_email
    calls = {"n": 0}

    def flaky(u):
        calls["n"] += 1
        if calls["n"] == 1:
            raise SMTPServerDisconnected("connection lost")
        real_send(u)

    monkeypatch.setattr(emails, "send_verification_email", flaky)
    with pytest.raises(SMTPServerDisconnected):
        tasks.send_verification_email.run(str(user.pk), "send-x")
    assert tasks.send_verification_email.run(str(user.pk), "send-x") is True
    assert len(mail.outbox) == 1


def test_reset_task_looks_the_user_up_by_email():
    UserFactory(email="reset.me@example.com")
    assert tasks.send_password_reset_email("reset.me@example.com", "r1") is True
    assert tasks.send_password_reset_email("nobody@example.com", "r2") is False
    assert [m.to for m in mail.outbox] == [["reset.me@example.com"]]


# --- Django admin -------------------------------------------------------------------------


@pytest.fixture
def admin_web(client):
    root = User.objects.create_superuser(email="root@example.com", password="x")
    client.force_login(root)
    return client


def test_user_changelist_shows_role_and_status(admin_web):
    UserFactory(email="listed@example.com", role="manager")
    response = admin_web.get(reverse("admin:accounts_user_changelist"))
    assert response.status_code == 200
    assert b"listed@example.com" in response.content


def test_user_change_page_has_addresses_inline(admin_web):
    user = UserFactory()
    AddressFactory(user=user, city="Inlineville")
    response = admin_web.get(reverse("admin:accounts_user_change", args=[user.pk]))
    assert response.status_code == 200
    assert b"Inlineville" in response.content


def test_admin_actions_verify_and_deactivate(admin_web, api_client):
    from accounts import services

    unverified = UserFactory(is_verified=False)
    active = UserFactory()
    services.session_start(user=active)
    url = reverse("admin:accounts_user_changelist")

    admin_web.post(url, {"action": "verify_users", "_selected_action": [unverified.pk]})
    admin_web.post(url, {"action": "deactivate_users", "_selected_action": [active.pk]})

    unverified.refresh_from_db()
    active.refresh_from_db()
    assert unverified.is_verified
    assert not active.is_active
    assert RefreshTokenFamily.objects.get(user=active).revoked_reason == services.RevokeReason.DEACTIVATED


def test_deactivating_in_the_change_form_revokes_sessions(admin_web):
    from accounts import services

    user = UserFactory()
    services.session_start(user=user)
    url = reverse("admin:accounts_user_change", args=[user.pk])
    form = {
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "role": "customer",
        "is_verified": "on",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
        "addresses-TOTAL_FORMS": "0",
        "addresses-INITIAL_FORMS": "0",
        "addresses-MIN_NUM_FORMS": "0",
        "addresses-MAX_NUM_FORMS": "1000",
    }
    response = admin_web.post(url, form)
    assert response.status_code == 302, response.content[:3000]
    user.refresh_from_db()
    assert not user.is_active
    assert RefreshTokenFamily.objects.get(user=user).is_revoked


def test_manager_can_use_the_admin_for_catalog_but_not_users(client):
    sync_role_groups()
    manager = UserFactory(role="manager")
    client.force_login(manager)

    assert client.get(reverse("admin:index")).status_code == 200
    assert client.get(reverse("admin:accounts_user_changelist")).status_code == 403
    assert manager.has_module_perms("catalog")
    assert not manager.has_module_perms("accounts")


def test_customer_cannot_use_the_admin(client):
    client.force_login(UserFactory(role="customer"))
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302  # to the admin login


def test_address_admin_not_registered_separately_but_inline():
    from django.contrib import admin

    assert Address not in admin.site._registry


def test_admin_adds_a_user_by_email(admin_web):
    password = "Tr0ub4dor&3-horse"
    response = admin_web.post(
        reverse("admin:accounts_user_add"),
        {
            "email": "New@Example.com",
            "role": "manager",
            "usable_password": "true",
            "password1": password,
            "password2": password,
        },
    )
    assert response.status_code == 302, response.content[:3000]
    user = User.objects.get(email="new@example.com")
    assert user.role == "manager" and user.is_staff and user.check_password(password)


def test_admin_add_refuses_a_taken_email_in_another_case(admin_web):
    UserFactory(email="taken@example.com")
    response = admin_web.post(
        reverse("admin:accounts_user_add"),
        {"email": "TAKEN@example.com", "role": "customer", "usable_password": "false"},
    )
    assert response.status_code == 200
    assert User.objects.filter(email__iexact="taken@example.com").count() == 1


def test_admin_revoke_sessions_action(admin_web):
    from accounts import services

    user = UserFactory()
    session = services.session_start(user=user)
    url = reverse("admin:accounts_refreshtokenfamily_changelist")
    response = admin_web.post(url, {"action": "revoke_sessions", "_selected_action": [session.family_id]})

    assert response.status_code == 302
    assert RefreshTokenFamily.objects.get(pk=session.family_id).revoked_reason == services.RevokeReason.ADMIN
    with pytest.raises(services.RefreshTokenInvalid):
        services.token_refresh(user_id=str(user.pk), family_id=str(session.family_id), jti=session.jti)
