from django.core.management.base import BaseCommand
from django.db import connection
from tqdm import tqdm

from catalog.models import Product
from catalog.services import catalog_changed

BATCH = 20_000


class Command(BaseCommand):
    help = "Recompute every product's full-text search vector (PostgreSQL), in batches."

    def handle(self, *args, **options):
        if connection.vendor != "postgresql":
            self.stdout.write("Search vectors exist on PostgreSQL only; nothing to do.")
            return
        ids = Product.objects.order_by("pk").values_list("pk", flat=True)
        total = ids.count()
        last = None
        with tqdm(total=total, unit="product", file=self.stderr, disable=options["verbosity"] == 0) as bar:
            while True:
                batch = ids.filter(pk__gt=last) if last else ids
                chunk = list(batch[:BATCH])
                if not chunk:
                    break
                with connection.cursor() as cursor:
                    cursor.execute(
                        "UPDATE catalog_product SET search_vector = "
                        "catalog_product_document(name, sku, description, brand_id) WHERE id = ANY(%s)",
                        [chunk],
                    )
                last = chunk[-1]
                bar.update(len(chunk))
        catalog_changed()
        self.stdout.write(f"rebuilt the search index of {total} products")
