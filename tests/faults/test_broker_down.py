"""Broker down (API.md, "Faults"), against the app under gunicorn whose Celery broker is a
Redis that is not running, then hung: registration and checkout still answer 201, their
emails wait in the outbox (core.OutboxMessage), and once the broker is back a real worker
delivers each exactly once, however many times the relay publishes it."""

from __future__ import annotations

import re

import pytest
from celery import Celery
from django.utils import timezone

from core.models import OutboxMessage
from tests.accounts.factories import AddressFactory, UserFactory
from tests.catalog.factories import ProductFactory
from tests.faults.services import AppServer, CeleryWorker, RedisServer, app_env, manage, running, wait_until
from tests.faults.shop import bearer, checkout_body, idempotency

pytestmark = [pytest.mark.faults, pytest.mark.postgres]

# A broker that refuses connections costs a write a few hundred ms (0.3-0.6 s measured,
# password hashing included); the budgets leave room for a loaded CI machine.
WRITE_BUDGET_S = 5.0
# A hung broker costs each publish attempt the broker's socket timeout (1 s; about 3.3 s
# in all measured): bounded, where it used to hang the request for good.
HUNG_WRITE_BUDGET_S = 10.0


def relay(env) -> dict[str, int]:
    """`manage.py relay_outbox --all`, what an operator runs once the broker is back."""
    out = manage(env, "relay_outbox", "--all")
    published, failed, pending = map(int, re.search(r"published (\d+), failed (\d+), pending (\d+)", out).groups())
    return {"published": published, "failed": failed, "pending": pending}


def relay_in_worker(client: Celery, worker: CeleryWorker) -> str:
    """The periodic relay (`core.relay_outbox`, which beat sends every few seconds), run by
    the worker; its result as the worker logged it."""
    task_id = client.send_task("core.relay_outbox").id
    line = wait_until(
        lambda: next((x for x in worker.log.read_text().splitlines() if f"[{task_id}] succeeded" in x), None),
        timeout=20,
        what="the relay task",
    )
    return line.split("s: ", 1)[1]


def test_broker_down_then_back_delivers_each_email_once(shared_database_url, redis_server, workdir):
    product = ProductFactory(stock_quantity=10)
    customer = UserFactory(is_verified=True)
    AddressFactory(user=customer)
    broker = RedisServer(workdir)  # its port, with nothing listening yet
    mail = workdir / "mail"
    mail.mkdir()
    env = app_env(
        database_url=shared_database_url,
        redis_url=redis_server.url(0),
        broker_url=broker.url(0),
        EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
        EMAIL_FILE_PATH=str(mail),
    )
    app = AppServer(env, workdir)
    worker = CeleryWorker(env, workdir, name="mailer")
    with running(broker, app, worker):
        app.start()
        registered, took = app.request(
            "POST",
            "/api/v1/auth/register/",
            json={"email": "new@example.com", "password": "a-long-unusual-passphrase-42"},
        )
        print(f"broker down: register {registered.status_code} in {took:.3f} s")
        assert registered.status_code == 201, registered.text
        assert took < WRITE_BUDGET_S
        order, took = app.request(
            "POST", "/api/v1/orders/", json=checkout_body(product), headers={**bearer(customer), **idempotency()}
        )
        print(f"broker down: checkout {order.status_code} in {took:.3f} s")
        assert order.status_code == 201, order.text
        assert took < WRITE_BUDGET_S

        ready, _ = app.request("GET", "/health/ready")
        assert ready.json()["checks"]["broker"]["status"] == "degraded"

        # A broker that accepts connections and never answers (hung, failing over): the
        # write still answers, once the broker sockets' timeouts have run out.
        broker.start()
        broker.freeze()
        second, took = app.request(
            "POST",
            "/api/v1/orders/",
            json=checkout_body(product),
            headers={**bearer(customer), **idempotency()},
            timeout=30,
        )
        print(f"broker hung: checkout {second.status_code} in {took:.3f} s")
        assert second.status_code == 201, second.text
        assert took < HUNG_WRITE_BUDGET_S, f"a hung broker held the checkout {took:.2f} s"
        broker.thaw()

        waiting = OutboxMessage.objects.filter(published_at__isnull=True)
        assert sorted(waiting.values_list("task", flat=True)) == [
            "accounts.send_verification_email",
            "orders.tasks.send_order_confirmation",
            "orders.tasks.send_order_confirmation",
        ]
        assert all(m.attempts == 1 and m.last_error for m in waiting), [(m.attempts, m.last_error) for m in waiting]
        assert list(mail.iterdir()) == []
        ready, _ = app.request("GET", "/health/ready")
        assert ready.json()["checks"]["outbox"]["depth"] == 3

        worker.start()
        relayed = relay(env)
        assert relayed == {"published": 3, "failed": 0, "pending": 0}, list(
            OutboxMessage.objects.values("task", "last_error", "attempts")
        )
        wait_until(
            lambda: len(list(mail.iterdir())) >= 3 and worker.succeeded("outbox-") >= 3, timeout=30, what="3 emails"
        )
        with Celery(broker=broker.url(0), set_as_current=False) as client:  # not the process's current app
            # Nothing is left: relaying again sends nothing.
            assert relay_in_worker(client, worker).startswith("{'published': 0, 'failed': 0}")

            # The broker took the jobs but the relay died before marking them published: they
            # are published again, run again, and the sent-email ledger keeps them to one email.
            OutboxMessage.objects.update(published_at=None, available_at=timezone.now())
            assert relay_in_worker(client, worker).startswith("{'published': 3, 'failed': 0}")
            wait_until(lambda: worker.succeeded("outbox-") >= 6, timeout=30, what="the republished jobs to run")

        messages = sorted(path.read_text() for path in mail.iterdir())
        assert len(messages) == 3, messages
        recipients = sorted(re.search(r"^To: (.+)$", text, re.M).group(1) for text in messages)
        assert recipients == sorted(["new@example.com", customer.email, customer.email])
        ready, _ = app.request("GET", "/health/ready")
        assert ready.json()["checks"]["broker"]["status"] == "ok"
        assert ready.json()["checks"]["outbox"]["depth"] == 0
