"""The read replica against a real streaming standby: the test runs a PostgreSQL primary on
a spare port, makes a standby of it with `pg_basebackup -R`, and serves the app under
gunicorn (production settings, DB_POOL on) with DATABASE_URL on the primary and
DATABASE_REPLICA_URL on the standby.

Which server answered is shown by pausing the standby's replay and changing a row on the
primary behind the app's back (plain SQL, so the app records no fence): a read that shows
the old value came from the standby. Then the promises: catalog reads and order history go
to the replica; writes go to the primary; a write, staff's or a customer's, is visible on
the very next GET however far the replica lags (the fence sends reads to the primary until
the replica has replayed it), the cached catalog included."""

from __future__ import annotations

import json

import psycopg
import pytest

from tests.faults.conftest import require_postgres_binaries, require_redis_server
from tests.faults.services import AppServer, PostgresCluster, RedisServer, app_env, manage, running, wait_until
from tests.faults.shop import PASSWORD, idempotency

pytestmark = pytest.mark.faults

SEED = """
import json
from django.core.management import call_command
call_command("migrate", interactive=False, verbosity=0)
from accounts.models import User
from catalog import services
from catalog.models import Category, Product
User.objects.create_user(email="buyer@example.com", password=%(password)r, is_verified=True)
User.objects.create_user(email="staff@example.com", password=%(password)r, is_verified=True, role="manager")
category = services.category_save(Category(name="Tools", slug="tools"))
product = Product.objects.create(
    name="Hammer", slug="hammer", sku="HAM-1", price="19.99", stock_quantity=50, category=category, attributes={}
)
print(json.dumps({"product": str(product.pk)}))
"""
ADDRESS = {"full_name": "B", "line1": "1 Main St", "city": "Paris", "postal_code": "75001", "country": "FR"}


@pytest.fixture
def clusters():
    require_postgres_binaries()
    primary, standby = PostgresCluster(), PostgresCluster()
    try:
        primary.init()
        primary.start()
        primary.create_database("shop")
        yield primary, standby
    finally:
        standby.destroy()
        primary.destroy()


def sql(url: str, query: str, *params):
    with psycopg.connect(url, autocommit=True) as conn:
        cursor = conn.execute(query, params)
        return cursor.fetchall() if cursor.description else []


def lsn(url: str, query: str) -> int:
    return int(sql(url, f"SELECT {query} - '0/0'::pg_lsn")[0][0])


def caught_up(primary: str, standby: str) -> bool:
    return lsn(standby, "pg_last_wal_replay_lsn()") >= lsn(primary, "pg_current_wal_lsn()")


def pause_replay(primary: str, standby: str) -> None:
    """Wait until the standby has replayed everything, then stop its replay."""
    wait_until(lambda: caught_up(primary, standby), timeout=20, what="the standby to catch up")
    sql(standby, "SELECT pg_wal_replay_pause()")
    wait_until(lambda: sql(standby, "SELECT pg_get_wal_replay_pause_state()")[0][0] == "paused", timeout=10)


def resume_replay(primary: str, standby: str) -> None:
    sql(standby, "SELECT pg_wal_replay_resume()")
    wait_until(lambda: caught_up(primary, standby), timeout=20, what="the standby to catch up")


def test_reads_go_to_the_replica_and_writes_are_visible_at_once(clusters, workdir):
    require_redis_server()
    primary, standby = clusters
    primary_url, standby_url = primary.url("shop"), standby.url("shop")
    redis = RedisServer(workdir)
    env = app_env(
        database_url=primary_url,
        redis_url=redis.url(0),
        DATABASE_REPLICA_URL=standby_url,
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
    )
    app = AppServer(env, workdir)
    with running(redis, app):
        redis.start()
        seeded = json.loads(manage(env, "shell", "-c", SEED % {"password": PASSWORD}).strip().splitlines()[-1])
        standby.clone_from(primary)
        standby.start()
        assert sql(standby_url, "SELECT pg_is_in_recovery()")[0][0] is True
        wait_until(lambda: caught_up(primary_url, standby_url), timeout=20, what="the standby to catch up")
        app.start()
        product = seeded["product"]
        detail, listing = f"/api/v1/products/{product}/", "/api/v1/products/"

        ready, _ = app.request("GET", "/health/ready")
        body = ready.json()
        assert ready.status_code == 200, body
        assert body["checks"]["replica"]["status"] == "ok", body
        assert set(body["checks"]["database"]["pool"]) >= {"size", "available", "waiting"}, body

        def token(email: str) -> dict:
            response, _ = app.request("POST", "/api/v1/auth/token/", json={"email": email, "password": PASSWORD})
            assert response.status_code == 200, response.text
            return {"Authorization": f"Bearer {response.json()['access']}"}

        buyer, staff = token("buyer@example.com"), token("staff@example.com")
        # A first catalog read sets the fence (no write recorded yet: the primary's position).
        assert app.request("GET", "/api/v1/categories/")[0].status_code == 200

        # 1. Catalog reads come from the replica: with its replay paused, a rename made on
        # the primary behind the app's back is not seen.
        pause_replay(primary_url, standby_url)
        sql(primary_url, "UPDATE catalog_product SET name = 'Hammer (primary only)' WHERE id = %s", product)
        response, _ = app.request("GET", detail)
        assert response.status_code == 200 and response.headers["X-Cache"] == "MISS"
        assert response.json()["name"] == "Hammer", "the product detail was not read from the replica"
        uncached, _ = app.request("GET", listing, params={"page_size": 7})
        assert [p["name"] for p in uncached.json()["results"]] == ["Hammer"]
        sql(primary_url, "UPDATE catalog_category SET name = 'Tools (primary only)' WHERE slug = 'tools'")
        facets, _ = app.request("GET", "/api/v1/products/facets/", params={"min_price": "1"})
        assert facets.status_code == 200 and facets.headers["X-Cache"] == "MISS", facets.text
        assert [c["name"] for c in facets.json()["categories"]] == ["Tools"], "facets were not read from the replica"
        # Signing in writes accounts tables only: no fence, reads stay on the replica.
        token("buyer@example.com")
        assert app.request("GET", listing, params={"page_size": 8})[0].json()["results"][0]["name"] == "Hammer"

        # 2. A staff write goes to the primary and is visible on the very next GET, for
        # everyone and through the cache, while the replica still lags behind it.
        response, _ = app.request("PATCH", detail, headers=staff, json={"name": "Claw hammer"})
        assert response.status_code == 200, response.text
        assert sql(primary_url, "SELECT name FROM catalog_product WHERE id = %s", product) == [("Claw hammer",)]
        assert sql(standby_url, "SELECT name FROM catalog_product WHERE id = %s", product) == [("Hammer",)]
        for _ in range(2):  # the miss (from the primary) and the hit it stored
            response, _ = app.request("GET", detail)
            assert response.json()["name"] == "Claw hammer", response.headers.get("X-Cache")
        assert app.request("GET", listing)[0].json()["results"][0]["name"] == "Claw hammer"
        assert app.request("GET", detail, headers=buyer)[0].json()["name"] == "Claw hammer"

        # 3. Order history: an order placed while the replica lags is in the buyer's list.
        checkout = {"shipping_address": ADDRESS, "items": [{"product_id": product, "quantity": 1}]}
        placed, _ = app.request("POST", "/api/v1/orders/", headers={**buyer, **idempotency()}, json=checkout)
        assert placed.status_code == 201, placed.text
        order = placed.json()["id"]
        history, _ = app.request("GET", "/api/v1/orders/", headers=buyer)
        assert [o["id"] for o in history.json()["results"]] == [order]
        assert sql(standby_url, "SELECT count(*) FROM orders_order")[0][0] == 0

        # Once the replica has caught up, order history is read from it: paused again, a
        # change made on the primary behind the app's back is not seen.
        resume_replay(primary_url, standby_url)
        app.request("GET", "/api/v1/orders/", headers=buyer)
        pause_replay(primary_url, standby_url)
        sql(primary_url, "UPDATE orders_order SET tracking_number = 'PRIMARY-ONLY' WHERE id = %s", order)
        history, _ = app.request("GET", f"/api/v1/orders/{order}/", headers=buyer)
        assert history.status_code == 200, history.text
        assert history.json().get("tracking_number", "") == "", "the order was not read from the replica"
        # Writes under locks use the primary: cancelling works (and is seen at once).
        cancelled, _ = app.request("POST", f"/api/v1/orders/{order}/cancel/", headers={**buyer, **idempotency()})
        assert cancelled.status_code == 200, cancelled.text
        history, _ = app.request("GET", f"/api/v1/orders/{order}/", headers=buyer)
        assert history.json()["status"] == "cancelled"
        assert history.json()["tracking_number"] == "PRIMARY-ONLY"  # from the primary now
        resume_replay(primary_url, standby_url)

        # 4. The replica down: reads fall back to the primary, readiness says degraded.
        standby.stop("immediate")
        response, took = app.request("GET", listing, params={"page_size": 9})
        assert response.status_code == 200 and took < 3, (response.status_code, took)
        assert response.json()["results"][0]["name"] == "Claw hammer"
        ready, _ = app.request("GET", "/health/ready")
        assert ready.status_code == 200 and ready.json()["checks"]["replica"]["status"] == "degraded", ready.text
