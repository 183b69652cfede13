"""Replace the catalog with a realistic fake one.

On PostgreSQL products are streamed with COPY while secondary indexes are dropped, and
the indexes are rebuilt afterwards (much faster than maintaining them row by row); the
search-vector trigger stays on, so every row is searchable. Elsewhere: bulk_create.
Memory stays flat: rows are generated and sent in chunks."""

from __future__ import annotations

import random
import resource
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import IntegrityError, connection, transaction
from faker import Faker
from tqdm import tqdm

from catalog.cache import bump_catalog_generation
from catalog.models import Brand, Category, Product
from catalog.seeding import build_brands, build_categories, iter_products

CHUNK = 10_000
COPY_COLUMNS = [
    "id", "slug", "sku", "name", "description", "price", "stock_quantity", "category_id", "brand_id",
    "attributes", "is_active", "rating_avg", "review_count", "created_at", "updated_at",
]  # fmt: skip


def _copy_text(value) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    text = str(value)
    if "\\" in text or "\t" in text or "\n" in text:
        text = text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
    return text


class Command(BaseCommand):
    help = "Replace the catalog with N fake products (repeatable with --seed). Deletes existing catalog rows."

    def add_arguments(self, parser):
        parser.add_argument("--products", type=int, default=1000)
        parser.add_argument("--categories", type=int, default=None, help="default: ~products/2000, 30..500")
        parser.add_argument("--brands", type=int, default=None, help="default: ~products/500, 20..2000")
        parser.add_argument("--seed", type=int, default=0)

    def handle(self, *args, products, categories, brands, seed, verbosity, **options):
        if products < 0:
            raise CommandError("--products must be >= 0")
        categories = categories or min(500, max(30, products // 2000))
        brands = brands or min(2000, max(20, products // 500))
        started = time.monotonic()
        rng = random.Random(seed)
        fake = Faker("en_US")
        fake.seed_instance(seed)
        cats = build_categories(rng, max(1, categories))
        brand_rows = build_brands(rng, fake, brands)
        rows = iter_products(rng, fake, products, cats, brand_rows)
        bar = tqdm(total=products, unit="product", disable=verbosity == 0, file=self.stderr, mininterval=1)
        try:
            self._clear()
            Category.objects.bulk_create(
                [
                    Category(
                        id=c.id,
                        name=c.name,
                        slug=c.slug,
                        parent_id=c.parent_id,
                        path=c.path,
                        depth=c.depth,
                        sort_order=c.sort_order,
                    )  # fmt: skip
                    for c in cats
                ]
            )
            Brand.objects.bulk_create([Brand(id=b.id, name=b.name, slug=b.slug) for b in brand_rows])
            if connection.vendor == "postgresql":
                self._copy_products(rows, bar)
            else:
                self._bulk_create_products(rows, bar)
        finally:
            bar.close()
            bump_catalog_generation()
        elapsed = time.monotonic() - started
        peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        self.stdout.write(
            f"seeded {products} products, {len(cats)} categories, {len(brand_rows)} brands "
            f"in {elapsed:.1f} s (peak memory {peak_mib:.0f} MiB)"
        )

    def _clear(self) -> None:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                for table in ("catalog_review", "catalog_product", "catalog_category", "catalog_brand"):
                    cursor.execute(f"DELETE FROM {table}")  # noqa: S608 (fixed table names)
        except IntegrityError as exc:
            raise CommandError(f"the catalog is referenced by other data (orders, carts) and cannot be replaced: {exc}")

    def _bulk_create_products(self, rows, bar) -> None:
        import json

        batch = []
        for row in rows:
            row["attributes"] = json.loads(row["attributes"])
            batch.append(Product(**row))
            if len(batch) >= CHUNK:
                Product.objects.bulk_create(batch)
                bar.update(len(batch))
                batch = []
        if batch:
            Product.objects.bulk_create(batch)
            bar.update(len(batch))

    def _copy_products(self, rows, bar) -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'catalog_product' "
                "AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = 'catalog_product'::regclass)"
            )
            secondary = [(name, ddl) for name, ddl in cursor.fetchall() if not name.endswith("_like")]
            for name, _ in secondary:
                cursor.execute(f'DROP INDEX IF EXISTS "{name}"')
            try:
                self._copy(cursor, rows, bar)
            finally:
                # Inside an outer transaction (tests) the deferred foreign-key checks of the
                # COPY must run before CREATE INDEX may touch the table.
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                self.stderr.write(f"rebuilding {len(secondary)} indexes...")
                cursor.execute("SET maintenance_work_mem = '256MB'")
                for _, ddl in tqdm(secondary, unit="index", file=self.stderr, disable=bar.disable):
                    cursor.execute(ddl)
                cursor.execute("ANALYZE catalog_product")

    def _copy(self, cursor, rows, bar) -> None:
        columns = ", ".join(COPY_COLUMNS)
        with cursor.cursor.copy(f"COPY catalog_product ({columns}) FROM STDIN") as copy:  # noqa: S608
            lines: list[str] = []
            for row in rows:
                lines.append("\t".join(_copy_text(row[c]) for c in COPY_COLUMNS))
                if len(lines) >= CHUNK:
                    copy.write("\n".join(lines) + "\n")
                    bar.update(len(lines))
                    lines = []
            if lines:
                copy.write("\n".join(lines) + "\n")
                bar.update(len(lines))
