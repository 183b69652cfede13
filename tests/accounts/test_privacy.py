"""Privacy: GET auth/me/export/ (every record held on the caller) and POST auth/me/delete/
(erasure), the admin's actions for both, and the guard that every model linked to a user
is covered by a personal-data section."""

import json
from decimal import Decimal

import pytest
from django.apps import apps
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.hooks import personal_data_sections
from accounts.models import Address, RefreshTokenFamily, User
from accounts.privacy import ERASED_EMAIL_DOMAIN, user_data_export, user_erase
from accounts.services import password_reset_request
from carts.models import Cart
from carts.services import cart_add_item
from catalog.models import Product, Review, StockMove
from catalog.services import review_create
from core.models import IdempotencyRecord, OutboxMessage
from orders.models import Order, OrderStatus
from payments.models import Invoice, Payment, Refund
from tests.accounts.factories import DEFAULT_PASSWORD, AddressFactory, UserFactory
from tests.accounts.helpers import ME, REFRESH, TOKEN, bearer, error_codes, login
from tests.orders.factories import ProductFactory
from tests.orders.helpers import item, post_order
from tests.payments.test_pay import pay

pytestmark = pytest.mark.django_db

EXPORT = "/api/v1/auth/me/export/"
DELETE = "/api/v1/auth/me/delete/"
EMAIL = "zebulon.quixote@example.com"
FIRST, LAST = "Zebulon", "Quixotic-Erasure"
HOME = "Zebulon Q Home"  # the saved address' name: orders below ship elsewhere (ADDRESS)
# Rows that keep pointing at the (pseudonymised) user row after an erasure, by design.
KEPT_LINKS = {"admin.LogEntry": "what a staff member did stays in the audit trail"}


@pytest.fixture
def shopper(api_client, django_capture_on_commit_callbacks):
    """A customer with a record of every kind the shop keeps on a user."""
    user = UserFactory(email=EMAIL, first_name=FIRST, last_name=LAST, is_verified=True)
    AddressFactory(user=user, full_name=HOME, phone="+33612345678", is_default=True)
    tokens = login(api_client, user)
    client = bearer(api_client, tokens["access"])
    teapot = ProductFactory(name="Blue Teapot", price="12.50", stock_quantity=10)
    mug = ProductFactory(name="Green Mug", price="4.00", stock_quantity=10)
    kettle = ProductFactory(name="Red Kettle", price="30.00", stock_quantity=10)

    with django_capture_on_commit_callbacks(execute=True):
        paid = post_order(client, [item(teapot, 2)])  # an idempotency record of the user
        assert paid.status_code == 201, paid.json()
        paid = Order.objects.get(pk=paid.json()["id"])
        assert pay(client, paid).status_code == 201  # payment, invoice, receipt email
        refunded = post_order(client, [item(mug, 1)])
        refunded = Order.objects.get(pk=refunded.json()["id"])
        assert pay(client, refunded).status_code == 201
        assert client.post(f"/api/v1/orders/{refunded.pk}/cancel/", {}, format="json").status_code == 200
        pending = Order.objects.get(pk=post_order(client, [item(kettle, 3)]).json()["id"])
        password_reset_request(email=EMAIL)  # an outbox job carrying the address
    review_create(user=user, product=teapot, rating=5, title="Lovely", body="Pours well")
    cart_add_item(user=user, product_id=mug.pk, quantity=2)
    RefreshToken.for_user(user)  # a legacy simplejwt OutstandingToken row
    LogEntry.objects.create(
        user=user,
        content_type=ContentType.objects.get_for_model(Product),
        object_id=str(teapot.pk),
        object_repr="Blue Teapot",
        action_flag=CHANGE,
    )
    admin = UserFactory(role="admin")
    LogEntry.objects.create(
        user=admin,
        content_type=ContentType.objects.get_for_model(User),
        object_id=str(user.pk),
        object_repr=EMAIL,
        action_flag=CHANGE,
    )
    return {
        "user": user,
        "client": client,
        "tokens": tokens,
        "paid": paid,
        "refunded": refunded,
        "pending": pending,
        "kettle": kettle,
        "teapot": teapot,
    }


# --- coverage: no model linked to a user is forgotten ---------------------------------------


def user_relations():
    """Every relation from another model to the user, hidden ones (`related_name="+"`)
    included. The through tables of the user's own many-to-many fields (groups,
    permissions) are left out: they are the user row's, cleared by the erasure."""
    return [
        field
        for field in User._meta.get_fields(include_hidden=True)
        if field.auto_created and not field.concrete and not field.related_model._meta.auto_created
    ]


def test_every_model_linked_to_a_user_is_covered_by_a_personal_data_section():
    covered = {label for section in personal_data_sections() for label in section.models}
    linked = {rel.related_model._meta.label for rel in user_relations()}
    missing = linked - covered
    assert not missing, (
        f"models with a relation to the user that no personal-data section covers: {sorted(missing)}; "
        "register their export and erasure with accounts.hooks.register_personal_data in the app's ready()"
    )
    assert not covered - linked, f"sections name models that do not link to users: {sorted(covered - linked)}"


def test_sections_have_unique_names_and_cannot_clash_with_the_document():
    names = [section.section for section in personal_data_sections()]
    assert len(names) == len(set(names))
    assert not {"format", "exported_at", "user"} & set(names)


# --- export ---------------------------------------------------------------------------------


def test_export_holds_a_record_of_every_kind(shopper):
    response = shopper["client"].get(EXPORT)
    assert response.status_code == 200
    doc = response.json()
    user = shopper["user"]

    assert doc["format"] == "ecommerce.personal-data.v1" and doc["exported_at"].endswith("Z")
    assert doc["user"]["id"] == str(user.pk) and doc["user"]["email"] == EMAIL
    assert (doc["user"]["first_name"], doc["user"]["last_name"]) == (FIRST, LAST)
    assert [a["full_name"] for a in doc["addresses"]] == [HOME] and doc["addresses"][0]["phone"] == "+33612345678"
    assert len(doc["sessions"]["sign_ins"]) == 1 and doc["sessions"]["sign_ins"][0]["revoked_at"] is None
    assert len(doc["sessions"]["legacy_refresh_tokens"]) == 1
    assert [(e["action"], e["object"]) for e in doc["admin_log"]] == [("changed", "Blue Teapot")]
    assert {(r["method"], r["path"]) for r in doc["api_requests"]} >= {("POST", "/api/v1/orders/")}
    assert [(r["product_name"], r["rating"], r["body"]) for r in doc["reviews"]] == [("Blue Teapot", 5, "Pours well")]
    assert {m["reason"] for m in doc["stock_moves"]} == {"sale", "cancel"}
    assert [(i["product_name"], i["quantity"]) for i in doc["cart"]["items"]] == [("Green Mug", 2)]

    orders = {o["number"]: o for o in doc["orders"]}
    paid = orders[shopper["paid"].number]
    assert paid["status"] == "payment_confirmed" and paid["total_amount"] == "25.00"
    assert paid["shipping_address"]["full_name"] == "Ada Lovelace"
    assert [(li["name"], li["quantity"], li["unit_price"], li["line_total"]) for li in paid["lines"]] == [
        ("Blue Teapot", 2, "12.50", "25.00")
    ]
    assert [h["to_status"] for h in paid["history"]] == ["pending", "payment_confirmed"]
    assert {e["kind"] for e in paid["emails"]} >= {
        "order.confirmation",
        f"order.receipt:{Payment.objects.filter(order=shopper['paid']).get().pk}",
    }
    assert orders[shopper["refunded"].number]["status"] == "cancelled"
    assert orders[shopper["pending"].number]["status"] == "pending"
    assert any(c["to_status"] == "cancelled" for c in doc["order_status_changes"])

    payments = {p["order_number"]: p for p in doc["payments"]}
    assert payments[shopper["paid"].number]["amount"] == "25.00" and payments[shopper["paid"].number]["refunds"] == []
    assert [r["amount"] for r in payments[shopper["refunded"].number]["refunds"]] == ["4.00"]
    invoices = {i["order_number"]: i for i in doc["invoices"]}
    assert invoices[shopper["paid"].number]["number"] == Invoice.objects.get(order=shopper["paid"]).number
    assert invoices[shopper["paid"].number]["total_amount"] == "25.00"


def test_export_leaves_secrets_out(shopper):
    text = json.dumps(shopper["client"].get(EXPORT).json())
    user = User.objects.get(pk=shopper["user"].pk)
    family = RefreshTokenFamily.objects.get(user=user)
    payment = Payment.objects.filter(order=shopper["paid"]).get()
    for secret in (user.password, family.current_jti, shopper["tokens"]["refresh"], payment.idempotency_key):
        assert secret not in text
    for key in ('"password"', '"current_jti"', '"raw_response"', '"idempotency_key"', '"token"', "tok_visa"):
        assert key not in text


def test_export_sees_only_the_callers_records(shopper):
    other = UserFactory()
    from tests.conftest import auth_client_for

    doc = auth_client_for(other).get(EXPORT).json()
    assert doc["user"]["id"] == str(other.pk)
    assert doc["orders"] == [] and doc["payments"] == [] and doc["reviews"] == [] and doc["cart"] is None
    assert len(doc["sessions"]["sign_ins"]) == 1


def test_export_query_count_does_not_grow_with_orders(shopper, django_assert_max_num_queries, place, settings):
    settings.ORDER_MAX_PENDING_PER_USER = 10
    with django_assert_max_num_queries(30) as first:
        shopper["client"].get(EXPORT)
    for _ in range(3):
        place(shopper["user"], (shopper["teapot"], 1))
    with django_assert_max_num_queries(len(first.captured_queries)):
        assert len(shopper["client"].get(EXPORT).json()["orders"]) == 6


def test_export_needs_a_sign_in(api_client):
    assert api_client.get(EXPORT).status_code == 401


def test_exports_are_rate_limited_per_user(customer_client, rate_limits_on, settings):
    settings.RATELIMIT_ACCOUNT_EXPORT = "2/h"
    assert [customer_client.get(EXPORT).status_code for _ in range(3)] == [200, 200, 429]


# --- erasure --------------------------------------------------------------------------------


def all_rows_text(model) -> str:
    return json.dumps(list(model._default_manager.values()), default=str)


def test_erasure_removes_personal_data_from_every_table_and_keeps_the_books(shopper, api_client):
    user = shopper["user"]
    paid, pending, kettle = shopper["paid"], shopper["pending"], shopper["kettle"]
    orders_before = {o.pk: (o.number, o.total_amount, o.shipping_address) for o in Order.objects.filter(user=user)}
    invoice_before = Invoice.objects.get(order=paid)
    payments_before = Payment.objects.count()
    review = Review.objects.get(user=user)

    response = shopper["client"].post(DELETE, {"password": DEFAULT_PASSWORD}, format="json")
    assert response.status_code == 204

    # The user row: a placeholder that can never sign in.
    erased = User.objects.get(pk=user.pk)
    assert erased.email == f"erased-{user.pk.hex}@{ERASED_EMAIL_DOMAIN}"
    assert (erased.first_name, erased.last_name) == ("", "")
    assert not erased.has_usable_password() and not erased.is_active and not erased.is_verified
    assert erased.erased_at is not None and erased.last_login is None
    assert not erased.groups.exists() and not erased.user_permissions.exists()

    # Nothing links to it any more but the audit trail; the personal data is gone from every table.
    for rel in user_relations():
        label = rel.related_model._meta.label
        remaining = rel.related_model._default_manager.filter(**{rel.field.name: user.pk})
        if label in KEPT_LINKS:
            continue
        assert not remaining.exists(), f"{label} still points at the erased user"
    for model in apps.get_models():
        text = all_rows_text(model)
        for value in (EMAIL, FIRST, LAST, HOME, "+33612345678"):
            assert value not in text, f"{model._meta.label} still holds {value!r}"
    assert not Address.objects.filter(user=user).exists() and not Cart.objects.filter(user=user).exists()
    assert not RefreshTokenFamily.objects.filter(user=user).exists()
    assert not IdempotencyRecord.objects.filter(scope=f"user:{user.pk}").exists()
    assert not OutboxMessage.objects.filter(task="accounts.send_password_reset_email").exists()

    # The books: orders (with their snapshots), invoices and payments are all there, detached.
    kept = {o.pk: (o.number, o.total_amount, o.shipping_address) for o in Order.objects.filter(pk__in=orders_before)}
    assert kept == orders_before
    assert not Order.objects.filter(pk__in=orders_before, user__isnull=False).exists()
    invoice = Invoice.objects.get(order=paid)
    assert (invoice.number, invoice.total_amount, invoice.billing_address) == (
        invoice_before.number,
        invoice_before.total_amount,
        invoice_before.billing_address,
    )
    assert Payment.objects.count() == payments_before and Refund.objects.count() == 1
    # The unpaid order was cancelled and its stock returned, through the cancel service.
    pending.refresh_from_db()
    assert pending.status == OrderStatus.CANCELLED
    assert Product.objects.get(pk=kettle.pk).stock_quantity == 10
    assert StockMove.objects.filter(order_id=pending.pk, reason="cancel", by__isnull=True).exists()
    # The review stays, by nobody.
    review.refresh_from_db()
    assert review.user_id is None and review.body == "Pours well"
    api_client.credentials()  # (the shopper signed in with this client; their token is dead now)
    listed = api_client.get(f"/api/v1/products/{review.product_id}/reviews/").json()["results"]
    assert [(r["author"], r["body"]) for r in listed] == [("Deleted user", "Pours well")]
    # The admin's note about the user names the placeholder now.
    about = LogEntry.objects.get(content_type=ContentType.objects.get_for_model(User), object_id=str(user.pk))
    assert about.object_repr == erased.email


def test_after_erasure_no_credential_works(shopper, api_client):
    client, tokens = shopper["client"], shopper["tokens"]
    assert client.get(ME).status_code == 200
    assert client.post(DELETE, {"password": DEFAULT_PASSWORD}, format="json").status_code == 204

    assert client.get(ME).status_code == 401  # the access token issued before the erasure
    assert client.post(DELETE, {"password": DEFAULT_PASSWORD}, format="json").status_code == 401
    api_client.credentials()
    assert api_client.post(REFRESH, {"refresh": tokens["refresh"]}, format="json").status_code == 401
    assert api_client.post(TOKEN, {"email": EMAIL, "password": DEFAULT_PASSWORD}, format="json").status_code == 401
    erased = User.objects.get(pk=shopper["user"].pk)
    assert (
        api_client.post(TOKEN, {"email": erased.email, "password": DEFAULT_PASSWORD}, format="json").status_code == 401
    )


def test_a_wrong_password_changes_nothing(shopper):
    response = shopper["client"].post(DELETE, {"password": "not-my-password"}, format="json")
    assert response.status_code == 400
    assert error_codes(response) == [("invalid_password", "password")]
    user = User.objects.get(pk=shopper["user"].pk)
    assert user.email == EMAIL and user.is_active and user.erased_at is None
    assert shopper["client"].get(ME).status_code == 200
    assert shopper["client"].post(DELETE, {}, format="json").status_code == 400  # password required


def test_erasure_attempts_are_rate_limited(customer_client, rate_limits_on, settings):
    settings.RATELIMIT_ACCOUNT_DELETE = "2/h"
    statuses = [customer_client.post(DELETE, {"password": "guess"}, format="json").status_code for _ in range(3)]
    assert statuses == [400, 400, 429]


def test_erasing_twice_is_a_no_op(customer):
    assert user_erase(user=customer) is True
    first = User.objects.get(pk=customer.pk).erased_at
    assert user_erase(user=customer) is False
    assert User.objects.get(pk=customer.pk).erased_at == first


def test_an_erased_customers_paid_order_is_still_fulfilled_without_emails(shopper, django_capture_on_commit_callbacks):
    from django.core import mail

    from orders.services import order_set_status

    assert user_erase(user=shopper["user"], password=DEFAULT_PASSWORD)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        order_set_status(shopper["paid"].pk, OrderStatus.PROCESSING)
        order_set_status(shopper["paid"].pk, OrderStatus.SHIPPED, tracking_number="TRACK1")
    assert Order.objects.get(pk=shopper["paid"].pk).status == OrderStatus.SHIPPED
    assert mail.outbox == []


def test_deleting_a_user_in_the_admin_is_not_blocked_by_orders(admin_web, customer, place):
    order = place(customer, (ProductFactory(), 1))
    response = admin_web.post(reverse("admin:accounts_user_delete", args=[customer.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not User.objects.filter(pk=customer.pk).exists()
    order.refresh_from_db()
    assert order.user_id is None and order.shipping_address["full_name"] == "Ada Lovelace"


def test_order_detail_shows_a_null_user_once_erased(shopper, manager_client):
    user_erase(user=shopper["user"])
    body = manager_client.get(f"/api/v1/orders/{shopper['paid'].pk}/").json()
    assert body["user_id"] is None and body["number"] == shopper["paid"].number


def test_delete_and_export_are_in_the_schema(client):
    paths = client.get("/api/schema/?format=json").json()["paths"]
    assert "get" in paths["/api/v1/auth/me/export/"]
    delete = paths["/api/v1/auth/me/delete/"]["post"]
    assert "204" in delete["responses"] and "400" in delete["responses"]


# --- admin ----------------------------------------------------------------------------------


@pytest.fixture
def admin_web(client):
    root = User.objects.create_superuser(email="root@example.com", password="x")
    client.force_login(root)
    client.root = root
    return client


def test_admin_exports_a_users_personal_data_as_a_download(admin_web, shopper):
    url = reverse("admin:accounts_user_changelist")
    response = admin_web.post(url, {"action": "export_personal_data", "_selected_action": [shopper["user"].pk]})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == f'attachment; filename="personal-data-{shopper["user"].pk}.json"'
    doc = json.loads(response.content)
    expected = user_data_export(user=User.objects.get(pk=shopper["user"].pk))
    assert doc == {**expected, "exported_at": doc["exported_at"]}
    assert doc["user"]["email"] == EMAIL and len(doc["orders"]) == 3

    two = admin_web.post(
        url, {"action": "export_personal_data", "_selected_action": [shopper["user"].pk, admin_web.root.pk]}
    )
    assert {d["user"]["email"] for d in json.loads(two.content)} == {EMAIL, "root@example.com"}


def test_admin_erases_after_a_confirmation_and_never_itself(admin_web, shopper):
    url = reverse("admin:accounts_user_changelist")
    selected = [shopper["user"].pk, admin_web.root.pk]

    confirm = admin_web.post(url, {"action": "erase_accounts", "_selected_action": selected})
    assert confirm.status_code == 200
    assert EMAIL in confirm.content.decode() and "Yes, erase them" in confirm.content.decode()
    assert User.objects.get(pk=shopper["user"].pk).erased_at is None  # nothing happened yet

    done = admin_web.post(url, {"action": "erase_accounts", "_selected_action": selected, "confirm_erasure": "yes"})
    assert done.status_code == 302
    assert User.objects.get(pk=shopper["user"].pk).erased_at is not None
    root = User.objects.get(pk=admin_web.root.pk)
    assert root.erased_at is None and root.is_active
    assert shopper["client"].get(ME).status_code == 401
    assert Order.objects.filter(number=shopper["paid"].number, user__isnull=True).exists()


def test_managers_cannot_export_or_erase(client, shopper):
    client.force_login(UserFactory(role="manager"))
    url = reverse("admin:accounts_user_changelist")
    for action in ("export_personal_data", "erase_accounts"):
        response = client.post(
            url, {"action": action, "_selected_action": [shopper["user"].pk], "confirm_erasure": "yes"}
        )
        assert response.status_code == 403
    assert User.objects.get(pk=shopper["user"].pk).erased_at is None


def test_money_values_in_the_export_are_strings_not_floats(shopper):
    doc = user_data_export(user=shopper["user"])
    assert isinstance(doc["orders"][0]["total_amount"], str)
    assert Decimal(doc["orders"][0]["total_amount"]) > 0
