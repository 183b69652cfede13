"""Fire concurrent checkouts that all use one voucher with a usage limit, and report
whether it was over-redeemed.

    manage.py simulate_voucher_race --buyers 50 --limit 10 --url http://127.0.0.1:8000
        real concurrent HTTP POST /api/v1/orders/ with `voucher_code` against a running
        server (it must share this database; rate limits off: RATELIMIT_ENABLE=false)
    manage.py simulate_voucher_race --buyers 50 --limit 10
        in-process: real threads, each with its own database connection, calling
        order_place (the same service as the API)

Creates a fresh product (stock for every buyer), a voucher RACE-<run> and verified buyers
(race-*) every run. Prints orders carrying the voucher, 409 voucher_exhausted, other
errors, and over-redemptions (must be 0).
"""

from __future__ import annotations

import uuid
from collections import Counter
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from catalog.models import Category, Product
from orders.management.commands.simulate_checkout_race import ADDRESS
from orders.management.races import http_checkout_race, inprocess_checkout_race
from orders.models import Order
from orders.services import LineRequest, order_place
from promotions.models import VoucherRedemption
from promotions.services import voucher_create


class Command(BaseCommand):
    help = "Concurrent checkouts with one voucher: prints orders with it, 409s and over-redemptions (must be 0)."

    def add_arguments(self, parser):
        parser.add_argument("--buyers", type=int, default=50)
        parser.add_argument("--limit", type=int, default=10, help="The voucher's usage limit.")
        parser.add_argument("--url", default="", help="Base URL of a running server; default: in-process threads.")
        parser.add_argument(
            "--concurrency", type=int, default=0, help="Simultaneous buyers (default: all for HTTP; 40 in-process)."
        )

    def handle(self, *args, buyers: int, limit: int, url: str, concurrency: int, **options):
        if buyers < 1 or limit < 1:
            raise CommandError("--buyers and --limit must be >= 1")
        run = uuid.uuid4().hex[:8]
        category, _ = Category.objects.get_or_create(slug="race", defaults={"name": "Race"})
        product = Product.objects.create(
            slug=f"voucher-race-{run}", sku=f"VRACE-{run}", name=f"Voucher race product {run}", price="20.00",
            stock_quantity=buyers, category=category,
        )  # fmt: skip
        voucher = voucher_create(code=f"RACE-{run}".upper(), kind="fixed", value=Decimal("5.00"), usage_limit=limit)
        users = User.objects.bulk_create(
            [User(email=f"race-{run}-{i}@example.com", is_verified=True) for i in range(buyers)]
        )
        if url:
            outcomes = self._http(url.rstrip("/"), users, product, voucher.code, concurrency or buyers)
        else:
            outcomes = self._threads(users, product, voucher.code, concurrency or min(buyers, 40))

        voucher.refresh_from_db()
        with_voucher = Order.objects.filter(voucher=voucher).count()
        live = VoucherRedemption.objects.filter(voucher=voucher, released_at__isnull=True).count()
        over = max(0, with_voucher - limit) + max(0, voucher.used_count - limit)
        counts = Counter(outcomes)
        self.stdout.write(f"buyers:             {buyers}, voucher {voucher.code} limited to {limit}")
        self.stdout.write(f"orders with it:     {with_voucher}")
        self.stdout.write(f"409 (exhausted):    {counts.get('voucher_exhausted', 0)}")
        other = {k: v for k, v in counts.items() if k not in ("created", "voucher_exhausted")}
        self.stdout.write(f"other errors:       {sum(other.values())} {dict(other) if other else ''}")
        self.stdout.write(f"uses counted:       {voucher.used_count} ({live} redemptions)")
        self.stdout.write(f"over-redemptions:   {over}")
        if over or voucher.used_count != with_voucher or live != with_voucher:
            raise CommandError("the voucher's count and its orders disagree: over-redeemed or lost a use")

    def _threads(self, users, product, code, concurrency):
        return inprocess_checkout_race(
            users,
            lambda user: order_place(
                user, items=[LineRequest(product.pk, 1)], shipping_address=ADDRESS, voucher_code=code
            ),
            concurrency,
        )

    def _http(self, base, users, product, code, concurrency):
        return http_checkout_race(
            base,
            users,
            {
                "shipping_address": ADDRESS,
                "items": [{"product_id": str(product.pk), "quantity": 1}],
                "voucher_code": code,
            },
            concurrency,
        )
