"""Routing decisions of ecommerce.db, in-process (the real standby is in
test_read_replica.py): which reads may go to the replica, what pins a request to the
primary, and the fence that only ever moves forward."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test import RequestFactory, override_settings

from catalog.models import Category, Product
from ecommerce import db
from ecommerce.db import REPLICA, ReplicaRouter, ReplicaRoutingMiddleware, RequestRouting, read_alias


@pytest.fixture
def replica_caught_up(monkeypatch):
    """The replica's answer to "have you replayed the fence?" (asked at most once a request)."""
    answers = {"value": True, "asked": 0}

    def ask() -> bool:
        answers["asked"] += 1
        return answers["value"]

    monkeypatch.setattr(db, "replica_has_replayed_fence", ask)
    return answers


@pytest.fixture
def in_request():
    """Run the body as a request's reads would: `in_request(state)` sets the routing state."""
    tokens = []

    def enter(state: RequestRouting) -> RequestRouting:
        tokens.append(db._routing.set(state))
        return state

    yield enter
    for token in reversed(tokens):
        db._routing.reset(token)


def test_outside_a_request_everything_reads_the_primary(replica_caught_up):
    assert read_alias("catalog") == "default"
    assert replica_caught_up["asked"] == 0


def test_api_reads_of_catalog_and_orders_go_to_a_caught_up_replica(in_request, replica_caught_up):
    in_request(RequestRouting(replica_allowed=True))
    assert read_alias("catalog") == REPLICA
    assert read_alias("orders") == REPLICA
    for app_label in ("accounts", "core", "sessions", "auth", "carts", "payments"):
        assert read_alias(app_label) == "default", app_label
    assert replica_caught_up["asked"] == 1  # once per request


def test_a_lagging_replica_is_not_used(in_request, replica_caught_up):
    replica_caught_up["value"] = False
    in_request(RequestRouting(replica_allowed=True))
    assert read_alias("catalog") == "default"


def test_a_write_in_the_request_pins_it_to_the_primary(in_request, replica_caught_up):
    state = in_request(RequestRouting(replica_allowed=True))
    assert read_alias("catalog") == REPLICA
    state.wrote = True
    assert read_alias("catalog") == "default"


@pytest.mark.django_db(transaction=True)
def test_reads_inside_a_transaction_use_the_primary(in_request, replica_caught_up):
    in_request(RequestRouting(replica_allowed=True))
    with transaction.atomic():
        assert read_alias("catalog") == "default"
    assert read_alias("catalog") == REPLICA


@override_settings(DATABASE_REPLICA_APPS=["catalog"])
def test_the_replicated_apps_come_from_settings(in_request, replica_caught_up):
    in_request(RequestRouting(replica_allowed=True))
    assert (read_alias("catalog"), read_alias("orders")) == (REPLICA, "default")


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", "/api/v1/products/", True),
        ("HEAD", "/api/v1/orders/", True),
        ("POST", "/api/v1/orders/", False),
        ("PATCH", "/api/v1/products/x/", False),
        ("GET", "/admin/catalog/product/", False),
        ("GET", "/health/ready", False),
    ],
)
def test_middleware_allows_the_replica_for_api_reads_only(monkeypatch, method, path, allowed):
    monkeypatch.setattr(db, "replica_configured", lambda: True)
    seen = []
    middleware = ReplicaRoutingMiddleware(lambda request: seen.append(db._routing.get()) or "response")
    assert middleware(RequestFactory().generic(method, path)) == "response"
    assert seen[0].replica_allowed is allowed
    assert db._routing.get() is None  # reset after the request


def test_without_a_replica_nothing_is_allowed():
    seen = []
    ReplicaRoutingMiddleware(lambda request: seen.append(db._routing.get()))(RequestFactory().get("/api/v1/products/"))
    assert seen[0].replica_allowed is False
    assert ReplicaRouter().db_for_read(Product) == "default"


def test_router_writes_and_migrations_stay_on_the_primary():
    router = ReplicaRouter()
    assert router.db_for_write(Product) == "default"
    assert router.allow_migrate(REPLICA, "catalog") is False
    assert router.allow_migrate("default", "catalog") is None
    a, b = Category(name="a"), Category(name="b")
    a._state.db, b._state.db = "default", REPLICA
    assert router.allow_relation(a, b) is True


@pytest.mark.parametrize(
    ("sql", "write"),
    [
        ('INSERT INTO "catalog_product" ("id") VALUES (%s)', True),
        ('  update "catalog_product" SET "name" = %s', True),
        ('DELETE FROM "orders_order" WHERE "id" = %s', True),
        ('WITH moved AS (UPDATE "catalog_product" SET x = 1 RETURNING id) SELECT * FROM moved', True),
        ('SELECT "catalog_product"."id" FROM "catalog_product" FOR UPDATE', False),
        ("SELECT 1", False),
        ('WITH t AS (SELECT 1) SELECT * FROM "catalog_product"', False),
    ],
)
def test_write_statements_are_recognised(sql, write):
    assert db.is_write(sql) is write


def test_only_tables_of_the_replicated_apps_raise_the_fence():
    assert db.touches_replicated_table('UPDATE "catalog_product" SET "name" = %s')
    assert db.touches_replicated_table('INSERT INTO "orders_orderline" ("order_id") VALUES (%s)')
    assert not db.touches_replicated_table('INSERT INTO "django_session" ("session_key") VALUES (%s)')
    assert not db.touches_replicated_table('UPDATE "accounts_user" SET "last_login" = %s')


@pytest.mark.django_db
def test_a_write_pins_the_request_and_fences_once_per_transaction(in_request, category):
    state = in_request(RequestRouting(replica_allowed=True))
    transaction.on_commit(lambda: None)  # a hook registered before the write
    with connection.execute_wrapper(db.fence_writes):
        list(Category.objects.all())
        assert state.wrote is False
        Category.objects.filter(pk=category.pk).update(name="Renamed")
        Category.objects.filter(pk=category.pk).update(name="Renamed again")
    assert state.wrote is True
    fences = [entry for entry in connection.run_on_commit if entry[1] is db.record_fence]
    assert len(fences) == 1  # the test's transaction is still open: recorded at its commit
    assert connection.run_on_commit[0][1] is db.record_fence  # before the earlier hook


@pytest.fixture
def category(db):
    return Category.objects.create(name="Tools", slug="tools")


def test_the_fence_only_moves_forward():
    assert db._read_fence() is None
    assert db._advance_fence(100) == 100
    assert db._advance_fence(50) == 100
    assert db._read_fence() == 100
    assert db._advance_fence(250) == 250
    assert db._read_fence() == 250


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_committed_write_records_the_primarys_position(in_request, category):
    before = db._primary_position()
    with connection.execute_wrapper(db.fence_writes), transaction.atomic():
        Category.objects.filter(pk=category.pk).update(name="Renamed")
        assert db._read_fence() is None  # not before the commit
    fence = db._read_fence()
    assert fence is not None and fence > before
