"""gunicorn's gthread worker, timing how long each request waits for a thread.

The gthread worker accepts every connection (up to `worker_connections`) and queues its
requests for a pool of `threads`; past capacity that queue, and with it every answer's
latency, grows until clients give up. This worker's pool stamps each job when it is queued,
so that `ecommerce.middleware.LoadSheddingMiddleware` can answer a request that waited too
long with a quick 503 instead (see docs/operations.md, "Load shedding").

Only `get_thread_pool()` is overridden, the hook gunicorn documents for this. Loaded by
gunicorn's master before the app (gunicorn.conf.py `worker_class`), so nothing here imports
Django.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from gunicorn.workers.gthread import ThreadWorker

_current = threading.local()


def queue_wait() -> float | None:
    """Seconds the request running in this thread waited for it; None outside the timed
    pool (runserver, tests, the sync worker)."""
    return getattr(_current, "wait", None)


def _run_timed(queued_at: float, fn, /, *args, **kwargs):
    _current.wait = time.monotonic() - queued_at
    try:
        return fn(*args, **kwargs)
    finally:
        _current.wait = None


class QueueTimingExecutor(ThreadPoolExecutor):
    """A thread pool whose jobs know how long they queued (`queue_wait()` inside them)."""

    def submit(self, fn, /, *args, **kwargs):
        return super().submit(_run_timed, time.monotonic(), fn, *args, **kwargs)


class QueueTimingThreadWorker(ThreadWorker):
    """gthread, with one job per request (HTTP/1.1: a kept-alive connection's next request is
    queued again) run by a `QueueTimingExecutor`."""

    def get_thread_pool(self):
        return QueueTimingExecutor(max_workers=self.cfg.threads)
