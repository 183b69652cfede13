"""What the simulate_*_race commands share: many buyers placing one order each against a
running server, all released at once."""

from __future__ import annotations

import contextlib
import json
import threading
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor


def http_checkout_race(base: str, users, order_body: dict, concurrency: int) -> list[str]:
    """POST `order_body` to `{base}/api/v1/orders/` once per user (each with a real sign-in
    session: access tokens without one are refused), `concurrency` at a time behind a
    barrier. Returns each buyer's outcome: "created", the error code, or the failure."""
    from accounts.services import session_start
    from ecommerce.api.auth import token_pair

    tokens = [token_pair(session_start(user=u)).access for u in users]
    body = json.dumps(order_body).encode()
    barrier = threading.Barrier(min(concurrency, len(users)))

    def buy(token):
        request = urllib.request.Request(  # noqa: S310 - the operator's own server URL
            f"{base}/api/v1/orders/",
            data=body,
            method="POST",
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/json",
                "Idempotency-Key": str(uuid.uuid4()),
            },
        )
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=10)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - http(s) URL given by the operator  # nosec B310
                return "created" if response.status == 201 else f"http_{response.status}"
        except urllib.error.HTTPError as exc:
            try:
                return json.loads(exc.read())["errors"][0]["code"]
            except (ValueError, KeyError, IndexError):
                return f"http_{exc.code}"
        except OSError as exc:
            return type(exc).__name__

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        return list(pool.map(buy, tokens))


def inprocess_checkout_race(users, place, concurrency: int) -> list[str]:
    """Call `place(user)` (one order_place) once per user on threads of this process,
    `concurrency` at a time behind a barrier. Returns each buyer's outcome: "created", the
    domain error code, or the failure's name."""
    from django.db import connection

    from core.errors import DomainError

    barrier = threading.Barrier(min(concurrency, len(users)))

    def buy(user):
        try:
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait(timeout=5)
            place(user)
            return "created"
        except DomainError as exc:
            return str(exc.code)
        except Exception as exc:  # noqa: BLE001 - counted and reported
            return type(exc).__name__
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        return list(pool.map(buy, users))
