"""Load shedding: past capacity a request that queued too long for a gunicorn thread is
answered 503 at once (ecommerce.gunicorn_worker, ecommerce.middleware.LoadSheddingMiddleware)."""

import threading
import time

import pytest

from ecommerce import middleware
from ecommerce.gunicorn_worker import QueueTimingExecutor, QueueTimingThreadWorker, queue_wait
from ecommerce.middleware import should_shed


@pytest.mark.parametrize(
    ("wait", "limit_ms", "shed"),
    [
        (None, 1000, False),  # not under the timed gunicorn pool: never shed
        (0.0, 1000, False),
        (0.999, 1000, False),
        (1.001, 1000, True),
        (30.0, 0, False),  # 0 turns shedding off
    ],
)
def test_should_shed_only_past_the_bound(wait, limit_ms, shed):
    assert should_shed(wait, limit_ms) is shed


def test_executor_tells_each_job_how_long_it_queued():
    release = threading.Event()
    with QueueTimingExecutor(max_workers=1) as pool:
        first = pool.submit(lambda: (release.wait(5), queue_wait())[1])
        second = pool.submit(queue_wait)  # queued behind the first, on the only thread
        time.sleep(0.2)
        release.set()
        assert first.result(timeout=5) < 0.1
        assert 0.2 <= second.result(timeout=5) < 5
        assert pool.submit(queue_wait).result(timeout=5) < 0.1
    assert queue_wait() is None  # outside the pool


def test_worker_runs_requests_on_the_timing_pool():
    worker = QueueTimingThreadWorker.__new__(QueueTimingThreadWorker)
    worker.cfg = type("Cfg", (), {"threads": 3})()
    pool = worker.get_thread_pool()
    try:
        assert isinstance(pool, QueueTimingExecutor) and pool._max_workers == 3
    finally:
        pool.shutdown()


@pytest.mark.django_db
def test_request_that_queued_too_long_answers_503_at_once(client, settings, monkeypatch, django_assert_num_queries):
    settings.LOAD_SHED_QUEUE_MS = 1000
    settings.LOAD_SHED_RETRY_AFTER = 2
    monkeypatch.setattr(middleware, "queue_wait", lambda: 1.5)
    with django_assert_num_queries(0):
        response = client.get("/api/v1/products/", HTTP_X_REQUEST_ID="shed-me")
    assert response.status_code == 503
    assert response["Retry-After"] == "2"
    assert response["X-Request-ID"] == "shed-me"
    assert response.json() == {
        "type": "server_error",
        "errors": [{"code": "service_unavailable", "detail": response.json()["errors"][0]["detail"], "attr": None}],
    }
    assert client.get("/health/live").status_code == 200  # health checks are never shed


@pytest.mark.django_db
def test_request_within_the_bound_is_served(client, settings, monkeypatch):
    settings.LOAD_SHED_QUEUE_MS = 1000
    monkeypatch.setattr(middleware, "queue_wait", lambda: 0.5)
    assert client.get("/api/v1/products/").status_code == 200
    settings.LOAD_SHED_QUEUE_MS = 0
    monkeypatch.setattr(middleware, "queue_wait", lambda: 60.0)
    assert client.get("/api/v1/products/").status_code == 200
