"""Redis down (API.md, "Faults"), against the app under gunicorn with its own Redis as
cache and broker: catalog reads come from the database (`X-Cache: MISS`), rate limits
fail open, sign-in and checkout work, anonymous carts answer 503 `service_unavailable`,
/health/ready says `degraded` within a second (Redis dead or hung), and once Redis is back
on the same port the cache serves hits again without restarting the app."""

from __future__ import annotations

import time

import pytest

from core.models import OutboxMessage
from orders.models import Order
from tests.accounts.factories import AddressFactory, UserFactory
from tests.catalog.factories import ProductFactory
from tests.faults.services import AppServer, app_env, running
from tests.faults.shop import (
    PASSWORD,
    assert_service_unavailable,
    bearer,
    checkout_body,
    idempotency,
    with_server_password,
)

pytestmark = [pytest.mark.faults, pytest.mark.postgres]

READY_BUDGET_S = 1.0  # API.md: `/health/ready` says `degraded` within 1 s


def test_redis_down_and_back(shared_database_url, redis_server, workdir):
    product = ProductFactory(stock_quantity=10)
    customer = with_server_password(UserFactory(is_verified=True))
    AddressFactory(user=customer)
    probe = UserFactory(is_verified=True)
    env = app_env(
        database_url=shared_database_url,
        redis_url=redis_server.url(0),
        broker_url=redis_server.url(1),
        RATELIMIT_DEFAULT="6/m",
    )
    app = AppServer(env, workdir)
    list_url, detail_url = "/api/v1/products/", f"/api/v1/products/{product.pk}/"
    with running(app):
        app.start()
        cached = {}
        for url in (list_url, detail_url):
            first, _ = app.request("GET", url)
            second, _ = app.request("GET", url)
            assert (first.status_code, first.headers["X-Cache"]) == (200, "MISS")
            assert (second.status_code, second.headers["X-Cache"]) == (200, "HIT")
            cached[url] = second.json()
        # The limits are counted in this Redis: the probe's 7th call in a minute is refused.
        statuses = [app.request("GET", "/api/v1/orders/", headers=bearer(probe))[0].status_code for _ in range(7)]
        assert statuses == [200] * 6 + [429]

        # Hung Redis (SIGSTOP: the kernel accepts connections, nobody answers).
        redis_server.freeze()
        ready, took = app.request("GET", "/health/ready", timeout=10)
        print(f"redis hung: /health/ready {ready.status_code} in {took:.3f} s: {ready.text}")
        assert ready.status_code == 200 and ready.json()["status"] == "degraded"
        assert ready.json()["checks"]["cache"]["status"] == "degraded"
        assert ready.json()["checks"]["database"]["status"] == "ok"
        assert took < READY_BUDGET_S, f"/health/ready took {took:.2f} s with Redis hung"
        # Catalog reads with Redis hung: a command that times out opens the circuit of its
        # worker (core.redis_circuit) and the reads after it skip Redis at once. Without
        # it every uncached read waited out several timeouts (3.5-4 s).
        time.sleep(1.1)  # longer than a process holds a hot key (core.caching.TrackedValues.HELD_FOR_S)
        reads = []
        for page_size in (3, 4, 5, 6, 7, 8):
            response, took = app.request("GET", list_url, params={"page_size": page_size}, timeout=20)
            assert (response.status_code, response.headers["X-Cache"]) == (200, "MISS")
            reads.append(took)
        print(f"redis hung: six uncached list reads in {', '.join(f'{t:.3f}' for t in reads)} s")
        assert max(reads) < 1.2, "a read waited out more than one Redis timeout"
        assert sorted(reads)[3] < 0.3, "reads kept waiting for the hung Redis"
        redis_server.thaw()

        # Dead Redis (SIGKILL: connections refused).
        redis_server.kill()
        ready, took = app.request("GET", "/health/ready", timeout=10)
        print(f"redis dead: /health/ready {ready.status_code} in {took:.3f} s: {ready.text}")
        assert ready.status_code == 200 and ready.json()["status"] == "degraded"
        assert ready.json()["checks"]["cache"]["status"] == "degraded"
        assert ready.json()["checks"]["broker"]["status"] == "degraded"  # the same Redis
        assert ready.json()["checks"]["database"]["status"] == "ok"
        assert took < READY_BUDGET_S, f"/health/ready took {took:.2f} s with Redis dead"

        for url in (list_url, detail_url):
            response, took = app.request("GET", url)
            print(f"redis dead: GET {url} {response.status_code} {response.headers.get('X-Cache')} in {took:.3f} s")
            assert (response.status_code, response.headers["X-Cache"]) == (200, "MISS")
            assert response.json() == cached[url]

        # Rate limits fail open: far more calls than the limit allows are all served.
        statuses = [app.request("GET", "/api/v1/orders/", headers=bearer(probe))[0].status_code for _ in range(10)]
        assert statuses == [200] * 10

        login, took = app.request("POST", "/api/v1/auth/token/", json={"email": customer.email, "password": PASSWORD})
        print(f"redis dead: login {login.status_code} in {took:.3f} s")
        assert login.status_code == 200, login.text
        token = {"Authorization": f"Bearer {login.json()['access']}"}

        order, took = app.request(
            "POST", "/api/v1/orders/", json=checkout_body(product), headers={**token, **idempotency()}
        )
        print(f"redis dead: checkout {order.status_code} in {took:.3f} s")
        assert order.status_code == 201, order.text
        assert Order.objects.get(pk=order.json()["id"]).status == "pending"
        # The confirmation email could not be handed to the (same, dead) broker: it waits.
        assert OutboxMessage.objects.filter(published_at__isnull=True, args=[order.json()["id"]]).count() == 1

        cart, took = app.request("POST", "/api/v1/cart/items/", json={"product_id": str(product.pk), "quantity": 1})
        print(f"redis dead: anonymous cart {cart.status_code} in {took:.3f} s")
        assert_service_unavailable(cart)

        # Redis comes back on the same port: the running app caches again, at the latest
        # once the circuit a timeout opened has closed (REDIS_CIRCUIT_OPEN_SECONDS, 2 s).
        redis_server.start()
        seen, deadline = [], time.monotonic() + 2.0 + 3.0
        while time.monotonic() < deadline and seen[-2:] != ["HIT", "HIT"]:
            seen.append(app.request("GET", list_url)[0].headers["X-Cache"])
            time.sleep(0.1)
        print(f"redis back: X-Cache of the reads: {seen}")
        assert seen[-2:] == ["HIT", "HIT"]
        ready, _ = app.request("GET", "/health/ready")
        assert ready.json()["checks"]["cache"]["status"] == "ok", ready.text
