"""Security finding 5: one email, one identity. Addresses are stored in one normal form
(NFKC + case folding) and looked up exactly, so the per-email sign-in lockout, registration
uniqueness and the password-reset limit cannot be dodged by spelling an address with
characters a database folds differently (PostgreSQL's UPPER folds `ſ` to `S`, `ı` to `I`)."""

import importlib
import logging

import pytest
from django.apps import apps
from django.core import mail
from django.db import connection
from django.test import override_settings
from django.urls import reverse

from accounts import services
from accounts.models import User, normalize_email
from core.errors import RateLimited
from tests.accounts.factories import DEFAULT_PASSWORD, UserFactory
from tests.accounts.helpers import PASSWORD_RESET, REGISTER, STRONG_PASSWORD, TOKEN, error_codes

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("private_cache")]

LONG_S = "cu\u017ftomer@example.com"  # 'ſ' (LATIN SMALL LETTER LONG S): casefolds to 's'
DOTLESS_I = "v\u0131ctim@example.com"  # 'ı' (LATIN SMALL LETTER DOTLESS I): PostgreSQL UPPER gives 'I'


def attempt(client, email, password="wrong-password"):
    return client.post(TOKEN, {"email": email, "password": password}, format="json")


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("Jane.Doe@Example.COM", "jane.doe@example.com"),
        ("  cu\u017ftomer@example.com ", "customer@example.com"),
        ("\u212aate@example.com", "kate@example.com"),  # KELVIN SIGN
        ("\uff43\uff55\uff53@example.com", "cus@example.com"),  # fullwidth letters
        ("STRA\u00dfE@example.com", "strasse@example.com"),
        ("v\u0131ctim@example.com", "v\u0131ctim@example.com"),  # a letter of its own, kept
    ],
)
def test_normalize_email_is_nfkc_casefold(raw, normal):
    assert normalize_email(raw) == normal
    assert normalize_email(normal) == normal  # idempotent


def test_the_normal_form_is_what_is_stored():
    user = User.objects.create_user(email="Cu\u017ftomer@Example.com", password="x")
    user.refresh_from_db()
    assert user.email == "customer@example.com"


@override_settings(RATELIMIT_ENABLE=True, RATELIMIT_LOGIN_IP="100/h", RATELIMIT_LOGIN_EMAIL="3/h")
def test_the_lockout_counts_unicode_spellings_of_the_address_as_the_same_email(api_client):
    UserFactory(email="customer@example.com")
    for _ in range(3):
        assert attempt(api_client, "customer@example.com").status_code == 401

    # the same address spelt with a long s hits the same counter: locked, right password or not
    assert attempt(api_client, LONG_S).status_code == 429
    response = attempt(api_client, LONG_S, DEFAULT_PASSWORD)
    assert response.status_code == 429
    assert error_codes(response) == [("throttled", None)]


@override_settings(RATELIMIT_ENABLE=True, RATELIMIT_LOGIN_EMAIL="3/h")
def test_the_lockout_service_keys_on_the_normal_form():
    UserFactory(email="customer@example.com")
    for spelling in ("customer@example.com", "CUSTOMER@example.com", LONG_S):
        assert services.authenticate_with_lockout(email=spelling, password="nope") is None
    with pytest.raises(RateLimited):
        services.authenticate_with_lockout(email="customer@example.com", password=DEFAULT_PASSWORD)


@override_settings(RATELIMIT_ENABLE=True, RATELIMIT_LOGIN_IP="100/h", RATELIMIT_LOGIN_EMAIL="3/h")
def test_a_different_letter_is_a_different_address_and_signs_nobody_in(api_client):
    """'ı' is not 'i' (case folding keeps it): it names no account, whatever a database's
    UPPER makes of it, so guesses with it never reach the victim's password."""
    UserFactory(email="victim@example.com")
    for _ in range(3):
        assert attempt(api_client, "victim@example.com").status_code == 401
    assert attempt(api_client, DOTLESS_I, DEFAULT_PASSWORD).status_code == 401


@pytest.mark.postgres
@override_settings(RATELIMIT_ENABLE=True, RATELIMIT_LOGIN_IP="100/h", RATELIMIT_LOGIN_EMAIL="3/h")
def test_postgres_upper_folding_gives_no_way_around_the_lockout(api_client):
    # The database really folds these (the bypass of the finding relied on it) ...
    with connection.cursor() as cursor:
        cursor.execute("SELECT UPPER(%s), UPPER(%s)", [LONG_S, DOTLESS_I])
        assert cursor.fetchone() == ("CUSTOMER@EXAMPLE.COM", "VICTIM@EXAMPLE.COM")
    UserFactory(email="customer@example.com")
    UserFactory(email="victim@example.com")
    for email in ("customer@example.com", "victim@example.com"):
        for _ in range(3):
            assert attempt(api_client, email).status_code == 401

    # ... and yet neither spelling gets more guesses, let alone tokens.
    assert attempt(api_client, LONG_S, DEFAULT_PASSWORD).status_code == 429
    assert attempt(api_client, DOTLESS_I, DEFAULT_PASSWORD).status_code == 401
    assert User.objects.filter(email=normalize_email(DOTLESS_I)).count() == 0


def test_sign_in_with_another_spelling_of_the_same_address_works(api_client):
    UserFactory(email="customer@example.com")
    assert attempt(api_client, LONG_S, DEFAULT_PASSWORD).status_code == 200
    assert attempt(api_client, "CUSTOMER@EXAMPLE.COM", DEFAULT_PASSWORD).status_code == 200


def test_registration_refuses_another_spelling_of_a_taken_address(api_client):
    UserFactory(email="customer@example.com")
    response = api_client.post(REGISTER, {"email": LONG_S, "password": STRONG_PASSWORD}, format="json")
    assert response.status_code == 400
    assert error_codes(response) == [("unique", "email")]
    assert User.objects.count() == 1


def test_registration_stores_the_normal_form(api_client):
    response = api_client.post(REGISTER, {"email": "\u212aate@Example.com", "password": STRONG_PASSWORD})
    assert response.status_code == 201, response.content
    assert response.json()["email"] == "kate@example.com"
    assert User.objects.filter(email="kate@example.com").exists()


def test_password_reset_for_another_spelling_reaches_the_account(api_client, django_capture_on_commit_callbacks):
    UserFactory(email="customer@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        assert api_client.post(PASSWORD_RESET, {"email": LONG_S}).status_code == 202
    assert [m.to for m in mail.outbox] == [["customer@example.com"]]


@override_settings(RATELIMIT_ENABLE=True, RATELIMIT_PASSWORD_RESET="1/h")
def test_password_reset_per_email_limit_counts_every_spelling():
    services.password_reset_request(email="customer@example.com")
    with pytest.raises(RateLimited):
        services.password_reset_request(email=LONG_S)


def test_admin_add_form_refuses_another_spelling_of_a_taken_address(client):
    client.force_login(UserFactory(role="admin", is_superuser=True))
    UserFactory(email="customer@example.com")
    response = client.post(
        reverse("admin:accounts_user_add"), {"email": LONG_S, "role": "customer", "usable_password": "false"}
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors.as_data()["email"][0].code == "unique"
    assert User.objects.filter(email="customer@example.com").count() == 1


def test_admin_change_form_refuses_another_spelling_of_a_taken_address(client):
    client.force_login(UserFactory(role="admin", is_superuser=True))
    UserFactory(email="customer@example.com")
    other = UserFactory(email="other@example.com")
    form = {
        "email": LONG_S,
        "first_name": "",
        "last_name": "",
        "role": "customer",
        "is_active": "on",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
        "addresses-TOTAL_FORMS": "0",
        "addresses-INITIAL_FORMS": "0",
        "addresses-MIN_NUM_FORMS": "0",
        "addresses-MAX_NUM_FORMS": "1000",
    }
    response = client.post(reverse("admin:accounts_user_change", args=[other.pk]), form)
    assert response.status_code == 200  # the form again, with the error (no 500)
    assert "email" in response.context["adminform"].form.errors
    other.refresh_from_db()
    assert other.email == "other@example.com"


def test_user_manager_natural_key_lookup_is_exact_on_the_normal_form():
    user = UserFactory(email="customer@example.com")
    assert User.objects.get_by_natural_key(LONG_S) == user
    with pytest.raises(User.DoesNotExist):
        User.objects.get_by_natural_key("cust\u0131omer@example.com")


# --- data migration 0005: existing rows are brought to the normal form --------------------


def _run_migration():
    migration = importlib.import_module("accounts.migrations.0005_normalise_emails")

    class SchemaEditor:
        pass

    editor = SchemaEditor()
    editor.connection = connection
    migration.normalise_emails(apps, editor)


def test_migration_normalises_existing_emails():
    user = UserFactory(email="customer@example.com")
    User.objects.filter(pk=user.pk).update(email="Cu\u017ftomer@Example.com")  # as stored before
    _run_migration()
    user.refresh_from_db()
    assert user.email == "customer@example.com"


def test_migration_leaves_colliding_accounts_as_they_are_and_says_which(caplog):
    plain = UserFactory(email="sam@example.com")
    spelt = UserFactory(email="other@example.com")
    User.objects.filter(pk=spelt.pk).update(email="\u017fam@example.com")  # 'ſam': the same normal form
    fine = UserFactory(email="fine@example.com")
    User.objects.filter(pk=fine.pk).update(email="Fine@Example.com")

    with caplog.at_level(logging.WARNING, logger="accounts.migrations"):
        _run_migration()

    plain.refresh_from_db()
    spelt.refresh_from_db()
    fine.refresh_from_db()
    assert plain.email == "sam@example.com"
    assert spelt.email == "\u017fam@example.com"  # left for an operator to resolve
    assert fine.email == "fine@example.com"
    assert str(spelt.pk) in caplog.text and str(plain.pk) in caplog.text
