import sys

from django.core.management.base import BaseCommand
from tqdm import tqdm

from catalog.csv_io import write_products
from catalog.models import Product


class Command(BaseCommand):
    help = "Write every product as CSV (the format import_products reads) to FILE or stdout."

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?", default="-")

    def handle(self, *args, file, **options):
        qs = Product.objects.select_related("category", "brand").defer("search_vector").order_by("sku")
        total = qs.count()
        rows = tqdm(qs.iterator(chunk_size=2000), total=total, unit="row", file=sys.stderr, disable=file == "-")
        if file == "-":
            n = write_products(self.stdout, rows)
        else:
            with open(file, "w", newline="", encoding="utf-8") as fh:
                n = write_products(fh, rows)
            self.stdout.write(f"exported {n} products to {file}")
