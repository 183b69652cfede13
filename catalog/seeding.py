"""Realistic, repeatable fake catalogs: `manage.py seed_catalog` (up to millions of products,
PostgreSQL COPY) and the demo catalog of `make run` share these generators.

Faker is called only to build small vocabularies (brand names, sentences); products are
then assembled from those pools with one seeded `random.Random`, which is what makes a
million rows take seconds rather than minutes, and the same seed give the same catalog."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.utils.text import slugify
from faker import Faker

DEPARTMENTS = [
    "Shoes", "Clothing", "Electronics", "Home", "Garden", "Kitchen", "Sports", "Outdoors", "Toys",
    "Books", "Beauty", "Health", "Automotive", "Tools", "Office", "Pets", "Music", "Jewelry",
    "Bags", "Furniture", "Lighting", "Baby", "Grocery", "Games",
]  # fmt: skip
SUBTYPES = [
    "Running", "Hiking", "Casual", "Formal", "Kids", "Women", "Men", "Accessories", "Essentials",
    "Premium", "Travel", "Winter", "Summer", "Classic", "Smart", "Outdoor", "Indoor", "Compact",
    "Professional", "Vintage", "Eco", "Wireless", "Portable", "Deluxe",
]  # fmt: skip
NOUNS = [
    "shoe", "sneaker", "boot", "jacket", "shirt", "hoodie", "backpack", "lamp", "chair", "table",
    "kettle", "blender", "headphones", "speaker", "watch", "camera", "tent", "bottle", "mug",
    "notebook", "pen", "drill", "hammer", "saw", "sofa", "pillow", "blanket", "helmet", "glove",
    "scarf", "sock", "cap", "umbrella", "wallet", "belt", "keyboard", "mouse", "monitor", "charger",
    "cable", "router", "toaster", "pan", "knife", "plate", "bowl", "vase", "candle", "rug", "mirror",
]  # fmt: skip
ADJECTIVES = [
    "lightweight", "durable", "classic", "modern", "compact", "ergonomic", "waterproof", "premium",
    "vintage", "smart", "wireless", "foldable", "insulated", "breathable", "rugged", "sleek",
    "organic", "handmade", "heavy-duty", "ultra", "soft", "quick-dry", "reflective", "adjustable",
]  # fmt: skip
COLORS = ["black", "white", "red", "blue", "green", "grey", "navy", "beige", "brown", "pink", "yellow", "orange"]
SIZES = ["XS", "S", "M", "L", "XL", "XXL"]
MATERIALS = ["cotton", "leather", "steel", "aluminium", "wood", "plastic", "wool", "polyester", "ceramic", "glass"]
EPOCH = datetime(2024, 1, 1, tzinfo=UTC)


@dataclass
class SeedCategory:
    id: uuid.UUID
    name: str
    slug: str
    parent_id: uuid.UUID | None
    path: str
    depth: int
    sort_order: int


@dataclass
class SeedBrand:
    id: uuid.UUID
    name: str
    slug: str


def save_taxonomy(categories: list[SeedCategory], brands: list[SeedBrand]) -> None:
    """Insert generated categories (with their materialised paths) and brands in bulk."""
    from catalog.models import Brand, Category

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
            )
            for c in categories
        ]
    )
    Brand.objects.bulk_create([Brand(id=b.id, name=b.name, slug=b.slug) for b in brands])


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def build_categories(rng: random.Random, count: int, *, slug_prefix: str = "") -> list[SeedCategory]:
    """Roots from DEPARTMENTS, then children (up to depth 3) under random earlier nodes."""
    cats: list[SeedCategory] = []
    roots = min(len(DEPARTMENTS), max(1, count // 6))
    for i in range(count):
        if i < roots:
            parent, name = None, DEPARTMENTS[i]
        else:
            candidates = [c for c in cats if c.depth < 3]
            parent = rng.choice(candidates)
            name = f"{rng.choice(SUBTYPES)} {parent.name.split()[-1]}"
        cid = _uuid(rng)
        path = f"{parent.path if parent else ''}{cid.hex}/"
        slug = f"{slug_prefix}{slugify(name)}-{i + 1}"
        cats.append(SeedCategory(cid, name, slug, parent.id if parent else None, path, path.count("/") - 1, i))
    return cats


def build_brands(rng: random.Random, fake: Faker, count: int, *, slug_prefix: str = "") -> list[SeedBrand]:
    brands = []
    for i in range(count):
        name = fake.company().replace(",", "")
        brands.append(SeedBrand(_uuid(rng), name, f"{slug_prefix}{slugify(name)[:100]}-{i + 1}"))
    return brands


def iter_products(
    rng: random.Random,
    fake: Faker,
    count: int,
    categories: list[SeedCategory],
    brands: list[SeedBrand],
    *,
    sku_prefix: str = "SKU-",
) -> Iterator[dict]:
    """Product rows as dicts of column values (attributes already JSON text)."""
    sentences = [fake.sentence(nb_words=10).replace("\t", " ") for _ in range(400)]
    leaves = categories  # products sit at every level, as in real shops
    span = 2 * 365 * 24 * 3600
    for i in range(count):
        noun = rng.choice(NOUNS)
        color = rng.choice(COLORS)
        name = f"{rng.choice(ADJECTIVES).capitalize()} {rng.choice(MATERIALS)} {noun}"
        attributes = {"color": color}
        if rng.random() < 0.6:
            attributes["size"] = rng.choice(SIZES)
        if rng.random() < 0.4:
            attributes["material"] = rng.choice(MATERIALS)
        price = Decimal(int(rng.lognormvariate(3.5, 1.0) * 100) + 99) / 100
        stock = 0 if rng.random() < 0.08 else rng.randint(1, 500)
        reviews = rng.randint(0, 200) if rng.random() < 0.5 else 0
        rating = Decimal(rng.randint(100, 500)) / 100 if reviews else Decimal("0")
        created = EPOCH + timedelta(seconds=rng.randint(0, span), microseconds=rng.randint(0, 999_999))
        brand = rng.choice(brands) if brands and rng.random() < 0.95 else None
        yield {
            "id": _uuid(rng),
            "slug": f"{slugify(name)}-{sku_prefix.lower().strip('-')}{i + 1}",
            "sku": f"{sku_prefix}{i + 1:08d}",
            "name": f"{name} {color}",
            "description": f"{rng.choice(sentences)} {rng.choice(sentences)} {noun.capitalize()} in {color}.",
            "price": price,
            "stock_quantity": stock,
            "category_id": rng.choice(leaves).id,
            "brand_id": brand.id if brand else None,
            "attributes": json.dumps(attributes),
            "is_active": rng.random() >= 0.03,
            "rating_avg": rating,
            "review_count": reviews,
            "created_at": created,
            "updated_at": created,
        }


# Variant families of seed_catalog: about PARENT_SHARE of the listed products are parents
# with 2-6 variants, of one of these types (slug -> name, the axis, the other attributes).
PARENT_SHARE = 0.3
SEED_TYPES = {
    "sized": ("Sized goods", "size", SIZES),
    "coloured": ("Coloured goods", "color", COLORS),
}


def save_product_types(rng: random.Random) -> dict[str, uuid.UUID]:
    """The product types of a seeded catalog: `sized` (variants by size; colour and
    material shared) and `coloured` (variants by colour; size and material shared).
    Returns slug -> id."""
    from catalog.models import AttributeDefinition, AttributeType, ProductType

    ids = {}
    for slug, (name, axis, _) in SEED_TYPES.items():
        product_type = ProductType.objects.create(id=_uuid(rng), slug=slug, name=name)
        definitions = {
            "color": (AttributeType.CHOICE, COLORS),
            "size": (AttributeType.CHOICE, SIZES),
            "material": (AttributeType.CHOICE, MATERIALS),
        }
        AttributeDefinition.objects.bulk_create(
            AttributeDefinition(
                product_type=product_type,
                slug=attr,
                name=attr.capitalize(),
                type=kind,
                values=list(values),
                is_variant_axis=attr == axis,
                sort_order=position,
            )
            for position, (attr, (kind, values)) in enumerate(definitions.items())
        )
        ids[slug] = product_type.id
    return ids


def iter_copy_lines(
    rng: random.Random,
    fake: Faker,
    count: int,
    categories: list[SeedCategory],
    brands: list[SeedBrand],
    *,
    sku_prefix: str = "SKU-",
    product_types: dict[str, uuid.UUID] | None = None,
) -> Iterator[str]:
    """The same kind of rows as `iter_products`, directly as PostgreSQL COPY text lines in
    COPY_COLUMNS order: the generic path costs ~65 s per million rows in Python alone,
    this one about a third of that (no Decimal/datetime/uuid objects, no slugify).

    With `product_types` (save_product_types), about PARENT_SHARE of the listed products
    are parents with 2-6 variants: `count` is the number of rows, variants included. A
    family (the parent and its variants) is one item of the iterator, its rows joined by
    newlines, so a COPY chunk never separates a variant from its parent."""
    sentences = [fake.sentence(nb_words=10).replace("\t", " ").replace("\\", "") for _ in range(400)]
    cat_ids = [c.id.hex for c in categories]
    brand_ids = [b.id.hex for b in brands]
    days = [(EPOCH + timedelta(days=d)).strftime("%Y-%m-%d") for d in range(730)]
    r, bits = rng.random, rng.getrandbits
    lognorm = rng.lognormvariate
    adjs = [a.capitalize() for a in ADJECTIVES]
    types = (
        [(product_types[slug], axis, values) for slug, (_, axis, values) in SEED_TYPES.items()] if product_types else []
    )
    # Each turn of the loop makes one listed product: a parent with this chance.
    family_chance = PARENT_SHARE if types else 0.0
    i = 0
    while i < count:
        i += 1
        noun = NOUNS[int(r() * len(NOUNS))]
        color = COLORS[int(r() * len(COLORS))]
        material = MATERIALS[int(r() * len(MATERIALS))]
        name = f"{adjs[int(r() * len(adjs))]} {material} {noun} {color}"
        size = SIZES[int(r() * len(SIZES))] if r() < 0.6 else None
        extra_material = MATERIALS[int(r() * len(MATERIALS))] if r() < 0.4 else None
        cents = int(lognorm(3.5, 1.0) * 100) + 99
        stock = 0 if r() < 0.08 else 1 + int(r() * 500)
        reviews = int(r() * 201) if r() < 0.5 else 0
        rating = f"{1 + int(r() * 400) / 100:.2f}" if reviews else "0"
        created = (
            f"{days[int(r() * 730)]} {int(r() * 24):02d}:{int(r() * 60):02d}:{int(r() * 60):02d}"
            f".{int(r() * 1_000_000):06d}+00"
        )
        brand = brand_ids[int(r() * len(brand_ids))] if brand_ids and r() < 0.95 else "\\N"
        category = cat_ids[int(r() * len(cat_ids))]
        description = f"{sentences[int(r() * 400)]} {sentences[int(r() * 400)]} {noun.capitalize()} in {color}."
        active = "f" if r() < 0.03 else "t"
        slug = f"{name.lower().replace(' ', '-')}-{i}"
        sku = f"{sku_prefix}{i:08d}"
        pk = f"{bits(128):032x}"
        n_variants = 2 + int(r() * 5) if types and count - i >= 2 and r() < family_chance else 0
        if not n_variants:
            attrs = f'{{"color": "{color}"'
            if size:
                attrs += f', "size": "{size}"'
            if extra_material:
                attrs += f', "material": "{extra_material}"'
            attrs += "}"
            yield (
                f"{pk}\t{slug}\t{sku}\t{name}\t{description}\t{cents // 100}.{cents % 100:02d}\t{stock}\t"
                f"{category}\t{brand}\t{attrs}\t{active}\t{rating}\t{reviews}\t{created}\t{created}"
                f"\tstandalone\t\\N\t\\N\t\\N"
            )
            continue
        type_id, axis, axis_values = types[int(r() * len(types))]
        n_variants = min(n_variants, len(axis_values), count - i)
        picked = rng.sample(axis_values, n_variants)
        shared = {"material": material}
        if axis == "size":
            shared["color"] = color
        elif size:
            shared["size"] = size
        parent_attrs = json.dumps(shared)
        rows = []
        low = high = None
        for k, value in enumerate(picked, start=1):
            v_cents = max(99, cents + int((r() - 0.5) * cents * 0.4))
            low = v_cents if low is None else min(low, v_cents)
            high = v_cents if high is None else max(high, v_cents)
            v_stock = 0 if r() < 0.15 else 1 + int(r() * 200)
            rows.append(
                f"{bits(128):032x}\t{slug}-{k}\t{sku}-{k}\t{name} ({value})\t{description}\t"
                f"{v_cents // 100}.{v_cents % 100:02d}\t{v_stock}\t{category}\t{brand}\t"
                f'{{"{axis}": "{value}"}}\t{active}\t0\t0\t{created}\t{created}\tchild\t{pk}\t{type_id.hex}\t\\N'
            )
        i += len(picked)
        # A parent's price range is its active variants' (they share its activity here).
        dearest = f"{high // 100}.{high % 100:02d}" if active == "t" else "\\N"
        parent = (
            f"{pk}\t{slug}\t{sku}\t{name}\t{description}\t{low // 100}.{low % 100:02d}\t0\t"
            f"{category}\t{brand}\t{parent_attrs}\t{active}\t{rating}\t{reviews}\t{created}\t{created}"
            f"\tparent\t\\N\t{type_id.hex}\t{dearest}"
        )
        yield "\n".join([parent, *rows])


# --- product images of generated catalogs ------------------------------------------------

SEED_IMAGE_COLORS = [
    ("#f4e1d2", "#c0392b"), ("#dfe9f3", "#2c3e50"), ("#e8f6ef", "#16a085"), ("#fdf2e9", "#d35400"),
    ("#f5eef8", "#8e44ad"), ("#fef9e7", "#b7950b"), ("#eaf2f8", "#2471a3"), ("#fdedec", "#922b21"),
]  # fmt: skip


def build_seed_images(count: int = 8, *, size: int = 480) -> list[dict]:
    """Draw `count` product pictures with Pillow (nothing is downloaded), store them as
    uploads are stored (catalog.images: re-encoded, content-hashed, so a second run reuses
    the files) with their thumbnails, and return the column values image rows need."""
    import io

    from PIL import Image, ImageDraw

    from catalog import images

    files = []
    for i in range(count):
        background, ink = SEED_IMAGE_COLORS[i % len(SEED_IMAGE_COLORS)]
        picture = Image.new("RGB", (size, size), background)
        draw = ImageDraw.Draw(picture)
        inset = size // 6 + (i // len(SEED_IMAGE_COLORS)) * 8
        box = (inset, inset, size - inset, size - inset)
        [draw.ellipse, draw.rectangle, draw.rounded_rectangle][i % 3](box, fill=ink)
        draw.text((size // 20, size // 20), f"#{i + 1}", fill=ink)
        buffer = io.BytesIO()
        picture.save(buffer, format="JPEG", quality=85)
        clean = images.clean_bytes(buffer.getvalue())
        name = images.store(clean)
        files.append(
            {"image": name, "width": clean.width, "height": clean.height, "thumbnails": images.make_thumbnails(name)}
        )
    return files


def insert_seed_images(files: list[dict], *, product_ids: list | None = None) -> int:
    """Give every product (or those of `product_ids`) 1-3 image rows pointing at `files`,
    chosen from a hash of its id: one INSERT ... SELECT on PostgreSQL (a million products
    in seconds), bulk_create elsewhere. Returns the number of rows."""
    from django.db import connection

    from catalog.models import Product, ProductImage

    if not files:
        return 0
    if connection.vendor == "postgresql" and product_ids is None:
        values = ", ".join(["(%s, %s, %s, %s, %s::jsonb)"] * len(files))
        params = []
        for k, f in enumerate(files):
            params += [k, f["image"], f["width"], f["height"], json.dumps(f["thumbnails"])]
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                INSERT INTO catalog_productimage
                    (id, product_id, image, alt_text, position, width, height, thumbnails, created_at)
                SELECT gen_random_uuid(), p.id, f.image, left(p.name, 255), g.n, f.width, f.height, f.thumbnails, now()
                  FROM catalog_product p
                 CROSS JOIN LATERAL generate_series(0, abs(hashtext(p.id::text)) %% 3) AS g(n)
                  JOIN (VALUES {values}) AS f(k, image, width, height, thumbnails)
                    ON f.k = (abs(hashtext(p.id::text)) + g.n) %% {len(files)}
                """,  # noqa: S608 - only placeholders and a count are formatted in  # nosec B608
                params,
            )
            return cursor.rowcount
    products = Product.objects.all() if product_ids is None else Product.objects.filter(pk__in=product_ids)
    rows = []
    for pid, name in products.values_list("id", "name").iterator():
        seed = uuid.UUID(str(pid)).int
        for n in range(seed % 3 + 1):
            f = files[(seed + n) % len(files)]
            rows.append(
                ProductImage(
                    product_id=pid, image=f["image"], alt_text=name[:255], position=n, width=f["width"],
                    height=f["height"], thumbnails=f["thumbnails"],
                )
            )  # fmt: skip
    ProductImage.objects.bulk_create(rows, batch_size=5000)
    return len(rows)
