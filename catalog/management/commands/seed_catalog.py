"""Replace the catalog with a realistic fake one.

On PostgreSQL products are streamed with COPY while secondary indexes are dropped, and
the indexes are rebuilt afterwards (much faster than maintaining them row by row); the
search-vector trigger stays on, so every row is searchable. Elsewhere: bulk_create.
Memory stays flat: rows are generated and sent in chunks."""

from __future__ import annotations

import queue
import random
import re
import resource
import threading
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import IntegrityError, connection, transaction
from faker import Faker
from tqdm import tqdm

from catalog.cache import bump_catalog_generation
from catalog.models import Product
from catalog.seeding import (
    build_brands,
    build_categories,
    build_seed_images,
    insert_seed_images,
    iter_copy_lines,
    iter_products,
    save_product_types,
    save_taxonomy,
)

CHUNK = 10_000
GIN_INDEXES = {
    "catalog_prod_search_top_gin": (
        "CREATE INDEX catalog_prod_search_top_gin ON catalog_product USING gin (search_vector) WHERE parent_id IS NULL"
    ),
    "catalog_prod_attrs_gin": "CREATE INDEX catalog_prod_attrs_gin ON catalog_product USING gin (attributes jsonb_path_ops)",
}
PARALLEL = 2  # COPY connections and index builds at once (one per core here)
COPY_COLUMNS = [
    "id", "slug", "sku", "name", "description", "price", "stock_quantity", "category_id", "brand_id",
    "attributes", "is_active", "rating_avg", "review_count", "created_at", "updated_at",
    "structure", "parent_id", "product_type_id", "variant_price_max",
]  # fmt: skip


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
        self.seed = seed
        rng = random.Random(seed)
        fake = Faker("en_US")
        fake.seed_instance(seed)
        cats = build_categories(rng, max(1, categories))
        brand_rows = build_brands(rng, fake, brands)
        bar = tqdm(total=products, unit="product", disable=verbosity == 0, file=self.stderr, mininterval=1)
        try:
            self._clear()
            save_taxonomy(cats, brand_rows)
            if connection.vendor == "postgresql":
                # Variant families (parents with 2-6 variants each) on PostgreSQL; the
                # bulk_create path (SQLite, development) makes standalone products only.
                types = save_product_types(rng)
                self._copy_products(iter_copy_lines(rng, fake, products, cats, brand_rows, product_types=types), bar)
            else:
                self._bulk_create_products(iter_products(rng, fake, products, cats, brand_rows), bar)
            images = insert_seed_images(build_seed_images())  # 1-3 rows per product, a few shared files
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    # Without statistics the planner guessed an empty table and a page's
                    # images (WHERE product_id IN (...)) took 10 ms instead of 0.1 ms.
                    cursor.execute("ANALYZE catalog_productimage")
        finally:
            bar.close()
            bump_catalog_generation()
        elapsed = time.monotonic() - started
        peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        self.stdout.write(
            f"seeded {products} products, {len(cats)} categories, {len(brand_rows)} brands, {images} images "
            f"in {elapsed:.1f} s (peak memory {peak_mib:.0f} MiB)"
        )

    def _clear(self) -> None:
        # The stock ledger goes with the products it describes. Seeded products get their
        # stock as their opening level (COPY, no stock moves): a new product has no history.
        # Image rows go; their files stay (content-named: the next seed reuses its own).
        tables = [
            "catalog_stockmove",
            "catalog_review",
            "catalog_productimage",
            "catalog_product",
            "catalog_category",
            "catalog_brand",
            "catalog_attributedefinition",
            "catalog_producttype",
        ]
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # TRUNCATE is instant where DELETE of a million rows is not; it is allowed
                # when every table referencing the catalog (carts, orders) is empty.
                # Transitively: TRUNCATE also refuses a table referencing a referencing one
                # (order lines are referenced by shipment, return and credit note lines).
                referencing: list[str] = []
                frontier = ["catalog_product", "catalog_category", "catalog_brand", "catalog_producttype"]
                while frontier:
                    cursor.execute(
                        "SELECT DISTINCT conrelid::regclass::text FROM pg_constraint WHERE contype = 'f' "
                        "AND confrelid = ANY(%s::regclass[])",
                        [frontier],
                    )
                    frontier = [t for (t,) in cursor.fetchall() if t not in tables and t not in referencing]
                    referencing += frontier
                busy = []
                for table in referencing:
                    cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {table})")  # noqa: S608 - table names come from pg_catalog, not input  # nosec B608
                    if cursor.fetchone()[0]:
                        busy.append(table)
                if busy:
                    raise CommandError(f"the catalog is referenced by rows in {', '.join(busy)}; not replacing it")
                cursor.execute(f"TRUNCATE {', '.join(tables + referencing)}")
                return
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                for table in tables:
                    cursor.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed model table names  # nosec B608
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
            secondary = dict(cursor.fetchall())
            for name in secondary:
                cursor.execute(f'DROP INDEX IF EXISTS "{name}"')
        # What the schema defines, so that a run killed half way is repaired by the next one.
        secondary = {**_declared_indexes(), **secondary}
        try:
            self._copy_parallel(rows, bar)
        finally:
            with connection.cursor() as cursor:
                # Inside an outer transaction (tests) the deferred foreign-key checks of the
                # COPY must run before CREATE INDEX may touch the table.
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            self.stderr.write(f"rebuilding {len(secondary)} indexes...")
            self._run_parallel(list(secondary.values()), bar.disable)
            with connection.cursor() as cursor:
                # VACUUM sets the visibility map, which turns the bounded counts of product
                # lists into index-only scans; it cannot run inside a transaction (tests).
                cursor.execute(
                    "ANALYZE catalog_product" if connection.in_atomic_block else "VACUUM (ANALYZE) catalog_product"
                )

    def _workers(self) -> int:
        # Separate connections only outside a transaction (tests wrap everything in one).
        return 1 if connection.in_atomic_block else PARALLEL

    def _copy_parallel(self, rows, bar) -> None:
        """Generate chunks here; COPY them through `_workers()` connections at once (the
        search-vector trigger makes PostgreSQL, not Python, the bottleneck)."""
        workers = self._workers()
        if workers == 1:
            with connection.cursor() as cursor:
                self._copy(cursor, _chunks(rows), bar)
            return
        chunks: queue.Queue = queue.Queue(maxsize=workers * 2)
        errors: list[BaseException] = []

        def consume():
            try:
                with connection.cursor() as cursor:
                    self._copy(cursor, iter(chunks.get, None), bar)
            except BaseException as exc:  # reported by the main thread
                errors.append(exc)
                while chunks.get() is not None:  # drain so the producer never blocks
                    pass
            finally:
                connection.close()

        threads = [threading.Thread(target=consume) for _ in range(workers)]
        for t in threads:
            t.start()
        try:
            for chunk in _chunks(rows):
                chunks.put(chunk)
        finally:
            for _ in threads:
                chunks.put(None)
            for t in threads:
                t.join()
        if errors:
            raise errors[0]

    def _copy(self, cursor, chunks, bar) -> None:
        columns = ", ".join(COPY_COLUMNS)
        with cursor.cursor.copy(f"COPY catalog_product ({columns}) FROM STDIN") as copy:  # noqa: S608
            for chunk in chunks:
                text = "\n".join(chunk)
                copy.write(text + "\n")
                bar.update(text.count("\n") + 1)  # a variant family is one item of several rows

    def _run_parallel(self, statements: list[str], quiet: bool) -> None:
        workers = self._workers()
        pending: queue.Queue = queue.Queue()
        for ddl in sorted(statements, key=lambda d: "gin" not in d):  # the slow GIN builds first
            pending.put(ddl)
        progress = tqdm(total=len(statements), unit="index", file=self.stderr, disable=quiet)
        errors: list[BaseException] = []

        def build():
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SET maintenance_work_mem = '256MB'")
                    while True:
                        try:
                            ddl = pending.get_nowait()
                        except queue.Empty:
                            return
                        cursor.execute(ddl)
                        progress.update(1)
            except BaseException as exc:
                errors.append(exc)
            finally:
                if workers > 1:
                    connection.close()

        if workers == 1:
            build()
        else:
            threads = [threading.Thread(target=build) for _ in range(workers)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        progress.close()
        if errors:
            raise errors[0]


def _declared_indexes() -> dict[str, str]:
    """name -> CREATE INDEX of every non-constraint index of catalog_product: the model's
    (field db_index, Meta.indexes) plus the GIN indexes of migrations 0003 and 0011."""
    ddl = {}
    with connection.schema_editor(collect_sql=True) as editor:
        for statement in editor._model_indexes_sql(Product):
            sql = str(statement)
            match = re.match(r'CREATE INDEX "?([\w]+)"?', sql)
            if match:
                ddl[match.group(1)] = sql
    for name, sql in GIN_INDEXES.items():
        ddl[name] = sql
    return ddl


def _chunks(lines):
    chunk: list[str] = []
    for line in lines:
        chunk.append(line)
        if len(chunk) >= CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
