"""The 400-shopper load scenario (bench/load_bench.py runs it; see docs/operations.md,
"Load test (400 shoppers)").

Each simulated shopper is one of the pre-created verified customers (each has a saved
address): LOAD_SIGN_IN_SHARE of them (10%) sign in with their password as they arrive, the
others resume a session (an access token the runner issued, as an app keeps it). Then, thinking 1-3 s between requests: browses 80% of the time (product
list pages with random filters, orderings and pages, details of random products, search,
facets, categories), uses the cart 15% (view, add, change, remove items) and checks out
5% (POST orders/ from the cart or from items with an Idempotency-Key, then pays with
`tok_visa`). Popular products, categories and terms are picked more often (a skewed
choice), as real traffic is.

Input, from the environment:
  LOAD_FIXTURES  JSON written by the runner: password, emails, access tokens, product ids
                 (in stock),
                 category and brand slugs, search terms.
  LOAD_SUMMARY   where to write the measured summary (JSON) when the run ends.
  LOAD_MARKER    a file created when every user has been spawned and has signed in: the
                 measured window starts there (locust's stats are reset then), so the
                 sign-ins of the ramp are not measured.

An answer the shop gives by design under contention (409 insufficient_stock on a cart add
or an order) counts as a success, tallied apart; everything else outside 2xx, and every
connection error, is a failure.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import time
import uuid
from collections import Counter

from locust import FastHttpUser, between, events, task
from locust.stats import StatsEntry

with open(os.environ["LOAD_FIXTURES"]) as f:
    FIXTURES = json.load(f)
PRODUCTS: list[str] = FIXTURES["products"]
CATEGORIES: list[str] = FIXTURES["categories"]
BRANDS: list[str] = FIXTURES["brands"]
TERMS: list[str] = FIXTURES["terms"]
COLORS = ["black", "white", "red", "blue", "green", "grey", "navy"]
SIZES = ["S", "M", "L", "XL"]
ORDERINGS = ["price", "-price", "-created_at", "name", "-rating_avg"]
PRICE_BANDS = [(None, 20), (10, 50), (20, 100), (50, 200), (100, None)]
_accounts = itertools.count()
# Share of the shoppers who sign in with their password as they arrive; the others resume
# a session (an access token the runner issued). A sign-in costs ~0.2 s of CPU (Argon2).
SIGN_IN_SHARE = float(os.environ.get("LOAD_SIGN_IN_SHARE", "0.1"))

# Endpoint name -> group of the summary. Names, not URLs, so that the stats aggregate.
GROUPS = {
    "/api/v1/auth/token/": "sign-in",
    "/api/v1/addresses/": "sign-in",
    "/api/v1/products/": "browse",
    "/api/v1/products/?page": "browse",
    "/api/v1/products/?filters": "browse",
    "/api/v1/products/{id}/": "browse",
    "/api/v1/products/?search": "browse",
    "/api/v1/products/facets/": "browse",
    "/api/v1/categories/": "browse",
    "/api/v1/cart/": "cart",
    "/api/v1/cart/items/": "cart",
    "/api/v1/cart/items/{id}/": "cart",
    "/api/v1/orders/": "checkout",
    "/api/v1/orders/{id}/pay/": "checkout",
}

# Counted inside the measured window only (reset with locust's stats).
cache_counts: Counter = Counter()  # X-Cache HIT / MISS on cached GETs
status_counts: Counter = Counter()  # "<status>" per answer, "0" = no answer (reset, timeout)
outcomes: Counter = Counter()  # orders placed, payments, expected 409s
window = {"start": time.time()}


def _skewed(items: list):
    """Mostly the head of the list: the first 10% get about half the picks."""
    return items[min(len(items) - 1, int(len(items) * random.random() ** 3))]


class Shopper(FastHttpUser):
    wait_time = between(1, 3)
    # A request that waited this long has failed for a shopper (and for the stats).
    network_timeout = 30.0
    connection_timeout = 10.0

    def on_start(self) -> None:
        self.headers: dict[str, str] = {}
        self.cart: dict[str, int] = {}
        self.address_id: str | None = None
        account = next(_accounts) % len(FIXTURES["emails"])
        access = None
        if random.random() < SIGN_IN_SHARE:
            body = {"email": FIXTURES["emails"][account], "password": FIXTURES["password"]}
            with self._call("POST", "/api/v1/auth/token/", json=body) as r:
                access = r.json()["access"] if r.status_code == 200 else None
        # A returning shopper's app still holds a valid session (so does, in the end, one
        # whose sign-in failed: counted above, it does not turn the rest of the run anonymous).
        self.headers = {"Authorization": f"Bearer {access or FIXTURES['tokens'][account]}"}
        with self._call("GET", "/api/v1/addresses/") as r:
            if r.status_code == 200 and r.json()["results"]:
                self.address_id = r.json()["results"][0]["id"]
        # A shopper from an earlier run may have left items in this customer's cart.
        self._call_quiet("DELETE", "/api/v1/cart/")
        _signed_in(self.environment)

    # -- plumbing --------------------------------------------------------------------
    def _call(self, method: str, path: str, name: str | None = None, ok=(), **kwargs):
        """One request; 2xx (and the statuses in `ok`) succeed, anything else fails."""
        return _Call(self, method, path, name or path, ok, kwargs)

    def _call_quiet(self, method: str, path: str) -> None:
        with self._call(method, path, ok=(404,)):
            pass

    # -- browsing (80%) --------------------------------------------------------------
    @task(14)
    def product_list(self) -> None:
        with self._call("GET", "/api/v1/products/"):
            pass

    @task(8)
    def product_list_page(self) -> None:
        page = 1 + int(50 * random.random() ** 2)
        with self._call("GET", f"/api/v1/products/?page={page}", name="/api/v1/products/?page"):
            pass

    @task(20)
    def product_list_filtered(self) -> None:
        params = [f"category={_skewed(CATEGORIES)}"] if random.random() < 0.7 else []
        if random.random() < 0.3:
            params.append(f"brand={_skewed(BRANDS)}")
        if random.random() < 0.5:
            low, high = random.choice(PRICE_BANDS)
            params += [f"min_price={low}"] if low else []
            params += [f"max_price={high}"] if high else []
        if random.random() < 0.3:
            params.append("in_stock=true")
        if random.random() < 0.25:
            params.append(f"attributes=color:{random.choice(COLORS)}")
        if random.random() < 0.1:
            params.append(f"attributes=size:{random.choice(SIZES)}")
        if random.random() < 0.6:
            params.append(f"ordering={random.choice(ORDERINGS)}")
        query = "&".join(params) or "ordering=price"
        with self._call("GET", f"/api/v1/products/?{query}", name="/api/v1/products/?filters"):
            pass

    @task(24)
    def product_detail(self) -> None:
        with self._call("GET", f"/api/v1/products/{_skewed(PRODUCTS)}/", name="/api/v1/products/{id}/"):
            pass

    @task(8)
    def search(self) -> None:
        query = f"search={_skewed(TERMS)}"
        if random.random() < 0.3:
            query += f"&ordering={random.choice(ORDERINGS)}"
        with self._call("GET", f"/api/v1/products/?{query}", name="/api/v1/products/?search"):
            pass

    @task(4)
    def facets(self) -> None:
        roll = random.random()
        query = f"?category={_skewed(CATEGORIES)}" if roll < 0.6 else f"?search={_skewed(TERMS)}" if roll < 0.8 else ""
        with self._call("GET", f"/api/v1/products/facets/{query}", name="/api/v1/products/facets/"):
            pass

    @task(2)
    def categories(self) -> None:
        with self._call("GET", "/api/v1/categories/"):
            pass

    # -- cart (15%) ------------------------------------------------------------------
    @task(3)
    def cart_view(self) -> None:
        with self._call("GET", "/api/v1/cart/"):
            pass

    @task(7)
    def cart_add(self) -> None:
        product = _skewed(PRODUCTS)
        quantity = random.randint(1, 2)
        body = {"product_id": product, "quantity": quantity}
        with self._call("POST", "/api/v1/cart/items/", ok=(409,), json=body) as r:
            if r.status_code in (200, 201):
                self.cart[product] = self.cart.get(product, 0) + quantity

    @task(3)
    def cart_change(self) -> None:
        if not self.cart:
            return self.cart_add()
        product = random.choice(list(self.cart))
        quantity = random.randint(1, 3)
        with self._call(
            "PATCH",
            f"/api/v1/cart/items/{product}/",
            name="/api/v1/cart/items/{id}/",
            ok=(409,),
            json={"quantity": quantity},
        ) as r:
            if r.status_code == 200:
                self.cart[product] = quantity

    @task(2)
    def cart_remove(self) -> None:
        if not self.cart:
            return self.cart_add()
        product = random.choice(list(self.cart))
        with self._call("DELETE", f"/api/v1/cart/items/{product}/", name="/api/v1/cart/items/{id}/", ok=(404,)):
            self.cart.pop(product, None)

    # -- checkout and pay (5%) -------------------------------------------------------
    @task(5)
    def checkout(self) -> None:
        if not self.address_id:
            return
        body: dict = {"shipping_address_id": self.address_id}
        if not self.cart:  # "buy now" of one or two products
            body["items"] = [{"product_id": p, "quantity": 1} for p in {_skewed(PRODUCTS) for _ in range(2)}]
        key = {"Idempotency-Key": str(uuid.uuid4())}
        with self._call("POST", "/api/v1/orders/", ok=(409,), json=body, headers=key) as r:
            if r.status_code != 201:
                return
            order_id = r.json()["id"]
            self.cart.clear()
            outcomes["orders placed"] += 1
        pay = {"payment_method": "card", "token": "tok_visa"}
        key = {"Idempotency-Key": str(uuid.uuid4())}
        with self._call(
            "POST", f"/api/v1/orders/{order_id}/pay/", name="/api/v1/orders/{id}/pay/", json=pay, headers=key
        ) as r:
            if r.status_code == 201:
                outcomes["payments"] += 1


class _Call:
    """`with user._call(...) as response:` a catch_response request that counts its status,
    its X-Cache header and the expected 409s, and marks anything unexpected a failure."""

    def __init__(self, user: Shopper, method: str, path: str, name: str, ok, kwargs) -> None:
        headers = {**user.headers, **kwargs.pop("headers", {})}
        self.ctx = user.client.request(method, path, name=name, headers=headers, catch_response=True, **kwargs)
        self.ok = ok

    def __enter__(self):
        self.response = self.ctx.__enter__()
        r = self.response
        status_counts[str(r.status_code)] += 1
        cache = r.headers.get("X-Cache") if r.headers else None
        if cache in ("HIT", "MISS"):
            cache_counts[cache] += 1
        if 200 <= r.status_code < 300:
            r.success()
        elif r.status_code in self.ok:
            outcomes[f"{r.status_code} ({_code(r)})"] += 1
            r.success()
        else:
            r.failure(f"{r.status_code} {_code(r)}" if r.status_code else f"no answer: {r.error!r}"[:200])
        return r

    def __exit__(self, *exc):
        return self.ctx.__exit__(*exc)


def _code(response) -> str:
    try:
        return response.json()["errors"][0]["code"]
    except Exception:  # noqa: BLE001 - not the error shape (or no body): say so
        return "?"


def _signed_in(environment) -> None:
    """Start the measured window once every user of the run has signed in."""
    window["signed_in"] = window.get("signed_in", 0) + 1
    runner = environment.runner
    if window.get("open") or not runner or window["signed_in"] < (runner.target_user_count or 0):
        return
    window["open"] = True
    runner.stats.reset_all()
    cache_counts.clear()
    status_counts.clear()
    outcomes.clear()
    window["start"] = time.time()
    if os.environ.get("LOAD_MARKER"):
        with open(os.environ["LOAD_MARKER"], "w") as f:
            f.write(str(runner.user_count))


def _summarize(entry: StatsEntry, seconds: float) -> dict:
    pct = entry.get_response_time_percentile
    return {
        "requests": entry.num_requests,
        "failures": entry.num_failures,
        "rps": round(entry.num_requests / seconds, 1) if seconds else 0.0,
        "p50_ms": pct(0.50) if entry.num_requests else None,
        "p95_ms": pct(0.95) if entry.num_requests else None,
        "p99_ms": pct(0.99) if entry.num_requests else None,
    }


@events.quitting.add_listener
def _write_summary(environment, **_kwargs) -> None:
    path = os.environ.get("LOAD_SUMMARY")
    if not path:
        return
    stats = environment.stats
    seconds = max(time.time() - window["start"], 1e-9)
    groups: dict[str, StatsEntry] = {}
    endpoints = {}
    for (name, method), entry in sorted(stats.entries.items()):
        group = GROUPS.get(name, "other")
        groups.setdefault(group, StatsEntry(stats, group, "")).extend(entry)
        endpoints[f"{method} {name}"] = _summarize(entry, seconds)
    summary = {
        "seconds": round(seconds, 1),
        "users": environment.runner.user_count if environment.runner else None,
        "total": _summarize(stats.total, seconds),
        "groups": {g: _summarize(e, seconds) for g, e in groups.items()},
        "endpoints": endpoints,
        "cache": dict(cache_counts),
        "statuses": dict(status_counts),
        "outcomes": dict(outcomes),
        "errors": [
            {"endpoint": f"{e.method} {e.name}", "error": str(e.error), "count": e.occurrences}
            for e in stats.errors.values()
        ],
    }
    with open(path, "w") as f:
        json.dump(summary, f, indent=1)
