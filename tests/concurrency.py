"""Real concurrency for tests: start callables in threads released together by a barrier,
each closing its own database connection (every thread has one), and collect what each
returned or raised. Used with `@pytest.mark.django_db(transaction=True)` so the threads see
each other's commits."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.db import connection


def run_threads(count: int, target: Callable[..., Any], *args: Any) -> list[Any]:
    """Run `target(i, *args)` in `count` threads started together. Returns the results in
    thread order; a thread that raised has its exception in its place."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def worker(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = target(i, *args)
        except Exception as exc:  # noqa: BLE001 - handed to the test, which asserts on it
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def errors_of(results: list[Any]) -> list[Exception]:
    return [r for r in results if isinstance(r, Exception)]
