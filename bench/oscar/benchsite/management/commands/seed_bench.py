"""Seed the benchmark catalogue: N public standalone products in 50
categories, each with one stock record. Idempotent: does nothing when the
catalogue already holds exactly the expected bench data."""

import time
from decimal import Decimal

from django.core.management.base import BaseCommand
from django.db import connection, transaction
from oscar.core.loading import get_model

Product = get_model("catalogue", "Product")
ProductClass = get_model("catalogue", "ProductClass")
ProductCategory = get_model("catalogue", "ProductCategory")
Category = get_model("catalogue", "Category")
Partner = get_model("partner", "Partner")
StockRecord = get_model("partner", "StockRecord")

N_CATEGORIES = 50
BATCH = 5000


class Command(BaseCommand):
    help = "Seed benchmark products (skips if already seeded)."

    def add_arguments(self, parser):
        parser.add_argument("--products", type=int, default=100_000)
        parser.add_argument("--force", action="store_true", help="wipe and reseed")

    def seeded(self, n):
        return (
            Product.objects.count() == n
            and Product.objects.filter(is_public=True, structure=Product.STANDALONE).count() == n
            and StockRecord.objects.count() == n
            and ProductCategory.objects.count() == n
            and Category.objects.count() == N_CATEGORIES
        )

    def handle(self, *args, products, force, **opts):
        n = products
        if not force and self.seeded(n):
            self.stdout.write(f"already seeded ({n} products); skipping")
            return
        t0 = time.monotonic()
        with transaction.atomic():
            # Start from a clean catalogue so the result is exactly n products.
            StockRecord.objects.all().delete()
            ProductCategory.objects.all().delete()
            Product.objects.all().delete()
            Category.objects.all().delete()

            pclass, _ = ProductClass.objects.get_or_create(
                slug="bench", defaults={"name": "Bench", "track_stock": True}
            )
            partner = Partner.objects.filter(name="Bench Partner").first()
            if partner is None:
                partner = Partner.objects.create(name="Bench Partner")
            cats = [Category.add_root(name=f"Category {i:02d}") for i in range(1, N_CATEGORIES + 1)]

            for start in range(1, n + 1, BATCH):
                idx = range(start, min(start + BATCH, n + 1))
                prods = Product.objects.bulk_create(
                    [
                        Product(
                            structure=Product.STANDALONE,
                            is_public=True,
                            title=f"Bench product {i:06d}",
                            slug=f"bench-product-{i:06d}",
                            upc=f"BENCH{i:08d}",
                            product_class=pclass,
                            description=f"Benchmark product number {i}.",
                        )
                        for i in idx
                    ]
                )
                ProductCategory.objects.bulk_create(
                    [
                        ProductCategory(product=p, category=cats[i % N_CATEGORIES])
                        for i, p in zip(idx, prods, strict=True)
                    ]
                )
                StockRecord.objects.bulk_create(
                    [
                        StockRecord(
                            product=p,
                            partner=partner,
                            partner_sku=f"SKU{i:08d}",
                            price_currency="GBP",
                            price=Decimal(5 + (i * 37) % 995) + Decimal("0.99"),
                            num_in_stock=(i * 13) % 500,
                        )
                        for i, p in zip(idx, prods, strict=True)
                    ]
                )
            # bulk_create stamps (almost) identical date_created values; give
            # every product a distinct one so the default ordering
            # (-date_created) is deterministic and product 1 comes first.
            with connection.cursor() as cur:
                cur.execute(
                    "UPDATE catalogue_product "
                    "SET date_created = now() - (id * interval '1 second'), "
                    "date_updated = now()"
                )
        # Fresh statistics and visibility map; keeps autovacuum out of the runs.
        with connection.cursor() as cur:
            for table in (
                "catalogue_product",
                "catalogue_productcategory",
                "catalogue_category",
                "partner_stockrecord",
            ):
                cur.execute(f"VACUUM ANALYZE {table}")
        self.stdout.write(f"seeded {n} products in {time.monotonic() - t0:.1f}s")
