#!/usr/bin/env python
"""Orders benchmark: checkout and payment under concurrency, over real HTTP.

PostgreSQL (database `ecommerce_bench_orders`, created if missing) + Redis, production
settings, gunicorn on 127.0.0.1, rate limits off. Scenarios:
  (a) 200 concurrent buyers, one product with stock 50 -> exactly 50 orders, 150 409s, stock 0
  (b) 16 concurrent customers placing 3-line orders of distinct products: orders/s, p50/p95
  (c) the same 16 customers, every order includes one hot product (one locked row)
  (d) 50 concurrent retries of one payment with one Idempotency-Key -> exactly 1 charge

`run()` returns one dict per scenario (bench/run.py prints them as one table); run alone
with `python bench/orders_bench.py`. Every Django-side step runs in a subprocess with the
benchmark's environment, so this module never configures Django in the caller's process.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run directly: python bench/orders_bench.py
    sys.path.insert(0, str(ROOT))

from bench.common import ensure_database  # noqa: E402

PYTHON = str(ROOT / ".venv" / "bin" / "python")
GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")
DB_NAME = os.environ.get("ORDERS_BENCH_DB", "ecommerce_bench_orders")
DURATION = float(os.environ.get("ORDERS_BENCH_SECONDS", "12"))  # per throughput scenario
CUSTOMERS = 16
BROKER_URL = os.environ.get("ORDERS_BENCH_BROKER_URL", "redis://127.0.0.1:6379/4")
# Sync workers block while PostgreSQL works; 8 keeps the database busy on 2 cores.
WORKERS = int(os.environ.get("ORDERS_BENCH_WORKERS", "8"))
# Threads per worker (1 = sync workers; more = gthread) and Django's connection pool
# (production's default) or one persistent connection per thread: docs/operations.md,
# "Connection pool", compares them.
THREADS = int(os.environ.get("ORDERS_BENCH_THREADS", "1"))
DB_POOL = os.environ.get("ORDERS_BENCH_DB_POOL", "true")

ADDRESS = {"full_name": "Bench Buyer", "line1": "1 Bench St", "city": "Oslo", "postal_code": "0150", "country": "NO"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="ecommerce.settings.production",
        DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{DB_NAME}",
        REDIS_URL=os.environ.get("ORDERS_BENCH_REDIS_URL", "redis://127.0.0.1:6379/4"),
        CACHE_KEY_PREFIX="bench-orders",
        SECRET_KEY="bench-only-secret-key-0123456789abcdef0123456789abcdef",  # noqa: S106 - local bench only
        JWT_SIGNING_KEY="bench-only-jwt-signing-key-0123456789abcdef",  # noqa: S106 - local bench only
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="false",
        RATELIMIT_ENABLE="false",
        LOG_LEVEL="ERROR",
        LOG_JSON="false",
        EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend",
        # Emails are queued (as in production), not sent inside the request; the queue is
        # dropped when the benchmark ends (no worker runs).
        CELERY_BROKER_URL=BROKER_URL,
        ORDER_PAYMENT_TIMEOUT="3600",
        # Each bench customer keeps placing orders it never pays: the hoarding limit is off.
        ORDER_MAX_PENDING_PER_USER="0",
        # The bursts below are past capacity on purpose: queue them, do not shed them.
        LOAD_SHED_QUEUE_MS="0",
        CONN_MAX_AGE="60",  # without the pool
        DB_POOL=DB_POOL,
        DB_POOL_MIN_SIZE=str(min(2, THREADS)),
        DB_POOL_MAX_SIZE=str(max(THREADS, 1)),
        BENCH_PORT=str(port),
    )
    return env


def _django(env: dict, code: str, **params) -> dict:
    """Run `code` in a Django subprocess; it sets `result` (JSON-serialisable)."""
    script = "import django, json, os\ndjango.setup()\nparams = json.loads(os.environ['BENCH_PARAMS'])\n"
    script += code + "\nprint('BENCH_RESULT ' + json.dumps(result))\n"
    out = subprocess.run(
        [PYTHON, "-c", script],
        cwd=ROOT,
        env={**env, "BENCH_PARAMS": json.dumps(params)},
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout
    line = [x for x in out.splitlines() if x.startswith("BENCH_RESULT ")][-1]
    return json.loads(line[len("BENCH_RESULT ") :])


SETUP = """
import uuid
from accounts.models import User
from catalog.models import Category, Product
from accounts.services import session_start
from ecommerce.api.auth import token_pair
run = uuid.uuid4().hex[:8]
cat, _ = Category.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
products = Product.objects.bulk_create([
    Product(slug=f"bench-{run}-{i}", sku=f"B-{run}-{i}", name=f"Bench {i}", price="4.99",
            stock_quantity=s, category=cat)
    for i, s in enumerate(params["stocks"])
])
users = User.objects.bulk_create([User(email=f"bench-{run}-{i}@example.com", is_verified=True)
                                  for i in range(params["users"])])
result = {"products": [str(p.pk) for p in products],
          "tokens": [token_pair(session_start(user=u)).access for u in users]}
"""


class Server:
    def __init__(self) -> None:
        self.port = _free_port()
        self.env = _env(self.port)
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> Server:
        ensure_database(self.env["DATABASE_URL"])
        subprocess.run(
            [PYTHON, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=self.env, check=True, capture_output=True
        )
        self.proc = subprocess.Popen(
            [
                GUNICORN,
                "ecommerce.wsgi",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(WORKERS),
                # Explicit: gunicorn reads ./gunicorn.conf.py by default, whose worker class
                # (gthread, 4 threads, load shedding) would otherwise apply.
                "--worker-class",
                "gthread" if THREADS > 1 else "sync",
                "--threads",
                str(THREADS),
                "--backlog",
                "2048",
                "--timeout",
                "60",
                "--log-level",
                "warning",
                # As in the image: the app is loaded once, before the fork, so every worker
                # is ready (and shares the loaded code) when the first request arrives.
                "--preload",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if self.request("GET", "/health/live")[0] == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        self.__exit__()
        raise RuntimeError("gunicorn did not start")

    def __exit__(self, *exc) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        with contextlib.suppress(Exception):
            _django(self.env, "from ecommerce.celery import app\nresult = app.control.purge()")

    def request(self, method: str, path: str, body=None, token: str | None = None, key: str | None = None):
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if key:
            headers["Idempotency-Key"] = key
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
            response = conn.getresponse()
            data = response.read()
            return response.status, data, dict(response.getheaders())
        finally:
            conn.close()


def _code(data: bytes) -> str:
    try:
        return json.loads(data)["errors"][0]["code"]
    except (ValueError, KeyError, IndexError, TypeError):
        return "?"


def _cpu_seconds(server: Server) -> dict[str, float]:
    """CPU seconds used so far by the app (gunicorn master and workers), PostgreSQL (every
    `postgres` process on the machine) and this process (the load generator). Linux /proc;
    empty elsewhere."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    app_pids = {server.proc.pid} if server.proc else set()
    totals = {"app": 0.0, "postgres": 0.0, "load": 0.0}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        pid, ppid, used = int(entry.name), int(fields[1]), (int(fields[11]) + int(fields[12])) / tick
        if pid in app_pids or ppid in app_pids:
            totals["app"] += used
        elif name == "postgres":
            totals["postgres"] += used
        elif pid == os.getpid():
            totals["load"] += used
    return totals


def _parallel(count: int, target) -> list:
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def worker(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = target(i)
        except Exception as exc:  # noqa: BLE001 - reported as an error row
            results[i] = exc

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def _row(name, requests, ok, errors, seconds, latencies, result) -> dict:
    """One table row. `per_s` is successful requests per second for the throughput rows and
    all requests answered per second for the burst rows (a) and (d) (no latencies)."""
    latencies = sorted(latencies)
    p = (lambda q: round(latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000, 1)) if latencies else None
    return {
        "benchmark": f"orders: {name}",
        "requests": requests,
        "ok": ok,
        "errors": errors,
        "per_s": round((ok if latencies else requests) / seconds, 1) if seconds else None,
        "p50_ms": p(0.50) if p else "-",
        "p95_ms": p(0.95) if p else "-",
        "result": result,
    }


def scenario_race(server: Server) -> dict:
    data = _django(server.env, SETUP, stocks=[50], users=200)
    product, tokens = data["products"][0], data["tokens"]
    body = {"shipping_address": ADDRESS, "items": [{"product_id": product, "quantity": 1}]}
    start = time.monotonic()
    results = _parallel(
        200, lambda i: server.request("POST", "/api/v1/orders/", body, tokens[i], key=str(uuid.uuid4()))
    )
    seconds = time.monotonic() - start
    created = sum(1 for r in results if not isinstance(r, Exception) and r[0] == 201)
    short = sum(
        1 for r in results if not isinstance(r, Exception) and r[0] == 409 and _code(r[1]) == "insufficient_stock"
    )
    other = 200 - created - short
    stock = _django(
        server.env,
        "from catalog.models import Product\nresult = Product.objects.get(pk=params['p']).stock_quantity",
        p=product,
    )
    ok = created == 50 and short == 150 and other == 0 and stock == 0
    return _row(
        "(a) 200 buyers, stock 50",
        200,
        created,
        other,
        seconds,
        [],
        f"{'PASS' if ok else 'FAIL'}: {created} orders, {short} insufficient_stock, {other} other, stock {stock}",
    )


def _throughput(server: Server, name: str, hot: bool, target: str) -> dict:
    stocks = [1_000_000] * (CUSTOMERS * 3 + 1)
    data = _django(server.env, SETUP, stocks=stocks, users=CUSTOMERS)
    products, tokens = data["products"], data["tokens"]
    hot_product = products[-1]

    def lines(i: int) -> list[dict]:
        own = products[i * 3 : i * 3 + 3]
        if hot:
            own = [hot_product, *own[:2]]
        return [{"product_id": p, "quantity": 1} for p in own]

    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop_at = [0.0]

    def body(i: int) -> dict:
        return {"shipping_address": ADDRESS, "items": lines(i)}

    def customer(i: int) -> int:
        done = 0
        while time.monotonic() < stop_at[0]:
            t0 = time.monotonic()
            status, payload, _ = server.request("POST", "/api/v1/orders/", body(i), tokens[i], key=str(uuid.uuid4()))
            elapsed = time.monotonic() - t0
            with lock:
                if status == 201:
                    latencies.append(elapsed)
                    done += 1
                else:
                    errors.append(f"{status} {_code(payload)}")
        return done

    # Warm-up, outside the measured window: one order per customer (connections, caches).
    _parallel(CUSTOMERS, lambda i: server.request("POST", "/api/v1/orders/", body(i), tokens[i], key=str(uuid.uuid4())))
    stop_at[0] = time.monotonic() + DURATION
    cpu_before = _cpu_seconds(server)
    start = time.monotonic()
    results = _parallel(CUSTOMERS, customer)
    seconds = time.monotonic() - start
    cpu_after = _cpu_seconds(server)
    ok = sum(r for r in results if isinstance(r, int))
    row = _row(name, ok + len(errors), ok, len(errors), seconds, latencies, "")
    row["result"] = f"target {target}" + (f"; errors {sorted(set(errors))[:3]}" if errors else "")
    if ok and cpu_after["app"]:
        # Where a 2-core machine's time goes: CPU milliseconds per order, by process group.
        row["cpu_ms_per_order"] = {k: round((cpu_after[k] - cpu_before[k]) * 1000 / ok, 1) for k in cpu_after}
    return row


def scenario_pay_retries(server: Server) -> dict:
    data = _django(server.env, SETUP, stocks=[100], users=1)
    product, token = data["products"][0], data["tokens"][0]
    status, payload, _ = server.request(
        "POST",
        "/api/v1/orders/",
        {"shipping_address": ADDRESS, "items": [{"product_id": product, "quantity": 1}]},
        token,
        key=str(uuid.uuid4()),
    )
    order_id = json.loads(payload)["id"]
    key = f"pay-{uuid.uuid4()}"
    body = {"payment_method": "card", "token": "tok_visa"}
    start = time.monotonic()
    results = _parallel(50, lambda i: server.request("POST", f"/api/v1/orders/{order_id}/pay/", body, token, key=key))
    seconds = time.monotonic() - start
    statuses = [r[0] if not isinstance(r, Exception) else "exc" for r in results]
    replayed = sum(1 for r in results if not isinstance(r, Exception) and r[2].get("Idempotent-Replayed") == "true")
    charges = _django(
        server.env,
        "from payments.models import Payment\n"
        "result = Payment.objects.filter(order_id=params['o'], status='succeeded').count()",
        o=order_id,
    )
    in_use = statuses.count(409)
    other = 50 - statuses.count(201) - in_use
    return _row(
        "(d) 50 retries of one payment, one key",
        50,
        statuses.count(201),
        other,
        seconds,
        [],
        f"{'PASS' if charges == 1 and other == 0 else 'FAIL'}: {charges} charge(s); "
        f"{statuses.count(201) - replayed} first + {replayed} replayed 201, {in_use} 409 in_use",
    )


def _table_row(row: dict, min_rate: float | None = None, max_p95: float | None = None) -> dict:
    """One row in bench/run.py's schema (bench, metric, value, target, ok)."""
    value = f"{row['ok']}/{row['requests']} ok, {row['errors']} errors, {row['per_s']}/s"
    if row["p50_ms"] != "-":
        value += f", p50 {row['p50_ms']} ms, p95 {row['p95_ms']} ms"
    if row.get("cpu_ms_per_order"):
        cpu = row["cpu_ms_per_order"]
        value += f"; CPU/order: app {cpu['app']} ms, PostgreSQL {cpu['postgres']} ms, load {cpu['load']} ms"
    if min_rate is None:  # a correctness scenario: its result says PASS or FAIL
        return {"bench": "orders", "metric": f"{row['benchmark'][8:]}: {row['result']}", "value": value,
                "target": "exactly as specified", "ok": row["result"].startswith("PASS")}  # fmt: skip
    ok = row["per_s"] is not None and row["per_s"] >= min_rate and (max_p95 is None or row["p95_ms"] <= max_p95)
    target = f">= {min_rate:g}/s" + (f", p95 <= {max_p95:g} ms" if max_p95 else "")
    errors = row["result"].partition("; ")[2]
    metric = row["benchmark"][8:] + (f" ({errors})" if errors else "")
    return {"bench": "orders", "metric": metric, "value": value, "target": target, "ok": ok}


def run() -> list[dict]:
    print(f"orders bench: {WORKERS} workers x {THREADS} threads, DB_POOL={DB_POOL}", file=sys.stderr, flush=True)
    with Server() as server:
        race = scenario_race(server)
        spread = _throughput(server, "(b) 16 customers, 3-line orders", hot=False, target=">= 100/s, p95 <= 150 ms")
        hot = _throughput(server, "(c) 16 customers, one hot product", hot=True, target=">= 50/s")
        retries = scenario_pay_retries(server)
    return [_table_row(race), _table_row(spread, 100, 150), _table_row(hot, 50), _table_row(retries)]


if __name__ == "__main__":
    from bench.run import format_table

    print(format_table(run()))
    sys.exit(0)
