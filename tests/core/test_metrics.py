"""GET /metrics: token, Prometheus text, the business counters, and several processes."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from tests.orders.helpers import item, post_order

pytestmark = pytest.mark.django_db(transaction=True)  # counters move on commit

TOKEN = "metrics-token-for-tests-0123456789abcdef"
ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.fixture
def metrics_on(settings):
    settings.METRICS_TOKEN = TOKEN


def scrape(client) -> dict:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    return parse(response.content.decode())


def parse(text: str) -> dict:
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(name, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_unset_token_means_no_endpoint(api_client, settings):
    settings.METRICS_TOKEN = ""
    response = api_client.get("/metrics", HTTP_AUTHORIZATION="Bearer anything")
    assert response.status_code == 404 and response.json()["errors"][0]["code"] == "not_found"


def test_missing_or_wrong_token_is_401(api_client, metrics_on):
    missing = api_client.get("/metrics")
    assert missing.status_code == 401 and missing.json()["errors"][0]["code"] == "not_authenticated"
    assert missing["WWW-Authenticate"].startswith("Bearer")
    for header in (f"Bearer {TOKEN}x", "Bearer ", f"Basic {TOKEN}", TOKEN):
        response = api_client.get("/metrics", HTTP_AUTHORIZATION=header)
        assert response.status_code == 401, header


def test_the_named_series_are_there(api_client, metrics_on):
    api_client.get("/api/v1/products/")
    api_client.get("/api/v1/nope/")
    samples = scrape(api_client)
    names = {name for name, _ in samples}
    for name in (
        "ecommerce_http_request_duration_seconds_count",
        "ecommerce_http_request_duration_seconds_bucket",
        "ecommerce_orders_placed_total",
        "ecommerce_payments_total",
        "ecommerce_catalog_cache_lookups_total",
        "ecommerce_outbox_depth",
        "ecommerce_outbox_oldest_age_seconds",
    ):
        assert name in names, name
    routes = {dict(labels).get("route") for name, labels in samples if name.endswith("_count")}
    assert {"product-list", "unmatched"} <= routes  # unknown paths share one label
    outcomes = {dict(labels)["outcome"] for name, labels in samples if name == "ecommerce_payments_total"}
    assert outcomes == {"succeeded", "declined", "error", "offline"}


def test_request_counts_per_route_and_status(api_client, metrics_on):
    labels = {"method": "GET", "route": "product-list", "status": "200"}
    before = value("ecommerce_http_request_duration_seconds_count", **labels)
    for _ in range(3):
        api_client.get("/api/v1/products/")
    assert value("ecommerce_http_request_duration_seconds_count", **labels) == before + 3
    missing = {"method": "GET", "route": "product-detail", "status": "404"}
    before = value("ecommerce_http_request_duration_seconds_count", **missing)
    api_client.get("/api/v1/products/00000000-0000-0000-0000-000000000000/")
    assert value("ecommerce_http_request_duration_seconds_count", **missing) == before + 1


def test_cache_hits_and_misses_are_counted(api_client):
    from tests.catalog.factories import ProductFactory

    ProductFactory()
    hits, misses = (
        value("ecommerce_catalog_cache_lookups_total", result="hit"),
        value("ecommerce_catalog_cache_lookups_total", result="miss"),
    )
    for _ in range(3):
        api_client.get("/api/v1/products/")
    assert value("ecommerce_catalog_cache_lookups_total", result="hit") == hits + 2
    assert value("ecommerce_catalog_cache_lookups_total", result="miss") == misses + 1


def test_orders_placed_and_payments_by_outcome(customer_client):
    from tests.orders.factories import ProductFactory

    product = ProductFactory(stock_quantity=10, price="5.00")
    placed = value("ecommerce_orders_placed_total")
    succeeded, declined = (
        value("ecommerce_payments_total", outcome="succeeded"),
        value("ecommerce_payments_total", outcome="declined"),
    )
    first = post_order(customer_client, [item(product)])
    second = post_order(customer_client, [item(product)])
    assert first.status_code == second.status_code == 201
    short = post_order(customer_client, [item(product, 50)])  # refused: nothing placed
    assert short.status_code == 409
    assert value("ecommerce_orders_placed_total") == placed + 2

    def pay(order, token):
        return customer_client.post(
            f"/api/v1/orders/{order['id']}/pay/",
            {"payment_method": "card", "token": token},
            format="json",
            HTTP_IDEMPOTENCY_KEY=f"pay-{order['id']}-{token}",
        )

    assert pay(first.json(), "tok_declined").status_code == 402
    assert pay(first.json(), "tok_visa").status_code == 201
    assert pay(first.json(), "tok_visa").status_code == 201  # a replay: not a second payment
    assert value("ecommerce_payments_total", outcome="succeeded") == succeeded + 1
    assert value("ecommerce_payments_total", outcome="declined") == declined + 1


def test_outbox_depth_is_read_at_scrape(api_client, metrics_on):
    from django.utils import timezone

    from core.models import OutboxMessage

    for _ in range(2):
        OutboxMessage.objects.create(task="core.nothing", args=[], available_at=timezone.now())
    samples = scrape(api_client)
    assert samples[("ecommerce_outbox_depth", ())] == 2


# --- several processes ------------------------------------------------------------------------

WRITER = """
import sys
from core.metrics import HTTP_REQUEST_DURATION, ORDERS_PLACED
n = int(sys.argv[1])
ORDERS_PLACED.inc(n)
for _ in range(n):
    HTTP_REQUEST_DURATION.labels("GET", "product-list", "200").observe(0.002)
"""


def test_multiprocess_values_of_two_processes_add_up(api_client, metrics_on, monkeypatch, tmp_path):
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PYTHONPATH": str(ROOT)}
    for n in (2, 3):
        subprocess.run([sys.executable, "-c", WRITER, str(n)], env=env, check=True, cwd=ROOT, timeout=60)
    assert len(list(tmp_path.glob("counter_*.db"))) == 2
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    samples = scrape(api_client)
    assert samples[("ecommerce_orders_placed_total", ())] == 5
    route = (("method", "GET"), ("route", "product-list"), ("status", "200"))
    assert samples[("ecommerce_http_request_duration_seconds_count", route)] == 5


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(url: str, token: str | None = None) -> bytes:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})  # noqa: S310 - 127.0.0.1 only
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - 127.0.0.1 only
        return response.read()


def test_gunicorn_with_two_workers_reports_every_request(tmp_path):
    """gunicorn.conf.py's multiprocess setup: whichever worker answers the scrape, it counts
    the requests of both."""
    port = _free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("PROMETHEUS_MULTIPROC_DIR", "DATABASE_URL", "REDIS_URL")
    }
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_1.db").write_bytes(b"left over from an earlier run")  # emptied at start
    env.update(
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
        DJANGO_SETTINGS_MODULE="ecommerce.settings.local",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        METRICS_TOKEN=TOKEN,
        GUNICORN_BIND=f"127.0.0.1:{port}",
        WEB_CONCURRENCY="2",
        GUNICORN_THREADS="1",
        GUNICORN_ACCESSLOG="/dev/null",
        LOG_LEVEL="WARNING",
        DEBUG="false",
    )
    log = open(tmp_path / "gunicorn.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "ecommerce.wsgi:application"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                _get(f"{base}/health/live")
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail((tmp_path / "gunicorn.log").read_text())
        sent = 1
        # Until both workers have served some (on a busy machine one may take a whole round),
        # each writing its own file; at most five rounds.
        for _ in range(5):
            with ThreadPoolExecutor(8) as pool:
                list(pool.map(lambda _: _get(f"{base}/health/live"), range(80)))
            sent += 80
            writers = {int(f.stem.split("_")[1]) for f in metrics_dir.glob("histogram_*.db")}
            if len(writers & _worker_pids(proc.pid)) == 2:
                break
        samples = parse(_get(f"{base}/metrics", TOKEN).decode())
        route = (("method", "GET"), ("route", "health-live"), ("status", "200"))
        assert samples[("ecommerce_http_request_duration_seconds_count", route)] == sent
        assert len(writers & _worker_pids(proc.pid)) == 2, (writers, _worker_pids(proc.pid))
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)
        log.close()


def _worker_pids(master: int) -> set[int]:
    children = Path(f"/proc/{master}/task/{master}/children")
    return {int(pid) for pid in children.read_text().split()} if children.exists() else set()
