"""The shop's Prometheus metrics (prometheus-client), all in one place, and their exposition.

Each event is counted at the one place it happens: requests by
`ecommerce.telemetry.TelemetryMiddleware`, orders placed by `orders.services` (on commit),
payment attempts by `payments.services`, catalog cache lookups by `catalog.cache`. Values
that are state, not events (the task outbox depth), are read when scraped.

Several processes (gunicorn workers): prometheus-client's multiprocess mode. With
`PROMETHEUS_MULTIPROC_DIR` set before the process imports prometheus_client, every process
writes its values to files in that directory and a scrape of any worker adds them all up
(gunicorn.conf.py sets a directory, empties it at start and marks dead workers; see
docs/operations.md, "Metrics"). Without it (runserver, tests, one process) the values are
the process's own.
"""

from __future__ import annotations

import os

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily

# Wide enough for a cached hit (about a millisecond) and a slow checkout (seconds).
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

HTTP_REQUEST_DURATION = Histogram(
    "ecommerce_http_request_duration_seconds",
    "Time from the first middleware to the response, per route (URL name), method and status; "
    "its _count is the number of requests.",
    ["method", "route", "status"],
    buckets=LATENCY_BUCKETS,
)
ORDERS_PLACED = Counter("ecommerce_orders_placed", "Orders placed (committed).")
PAYMENT_OUTCOMES = ("succeeded", "declined", "error", "offline")
PAYMENTS = Counter(
    "ecommerce_payments",
    "Payment attempts by outcome: succeeded, declined, error (provider failed or timed out), "
    "offline (recorded by staff).",
    ["outcome"],
)
CATALOG_CACHE_LOOKUPS = Counter(
    "ecommerce_catalog_cache_lookups", "Cached catalog reads the cache answered, by result.", ["result"]
)
# Every series exists from the start (at 0), so rate() and ratios have both sides at once.
for _outcome in PAYMENT_OUTCOMES:
    PAYMENTS.labels(_outcome)
for _result in ("hit", "miss"):
    CATALOG_CACHE_LOOKUPS.labels(_result)


class OutboxCollector:
    """`ecommerce_outbox_depth` and `ecommerce_outbox_oldest_age_seconds`, read at scrape
    time (one aggregate query, core.jobs.outbox_depth); nothing when the database is down."""

    def describe(self):
        return [
            GaugeMetricFamily("ecommerce_outbox_depth", "Jobs in the task outbox not yet published."),
            GaugeMetricFamily("ecommerce_outbox_oldest_age_seconds", "Age of the oldest unpublished job."),
        ]

    def collect(self):
        from django.db import DatabaseError

        from core.jobs import outbox_depth

        try:
            depth = outbox_depth()
        except DatabaseError:
            return
        yield GaugeMetricFamily(
            "ecommerce_outbox_depth", "Jobs in the task outbox not yet published.", value=depth["depth"]
        )
        yield GaugeMetricFamily(
            "ecommerce_outbox_oldest_age_seconds", "Age of the oldest unpublished job.", value=depth["oldest_age_s"]
        )


_scrape_time = CollectorRegistry(auto_describe=True)
_scrape_time.register(OutboxCollector())


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def metrics_text() -> bytes:
    """Every metric in the Prometheus text format: all processes' values in multiprocess
    mode, else this process's (with its process and GC metrics), then the scrape-time ones."""
    if multiprocess_dir():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return generate_latest(registry) + generate_latest(_scrape_time)
