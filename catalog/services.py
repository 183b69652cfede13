"""Writes to the catalog. Every write ends by invalidating cached catalog responses
(`catalog_changed`, on commit): the API, the admin and the management commands all write
through here, so there is one place where caches are invalidated."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Avg, Count, ProtectedError
from django.utils.text import slugify

from accounts.errors import EmailNotVerified
from catalog.cache import bump_catalog_generation, bump_stock_generations
from catalog.models import Brand, Category, Product, Review
from catalog.selectors import product_stock_levels, review_is_verified_purchase
from core.errors import Conflict, InvalidInput, Protected


class AlreadyReviewed(Conflict):
    code = "already_reviewed"
    default_detail = "You have already reviewed this product."


def catalog_changed() -> None:
    """Invalidate cached catalog responses once the current transaction commits."""
    transaction.on_commit(bump_catalog_generation)


def product_stock_changed(product_ids: Iterable[UUID] | Mapping[UUID, int]) -> None:
    """Called by every stock move (checkout, cancellation, expiry, adjustments) inside its
    transaction, after the move, with the rows still locked. On commit, the next GET of
    any cached page showing these products merges in their new stock (the pages stay
    cached: catalog.cache), and staff details of them re-render.

    Pass the moves as `{product_id: delta}` when known: then pages filtered by `in_stock`
    (and their facets) are invalidated only when a move takes a product into or out of
    stock (one query reads the stock after the move). With bare ids every move is assumed
    to cross zero."""
    if isinstance(product_ids, Mapping):
        deltas = {str(pk): int(delta) for pk, delta in product_ids.items()}
        after = {pk: quantity for pk, (quantity, _) in product_stock_levels(deltas).items()}
        crossed = any((after.get(pk, 0) > 0) != (after.get(pk, 0) - delta > 0) for pk, delta in deltas.items())
        ids = list(deltas)
    else:
        ids, crossed = [str(pk) for pk in product_ids], True
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


@transaction.atomic
def product_save(product: Product) -> Product:
    """Create or update a product (slug generated from the name when empty). The search
    vector is kept current by the database trigger. Invalidates caches on commit."""
    if not product.slug:
        product.slug = unique_slug(Product, product.name, exclude_pk=product.pk, max_length=255)
    try:
        with transaction.atomic():
            product.save()
    except IntegrityError as exc:
        raise Conflict("A product with this SKU or slug already exists.", code="unique") from exc
    catalog_changed()
    return product


def product_create(**data: Any) -> Product:
    return product_save(Product(**data))


def product_update(product: Product, **data: Any) -> Product:
    for key, value in data.items():
        setattr(product, key, value)
    return product_save(product)


@transaction.atomic
def product_delete(product: Product) -> None:
    """Raises Protected (409) when an order references the product (PROTECT foreign key)."""
    try:
        with transaction.atomic():
            product.delete()
    except ProtectedError:
        raise Protected("This product appears in orders and cannot be deleted; deactivate it instead.")
    catalog_changed()


@transaction.atomic
def product_set_active(product_ids: Iterable[UUID], active: bool) -> int:
    """Bulk (de)activation (admin actions). Returns the number of products changed."""
    from django.utils import timezone

    changed = Product.objects.filter(pk__in=list(product_ids)).exclude(is_active=active)
    count = changed.update(is_active=active, updated_at=timezone.now())
    catalog_changed()
    return count


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
def review_moderate(review: Review, *, approved: bool) -> Review:
    review.is_approved = approved
    review.save(update_fields=["is_approved"])
    product_rating_refresh(review.product)
    return review


@transaction.atomic
def review_delete(review: Review) -> None:
    product = review.product
    review.delete()
    product_rating_refresh(product)


def review_set_verified_purchase(user_id, product_ids: Iterable[UUID], *, verified: bool) -> int:
    """Mark `user_id`'s reviews of these products as verified purchases (orders calls it
    when an order is paid) or not (when the last paid order of a product is cancelled).
    Runs in the caller's transaction; returns the number of reviews changed. Cached
    catalog responses do not show `verified_purchase`, so no cache is invalidated."""
    return (
        Review.objects.filter(user_id=user_id, product_id__in=list(product_ids))
        .exclude(verified_purchase=verified)
        .update(verified_purchase=verified)
    )


def product_rating_refresh(product: Product) -> None:
    """Recompute the denormalised rating from approved reviews."""
    agg = Review.objects.filter(product=product, is_approved=True).aggregate(avg=Avg("rating"), n=Count("id"))
    avg = Decimal(agg["avg"] or 0).quantize(Decimal("0.01"))
    Product.objects.filter(pk=product.pk).update(rating_avg=avg, review_count=agg["n"])
    product.rating_avg, product.review_count = avg, agg["n"]
    catalog_changed()
