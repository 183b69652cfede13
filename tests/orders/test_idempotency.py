"""Idempotency-Key (ecommerce/api/idempotency.py) on POST orders/ and any POST."""

import hashlib
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from core.models import IdempotencyRecord, IdempotencyState
from orders.models import Order
from orders.tasks import purge_idempotency_records
from tests.accounts.factories import UserFactory
from tests.concurrency import run_threads
from tests.conftest import auth_client_for
from tests.orders.factories import ProductFactory
from tests.orders.helpers import item, post_order

pytestmark = pytest.mark.django_db


def test_retry_with_same_key_and_body_replays_and_orders_once(customer_client):
    product = ProductFactory(stock_quantity=5)
    first = post_order(customer_client, [item(product, 2)], key="same-key")
    second = post_order(customer_client, [item(product, 2)], key="same-key")

    assert first.status_code == second.status_code == 201
    assert second["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert second.json() == first.json()
    assert Order.objects.count() == 1
    product.refresh_from_db()
    assert product.stock_quantity == 3


def test_error_responses_are_replayed_too(customer_client):
    product = ProductFactory(stock_quantity=0)
    first = post_order(customer_client, [item(product)], key="k409")
    product.stock_quantity = 5
    product.save()
    second = post_order(customer_client, [item(product)], key="k409")
    assert first.status_code == second.status_code == 409
    assert second["Idempotent-Replayed"] == "true"
    assert not Order.objects.exists()


def test_same_key_different_body_is_422(customer_client):
    product = ProductFactory(stock_quantity=5)
    assert post_order(customer_client, [item(product, 1)], key="k").status_code == 201
    response = post_order(customer_client, [item(product, 2)], key="k")
    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == "idempotency_key_reused"
    assert Order.objects.count() == 1


def test_json_key_order_and_spacing_do_not_matter(customer_client):
    product = ProductFactory(stock_quantity=5)
    a = f'{{"shipping_address": {{"full_name": "A", "line1": "l", "city": "c", "postal_code": "p", "country": "GB"}}, "items": [{{"product_id": "{product.pk}", "quantity": 1}}]}}'
    b = f'{{"items":[{{"quantity":1,"product_id":"{product.pk}"}}],"shipping_address":{{"country":"GB","postal_code":"p","city":"c","line1":"l","full_name":"A"}}}}'
    r1 = customer_client.post("/api/v1/orders/", a, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k")
    r2 = customer_client.post("/api/v1/orders/", b, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k")
    assert r1.status_code == 201
    assert r2.status_code == 201 and r2["Idempotent-Replayed"] == "true"


def test_key_in_flight_is_409(customer_client, customer):
    product = ProductFactory(stock_quantity=5)
    IdempotencyRecord.objects.create(
        scope=f"user:{customer.pk}", method="POST", path="/api/v1/orders/", key="busy", request_hash="x"
    )
    # Same body hash is needed for the in-flight answer: compute it as the middleware does.
    import json

    from ecommerce.api.idempotency import body_fingerprint

    body = {"shipping_address": {"full_name": "A", "line1": "l", "city": "c", "postal_code": "p", "country": "GB"}}
    body["items"] = [item(product)]
    IdempotencyRecord.objects.filter(key="busy").update(request_hash=body_fingerprint(json.dumps(body).encode()))
    response = customer_client.post("/api/v1/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="busy")
    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "idempotency_key_in_use"
    assert not Order.objects.exists()


def test_abandoned_in_flight_key_is_taken_over(customer_client, customer, settings):
    import json

    from ecommerce.api.idempotency import body_fingerprint

    product = ProductFactory(stock_quantity=5)
    body = {"shipping_address": {"full_name": "A", "line1": "l", "city": "c", "postal_code": "p", "country": "GB"}}
    body["items"] = [item(product)]
    record = IdempotencyRecord.objects.create(
        scope=f"user:{customer.pk}",
        method="POST",
        path="/api/v1/orders/",
        key="crashed",
        request_hash=body_fingerprint(json.dumps(body).encode()),
    )
    old = timezone.now() - timedelta(seconds=settings.IDEMPOTENCY_LOCK_TIMEOUT + 5)
    IdempotencyRecord.objects.filter(pk=record.pk).update(updated_at=old)
    response = customer_client.post("/api/v1/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="crashed")
    assert response.status_code == 201


def test_keys_are_scoped_per_user(customer_client):
    product = ProductFactory(stock_quantity=5)
    other = auth_client_for(UserFactory(is_verified=True))
    r1 = post_order(customer_client, [item(product)], key="shared")
    r2 = post_order(other, [item(product)], key="shared")
    assert r1.status_code == r2.status_code == 201
    assert "Idempotent-Replayed" not in r2
    assert r1.json()["id"] != r2.json()["id"]
    assert Order.objects.count() == 2


def test_keys_are_scoped_per_path(customer_client, customer, place):
    product = ProductFactory(stock_quantity=5)
    order = place(customer, (product, 1))
    r1 = customer_client.post(f"/api/v1/orders/{order.pk}/cancel/", {}, format="json", HTTP_IDEMPOTENCY_KEY="k")
    r2 = post_order(customer_client, [item(product)], key="k")
    assert r1.status_code == 200
    assert r2.status_code == 201 and "Idempotent-Replayed" not in r2


@pytest.mark.parametrize("key", ["", "x" * 256, "bad\x7fkey", "ключ"])
def test_invalid_key_is_400(customer_client, key):
    product = ProductFactory(stock_quantity=5)
    response = customer_client.post(
        "/api/v1/orders/", {"items": [item(product)]}, format="json", HTTP_IDEMPOTENCY_KEY=key
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] in ("invalid_idempotency_key", "idempotency_key_required")
    assert not Order.objects.exists()


def test_honoured_on_any_post_that_sends_it(customer_client, customer, place):
    product = ProductFactory(stock_quantity=5)
    order = place(customer, (product, 2))
    first = customer_client.post(f"/api/v1/orders/{order.pk}/cancel/", {}, format="json", HTTP_IDEMPOTENCY_KEY="c1")
    second = customer_client.post(f"/api/v1/orders/{order.pk}/cancel/", {}, format="json", HTTP_IDEMPOTENCY_KEY="c1")
    assert first.status_code == second.status_code == 200
    assert second["Idempotent-Replayed"] == "true"
    # Without the key the same POST runs again (and now fails: already cancelled).
    third = customer_client.post(f"/api/v1/orders/{order.pk}/cancel/", {}, format="json")
    assert third.status_code == 409


def test_unauthenticated_responses_are_not_stored(api_client):
    product = ProductFactory(stock_quantity=5)
    response = post_order(api_client, [item(product)], key="anon")
    assert response.status_code == 401
    assert not IdempotencyRecord.objects.exists()


def test_purge_forgets_records_older_than_24h():
    old = IdempotencyRecord.objects.create(scope="s", method="POST", path="/p", key="old", request_hash="h")
    IdempotencyRecord.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=25))
    IdempotencyRecord.objects.create(scope="s", method="POST", path="/p", key="new", request_hash="h")
    assert purge_idempotency_records() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]


def test_expired_key_runs_again(customer_client, customer):
    product = ProductFactory(stock_quantity=5)
    assert post_order(customer_client, [item(product)], key="k").status_code == 201
    day_ago = timezone.now() - timedelta(hours=25)
    IdempotencyRecord.objects.update(created_at=day_ago)
    Order.objects.update(created_at=day_ago)
    response = post_order(customer_client, [item(product)], key="k")
    assert response.status_code == 201 and "Idempotent-Replayed" not in response
    assert Order.objects.count() == 2


def test_the_order_and_its_stored_answer_commit_together(customer_client, monkeypatch):
    """One mechanism for the crash window: the middleware stores the answer in the view's
    own transaction. If storing it fails (as if the worker died there), the order is not
    kept either, so the retry that takes the key over places it exactly once."""
    from django.db.models import QuerySet

    product = ProductFactory(stock_quantity=5)
    real_update = QuerySet.update

    def die_while_storing(self, **kwargs):
        if self.model is IdempotencyRecord and kwargs.get("state") == IdempotencyState.COMPLETED:
            raise SystemExit("worker killed")
        return real_update(self, **kwargs)

    monkeypatch.setattr(QuerySet, "update", die_while_storing)
    with pytest.raises(SystemExit):
        post_order(customer_client, [item(product, 2)], key="died")
    monkeypatch.undo()
    assert Order.objects.count() == 0
    product.refresh_from_db()
    assert product.stock_quantity == 5

    retry = post_order(customer_client, [item(product, 2)], key="died")
    assert retry.status_code == 201 and "Idempotent-Replayed" not in retry
    assert Order.objects.count() == 1
    product.refresh_from_db()
    assert product.stock_quantity == 3


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_first_requests_run_once():
    user = UserFactory(is_verified=True)
    product = ProductFactory(stock_quantity=50)

    def call(i):
        return post_order(auth_client_for(user), [item(product)], key="race").status_code

    statuses = run_threads(12, call)
    assert statuses.count(201) >= 1
    assert set(statuses) <= {201, 409}
    assert Order.objects.count() == 1
    product.refresh_from_db()
    assert product.stock_quantity == 49
    assert IdempotencyRecord.objects.get().state == IdempotencyState.COMPLETED


def test_views_can_opt_out(customer_client, customer, place, monkeypatch):
    from orders.views import OrderViewSet

    monkeypatch.setattr(OrderViewSet, "idempotency_exempt", True, raising=False)
    order = place(customer, (ProductFactory(stock_quantity=5), 1))
    response = customer_client.post(f"/api/v1/orders/{order.pk}/cancel/", {}, format="json", HTTP_IDEMPOTENCY_KEY="x")
    assert response.status_code == 200
    assert not IdempotencyRecord.objects.exists()


def test_sign_in_responses_are_never_stored_under_an_idempotency_key(api_client, customer):
    """Tokens must not sit in the idempotency table for 24 h: token views are exempt."""
    from core.models import IdempotencyRecord
    from tests.accounts.factories import DEFAULT_PASSWORD

    body = {"email": customer.email, "password": DEFAULT_PASSWORD}
    first = api_client.post("/api/v1/auth/token/", body, format="json", HTTP_IDEMPOTENCY_KEY="login-1")
    second = api_client.post("/api/v1/auth/token/", body, format="json", HTTP_IDEMPOTENCY_KEY="login-1")
    assert first.status_code == second.status_code == 200
    assert "Idempotent-Replayed" not in second
    assert first.json()["refresh"] != second.json()["refresh"]
    assert not IdempotencyRecord.objects.exists()


def test_two_visitors_behind_one_address_never_get_each_others_cart_token(api_client):
    """Finding 9: a visitor's scope was the client IP, so a second visitor behind the same
    NAT with the same key and body got the first one's replayed X-Cart-Token."""
    from rest_framework.test import APIClient

    from tests.carts.factories import ProductFactory

    product = ProductFactory()
    body = {"product_id": str(product.pk), "quantity": 1}
    first = api_client.post("/api/v1/cart/items/", body, format="json", HTTP_IDEMPOTENCY_KEY="cart-1")
    other = APIClient().post("/api/v1/cart/items/", body, format="json", HTTP_IDEMPOTENCY_KEY="cart-1")
    assert first.status_code == other.status_code == 201
    assert other.get("Idempotent-Replayed") is None
    assert other["X-Cart-Token"] != first["X-Cart-Token"]


def test_a_visitor_with_a_cart_token_gets_replays_and_the_record_holds_no_token(api_client):
    from core.models import IdempotencyRecord
    from tests.carts.factories import ProductFactory

    first_product, second_product = ProductFactory(), ProductFactory()
    token = api_client.post("/api/v1/cart/items/", {"product_id": str(first_product.pk), "quantity": 1}, format="json")[
        "X-Cart-Token"
    ]
    body = {"product_id": str(second_product.pk), "quantity": 2}
    first = api_client.post(
        "/api/v1/cart/items/", body, format="json", HTTP_IDEMPOTENCY_KEY="c-2", HTTP_X_CART_TOKEN=token
    )
    again = api_client.post(
        "/api/v1/cart/items/", body, format="json", HTTP_IDEMPOTENCY_KEY="c-2", HTTP_X_CART_TOKEN=token
    )
    assert first.status_code == again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    record = IdempotencyRecord.objects.get(key="c-2")
    stored = f"{record.scope} {record.response_body} {record.response_headers}"
    assert token not in stored
    assert (
        record.request_hash
        != hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    )


def test_credential_endpoints_are_never_recorded(api_client, customer_client):
    """Finding 8: the record kept an unsalted SHA-256 of register and password bodies."""
    from core.models import IdempotencyRecord

    api_client.post(
        "/api/v1/auth/register/",
        {"email": "idem@example.com", "password": "An-0k-passphrase-22"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="reg-1",
    )
    customer_client.post(
        "/api/v1/auth/password/change/",
        {"old_password": "wrong", "new_password": "An-0k-passphrase-23"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="pw-1",
    )
    assert not IdempotencyRecord.objects.exists()


def test_idempotency_records_are_for_admins_only(client, manager, admin_user):
    from django.contrib.auth.models import Permission

    from accounts.roles import sync_role_groups

    sync_role_groups()
    assert not any(
        manager.has_perm(f"core.{p.codename}") for p in Permission.objects.filter(content_type__app_label="core")
    )
    client.force_login(manager)
    assert client.get("/admin/core/idempotencyrecord/").status_code == 403
    client.force_login(admin_user)
    assert client.get("/admin/core/idempotencyrecord/").status_code == 200
