"""CRUD addresses/: own addresses only, one default per user."""

import pytest
from django.db import IntegrityError

from accounts import services
from accounts.models import Address
from tests.accounts.factories import AddressFactory, UserFactory
from tests.accounts.helpers import ADDRESSES, error_codes
from tests.concurrency import errors_of, run_threads

pytestmark = pytest.mark.django_db

VALID = {
    "full_name": "Ada Lovelace",
    "line1": "12 St James's Square",
    "city": "London",
    "postal_code": "SW1Y 4JH",
    "country": "gb",
    "phone": "+44 20 7946 0000",
}


def test_create_normalises_country_and_first_address_is_default(customer_client, customer):
    response = customer_client.post(ADDRESSES, VALID, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["country"] == "GB" and body["is_default"] is True
    assert Address.objects.get(pk=body["id"]).user == customer


def test_anonymous_cannot_use_addresses(api_client):
    assert api_client.get(ADDRESSES).status_code == 401
    assert api_client.post(ADDRESSES, VALID, format="json").status_code == 401


@pytest.mark.parametrize("country", ["XX", "UK", "FRA", "1"])
def test_country_must_be_iso_3166_alpha_2(customer_client, country):
    response = customer_client.post(ADDRESSES, {**VALID, "country": country}, format="json")
    assert response.status_code == 400
    assert [attr for _, attr in error_codes(response)] == ["country"]


def test_invalid_phone_is_400(customer_client):
    response = customer_client.post(ADDRESSES, {**VALID, "phone": "call me maybe"}, format="json")
    assert error_codes(response) == [("invalid", "phone")]


def test_required_fields(customer_client):
    response = customer_client.post(ADDRESSES, {}, format="json")
    assert response.status_code == 400
    assert {attr for _, attr in error_codes(response)} == {"full_name", "line1", "city", "postal_code", "country"}


def test_new_default_moves_the_default(customer_client, customer):
    first = customer_client.post(ADDRESSES, VALID, format="json").json()
    second = customer_client.post(ADDRESSES, {**VALID, "city": "Paris", "is_default": True}, format="json").json()

    assert second["is_default"] is True
    assert Address.objects.get(pk=first["id"]).is_default is False
    assert [a["id"] for a in customer_client.get(ADDRESSES).json()["results"]] == [second["id"], first["id"]]


def test_patch_is_default_moves_the_default(customer_client, customer):
    first = customer_client.post(ADDRESSES, VALID, format="json").json()
    second = customer_client.post(ADDRESSES, {**VALID, "city": "Paris"}, format="json").json()
    assert second["is_default"] is False

    response = customer_client.patch(f"{ADDRESSES}{second['id']}/", {"is_default": True}, format="json")

    assert response.status_code == 200 and response.json()["is_default"] is True
    assert str(Address.objects.get(user=customer, is_default=True).pk) == second["id"]
    assert Address.objects.get(pk=first["id"]).is_default is False


def test_put_replaces_an_address(customer_client):
    created = customer_client.post(ADDRESSES, VALID, format="json").json()
    response = customer_client.put(
        f"{ADDRESSES}{created['id']}/", {**VALID, "city": "Bath", "line2": ""}, format="json"
    )
    assert response.status_code == 200 and response.json()["city"] == "Bath"


def test_deleting_the_default_promotes_the_newest_other_address(customer_client, customer):
    old = AddressFactory(user=customer, is_default=False)
    default = AddressFactory(user=customer, is_default=True)

    assert customer_client.delete(f"{ADDRESSES}{default.pk}/").status_code == 204
    old.refresh_from_db()
    assert old.is_default


def test_database_allows_only_one_default_per_user():
    user = UserFactory()
    AddressFactory(user=user, is_default=True)
    with pytest.raises(IntegrityError):
        AddressFactory(user=user, is_default=True)


def test_another_users_address_is_404_for_every_method(customer_client):
    theirs = AddressFactory(user=UserFactory(), is_default=True)
    url = f"{ADDRESSES}{theirs.pk}/"

    assert customer_client.get(url).status_code == 404
    assert customer_client.patch(url, {"city": "Nowhere"}, format="json").status_code == 404
    assert customer_client.put(url, VALID, format="json").status_code == 404
    assert customer_client.delete(url).status_code == 404
    theirs.refresh_from_db()
    assert theirs.city != "Nowhere"


def test_list_shows_only_own_addresses_with_a_fixed_query_budget(
    customer_client, customer, django_assert_max_num_queries
):
    AddressFactory.create_batch(3, user=UserFactory())
    AddressFactory.create_batch(25, user=customer)

    with django_assert_max_num_queries(3):
        body = customer_client.get(ADDRESSES, {"page_size": 100}).json()
    assert body["count"] == 25


def test_detail_query_budget(customer_client, customer, django_assert_max_num_queries):
    address = AddressFactory(user=customer)
    with django_assert_max_num_queries(2):
        assert customer_client.get(f"{ADDRESSES}{address.pk}/").status_code == 200


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_default_addresses_keep_exactly_one_default():
    user = UserFactory()
    n = 5

    def create_default(i):
        services.address_create(user=user, data={**VALID, "country": "GB", "city": f"City {i}", "is_default": True})

    errors = errors_of(run_threads(n, create_default))
    assert errors == []
    assert Address.objects.filter(user=user).count() == n
    assert Address.objects.filter(user=user, is_default=True).count() == 1


def test_address_services_apply_the_shared_rules():
    from core.addresses import InvalidAddressFields

    user = UserFactory()
    with pytest.raises(InvalidAddressFields) as excinfo:
        services.address_create(user=user, data={**VALID, "country": "XX"})
    assert excinfo.value.attr == "country"
    address = services.address_create(user=user, data=VALID)
    assert address.country == "GB"
    with pytest.raises(InvalidAddressFields):
        services.address_update(address=address, data={"phone": "call me maybe"})
    services.address_update(address=address, data={"country": "fr"})
    address.refresh_from_db()
    assert address.country == "FR" and address.city == VALID["city"]


def test_admin_inline_checks_country_like_the_api(client):
    from django.urls import reverse

    from accounts.models import User

    client.force_login(User.objects.create_superuser(email="root@example.com", password="x"))
    user = UserFactory(role="customer")
    form = {
        "email": user.email,
        "role": "customer",
        "is_active": "on",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
        "addresses-TOTAL_FORMS": "1",
        "addresses-INITIAL_FORMS": "0",
        "addresses-MIN_NUM_FORMS": "0",
        "addresses-MAX_NUM_FORMS": "1000",
        **{f"addresses-0-{k}": v for k, v in VALID.items()},
    }
    url = reverse("admin:accounts_user_change", args=[user.pk])

    response = client.post(url, {**form, "addresses-0-country": "XX"})
    assert response.status_code == 200  # the form again, with the error
    assert not Address.objects.filter(user=user).exists()

    assert client.post(url, form).status_code == 302
    assert Address.objects.get(user=user).country == "GB"
