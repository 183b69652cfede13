"""The demo catalog of `make run` (`manage.py load_demo`): a few hundred products in a
small category tree, and a few garments of a product type with sizes and colours, sold as
variants with their own SKU, price and stock. Idempotent: it is created once, identified by
its SKU prefix."""

from __future__ import annotations

import json
import random

from django.db import transaction
from faker import Faker

from catalog.models import AttributeType, Brand, Category, Product, ProductStructure, ProductType, StockReason
from catalog.seeding import (
    SIZES,
    build_brands,
    build_categories,
    build_seed_images,
    insert_seed_images,
    iter_products,
    save_taxonomy,
)
from catalog.services import catalog_changed, product_create, product_type_save, stock_move, variants_create

SKU_PREFIX = "DEMO-"
PRODUCTS = 300
# Garments sold in sizes and colours: (name, price, the sizes, the colours) of each parent.
GARMENTS = [
    ("Organic cotton T-shirt", "19.00", ["S", "M", "L", "XL"], ["black", "white", "navy"]),
    ("Merino crew sweater", "79.00", ["S", "M", "L"], ["grey", "navy"]),
    ("Hooded rain jacket", "129.00", ["M", "L", "XL"], ["yellow", "black"]),
    ("Linen summer shirt", "45.00", ["S", "M", "L"], ["white", "beige", "blue"]),
]


def load(stdout) -> None:
    if Product.objects.filter(sku__startswith=SKU_PREFIX).exists():
        _add_garments_to_an_older_demo(stdout)
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
        clothing = next((c for c in cats if c.name == "Clothing"), cats[0])
        parents, variants = _garments(rng, clothing.id, [b.id for b in brands])
        # Pictures drawn locally with Pillow (nothing downloaded), thumbnails made at once.
        images = insert_seed_images(build_seed_images(12), product_ids=[p.id for p in products + parents])
        catalog_changed()
    stdout.write(
        f"Demo catalog: {len(cats)} categories, {len(brands)} brands, {PRODUCTS} products, "
        f"{len(parents)} garments in {variants} variants (sizes and colours), {images} images."
    )


def _add_garments_to_an_older_demo(stdout) -> None:
    """A demo catalog loaded before it had garments gets them (once)."""
    if Product.objects.filter(sku__startswith=f"{SKU_PREFIX}G", structure=ProductStructure.PARENT).exists():
        return
    demo_categories = Category.objects.filter(slug__startswith="demo-")
    category = demo_categories.filter(name="Clothing").first() or demo_categories.order_by("path").first()
    brands = list(Brand.objects.filter(slug__startswith="demo-").values_list("id", flat=True))
    if category is None:
        return
    with transaction.atomic():
        parents, variants = _garments(random.Random(2026), category.id, brands or [None])
        insert_seed_images(build_seed_images(12), product_ids=[p.id for p in parents])
        catalog_changed()
    stdout.write(f"Demo catalog: added {len(parents)} garments in {variants} variants (sizes and colours).")


def _garments(rng: random.Random, category_id, brand_ids: list) -> tuple[list[Product], int]:
    """The garments: a product type with size and colour as variant axes (and a free-text
    care note; the one already there if a demo made it), a parent per garment and a variant
    per size and colour, each with stock through the stock ledger. Returns (the parents,
    the number of variants)."""
    garment = ProductType.objects.filter(slug="demo-garment").first() or product_type_save(
        ProductType(name="Garment", slug="demo-garment"),
        [
            {"slug": "size", "name": "Size", "type": AttributeType.CHOICE, "values": SIZES, "is_variant_axis": True},
            {"slug": "color", "name": "Colour", "type": AttributeType.CHOICE,
             "values": sorted({c for *_, colours in GARMENTS for c in colours}), "is_variant_axis": True},
            {"slug": "care", "name": "Care", "type": AttributeType.TEXT},
        ],
    )  # fmt: skip
    parents, variants = [], 0
    for n, (name, price, sizes, colours) in enumerate(GARMENTS, start=1):
        parent = product_create(
            name=name,
            sku=f"{SKU_PREFIX}G{n:02d}",
            description=f"{name}, in {len(sizes)} sizes and {len(colours)} colours.",
            price=price,
            category_id=category_id,
            brand_id=rng.choice(brand_ids),
            product_type=garment,
            structure=ProductStructure.PARENT,
            attributes={"care": "Machine wash at 30 °C"},
        )
        made = variants_create(parent, [{"size": size, "color": colour} for colour in colours for size in sizes])
        for variant in made:
            stock_move(variant.pk, set_to=rng.randint(0, 25), reason=StockReason.ADJUSTMENT, note="demo stock")
        parents.append(parent)
        variants += len(made)
    return parents, variants
