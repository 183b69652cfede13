"""auth/me/, users/ (admin), role permissions, role groups for the Django admin."""

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from accounts.roles import sync_role_groups
from tests.accounts.factories import UserFactory
from tests.accounts.helpers import ME, REFRESH, USERS, error_codes, login
from tests.conftest import auth_client_for

pytestmark = pytest.mark.django_db


def test_me_returns_own_profile(customer_client, customer):
    body = customer_client.get(ME).json()
    assert body["id"] == str(customer.pk)
    assert body["email"] == customer.email and body["role"] == "customer" and body["is_verified"] is True


def test_me_needs_authentication(api_client):
    assert api_client.get(ME).status_code == 401


def test_me_patch_changes_names_and_ignores_mass_assignment(customer_client, customer):
    response = customer_client.patch(
        ME,
        {
            "first_name": "Zoë",
            "email": "hijack@example.com",
            "role": "admin",
            "is_verified": False,
            "is_staff": True,
            "is_superuser": True,
        },
        format="json",
    )

    assert response.status_code == 200
    assert response.json()["first_name"] == "Zoë"
    customer.refresh_from_db()
    assert customer.first_name == "Zoë"
    assert customer.email != "hijack@example.com"
    assert (customer.role, customer.is_verified, customer.is_staff, customer.is_superuser) == (
        "customer",
        True,
        False,
        False,
    )


def test_me_put_is_not_allowed(customer_client):
    assert customer_client.put(ME, {"first_name": "x"}, format="json").status_code == 405


# --- users (admin) ------------------------------------------------------------------------


def test_customer_cannot_list_users(customer_client):
    response = customer_client.get(USERS)
    assert response.status_code == 403
    assert error_codes(response) == [("permission_denied", None)]


def test_anonymous_cannot_list_users(api_client):
    assert api_client.get(USERS).status_code == 401


def test_manager_cannot_list_users_or_change_roles(manager_client, customer):
    assert manager_client.get(USERS).status_code == 403
    response = manager_client.patch(f"{USERS}{customer.pk}/", {"role": "admin"}, format="json")
    assert response.status_code == 403
    customer.refresh_from_db()
    assert customer.role == "customer"


def test_admin_lists_searches_and_filters_users(admin_client_api, django_assert_max_num_queries):
    UserFactory(email="alice@shop.test", role="manager")
    UserFactory(email="bob@shop.test")
    UserFactory(email="carol@elsewhere.test", is_active=False)

    with django_assert_max_num_queries(4):
        body = admin_client_api.get(USERS, {"search": "SHOP.test"}).json()
    assert sorted(u["email"] for u in body["results"]) == ["alice@shop.test", "bob@shop.test"]

    managers = admin_client_api.get(USERS, {"role": "manager"}).json()["results"]
    assert [u["email"] for u in managers] == ["alice@shop.test"]

    inactive = admin_client_api.get(USERS, {"is_active": "false"}).json()["results"]
    assert [u["email"] for u in inactive] == ["carol@elsewhere.test"]


def test_user_list_query_count_does_not_grow_with_page_size(admin_client_api, django_assert_max_num_queries):
    UserFactory.create_batch(30)
    with django_assert_max_num_queries(4):
        assert len(admin_client_api.get(USERS, {"page_size": 30}).json()["results"]) == 30


def test_admin_promotes_a_customer_to_manager(admin_client_api, customer):
    response = admin_client_api.patch(f"{USERS}{customer.pk}/", {"role": "manager"}, format="json")

    assert response.status_code == 200
    assert response.json()["role"] == "manager" and response.json()["is_staff"] is True
    customer.refresh_from_db()
    assert customer.role == "manager" and customer.is_staff


def test_admin_deactivates_a_user_and_their_sessions_end(admin_client_api, api_client):
    user = UserFactory()
    pair = login(api_client, user)

    response = admin_client_api.patch(f"{USERS}{user.pk}/", {"is_active": False}, format="json")

    assert response.status_code == 200 and response.json()["is_active"] is False
    assert api_client.post(REFRESH, {"refresh": pair["refresh"]}, format="json").status_code == 401
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {pair['access']}")
    assert client.get(ME).status_code == 401


def test_admin_cannot_change_the_email_or_verification_of_a_user(admin_client_api, customer):
    admin_client_api.patch(
        f"{USERS}{customer.pk}/", {"email": "x@example.com", "is_verified": False, "is_staff": True}, format="json"
    )
    customer.refresh_from_db()
    assert customer.email != "x@example.com" and customer.is_verified and not customer.is_staff


def test_admin_cannot_demote_or_deactivate_themselves(admin_client_api, admin_user):
    for body in ({"role": "customer"}, {"is_active": False}):
        response = admin_client_api.patch(f"{USERS}{admin_user.pk}/", body, format="json")
        assert response.status_code == 409
        assert error_codes(response) == [("own_account", None)]
    admin_user.refresh_from_db()
    assert admin_user.role == "admin" and admin_user.is_active


def test_invalid_role_is_400(admin_client_api, customer):
    response = admin_client_api.patch(f"{USERS}{customer.pk}/", {"role": "overlord"}, format="json")
    assert response.status_code == 400
    assert error_codes(response) == [("invalid_choice", "role")]


def test_unknown_user_is_404(admin_client_api):
    assert admin_client_api.get(f"{USERS}00000000-0000-0000-0000-000000000000/").status_code == 404


def test_superuser_is_an_admin_for_the_api():
    root = User.objects.create_superuser(email="root@example.com", password="x")
    assert auth_client_for(root).get(USERS).status_code == 200


# --- permission classes -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "customer_ok", "manager_ok", "admin_ok"),
    [("customer", True, False, False), ("manager", True, True, False), ("admin", True, True, True)],
)
def test_role_permission_classes(rf, role, customer_ok, manager_ok, admin_ok):
    from ecommerce.api.permissions import IsAdmin, IsCustomer, IsManager

    request = rf.get("/")
    request.user = UserFactory(role=role)
    assert IsCustomer().has_permission(request, None) is customer_ok
    assert IsManager().has_permission(request, None) is manager_ok
    assert IsAdmin().has_permission(request, None) is admin_ok


# --- Django admin rights by role ----------------------------------------------------------


def test_manager_edits_catalog_views_carts_but_not_users():
    sync_role_groups()
    manager = User.objects.get(pk=UserFactory(role="manager").pk)

    assert manager.is_staff
    assert manager.has_perm("catalog.change_product") and manager.has_perm("catalog.add_category")
    assert manager.has_perm("carts.view_cart") and not manager.has_perm("carts.change_cart")
    assert not manager.has_perm("accounts.view_user") and not manager.has_perm("accounts.change_user")
    assert not manager.has_module_perms("accounts")


def test_admin_role_has_every_permission_without_being_superuser():
    sync_role_groups()
    admin = User.objects.get(pk=UserFactory(role="admin").pk)
    assert not admin.is_superuser
    assert admin.has_perm("accounts.change_user") and admin.has_perm("catalog.delete_product")


def test_customer_has_no_admin_rights():
    sync_role_groups()
    customer = User.objects.get(pk=UserFactory(role="customer").pk)
    assert not customer.is_staff and not customer.has_perm("catalog.view_product")


def test_role_groups_sync_is_idempotent():
    from django.contrib.auth.models import Group

    sync_role_groups()
    before = {g.name: set(g.permissions.values_list("pk", flat=True)) for g in Group.objects.all()}
    sync_role_groups()
    after = {g.name: set(g.permissions.values_list("pk", flat=True)) for g in Group.objects.all()}
    assert before == after and {"Managers", "Admins"} <= set(after)
