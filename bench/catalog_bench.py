"""Catalog benchmark (issue 4): PostgreSQL + Redis, 1,000,000 seeded products, gunicorn on
127.0.0.1, wrk as the load generator.

Rows produced:
- seed time and peak memory (only when the database holds fewer than BENCH_PRODUCTS
  products, or BENCH_RESEED=1; otherwise "skipped");
- throughput side by side at 32 connections (wrk), 2 sync workers per server: a bare Django
  view with no middleware (its own server), the same view through the middleware stack, the
  cached product list and detail (anonymous hits: the early path), and the list with gzip
  accepted (stored compressed bytes); each cached read / bare >= 0.5;
- cache bypassed (a second gunicorn with CATALOG_CACHE_ENABLED=false): filtered list,
  full-text search (rare and common terms), facets, cursor paging at depth 500,000:
  p50/p95 over sequential keep-alive requests.

Environment: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/ecommerce_bench),
BENCH_REDIS_URL (redis://127.0.0.1:6379/2), BENCH_PRODUCTS (1000000), BENCH_WORKERS (2),
BENCH_THREADS (4, the gthread server of the latency rows), BENCH_DURATION (10 s per wrk run), BENCH_ROUNDS (2 interleaved wrk runs
per side, best kept), BENCH_SAMPLES (40 per latency row).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run directly: python bench/catalog_bench.py
    sys.path.insert(0, str(ROOT))

from bench.common import ensure_database  # noqa: E402

PY = str(ROOT / ".venv" / "bin" / "python")
GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")
DB = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/ecommerce_bench")
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/2")
PRODUCTS = int(os.environ.get("BENCH_PRODUCTS", "1000000"))
WORKERS = os.environ.get("BENCH_WORKERS", "2")
THREADS = os.environ.get("BENCH_THREADS", "4")
DURATION = int(os.environ.get("BENCH_DURATION", "10"))
SAMPLES = int(os.environ.get("BENCH_SAMPLES", "40"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
CACHED_PORT, BYPASS_PORT, BARE_PORT = 8761, 8762, 8763
SEARCH_TERMS = ["shoe", "black", "wireless speaker", "lightweight", "sneak", "umbr", "vintage ceramic vase",
                "ergonomic keyboard", "SKU-00012345", "federal", "quick-dry sock navy", "xylophone"]  # fmt: skip


def _env(**extra) -> dict:
    env = {
        **os.environ,
        "DATABASE_URL": DB,
        "REDIS_URL": REDIS,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "RATELIMIT_ENABLE": "false",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }
    env.update(extra)
    return env


def _row(metric, value, target="-", ok=None):
    return {"bench": "catalog", "metric": metric, "value": value, "target": target, "ok": ok}


def _manage(*args, **env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [PY, "manage.py", *args], cwd=ROOT, env=_env(**env), capture_output=True, text=True, check=True
    )


def _product_count() -> int:
    out = _manage("shell", "-c", "from catalog.models import Product; print(Product.objects.count())")
    return int(out.stdout.strip().splitlines()[-1])


def seed_rows() -> list[dict]:
    if os.environ.get("BENCH_RESEED") != "1" and _product_count() >= PRODUCTS:
        return [_row("seed 1M products", "skipped (already seeded; BENCH_RESEED=1 to measure)")]
    time_bin = shutil.which("time") or "/usr/bin/time"
    started = time.monotonic()
    proc = subprocess.run(
        [time_bin, "-v", PY, "manage.py", "seed_catalog", "--products", str(PRODUCTS), "--seed", "1", "-v", "0"],
        cwd=ROOT, env=_env(), capture_output=True, text=True, check=True,
    )  # fmt: skip
    elapsed = time.monotonic() - started
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    peak = int(rss.group(1)) / 1024 if rss else float("nan")
    return [
        _row(f"seed {PRODUCTS:,} products: time", f"{elapsed:.0f} s", "<= 180 s", elapsed <= 180),
        _row(f"seed {PRODUCTS:,} products: peak RSS", f"{peak:.0f} MiB", "<= 1024 MiB", peak <= 1024),
    ]


@contextlib.contextmanager
def gunicorn(port: int, *, worker_class: str = "gthread", **env):
    threads = ["--threads", THREADS] if worker_class == "gthread" else []
    # Metrics as under gunicorn.conf.py: every worker writes to a directory of its own.
    metrics_dir = tempfile.mkdtemp(prefix="bench-metrics-")
    proc = subprocess.Popen(
        [GUNICORN, "ecommerce.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", WORKERS,
         *threads, "--worker-class", worker_class, "--log-level", "warning",
         "--preload"],  # as in the image: every worker is ready when the first request comes
        cwd=ROOT, env=_env(PROMETHEUS_MULTIPROC_DIR=metrics_dir, **env), start_new_session=True,
    )  # fmt: skip
    try:
        for _ in range(100):
            with contextlib.suppress(OSError, http.client.HTTPException):
                _get(port, "/health/live")
                break
            time.sleep(0.2)
        yield proc
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        _conns.pop(port, None)
        shutil.rmtree(metrics_dir, ignore_errors=True)


_conns: dict[int, http.client.HTTPConnection] = {}


def _get(port: int, path: str, retry: bool = True) -> tuple[int, dict, bytes, float]:
    """GET over a kept-alive connection; a connection the server closed (keep-alive
    timeout) is replaced once."""
    try:
        return _get_once(port, path)
    except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
        if not retry:
            raise
        return _get_once(port, path)


def _get_once(port: int, path: str) -> tuple[int, dict, bytes, float]:
    conn = _conns.get(port) or http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    _conns[port] = conn
    started = time.perf_counter()
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        body = resp.read()
    except (OSError, http.client.HTTPException):
        conn.close()
        _conns.pop(port, None)
        raise
    return resp.status, dict(resp.getheaders()), body, (time.perf_counter() - started) * 1000


def _wrk(url: str, *headers: str) -> float:
    extra = [arg for header in headers for arg in ("-H", header)]
    out = subprocess.run(
        ["wrk", "-t2", "-c32", f"-d{DURATION}s", "--latency", *extra, url], capture_output=True, text=True, check=True
    ).stdout
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def throughput_rows(sample_id: str) -> list[dict]:
    """Side by side, on 2 sync workers each (the issue's setup): a bare Django view with no
    middleware at all (a server of its own, bench.settings_bare), the same view through the
    app's middleware stack, and the cached product list and detail (anonymous hits, answered
    by the early path), interleaved ROUNDS times, best of each kept; ratios to the bare view."""
    list_path, detail_path = "/api/v1/products/", f"/api/v1/products/{sample_id}/"
    with (
        gunicorn(CACHED_PORT, worker_class="sync"),
        gunicorn(BARE_PORT, worker_class="sync", DJANGO_SETTINGS_MODULE="bench.settings_bare"),
    ):
        sizes = {}
        for path in (list_path, detail_path):
            _get(CACHED_PORT, path)  # warm: MISS then HIT
            status, headers, body, _ = _get(CACHED_PORT, path)
            assert status == 200 and headers.get("X-Cache") == "HIT", (status, headers)
            assert "cache;desc=hit" in headers.get("Server-Timing", ""), headers
            sizes[path] = len(body)
        bare = f"/bench/bytes/{sizes[list_path]}/"
        status, headers, _, _ = _get(BARE_PORT, bare)
        assert status == 200 and "X-Request-ID" not in headers, headers  # no middleware ran
        gzip = "Accept-Encoding: gzip"
        targets = [
            ("bare Django view, no middleware", f"http://127.0.0.1:{BARE_PORT}{bare}", ()),
            ("plain view through the middleware stack", f"http://127.0.0.1:{CACHED_PORT}{bare}", ()),
            ("cached product list", f"http://127.0.0.1:{CACHED_PORT}{list_path}", ()),
            ("cached product detail", f"http://127.0.0.1:{CACHED_PORT}{detail_path}", ()),
            ("cached product list, gzip accepted", f"http://127.0.0.1:{CACHED_PORT}{list_path}", (gzip,)),
        ]
        best = dict.fromkeys((label for label, _, _ in targets), 0.0)
        for _ in range(ROUNDS):
            for label, url, headers in targets:
                best[label] = max(best[label], _wrk(url, *headers))
    floor = best["bare Django view, no middleware"]
    body = {label: sizes[detail_path] if "detail" in label else sizes[list_path] for label in best}
    rows = [
        _row(f"throughput, {WORKERS} sync workers, wrk -c32: {label} ({body[label]} B)", f"{rps:.0f} req/s")
        for label, rps in best.items()
    ]
    for label in ("plain view through the middleware stack", "cached product list", "cached product detail",
                  "cached product list, gzip accepted"):  # fmt: skip
        ratio = best[label] / floor
        cached = label.startswith("cached")
        rows.append(
            _row(f"{label} / bare", f"{ratio:.2f}", ">= 0.5" if cached else "-", ratio >= 0.5 if cached else None)
        )
    return rows


def _latencies(port: int, paths: list[str]) -> tuple[float, float]:
    timings = []
    for i in range(SAMPLES):
        status, headers, body, ms = _get(port, paths[i % len(paths)])
        assert status == 200, (status, body[:300])
        assert headers.get("X-Cache") != "HIT"
        timings.append(ms)
    timings.sort()
    return statistics.median(timings), timings[max(0, int(len(timings) * 0.95) - 1)]


def latency_rows(category_slugs: list[str], cursor_500k: str) -> list[dict]:
    q = urllib.parse.urlencode
    filtered = [
        f"/api/v1/products/?{q({'category': slug, 'min_price': lo, 'max_price': hi, 'ordering': order})}"
        for slug in category_slugs
        for lo, hi, order in [(10, 60, "price"), (20, 200, "-created_at"), (5, 40, "-rating_avg")]
    ]
    search = [f"/api/v1/products/?{q({'search': term})}" for term in SEARCH_TERMS]
    facets = ["/api/v1/products/facets/"] + [f"/api/v1/products/facets/?{q({'category': s})}" for s in category_slugs]
    facets += [f"/api/v1/products/facets/?{q({'search': t})}" for t in SEARCH_TERMS[:4]]
    cursor = [f"/api/v1/products/?{q({'cursor': cursor_500k})}"]
    rows = []
    with gunicorn(BYPASS_PORT, CATALOG_CACHE_ENABLED="false"):
        # The floor: HTTP + Django middleware with no database work, same server and client.
        p50, p95 = _latencies(BYPASS_PORT, ["/bench/bytes/15000/"])
        rows.append(_row("floor: bare Django view (15 kB): p50 / p95", f"{p50:.1f} / {p95:.1f} ms"))
        for label, paths, target in [
            ("filtered list (category tree + price + ordering)", filtered, 50),
            ("full-text search, rare and common terms", search, 100),
            ("facets", facets, 150),
            ("cursor paging at depth 500,000", cursor, 20),
        ]:
            for p in paths[:3]:
                _get(BYPASS_PORT, p)  # warm connections and plans
            p50, p95 = _latencies(BYPASS_PORT, paths)
            rows.append(
                _row(f"uncached {label}: p50 / p95", f"{p50:.1f} / {p95:.1f} ms", f"p95 <= {target} ms", p95 <= target)
            )
    return rows


def _fixtures() -> tuple[str, list[str], str]:
    """A product id, a few category slugs (big subtrees first) and the cursor at depth 500k."""
    code = (
        "import json\n"
        "from catalog.models import Category, Product\n"
        "from catalog.pagination import _encode_cursor\n"
        "p = Product.objects.filter(is_active=True).order_by('-created_at', '-id').first()\n"
        "roots = list(Category.objects.filter(depth=0).values_list('slug', flat=True)[:2])\n"
        "mids = list(Category.objects.filter(depth=1).values_list('slug', flat=True)[:2])\n"
        "deep = Product.objects.filter(is_active=True).order_by('-created_at', '-id')"
        ".values('created_at', 'id')[499999]\n"
        "print(json.dumps([str(p.id), roots + mids, _encode_cursor('-created_at', deep['created_at'], deep['id'])]))\n"
    )
    out = _manage("shell", "-c", code)
    pid, slugs, cursor = json.loads(out.stdout.strip().splitlines()[-1])
    return pid, slugs, cursor


def run() -> list[dict]:
    if not shutil.which("wrk"):
        raise RuntimeError("wrk not found: apt-get install -y wrk")
    ensure_database(DB)
    _manage("migrate", "--noinput")
    rows = seed_rows()
    pid, slugs, cursor = _fixtures()
    rows += throughput_rows(pid)
    rows += latency_rows(slugs, cursor)
    return rows


if __name__ == "__main__":
    from bench.run import format_table

    print(format_table(run()))
