"""Writes to the catalog. Every write ends by invalidating cached catalog responses
(`catalog_changed`, on commit): the API, the admin and the management commands all write
through here, so there is one place where caches are invalidated."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import (
    Avg,
    Count,
    DecimalField,
    F,
    FloatField,
    IntegerField,
    Max,
    Min,
    OuterRef,
    ProtectedError,
    Q,
    Subquery,
)
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone
from django.utils.text import slugify

from accounts.errors import EmailNotVerified
from accounts.roles import is_staff_user
from catalog import images, tasks
from catalog.attributes import axis_values, clean_attributes, clean_choice_values
from catalog.cache import bump_catalog_generation, bump_stock_generations
from catalog.errors import (
    DuplicateVariant,
    InsufficientStock,
    InvalidParent,
    StockProductNotFound,
    VariantRequired,
)
from catalog.models import (
    AttributeDefinition,
    AttributeType,
    Brand,
    Category,
    Product,
    ProductImage,
    ProductStructure,
    ProductType,
    Review,
    StockMove,
    StockReason,
)
from catalog.selectors import product_stock_levels, review_is_verified_purchase
from core.errors import Conflict, Forbidden, InvalidInput, Protected
from core.jobs import enqueue


class AlreadyReviewed(Conflict):
    code = "already_reviewed"
    default_detail = "You have already reviewed this product."


def catalog_changed() -> None:
    """Invalidate cached catalog responses once the current transaction commits."""
    transaction.on_commit(bump_catalog_generation)


def product_stock_changed(
    product_ids: Iterable[UUID] | Mapping[UUID, int],
    *,
    after: Mapping[UUID, int] | None = None,
    parents: Iterable[UUID] = (),
) -> None:
    """Called by every stock move (checkout, cancellation, expiry, adjustments) inside its
    transaction, after the move, with the rows still locked. On commit, the next GET of
    any cached page showing these products merges in their new stock (the pages stay
    cached: catalog.cache), and staff details of them re-render.

    Pass the moves as `{product_id: delta}` when known: then pages filtered by `in_stock`
    (and their facets) are invalidated only when a move takes a product into or out of
    stock (`after`, the levels after the move, when the mover holds them; else one query
    reads them). With bare ids every move is assumed to cross zero.

    `parents`: the parents of moved variants. A parent shows its variants' stock (and is in
    stock when one of them is), so its cached stock entry is replaced too."""
    if isinstance(product_ids, Mapping):
        deltas = {str(pk): int(delta) for pk, delta in product_ids.items()}
        if after is None:
            levels = {pk: quantity for pk, (quantity, _) in product_stock_levels(deltas).items()}
        else:
            levels = {str(pk): int(quantity) for pk, quantity in after.items()}
        crossed = any((levels.get(pk, 0) > 0) != (levels.get(pk, 0) - delta > 0) for pk, delta in deltas.items())
        ids = list(deltas)
    else:
        ids, crossed = [str(pk) for pk in product_ids], True
    ids += [str(pk) for pk in parents]
    transaction.on_commit(lambda: bump_stock_generations(ids, in_stock_changed=crossed))


def unique_slug(model, base: str, *, exclude_pk=None, max_length: int = 140) -> str:
    """`base` slugified, suffixed -2, -3... until unused."""
    root = (slugify(base) or "item")[: max_length - 8]
    slug, n = root, 1
    qs = model.objects.all()
    if exclude_pk is not None:
        qs = qs.exclude(pk=exclude_pk)
    while qs.filter(slug=slug).exists():
        n += 1
        slug = f"{root}-{n}"
    return slug


# --- categories ------------------------------------------------------------------------


@transaction.atomic
def category_save(category: Category) -> Category:
    """Create or update a category, keeping the materialised path of it and of its whole
    subtree current. Raises InvalidInput when the new parent is the category or one of its
    descendants (a cycle)."""
    old_path = None
    if not category._state.adding:
        old_path = Category.objects.filter(pk=category.pk).values_list("path", flat=True).first()
    parent = None
    if category.parent_id:
        parent = Category.objects.select_for_update().get(pk=category.parent_id)
        if old_path and parent.path.startswith(old_path):
            raise InvalidInput("A category cannot be moved under itself or its descendants.", attr="parent")
    if not category.slug:
        category.slug = unique_slug(Category, category.name, exclude_pk=category.pk)
    category.path = f"{parent.path if parent else ''}{category.pk.hex}/"
    category.depth = parent.depth + 1 if parent else 0
    category.save()
    if old_path and old_path != category.path:
        _move_subtree(old_path, category.path, category.depth)
    catalog_changed()
    return category


def _move_subtree(old_path: str, new_path: str, new_depth: int) -> None:
    descendants = list(Category.objects.filter(path__startswith=old_path).exclude(path=old_path))
    for cat in descendants:
        cat.path = new_path + cat.path[len(old_path) :]
        cat.depth = cat.path.count("/") - 1
    Category.objects.bulk_update(descendants, ["path", "depth"])


def category_create(**data: Any) -> Category:
    return category_save(Category(**data))


def category_update(category: Category, **data: Any) -> Category:
    for key, value in data.items():
        setattr(category, key, value)
    return category_save(category)


@transaction.atomic
def category_delete(category: Category) -> None:
    """Raises Protected (409) when the category has products or children."""
    if category.children.exists() or category.products.exists():
        raise Protected("This category has products or subcategories and cannot be deleted.")
    try:
        category.delete()
    except ProtectedError:
        raise Protected()
    catalog_changed()


# --- brands ----------------------------------------------------------------------------


@transaction.atomic
def brand_save(brand: Brand) -> Brand:
    if not brand.slug:
        brand.slug = unique_slug(Brand, brand.name, exclude_pk=brand.pk)
    brand.save()  # a rename re-indexes the brand's products (database trigger)
    catalog_changed()
    return brand


def brand_create(**data: Any) -> Brand:
    return brand_save(Brand(**data))


def brand_update(brand: Brand, **data: Any) -> Brand:
    for key, value in data.items():
        setattr(brand, key, value)
    return brand_save(brand)


@transaction.atomic
def brand_delete(brand: Brand) -> None:
    """Raises Protected (409) when products carry the brand."""
    try:
        brand.delete()
    except ProtectedError:
        raise Protected("This brand has products and cannot be deleted.")
    catalog_changed()


# --- products --------------------------------------------------------------------------


# Columns a product edit never writes: stock moves only through the stock ledger
# (stock_move / stock_move_many: locked, relative, recorded) and the rating counters only
# through product_rating_refresh. A form or a PATCH that wrote them back would undo the
# checkouts and reviews committed since it read the row.
PRODUCT_COUNTER_FIELDS = frozenset({"stock_quantity", "rating_avg", "review_count"})
# discounted_price belongs to the promotions service (product_discounted_prices_set).
# created_by/updated_by are set by product_save from its `by`, never from a form. `structure`
# is kept by the variant rules below (a product becomes a parent when its first variant is
# created) and `parent` is set once, at creation: neither is written back by an edit; nor
# is variant_price_max, kept from the variants by product_refresh_parent_prices.
_PRODUCT_NOT_EDITABLE = PRODUCT_COUNTER_FIELDS | {
    "id", "created_at", "search_vector", "discounted_price", "created_by", "updated_by", "structure", "parent",
    "variant_price_max",
}  # fmt: skip
PRODUCT_EDITABLE_FIELDS = tuple(f.name for f in Product._meta.concrete_fields if f.name not in _PRODUCT_NOT_EDITABLE)


# Generated SKUs: letters of the name, then random characters that cannot be misread
# (no 0/O, 1/I/L): "LCS-7K3QX2" for a "Lightweight cotton shoe".
SKU_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
SKU_RANDOM_LENGTH = 6


def product_sku_generate(name: str) -> str:
    """A readable SKU not yet used: up to three initials of the name's words and six
    random characters (31^6 ≈ 887 million per prefix; a taken one is drawn again)."""
    words = [w for w in slugify(name).split("-") if w and w[0].isalnum()]
    prefix = "".join(w[0] for w in words[:3]).upper() or "P"
    while True:
        sku = f"{prefix}-{''.join(secrets.choice(SKU_ALPHABET) for _ in range(SKU_RANDOM_LENGTH))}"
        if not Product.objects.filter(sku=sku).exists():
            return sku


def _user_or_none(by):
    return by if by is not None and getattr(by, "is_authenticated", False) else None


@transaction.atomic
def product_save(product: Product, *, fields: Iterable[str] | None = None, by=None) -> Product:
    """Create a product, or save `fields` of an existing one (default: every editable
    field), with `save(update_fields=...)`: an edit writes only what it changes and never
    stock_quantity, rating_avg or review_count (ValueError if asked to). A new product is
    inserted whole: the stock it is created with is its opening level, not a stock move
    (no one else can have moved the stock of a row that did not exist).

    `by` (the user writing, if any) is recorded as `created_by` and `updated_by` of a new
    product and as `updated_by` of an edit that changes something.

    Generates the slug from the name when empty, and a readable unique SKU when empty
    (product_sku_generate). The search vector is kept current by the database trigger.
    Raises Conflict `unique` for a taken SKU or slug. Invalidates caches on commit.

    Types and variants (see product_check_structure): the attributes are checked against
    the product type (InvalidAttribute); a product created with `parent` is a variant
    (InvalidParent, DuplicateVariant); a variant's price or activity change re-prices its
    parent (the lowest price of its active variants)."""
    update_fields = None
    user = _user_or_none(by)
    adding = product._state.adding
    names: set[str] = set()
    if not adding:
        names = set(PRODUCT_EDITABLE_FIELDS if fields is None else fields)
        counters = names & PRODUCT_COUNTER_FIELDS
        if counters:
            raise ValueError(f"{', '.join(sorted(counters))} cannot be saved with the product: use its service")
        update_fields = {*names, "updated_at"}
    elif user is not None:
        product.created_by = product.created_by or user
        product.updated_by = user
    product_check_structure(product, adding=adding, fields=names)
    if not product.slug:
        product.slug = unique_slug(Product, product.name, exclude_pk=product.pk, max_length=255)
        if update_fields is not None:
            update_fields.add("slug")
    generated_sku = not product.sku
    if generated_sku:
        product.sku = product_sku_generate(product.name)
        if update_fields is not None:
            update_fields.add("sku")
    if update_fields == {"updated_at"}:
        return product  # nothing of the product changed (a stock-only PATCH, an untouched form)
    if update_fields is not None and user is not None:
        product.updated_by = user
        update_fields.add("updated_by")
    for attempt in range(3):
        try:
            with transaction.atomic():
                product.save(update_fields=update_fields)
            break
        except IntegrityError as exc:
            if generated_sku and attempt < 2 and Product.objects.filter(sku=product.sku).exists():
                product.sku = product_sku_generate(product.name)  # drawn by someone else meanwhile
                continue
            raise Conflict("A product with this SKU or slug already exists.", code="unique") from exc
    if product.parent_id and (adding or names & {"price", "is_active"}):
        product_refresh_parent_prices([product.parent_id])
    elif product.structure == ProductStructure.PARENT and "price" in names:
        product_refresh_parent_prices([product.pk])  # a parent's price is its variants' lowest
    catalog_changed()
    return product


def product_discounted_prices_set(prices: Mapping[UUID, Decimal | None]) -> int:
    """Write the promoted price of each product in `prices` (None: no promotion runs for
    it), touching only rows whose value changes; the catalog caches are invalidated on
    commit when any did. Called by the promotions service, the only writer of the column.
    Returns how many products changed."""
    if not prices:
        return 0
    current = dict(Product.objects.filter(pk__in=list(prices)).values_list("pk", "discounted_price"))
    changed = [pk for pk, value in prices.items() if pk in current and current[pk] != value]
    if not changed:
        return 0
    rows = [Product(pk=pk, discounted_price=prices[pk]) for pk in changed]
    Product.objects.bulk_update(rows, ["discounted_price"], batch_size=500)
    catalog_changed()
    return len(changed)


# --- product types and variants --------------------------------------------------------


def _definitions(product_type_id) -> list[AttributeDefinition] | None:
    if product_type_id is None:
        return None
    return list(AttributeDefinition.objects.filter(product_type_id=product_type_id).order_by("sort_order", "id"))


def product_check_structure(product: Product, *, adding: bool, fields: set[str]) -> None:
    """The rules of types and variants for a product about to be saved (`fields`: what an
    edit writes; ignored when `adding`). Runs inside product_save's transaction.

    - A product created with `parent` is a variant: it takes the parent's type (and its
      category and brand unless given), and the parent, locked, becomes a parent if it was
      standalone. InvalidParent when the parent is a variant itself, holds stock (a parent
      is not sold: move its stock to 0 first) or has no type with a variant axis. A
      variant's parent never changes, nor does its type, nor a parent's type.
    - The attributes are cleaned against the type (catalog.attributes; a variant must give
      every axis) and a variant's axis values must differ from its siblings' (under the
      parent's row lock, so two concurrent creations cannot both pass): DuplicateVariant."""
    if not adding:
        if "parent" in fields or "structure" in fields:
            raise InvalidParent("A product's parent is set when the variant is created and never changes.")
        if "product_type" in fields and product.structure != ProductStructure.STANDALONE:
            current = Product.objects.filter(pk=product.pk).values_list("product_type_id", flat=True).first()
            if current != product.product_type_id:
                raise InvalidParent("The type of a parent or of a variant cannot change (its variants rely on it).")
    parent = None
    if product.parent_id and (adding or "attributes" in fields):
        parent = Product.objects.select_for_update().filter(pk=product.parent_id).first()
        if parent is None:
            raise InvalidParent("No such parent product.", attr="parent")
    if adding and parent is not None:
        _adopt(parent, product)
    if adding or fields & {"attributes", "product_type"}:
        definitions = _definitions(product.product_type_id)
        product.attributes = clean_attributes(
            product.attributes, definitions, variant=product.structure == ProductStructure.CHILD
        )
        if parent is not None:
            _check_unique_axes(product, definitions or [])


def _adopt(parent: Product, variant: Product) -> None:
    if parent.structure == ProductStructure.CHILD:
        raise InvalidParent("A variant cannot have variants of its own.", attr="parent")
    if parent.product_type_id is None or not AttributeDefinition.objects.filter(
        product_type_id=parent.product_type_id, is_variant_axis=True
    ):
        raise InvalidParent("The parent needs a product type with a variant axis (size, colour...).", attr="parent")
    if parent.structure == ProductStructure.STANDALONE:
        if parent.stock_quantity:
            raise InvalidParent(
                "The parent holds stock of its own; a parent is not sold, so move its stock to 0 first.",
                attr="parent",
            )
        Product.objects.filter(pk=parent.pk).update(structure=ProductStructure.PARENT, updated_at=timezone.now())
        parent.structure = ProductStructure.PARENT
    variant.structure = ProductStructure.CHILD
    variant.product_type_id = parent.product_type_id
    if not variant.category_id:
        variant.category_id = parent.category_id
    if not variant.brand_id:
        variant.brand_id = parent.brand_id


def _check_unique_axes(variant: Product, definitions: list[AttributeDefinition]) -> None:
    mine = axis_values(variant.attributes, definitions)
    siblings = Product.objects.filter(parent_id=variant.parent_id).exclude(pk=variant.pk)
    if any(axis_values(attrs or {}, definitions) == mine for attrs in siblings.values_list("attributes", flat=True)):
        shown = ", ".join(f"{d.slug}={variant.attributes.get(d.slug)}" for d in definitions if d.is_variant_axis)
        raise DuplicateVariant(f"This parent already has a variant with {shown}.", attr="attributes")


def product_refresh_parent_prices(parent_ids: Iterable[UUID]) -> None:
    """Set each parent's price to the lowest price of its active variants (kept when it has
    none) and its variant_price_max to their highest (null when it has none): what lists
    order a parent by, and the range the price filters test a parent's row against before
    looking at its variants (catalog.filters). Every write that adds, removes, re-prices,
    activates or deactivates a variant calls this, in its transaction. One UPDATE."""
    ids = list(set(parent_ids))
    if not ids:
        return
    active = Product.objects.filter(parent=OuterRef("pk"), is_active=True).order_by().values("parent")
    Product.objects.filter(pk__in=ids, structure=ProductStructure.PARENT).update(
        price=Coalesce(Subquery(active.annotate(low=Min("price")).values("low")), F("price")),
        variant_price_max=Subquery(active.annotate(high=Max("price")).values("high")),
    )


def variant_axis_combinations(parent: Product) -> list[tuple[AttributeDefinition, list]]:
    """(axis definition, its possible values) of a parent's type: the choices of a choice
    axis, [true, false] for a boolean; a text or number axis has no fixed values (empty)."""
    result = []
    for definition in _definitions(parent.product_type_id) or []:
        if not definition.is_variant_axis:
            continue
        if definition.type == AttributeType.CHOICE:
            result.append((definition, list(definition.values)))
        elif definition.type == AttributeType.BOOLEAN:
            result.append((definition, [True, False]))
        else:
            result.append((definition, []))
    return result


@transaction.atomic
def variants_create(
    parent: Product,
    combinations: Iterable[Mapping[str, Any]],
    *,
    price=None,
    sku_prefix: str | None = None,
    by=None,
) -> list[Product]:
    """Create one variant of `parent` per axis-value combination (each a {slug: value}
    mapping), skipping combinations the parent already has. SKUs are
    `<prefix>-<value>-<value>` (prefix: the parent's SKU), names `<parent> (<values>)`,
    price the given one or the parent's, weight and tax class the parent's, stock 0 (stock
    arrives through the ledger). Raises what product_save raises."""
    created = []
    prefix = sku_prefix or parent.sku
    price = parent.price if price is None else price
    definitions = _definitions(parent.product_type_id) or []
    Product.objects.select_for_update().filter(pk=parent.pk).first()
    existing = {
        axis_values(attrs or {}, definitions)
        for attrs in Product.objects.filter(parent=parent).values_list("attributes", flat=True)
    }
    for combination in combinations:
        attributes = dict(combination)
        if axis_values(attributes, definitions) in existing:
            continue
        label = [str(v).lower() if isinstance(v, bool) else str(v) for v in attributes.values()]
        sku = "-".join([prefix, *(slugify(v) or "x" for v in label)])[:64]
        variant = Product(
            parent=parent,
            sku=sku,
            name=f"{parent.name} ({' / '.join(label)})"[:255],
            description=parent.description,
            price=price,
            attributes=attributes,
            is_active=parent.is_active,
            **{name: getattr(parent, name) for name in VARIANT_INHERITED_FIELDS},
        )
        product_save(variant, by=by)
        existing.add(axis_values(variant.attributes, definitions))
        created.append(variant)
    return created


@transaction.atomic
def product_type_save(product_type: ProductType, attributes: list[Mapping[str, Any]] | None = None) -> ProductType:
    """Create or update a product type and, when `attributes` is given, replace its
    attribute definitions with that list ({slug, name, type, values, is_variant_axis}, in
    order). Once products have the type, a change may only add non-axis attributes, rename
    them, reorder them and add choice values: anything that could make a stored product
    invalid (removing an attribute, changing its type or axis flag, removing a choice) is
    Protected (409). InvalidInput for a bad definition; Conflict `unique` for a taken slug."""
    if not product_type.slug:
        product_type.slug = unique_slug(ProductType, product_type.name, exclude_pk=product_type.pk)
    try:
        with transaction.atomic():
            product_type.save()
    except IntegrityError as exc:
        raise Conflict("A product type with this slug already exists.", code="unique", attr="slug") from exc
    if attributes is not None:
        _replace_definitions(product_type, attributes)
    catalog_changed()
    return product_type


def _replace_definitions(product_type: ProductType, attributes: list[Mapping[str, Any]]) -> None:
    old = {d.slug: d for d in AttributeDefinition.objects.select_for_update().filter(product_type=product_type)}
    used = Product.objects.filter(product_type=product_type).exists()
    seen: set[str] = set()
    keep: list[AttributeDefinition] = []
    for position, data in enumerate(attributes):
        slug = data["slug"]
        if slug in seen:
            raise InvalidInput(f"Attribute '{slug}' is listed twice.", attr="attributes")
        seen.add(slug)
        kind = data.get("type", AttributeType.TEXT)
        try:
            values = clean_choice_values(kind, data.get("values") or [])
        except ValueError as exc:
            raise InvalidInput(f"'{slug}': {exc}", attr="attributes") from None
        axis = bool(data.get("is_variant_axis", False))
        definition = old.get(slug) or AttributeDefinition(product_type=product_type, slug=slug)
        if used:
            if definition.pk is None and axis:
                raise Protected(f"Products have this type: a new attribute '{slug}' cannot be a variant axis.")
            if definition.pk is not None and (
                definition.type != kind
                or definition.is_variant_axis != axis
                or not set(definition.values or []) <= set(values)
            ):
                raise Protected(
                    f"Products have this type: '{slug}' may be renamed or given more choices, "
                    "not change its type, its axis flag or lose choices."
                )
        definition.name = data.get("name") or slug
        definition.type, definition.values, definition.is_variant_axis = kind, values, axis
        definition.sort_order = position
        definition.save()
        keep.append(definition)
    removed = [d for slug, d in old.items() if slug not in seen]
    if removed and used:
        raise Protected(
            f"Products have this type: attribute(s) {', '.join(d.slug for d in removed)} cannot be removed."
        )
    AttributeDefinition.objects.filter(pk__in=[d.pk for d in removed]).delete()


@transaction.atomic
def product_type_delete(product_type: ProductType) -> None:
    """Raises Protected (409) when products have the type."""
    try:
        with transaction.atomic():
            product_type.delete()
    except ProtectedError:
        raise Protected("Products have this type; it cannot be deleted.")
    catalog_changed()


# What a variant has as its parent has it unless it is given its own: it ships and is taxed
# as its parent (a T-shirt's sizes weigh what the T-shirt weighs, and a children's shirt
# is zero-rated in every size), until a variant is given a weight or tax class of its own.
VARIANT_INHERITED_FIELDS = ("weight", "tax_class")


def product_create(*, by=None, **data: Any) -> Product:
    """A new product from `data` (product_save). A variant (`parent` given) not given a
    weight or tax class takes its parent's (VARIANT_INHERITED_FIELDS)."""
    parent = data.get("parent")
    if parent is not None:
        for name in VARIANT_INHERITED_FIELDS:
            data.setdefault(name, getattr(parent, name))
    return product_save(Product(**data), by=by)


@transaction.atomic
def product_update(
    product: Product, *, by=None, stock_reason: str = StockReason.ADJUSTMENT, stock_note: str = "", **data: Any
) -> Product:
    """Change the given fields of `product` (only those are written; `by` is recorded as
    `updated_by` when something changed). A `stock_quantity`
    in `data` is a stock count, not a field write: it goes through
    stock_move(set_to=..., reason=stock_reason, by=by) in the same transaction, so the
    delta is computed against the locked current level and recorded in the ledger."""
    stock_level = data.pop("stock_quantity", None)
    for key, value in data.items():
        setattr(product, key, value)
    product_save(product, fields=data.keys(), by=by)
    if stock_level is not None:
        stock_move(product.pk, set_to=stock_level, reason=stock_reason, by=by, note=stock_note)
        product.stock_quantity = stock_level
    return product


@transaction.atomic
def product_delete(product: Product) -> None:
    """Raises Protected (409) when an order references the product (PROTECT foreign key), or
    one of its variants (a parent's variants go with it). Its images (and its variants')
    go with it (cascade), and their files once the deletion has committed."""
    files = _lock_image_files(ProductImage.objects.filter(Q(product=product) | Q(product__parent=product)))
    parent_id = product.parent_id
    try:
        with transaction.atomic():
            product.delete()
    except ProtectedError:
        raise Protected("This product appears in orders and cannot be deleted; deactivate it instead.")
    _delete_image_files_on_commit(files)
    if parent_id:
        product_refresh_parent_prices([parent_id])
    catalog_changed()


@transaction.atomic
def product_set_active(product_ids: Iterable[UUID], active: bool, *, by=None) -> int:
    """Bulk (de)activation (admin actions); `by` is recorded as `updated_by`. Returns the
    number of products changed."""
    changed = Product.objects.filter(pk__in=list(product_ids)).exclude(is_active=active)
    parents = set(changed.filter(parent__isnull=False).values_list("parent_id", flat=True))
    values: dict[str, Any] = {"is_active": active, "updated_at": timezone.now()}
    if _user_or_none(by) is not None:
        values["updated_by"] = by
    count = changed.update(**values)
    product_refresh_parent_prices(parents)
    catalog_changed()
    return count


# --- product images --------------------------------------------------------------------


def _next_image_position(product: Product) -> int:
    last = ProductImage.objects.filter(product=product).aggregate(last=Max("position"))["last"]
    return 0 if last is None else last + 1


@transaction.atomic
def product_image_add(product: Product, *, upload, alt_text: str = "", position: int | None = None) -> ProductImage:
    """Check and clean the uploaded file (catalog.images.clean_upload: InvalidImage or
    FileTooLarge, 400), store it under its content name, record the image (at the end of
    the product's images unless `position` is given) and enqueue its thumbnails job in
    the same transaction. Thumbnails are null until the job has run."""
    clean = images.clean_upload(upload)
    name = images.store(clean)
    image = ProductImage.objects.create(
        product=product,
        image=name,
        alt_text=alt_text,
        position=_next_image_position(product) if position is None else position,
        width=clean.width,
        height=clean.height,
    )
    enqueue(tasks.make_product_image_thumbnails, str(image.pk))
    catalog_changed()
    return image


@transaction.atomic
def product_image_update(image: ProductImage, **data: Any) -> ProductImage:
    """Change `alt_text` and/or `position` (only those are written)."""
    unknown = set(data) - {"alt_text", "position"}
    if unknown:
        raise ValueError(f"not editable: {', '.join(sorted(unknown))}")
    for key, value in data.items():
        setattr(image, key, value)
    if data:
        image.save(update_fields=list(data))
        catalog_changed()
    return image


@transaction.atomic
def product_image_delete(image: ProductImage) -> None:
    """Delete the image; its file and thumbnails are deleted once this commits (unless
    another image row shows the same file)."""
    files = _lock_image_files(ProductImage.objects.filter(pk=image.pk))
    ProductImage.objects.filter(pk=image.pk).delete()
    _delete_image_files_on_commit(files)
    catalog_changed()


def product_image_make_thumbnails(image_id) -> bool:
    """The thumbnails job: make the image's missing WebP thumbnails (one per
    IMAGE_THUMBNAIL_SIZES) and record them. Idempotent: an image whose thumbnails are
    recorded (or that is gone) is left alone, and a thumbnail made again overwrites the
    same file. The row is locked meanwhile, so a deletion waits and then sees the
    thumbnails it must remove. Returns whether anything was made."""
    with transaction.atomic():
        image = ProductImage.objects.select_for_update().filter(pk=image_id).first()
        if image is None:
            return False
        thumbnails = image.thumbnails if isinstance(image.thumbnails, dict) else {}
        missing = [size for size in settings.IMAGE_THUMBNAIL_SIZES if not thumbnails.get(size)]
        if not missing:
            return False
        image.thumbnails = {**thumbnails, **images.make_thumbnails(image.image, only=missing)}
        image.save(update_fields=["thumbnails"])
        catalog_changed()
    return True


def _lock_image_files(queryset) -> dict[str, list[str]]:
    """{source file: [its thumbnails]} of the images in `queryset`, read under their row
    locks (a running thumbnails job finishes first, so its files are included)."""
    files: dict[str, list[str]] = {}
    for name, thumbnails in queryset.select_for_update().values_list("image", "thumbnails"):
        files.setdefault(name, []).extend((thumbnails or {}).values())
    return files


def _delete_image_files_on_commit(files: dict[str, list[str]]) -> None:
    if files:
        transaction.on_commit(lambda: delete_unused_image_files(files))


def delete_unused_image_files(files: dict[str, list[str]]) -> None:
    """Delete each source file, and its thumbnails, that no image row uses any more
    (equal uploads share a file)."""
    used = set(ProductImage.objects.filter(image__in=list(files)).values_list("image", flat=True))
    for name, thumbnails in files.items():
        if name not in used:
            images.delete_files([*thumbnails, *images.thumbnail_names(name), name])


# --- reviews ---------------------------------------------------------------------------


@transaction.atomic
def review_create(*, user, product: Product, rating: int, title: str = "", body: str = "") -> Review:
    """One review per user and product (else AlreadyReviewed, 409), by a user whose email
    is verified (else EmailNotVerified, 403: an unverified address is a throwaway account).
    With REVIEWS_REQUIRE_APPROVAL the review is held (`is_approved=False`: not listed, not
    counted) until review_moderate approves it. Locks the product row while its
    denormalised rating_avg/review_count are recomputed."""
    if not getattr(user, "is_verified", False):
        raise EmailNotVerified("Verify your email address before reviewing a product.")
    if not 1 <= int(rating) <= 5:
        raise InvalidInput("Rating must be between 1 and 5.", attr="rating")
    Product.objects.select_for_update().filter(pk=product.pk).first()
    if Review.objects.filter(user=user, product=product).exists():
        raise AlreadyReviewed()
    review = Review(
        user=user,
        product=product,
        rating=rating,
        title=title,
        body=body,
        verified_purchase=review_is_verified_purchase(user, product),
        is_approved=not settings.REVIEWS_REQUIRE_APPROVAL,
    )
    try:
        with transaction.atomic():
            review.save()
    except IntegrityError:
        raise AlreadyReviewed()
    product_rating_refresh(product)
    return review


@transaction.atomic
def review_update(review: Review, **data: Any) -> Review:
    """The author changes `rating`, `title` and/or `body` (only those are written). With
    REVIEWS_REQUIRE_APPROVAL a changed review goes back to moderation (is_approved=False)
    until staff approve it again. Locks the product row while its rating is recomputed."""
    unknown = set(data) - {"rating", "title", "body"}
    if unknown:
        raise ValueError(f"not editable by the author: {', '.join(sorted(unknown))}")
    if "rating" in data and not 1 <= int(data["rating"]) <= 5:
        raise InvalidInput("Rating must be between 1 and 5.", attr="rating")
    changed = [key for key, value in data.items() if getattr(review, key) != value]
    if not changed:
        return review
    Product.objects.select_for_update().filter(pk=review.product_id).first()
    for key in changed:
        setattr(review, key, data[key])
    if settings.REVIEWS_REQUIRE_APPROVAL and review.is_approved:
        review.is_approved = False
        changed.append("is_approved")
    review.save(update_fields=changed)
    product_rating_refresh(review.product)
    return review


@transaction.atomic
def review_edit(review: Review, *, by, is_approved: bool | None = None, **content: Any) -> Review:
    """One PATCH of a review: the author changes its `content` (rating, title, body:
    review_update), staff set `is_approved` (review_moderate). Forbidden (403) for a
    non-staff user setting `is_approved`, or for staff changing someone else's words.
    The caller has already scoped the review to what `by` may reach (else 404)."""
    if is_approved is not None and not is_staff_user(by):
        raise Forbidden("Only staff can approve or hide a review.", attr="is_approved")
    if content and review.user_id != getattr(by, "pk", None):
        raise Forbidden("Only the author can change what a review says.")
    if content:
        review_update(review, **content)
    if is_approved is not None:
        review_moderate(review, approved=is_approved)
    return review


@transaction.atomic
def review_moderate(review: Review, *, approved: bool) -> Review:
    """Staff approve (listed, counted in rating_avg/review_count) or hide a review."""
    if review.is_approved != approved:
        Product.objects.select_for_update().filter(pk=review.product_id).first()
        review.is_approved = approved
        review.save(update_fields=["is_approved"])
        product_rating_refresh(review.product)
    return review


@transaction.atomic
def review_delete(review: Review) -> None:
    """The author or staff delete a review; the product's rating is recomputed."""
    product = review.product
    Product.objects.select_for_update().filter(pk=product.pk).first()
    review.delete()
    product_rating_refresh(product)


def review_set_verified_purchase(user_id, product_ids: Iterable[UUID], *, verified: bool) -> int:
    """Mark `user_id`'s reviews of these products as verified purchases (orders calls it
    when an order is paid) or not (when the last paid order of a product is cancelled).
    Runs in the caller's transaction; returns the number of reviews changed. Cached
    catalog responses do not show `verified_purchase`, so no cache is invalidated."""
    if user_id is None:  # an order whose customer's account was erased: their reviews are detached too
        return 0
    return (
        Review.objects.filter(user_id=user_id, product_id__in=list(product_ids))
        .exclude(verified_purchase=verified)
        .update(verified_purchase=verified)
    )


def product_rating_refresh(product: Product) -> None:
    """Recompute the denormalised rating from approved reviews: one UPDATE of rating_avg
    and review_count computed in SQL (nothing read first, so nothing stale is written
    back, and no other column is touched)."""
    approved = Review.objects.filter(product=OuterRef("pk"), is_approved=True).order_by().values("product")
    average = Subquery(approved.annotate(avg=Avg("rating")).values("avg"), output_field=FloatField())
    count = Subquery(approved.annotate(n=Count("id")).values("n"), output_field=IntegerField())
    Product.objects.filter(pk=product.pk).update(
        rating_avg=Cast(Coalesce(average, 0.0), DecimalField(max_digits=3, decimal_places=2)),
        review_count=Coalesce(count, 0),
    )
    product.refresh_from_db(fields=["rating_avg", "review_count"])
    catalog_changed()


# --- stock: the one way stock moves ------------------------------------------------------


def _product_uuid(value) -> UUID:
    try:
        return value if isinstance(value, UUID) else UUID(str(value))
    except ValueError:
        raise StockProductNotFound() from None


def stock_lock(product_ids: Iterable[UUID], *, fields: Sequence[str] = ()) -> dict[UUID, Product]:
    """Lock the product rows (SELECT ... FOR UPDATE) in primary-key order and return them
    by id, loaded with `fields` plus id, stock_quantity, structure and parent_id. Every transaction that moves
    stock locks in this order, so two over the same products queue instead of
    deadlocking. Must run inside a transaction (the locks last until it ends); unknown ids
    are absent from the result."""
    ids = sorted(set(product_ids))
    locked = Product.objects.select_for_update().filter(pk__in=ids).order_by("pk")
    return {p.pk: p for p in locked.only("id", "stock_quantity", "structure", "parent_id", *fields)}


def stock_move_many(
    deltas: Mapping[UUID, int],
    *,
    reason: str,
    by=None,
    order_id: UUID | None = None,
    note: str = "",
    locked: Mapping[UUID, Product] | None = None,
) -> list[StockMove]:
    """Move the stock of several products by `deltas` ({product_id: +n or -n}, zeros
    skipped) and record one StockMove each, in one transaction.

    Locks the rows with stock_lock (primary-key order), unless the caller passes `locked`:
    the rows it already locked with stock_lock in this same transaction (checkout and
    cancel do, to lock once). Refuses the whole move when any product would go below zero
    (InsufficientStock, every short product listed, nothing written); VariantRequired for
    a parent (it holds no stock: its variants do); StockProductNotFound
    for an unknown product; ValueError for an unknown reason. Then adds each delta with
    F() (one UPDATE per distinct delta: an order's lines mostly share a quantity), records
    the moves with one INSERT, updates the locked instances' stock_quantity in memory, and
    on commit invalidates the cached stock of these products. The database check
    constraint (stock >= 0) is the last line of defence."""
    if reason not in StockReason.values:
        raise ValueError(f"unknown stock move reason {reason!r}")
    moves = {_product_uuid(pid): int(delta) for pid, delta in deltas.items() if delta}
    if not moves:
        return []
    # With `locked` the caller's transaction already holds the rows: no savepoint of our own.
    with transaction.atomic() if locked is None else contextlib.nullcontext():
        rows = stock_lock(moves) if locked is None else locked
        missing = sorted(pid for pid in moves if pid not in rows)
        if missing:
            raise StockProductNotFound(errors=[{"product_id": str(pid)} for pid in missing])
        parents = sorted(pid for pid in moves if rows[pid].structure == ProductStructure.PARENT)
        if parents:
            raise VariantRequired(
                "A parent holds no stock; move the stock of its variants.",
                errors=[{"product_id": str(pid)} for pid in parents],
            )
        short = [
            {"product_id": str(pid), "requested": -delta, "available": max(rows[pid].stock_quantity, 0)}
            for pid, delta in sorted(moves.items())
            if rows[pid].stock_quantity + delta < 0
        ]
        if short:
            raise InsufficientStock(errors=short)

        by_delta: dict[int, list[UUID]] = {}
        for pid, delta in moves.items():
            by_delta.setdefault(delta, []).append(pid)
        now = timezone.now()
        for delta, pks in by_delta.items():
            Product.objects.filter(pk__in=pks).update(stock_quantity=F("stock_quantity") + delta, updated_at=now)

        user = by if by is not None and getattr(by, "is_authenticated", False) else None
        records = []
        for pid in sorted(moves):  # ledger ids in lock order
            rows[pid].stock_quantity += moves[pid]
            records.append(
                StockMove(
                    product_id=pid,
                    delta=moves[pid],
                    quantity_after=rows[pid].stock_quantity,
                    reason=reason,
                    by=user,
                    order_id=order_id,
                    note=note[:255],
                )
            )
        StockMove.objects.bulk_create(records)
        # {id: delta} and the levels after it: the catalog tells whether a product crossed zero.
        product_stock_changed(
            moves,
            after={pid: rows[pid].stock_quantity for pid in moves},
            parents={rows[pid].parent_id for pid in moves if rows[pid].parent_id},
        )
    return records


def stock_move(
    product_id: UUID,
    *,
    delta: int | None = None,
    set_to: int | None = None,
    reason: str,
    by=None,
    order_id: UUID | None = None,
    note: str = "",
) -> StockMove | None:
    """Move one product's stock by `delta`, or to `set_to` (a stock count: the delta is
    computed against the level read under the row lock, so sales committed meanwhile are
    not undone, they are part of the recorded delta). Exactly one of the two. Returns the
    recorded move, or None when the level is already `set_to` (nothing recorded). Raises
    what stock_move_many raises, and InvalidInput for a negative `set_to`."""
    if (delta is None) == (set_to is None):
        raise TypeError("stock_move takes exactly one of delta and set_to")
    if set_to is not None and set_to < 0:
        raise InvalidInput("A stock level cannot be negative.", attr="stock_quantity")
    product_id = _product_uuid(product_id)
    with transaction.atomic():
        rows = stock_lock([product_id])
        if product_id not in rows:
            raise StockProductNotFound()
        if set_to is not None:
            delta = set_to - rows[product_id].stock_quantity
        moves = stock_move_many({product_id: delta}, reason=reason, by=by, order_id=order_id, note=note, locked=rows)
    return moves[0] if moves else None
