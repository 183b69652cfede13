#!/usr/bin/env python
"""Load scenario: 400 shoppers against the app as an operator runs it (see
docs/operations.md, "Load test (400 shoppers)").

PostgreSQL (database `ecommerce_bench_load`, created if missing, 100,000 seeded products,
kept between runs), Redis (cache db 9, broker db 10), production settings, gunicorn
through gunicorn.conf.py (3 gthread workers x 8 threads), one Celery worker on the real
broker, and locust (bench/load/locustfile.py) headless on 127.0.0.1. Each run ramps the
users up, then measures LOAD_DURATION seconds: requests, failures, req/s and p50/p95/p99
per endpoint group and overall, the catalog cache hit ratio, orders placed, CPU per request
by process group, and negative-stock rows (must be 0).

Environment: LOAD_USERS (400), LOAD_DURATION (90 s, measured after the ramp), LOAD_RAMP
(spawn rate, users/s; default users/20, at least 5/s; the measured window opens when
the last user has started), LOAD_SIGN_IN_SHARE (0.1: shoppers who sign in with their
password as they arrive, ~0.2 s of CPU each for Argon2; the others resume a session with
an access token the runner issued),
LOAD_SWEEP (comma list of user counts run one after another instead of LOAD_USERS, e.g.
"50,100,200,400"), LOAD_OVERLOAD_USERS (0 = off; e.g. 800: one more run past capacity,
LOAD_OVERLOAD_DURATION s, to see how the server answers), LOAD_PRODUCTS (100000),
LOAD_DATABASE_URL, LOAD_REDIS_URL, LOAD_BROKER_URL, LOAD_OUTPUT (directory for the csv,
summaries and server logs; default a temporary one), and the GUNICORN_* knobs of
gunicorn.conf.py. Every process it starts is stopped by its pid when it ends.

Run alone: `python bench/load_bench.py` or `python bench/run.py load_bench`.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run directly: python bench/load_bench.py
    sys.path.insert(0, str(ROOT))

from bench.common import ensure_database  # noqa: E402

BIN = Path(sys.executable).parent  # the virtualenv running the bench (make bench: .venv)
DB = os.environ.get("LOAD_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/ecommerce_bench_load")
DB_NAME = DB.rsplit("/", 1)[-1]
REDIS = os.environ.get("LOAD_REDIS_URL", "redis://127.0.0.1:6379/9")
BROKER = os.environ.get("LOAD_BROKER_URL", "redis://127.0.0.1:6379/10")
PRODUCTS = int(os.environ.get("LOAD_PRODUCTS", "100000"))
USERS = int(os.environ.get("LOAD_USERS", "400"))
DURATION = int(os.environ.get("LOAD_DURATION", "90"))
SWEEP = [int(x) for x in os.environ.get("LOAD_SWEEP", "").split(",") if x.strip()]
OVERLOAD_USERS = int(os.environ.get("LOAD_OVERLOAD_USERS", "0"))
OVERLOAD_DURATION = int(os.environ.get("LOAD_OVERLOAD_DURATION", "30"))
PASSWORD = "load-shopper-password-1"  # noqa: S105 - bench accounts in the bench database only  # nosec B105
P95_TARGET_MS = 500


def _ramp(users: int) -> float:
    return float(os.environ.get("LOAD_RAMP") or max(5.0, users / 20))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(port: int = 0) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="ecommerce.settings.production",
        DATABASE_URL=DB,
        REDIS_URL=REDIS,
        CACHE_KEY_PREFIX="bench-load",
        CELERY_BROKER_URL=BROKER,
        SECRET_KEY="bench-load-only-secret-key-0123456789abcdef0123456789abcdef",  # noqa: S106 - local bench only
        JWT_SIGNING_KEY="bench-load-only-jwt-signing-key-0123456789abcdef",  # noqa: S106 - local bench only
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="false",
        RATELIMIT_ENABLE="false",
        LOG_LEVEL="WARNING",
        LOG_JSON="false",
        EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend",
        ORDER_PAYMENT_TIMEOUT="3600",
        JWT_ACCESS_MINUTES="120",  # the runner's tokens outlive a sweep of several runs
        # The operator's configuration of the issue: 3 gthread workers x 8 threads.
        WEB_CONCURRENCY=os.environ.get("WEB_CONCURRENCY", "3"),
        GUNICORN_THREADS=os.environ.get("GUNICORN_THREADS", "8"),
        GUNICORN_BIND=f"127.0.0.1:{port}",
        GUNICORN_LOGLEVEL="warning",
        PYTHONPATH=str(ROOT),
    )
    return env


def _manage(*args: str) -> str:
    return subprocess.run(
        [str(BIN / "python"), "manage.py", *args], cwd=ROOT, env=_env(), capture_output=True, text=True, check=True
    ).stdout


def _django(code: str) -> dict:
    """Run `code` in a Django shell subprocess; it prints one JSON line last."""
    return json.loads(_manage("shell", "-c", code).strip().splitlines()[-1])


def _psql(sql: str) -> str:
    return subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", DB_NAME, "-tAc", sql],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


SETUP_ACCOUNTS = """
import json
from django.contrib.auth.hashers import make_password
from accounts.models import Address, User
from accounts.services import session_start
from ecommerce.api.auth import token_pair
wanted = [f"load-shopper-{i}@example.com" for i in range(%(count)d)]
have = set(User.objects.filter(email__in=wanted).values_list("email", flat=True))
password = make_password(%(password)r)  # hashed once: every account shares it
User.objects.bulk_create([User(email=e, password=password, is_verified=True) for e in wanted if e not in have])
users = User.objects.filter(email__in=wanted, addresses__isnull=True)
Address.objects.bulk_create([
    Address(user=u, full_name="Load Shopper", line1="1 Bench St", city="Oslo", postal_code="0150",
            country="NO", is_default=True)
    for u in users
])
by_email = {u.email: u for u in User.objects.filter(email__in=wanted)}
# Access tokens of real sessions (a token without a live session is refused).
tokens = [token_pair(session_start(user=by_email[e])).access for e in wanted]
print(json.dumps({"accounts": len(wanted), "created": len(wanted) - len(have), "tokens": tokens}))
"""

FIXTURES = """
import json
from catalog.models import Brand, Category, Product
from catalog.seeding import ADJECTIVES, NOUNS
products = [str(p) for p in Product.objects.filter(is_active=True, stock_quantity__gte=50)
            .order_by("?").values_list("id", flat=True)[:5000]]
categories = list(Category.objects.order_by("depth", "sort_order").values_list("slug", flat=True)[:200])
brands = list(Brand.objects.order_by("?").values_list("slug", flat=True)[:200])
terms = NOUNS[:30] + [f"{a} {n}" for a, n in zip(ADJECTIVES, NOUNS[5:])] + ["xylophone", "vintage ceramic vase"]
print(json.dumps({"products": products, "categories": categories, "brands": brands, "terms": terms}))
"""


def _prepare(accounts: int) -> tuple[dict, list[dict]]:
    ensure_database(DB)
    _manage("migrate", "--noinput")
    rows = []
    count = int(_psql("SELECT count(*) FROM catalog_product"))
    if count < PRODUCTS:
        started = time.monotonic()
        _manage("seed_catalog", "--products", str(PRODUCTS), "--seed", "1", "-v", "0")
        rows.append(_row(f"seed {PRODUCTS:,} products", f"{time.monotonic() - started:.0f} s"))
    made = _django(SETUP_ACCOUNTS % {"count": accounts, "password": PASSWORD})
    fixtures = _django(FIXTURES)
    emails = [f"load-shopper-{i}@example.com" for i in range(made["accounts"])]
    fixtures.update(password=PASSWORD, emails=emails, tokens=made["tokens"])
    return fixtures, rows


def _row(metric: str, value, target: str = "-", ok: bool | None = None) -> dict:
    return {"bench": "load", "metric": metric, "value": value, "target": target, "ok": ok}


# -- processes ------------------------------------------------------------------------
def _start(args: list[str], env: dict, log: Path) -> subprocess.Popen:
    # Its own session, so the whole tree (gunicorn's or celery's children) stops with it.
    with open(log, "ab") as out:
        return subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def _stop(proc: subprocess.Popen | None, sig: int = signal.SIGTERM) -> None:
    if proc is None or proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def _wait_ready(port: int, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("gunicorn exited at start (see its log)")
        with contextlib.suppress(OSError, http.client.HTTPException):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/health/live")
            if conn.getresponse().status == 200:
                return
        time.sleep(0.3)
    raise RuntimeError("gunicorn did not become ready")


# -- CPU accounting -------------------------------------------------------------------
def _processes(groups: dict[str, set[int]]) -> tuple[float, dict[tuple[int, int], tuple[str, float]]]:
    """The machine's busy CPU seconds (/proc/stat) and, per live process (pid, start time),
    its group and CPU seconds: the app (gunicorn master and workers), the Celery worker,
    locust, PostgreSQL backends serving this database, every other PostgreSQL process, Redis.
    Linux only; empty elsewhere."""
    tick = os.sysconf("SC_CLK_TCK")
    machine, procs = 0.0, {}
    with contextlib.suppress(OSError):
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
        machine = (sum(int(x) for x in fields) - int(fields[3]) - int(fields[4])) / tick
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        rest = stat[stat.rindex(")") + 2 :].split()
        pid, ppid, used = int(entry.name), int(rest[1]), (int(rest[11]) + int(rest[12])) / tick
        group = next((g for g, pids in groups.items() if pid in pids or ppid in pids), None)
        if group is None and name == "postgres":
            group = "postgres (this db)" if f" {DB_NAME} " in cmdline else "postgres (other)"
        elif group is None and name.startswith("redis-server"):
            group = "redis"
        if group:
            procs[(pid, int(rest[19]))] = (group, used)
    return machine, procs


class CpuMeter:
    """CPU seconds per process group over a window, sampled every half second, so that
    processes which start or exit inside it (gunicorn recycles a worker every
    max_requests; PostgreSQL backends come and go) are counted: each process adds what it
    used between its first and last sample in the window (from 0 if it started inside)."""

    def __init__(self, groups: dict[str, set[int]]) -> None:
        self.groups = groups
        self.first: dict = {}
        self.last: dict = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self, initial: bool = False) -> float:
        machine, procs = _processes(self.groups)
        for key, value in procs.items():
            self.first.setdefault(key, value if initial else (value[0], 0.0))
            self.last[key] = value
        return machine

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            self._sample()

    def __enter__(self) -> CpuMeter:
        self.machine_start = self._sample(initial=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.machine = self._sample() - self.machine_start

    def totals(self) -> dict[str, float]:
        out = dict.fromkeys([*self.groups, "postgres (this db)", "postgres (other)", "redis"], 0.0)
        for key, (group, used) in self.last.items():
            out[group] += used - self.first[key][1]
        out["machine"] = self.machine
        return out


# -- one locust run -------------------------------------------------------------------
def _locust(users: int, duration: int, port: int, fixtures: Path, out: Path, groups: dict[str, set[int]]) -> dict:
    ramp = _ramp(users)
    tag = f"u{users}"
    summary, marker = out / f"{tag}-summary.json", out / f"{tag}-started"
    marker.unlink(missing_ok=True)
    env = {**os.environ, "LOAD_FIXTURES": str(fixtures), "LOAD_SUMMARY": str(summary), "LOAD_MARKER": str(marker)}
    ramp_bound = users / ramp + 120  # spawning (sign-ins included) must end within this
    args = [
        str(BIN / "locust"), "-f", str(ROOT / "bench" / "load" / "locustfile.py"), "--headless",
        "-u", str(users), "-r", f"{ramp:g}", "-t", f"{int(ramp_bound + duration + 10)}s",
        "--host", f"http://127.0.0.1:{port}", "--csv", str(out / tag), "--only-summary", "--loglevel", "WARNING", "--exit-code-on-error", "0",
    ]  # fmt: skip
    proc = _start(args, env, out / f"{tag}-locust.log")
    try:
        groups = {**groups, "locust": {proc.pid}}
        deadline = time.monotonic() + ramp_bound
        while not marker.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"locust did not finish spawning {users} users (see {out / (tag + '-locust.log')})")
            time.sleep(0.2)
        with CpuMeter(groups) as meter:
            time.sleep(duration)
        proc.send_signal(signal.SIGTERM)  # ends the run; locust writes the summary on quitting
        proc.wait(timeout=60)
    finally:
        _stop(proc)
    result = json.loads(summary.read_text())
    result["cpu_s"] = {k: round(v, 1) for k, v in meter.totals().items()}
    return result


def _rows(label: str, result: dict, with_targets: bool) -> list[dict]:
    total = result["total"]
    rows = []

    def lat(s: dict) -> str:
        return f"p50 {s['p50_ms']} / p95 {s['p95_ms']} / p99 {s['p99_ms']} ms"

    fails = total["failures"]
    statuses = result["statuses"]
    no_answer = statuses.get("0", 0)
    kinds = ", ".join(f"{e['count']}x {e['endpoint']}: {e['error']}" for e in result["errors"][:4])
    rows.append(
        _row(
            f"{label}: requests, failures, req/s",
            f"{total['requests']} requests, {fails} failures ({no_answer} without an answer, "
            f"{statuses.get('503', 0)} 503), {total['rps']}/s over {result['seconds']:.0f} s"
            + (f"; {kinds}" if kinds else ""),
            "0 failures" if with_targets else "-",
            fails == 0 if with_targets else None,
        )
    )
    ok = total["p95_ms"] is not None and total["p95_ms"] <= P95_TARGET_MS
    rows.append(
        _row(f"{label}: overall latency", lat(total), f"p95 <= {P95_TARGET_MS} ms" if with_targets else "-",
             ok if with_targets else None)
    )  # fmt: skip
    for group in ("browse", "cart", "checkout"):
        if group in result["groups"]:
            g = result["groups"][group]
            rows.append(
                _row(f"{label}: {group}", f"{g['requests']} req, {g['failures']} failed, {g['rps']}/s, {lat(g)}")
            )
    hit, miss = result["cache"].get("HIT", 0), result["cache"].get("MISS", 0)
    ratio = f"{hit / (hit + miss):.1%} ({hit} HIT / {miss} MISS)" if hit + miss else "no cached GETs"
    rows.append(_row(f"{label}: catalog cache hit ratio", ratio))
    outcomes = ", ".join(f"{v} {k}" for k, v in sorted(result["outcomes"].items()))
    rows.append(_row(f"{label}: checkout outcomes", outcomes or "none"))
    cpu = result["cpu_s"]
    n = max(total["requests"], 1)
    per_req = ", ".join(f"{k} {cpu[k] * 1000 / n:.1f}" for k in cpu if k != "machine")
    other = cpu["machine"] - sum(v for k, v in cpu.items() if k not in ("machine", "postgres (other)"))
    rows.append(
        _row(
            f"{label}: CPU ms per request",
            f"{per_req}; machine busy {cpu['machine'] / result['seconds']:.2f} of {os.cpu_count()} cores "
            f"(other processes on the machine: {max(other, 0) / result['seconds']:.2f} cores)",
        )
    )
    return rows


def run() -> list[dict]:
    counts = SWEEP or [USERS]
    out = Path(os.environ.get("LOAD_OUTPUT") or tempfile.mkdtemp(prefix="load-bench-"))
    out.mkdir(parents=True, exist_ok=True)
    fixtures, rows = _prepare(max([*counts, OVERLOAD_USERS]))
    fixtures_path = out / "fixtures.json"
    fixtures_path.write_text(json.dumps(fixtures))
    redis_db = REDIS.rsplit("/", 1)[-1]
    subprocess.run(["redis-cli", "-n", redis_db, "flushdb"], check=True, capture_output=True)  # a cold cache
    started_at = _psql("SELECT now()")
    port = _free_port()
    env = _env(port)
    web = worker = None
    try:
        web = _start([str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "ecommerce.wsgi:application"],
                     {**env, "GUNICORN_ACCESSLOG": str(out / "access.log")}, out / "gunicorn.log")  # fmt: skip
        worker = _start(
            [str(BIN / "celery"), "-A", "ecommerce", "worker", "--concurrency=1", "--loglevel=WARNING",
             "--without-mingle", "--without-gossip", "-n", f"load-bench-{port}@%h"],
            env, out / "celery.log",
        )  # fmt: skip
        _wait_ready(port, web)
        groups = {"app": {web.pid}, "celery": {worker.pid}}
        for users in counts:
            result = _locust(users, DURATION, port, fixtures_path, out, groups)
            rows += _rows(f"{users} users, {DURATION} s", result, with_targets=users == USERS or users == max(counts))
            time.sleep(3)
        if OVERLOAD_USERS:
            result = _locust(OVERLOAD_USERS, OVERLOAD_DURATION, port, fixtures_path, out, groups)
            rows += _rows(f"overload {OVERLOAD_USERS} users, {OVERLOAD_DURATION} s", result, with_targets=False)
    finally:
        _stop(web)
        _stop(worker)
    orders = _psql(f"SELECT count(*) FROM orders_order WHERE created_at >= '{started_at}'")  # noqa: S608 - a timestamp PostgreSQL printed  # nosec B608
    negative = int(_psql("SELECT count(*) FROM catalog_product WHERE stock_quantity < 0"))
    rows.append(_row("orders placed during the runs (database)", orders))
    rows.append(_row("products with negative stock", negative, "0", negative == 0))
    rows.append(_row("output (csv, summaries, logs)", str(out)))
    return rows


if __name__ == "__main__":
    from bench.run import format_table

    print(format_table(run()))
