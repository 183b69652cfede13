import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.db import IntegrityError

pytestmark = pytest.mark.django_db
User = get_user_model()


def test_email_is_the_login_and_is_case_insensitive():
    user = User.objects.create_user(email="Jane.Doe@Example.COM", password="s3cret-pass-word")
    assert user.email == "jane.doe@example.com"
    assert authenticate(email="JANE.doe@example.com", password="s3cret-pass-word") == user


def test_email_unique_whatever_the_case():
    User.objects.create_user(email="dup@example.com", password="x")
    with pytest.raises(IntegrityError):
        User.objects.create_user(email="DUP@example.com", password="x")


def test_primary_key_is_uuid():
    import uuid

    user = User.objects.create_user(email="u@example.com", password="x")
    assert isinstance(user.pk, uuid.UUID)


def test_defaults_to_customer_not_staff():
    user = User.objects.create_user(email="c@example.com", password="x")
    assert user.role == "customer" and not user.is_staff and not user.is_verified


def test_superuser_is_admin():
    user = User.objects.create_superuser(email="root@example.com", password="x")
    assert user.role == "admin" and user.effective_role == "admin" and user.is_staff


def test_staff_flag_follows_role():
    user = User.objects.create_user(email="m@example.com", password="x")
    user.role = "manager"
    user.save(update_fields=["role"])
    user.refresh_from_db()
    assert user.is_staff


def test_createsuperuser_non_interactive_from_env(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_EMAIL", "Ops@Example.com")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "ops-password-123")
    call_command("createsuperuser", "--noinput")
    user = User.objects.get(email="ops@example.com")
    assert user.is_superuser and user.role == "admin"
    assert user.check_password("ops-password-123")
