"""The demo catalog of `make run` (`manage.py load_demo`): a few hundred products in a
small category tree. Idempotent: it is created once, identified by its SKU prefix."""

from __future__ import annotations

import json
import random

from django.db import transaction
from faker import Faker

from catalog.models import Product
from catalog.seeding import (
    build_brands,
    build_categories,
    build_seed_images,
    insert_seed_images,
    iter_products,
    save_taxonomy,
)
from catalog.services import catalog_changed

SKU_PREFIX = "DEMO-"
PRODUCTS = 300


def load(stdout) -> None:
    if Product.objects.filter(sku__startswith=SKU_PREFIX).exists():
        stdout.write("Demo catalog already loaded.")
        return
    rng = random.Random(2026)
    fake = Faker("en_US")
    fake.seed_instance(2026)
    cats = build_categories(rng, 24, slug_prefix="demo-")
    brands = build_brands(rng, fake, 12, slug_prefix="demo-")
    with transaction.atomic():
        save_taxonomy(cats, brands)
        products = []
        for row in iter_products(rng, fake, PRODUCTS, cats, brands, sku_prefix=SKU_PREFIX):
            row["attributes"] = json.loads(row["attributes"])
            products.append(Product(**row))
        Product.objects.bulk_create(products)  # the search-vector trigger fills each row
        # Pictures drawn locally with Pillow (nothing downloaded), thumbnails made at once.
        images = insert_seed_images(build_seed_images(12), product_ids=[p.id for p in products])
        catalog_changed()
    stdout.write(f"Demo catalog: {len(cats)} categories, {len(brands)} brands, {PRODUCTS} products, {images} images.")
