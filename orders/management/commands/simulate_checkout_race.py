"""Fire concurrent checkouts of one product and report whether anything was oversold.

    manage.py simulate_checkout_race --buyers 200 --stock 50
        in-process: real threads, each with its own database connection, calling
        order_place (the same service as the API)
    manage.py simulate_checkout_race --buyers 200 --stock 50 --url http://127.0.0.1:8000
        real concurrent HTTP POST /api/v1/orders/ against a running server (the server
        must share this database; rate limits off: RATELIMIT_ENABLE=false)

Creates a fresh product and verified buyers (named race-*) every run.
"""

from __future__ import annotations

import uuid
from collections import Counter

from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from catalog.models import Category, Product
from orders.management.races import http_checkout_race, inprocess_checkout_race
from orders.models import Order
from orders.services import LineRequest, order_place

ADDRESS = {"full_name": "Race Buyer", "line1": "1 Race St", "city": "Berlin", "postal_code": "10115", "country": "DE"}


class Command(BaseCommand):
    help = "Concurrent checkouts of one product: prints orders, 409s, errors, final stock and oversold (must be 0)."

    def add_arguments(self, parser):
        parser.add_argument("--buyers", type=int, default=200)
        parser.add_argument("--stock", type=int, default=50)
        parser.add_argument("--quantity", type=int, default=1, help="Units each buyer orders.")
        parser.add_argument("--url", default="", help="Base URL of a running server; default: in-process threads.")
        parser.add_argument(
            "--concurrency",
            type=int,
            default=0,
            help="Simultaneous buyers (default: all for HTTP; 40 in-process, each holds a DB connection).",
        )

    def handle(self, *args, buyers: int, stock: int, quantity: int, url: str, concurrency: int, **options):
        if buyers < 1 or stock < 0 or quantity < 1:
            raise CommandError("--buyers and --quantity must be >= 1, --stock >= 0")
        run = uuid.uuid4().hex[:8]
        category, _ = Category.objects.get_or_create(slug="race", defaults={"name": "Race"})
        product = Product.objects.create(
            slug=f"race-{run}", sku=f"RACE-{run}", name=f"Race product {run}", price="9.99",
            stock_quantity=stock, category=category,
        )  # fmt: skip
        users = User.objects.bulk_create(
            [User(email=f"race-{run}-{i}@example.com", is_verified=True) for i in range(buyers)]
        )
        if url:
            outcomes = self._http(url.rstrip("/"), users, product, quantity, concurrency or buyers)
        else:
            outcomes = self._threads(users, product, quantity, concurrency or min(buyers, 40))

        product.refresh_from_db()
        orders = Order.objects.filter(lines__product=product).distinct().count()
        sold = stock - product.stock_quantity
        oversold = max(0, sold - stock) + (1 if product.stock_quantity < 0 else 0)
        counts = Counter(outcomes)
        self.stdout.write(f"buyers:          {buyers} (x{quantity} unit(s) each), stock {stock}")
        self.stdout.write(f"orders created:  {orders}")
        self.stdout.write(f"409 (stock):     {counts.get('insufficient_stock', 0)}")
        other = {k: v for k, v in counts.items() if k not in ("created", "insufficient_stock")}
        self.stdout.write(f"other errors:    {sum(other.values())} {dict(other) if other else ''}")
        self.stdout.write(f"final stock:     {product.stock_quantity}")
        self.stdout.write(f"oversold:        {oversold}")
        if oversold or orders * quantity != sold:
            raise CommandError("stock and orders disagree: oversold or lost stock")

    def _threads(self, users, product, quantity, concurrency):
        return inprocess_checkout_race(
            users,
            lambda user: order_place(user, items=[LineRequest(product.pk, quantity)], shipping_address=ADDRESS),
            concurrency,
        )

    def _http(self, base, users, product, quantity, concurrency):
        return http_checkout_race(
            base,
            users,
            {"shipping_address": ADDRESS, "items": [{"product_id": str(product.pk), "quantity": quantity}]},
            concurrency,
        )
