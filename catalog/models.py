import re
import uuid

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

# Names of product attributes (the keys of `Product.attributes`): checked by the write
# serializer, the CSV import and the `attributes` filter. Letters, digits, `_` and `-`, and
# never `__` (Django's lookup separator): the filter treats a name as a plain JSON key, and
# refusing the separator everywhere means no stored name is unfilterable and no filter name
# even looks like a lookup. `\Z`, not `$`, which would let a trailing newline through.
ATTRIBUTE_NAME_RE = re.compile(r"(?!.*__)[A-Za-z0-9_-]{1,64}\Z")


class Category(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=140, unique=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    sort_order = models.PositiveIntegerField(default=0)
    # Materialised path: the hex ids of every ancestor and of this category, each followed
    # by "/". Descendants are one indexed `path LIKE 'prefix%'` query (on PostgreSQL db_index
    # also builds the varchar_pattern_ops index LIKE needs); ancestors are the ids
    # spelled in the path. Maintained by catalog.services (category_save / category moves).
    path = models.CharField(max_length=1024, default="", editable=False, db_index=True)
    depth = models.PositiveSmallIntegerField(default=0, editable=False)
    meta_title = models.CharField(
        max_length=255, blank=True, default="", db_default="", help_text="SEO title (empty: the name)."
    )
    meta_description = models.CharField(
        max_length=500, blank=True, default="", db_default="", help_text="SEO description."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["sort_order", "name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        # A category saved without catalog.services (e.g. another app's test factory) still
        # gets a valid path; moving a subtree is catalog.services.category_save's job.
        if not self.path:
            parent_path = ""
            if self.parent_id:
                parent_path = Category.objects.filter(pk=self.parent_id).values_list("path", flat=True).first() or ""
            self.path = f"{parent_path}{self.id.hex}/"
            self.depth = self.path.count("/") - 1
        super().save(*args, **kwargs)

    def ancestor_ids(self) -> list[uuid.UUID]:
        """Ids of the ancestors, root first (read from the path: no query)."""
        return [uuid.UUID(part) for part in self.path.split("/")[:-2] if part]


class Brand(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=140, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    slug = models.SlugField(max_length=255, unique=True)
    sku = models.CharField(max_length=64, unique=True, blank=True, help_text="Empty on create: one is generated.")
    name = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    price = models.DecimalField(max_digits=12, decimal_places=2, validators=[MinValueValidator(0)])
    stock_quantity = models.IntegerField(default=0, validators=[MinValueValidator(0)])
    # No single-column indexes on these two and created_at: the composite indexes in Meta
    # start with the same column and serve the same lookups (one index less to maintain).
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="products", db_index=False)
    brand = models.ForeignKey(
        Brand, null=True, blank=True, on_delete=models.PROTECT, related_name="products", db_index=False
    )
    attributes = models.JSONField(default=dict, blank=True)
    is_active = models.BooleanField(default=True)
    rating_avg = models.DecimalField(max_digits=3, decimal_places=2, default=0)
    review_count = models.PositiveIntegerField(default=0)
    meta_title = models.CharField(
        max_length=255, blank=True, default="", db_default="", help_text="SEO title (empty: the name)."
    )
    meta_description = models.CharField(
        max_length=500, blank=True, default="", db_default="", help_text="SEO description."
    )
    # Who created the product and who last edited it (catalog.services records them on every
    # write path: API, admin, CSV import). Shown to staff only.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Weighted full-text document (name, SKU > brand > description). On PostgreSQL a
    # BEFORE INSERT/UPDATE trigger (migration 0002) fills it on every write, whatever the
    # path (ORM, admin, COPY); a GIN index serves `@@`. Unused on SQLite.
    search_vector = SearchVectorField(null=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # Keyset/ordering indexes for what customers see (active products); each ends
            # with id so the (value, id) keyset comparison is an index range scan.
            models.Index(
                fields=["-created_at", "-id"], name="catalog_prod_active_created", condition=models.Q(is_active=True)
            ),
            models.Index(fields=["price", "id"], name="catalog_prod_active_price", condition=models.Q(is_active=True)),
            models.Index(fields=["name", "id"], name="catalog_prod_active_name", condition=models.Q(is_active=True)),
            models.Index(
                fields=["-rating_avg", "-id"], name="catalog_prod_active_rating", condition=models.Q(is_active=True)
            ),
            # Category listing (category + descendants) ordered by date or price.
            # Partial like the ones above, so counting a customer's filtered list is an
            # index-only scan (is_active needs no heap visit).
            models.Index(
                fields=["category", "-created_at"], name="catalog_prod_cat_created", condition=models.Q(is_active=True)
            ),
            models.Index(
                fields=["category", "price"], name="catalog_prod_cat_price", condition=models.Q(is_active=True)
            ),
            models.Index(
                fields=["brand", "price"], name="catalog_prod_brand_price", condition=models.Q(is_active=True)
            ),
            # Foreign-key lookups for all products (staff lists, PROTECT checks on delete).
            models.Index(fields=["category"], name="catalog_prod_category"),
            models.Index(fields=["brand"], name="catalog_prod_brand"),
            models.Index(fields=["stock_quantity"], name="catalog_prod_stock"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(stock_quantity__gte=0), name="catalog_product_stock_non_negative"
            ),
            models.CheckConstraint(condition=models.Q(price__gte=0), name="catalog_product_price_non_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.sku})"

    @property
    def in_stock(self) -> bool:
        return self.stock_quantity > 0


class ProductImage(models.Model):
    """One picture of a product. `image` is the name of the re-encoded file in the default
    storage (content-hashed, so equal uploads share a file); `thumbnails` maps each size of
    IMAGE_THUMBNAIL_SIZES to the name of its WebP file once the background job has made it.
    Written only through catalog.services (product_image_add / _update / _delete), which
    also removes the files after the row is gone."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="images", db_index=False)
    image = models.CharField(max_length=255, help_text="File name in the media storage.")
    alt_text = models.CharField(max_length=255, blank=True)
    position = models.PositiveIntegerField(default=0)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    thumbnails = models.JSONField(default=dict, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position", "id"]
        indexes = [
            models.Index(fields=["product", "position", "id"], name="catalog_image_product_pos"),
            models.Index(fields=["image"], name="catalog_image_file"),
        ]

    def __str__(self) -> str:
        return self.alt_text or self.image


class Review(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="reviews")
    # Null once the author's account is erased: the review stays, by "a deleted user".
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="reviews"
    )
    rating = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(5)])
    title = models.CharField(max_length=200, blank=True)
    body = models.TextField(blank=True)
    verified_purchase = models.BooleanField(default=False)
    is_approved = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["product", "user"], name="catalog_review_one_per_user"),
            models.CheckConstraint(condition=models.Q(rating__gte=1, rating__lte=5), name="catalog_review_rating_1_5"),
        ]

    def __str__(self) -> str:
        return f"{self.rating}/5 by {self.user_id} on {self.product_id}"


class StockReason(models.TextChoices):
    SALE = "sale", "sale (checkout)"
    CANCEL = "cancel", "cancel (order cancelled or expired)"
    EDIT = "edit", "edit (an order's lines changed)"
    RETURN = "return", "return (goods back in stock)"
    ADJUSTMENT = "adjustment", "adjustment (by staff)"
    IMPORT = "import", "import (CSV)"


class StockMove(models.Model):
    """One change of a product's stock: the stock ledger. Append-only; written only by
    catalog.services.stock_move / stock_move_many under the product's row lock, so the
    moves of a product, in id order, chain: each `quantity_after` is the previous one plus
    `delta`, and the last one is the product's stock. The stock a product was created with
    is not a move (the first move's `quantity_after - delta` is that opening level)."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="stock_moves", db_index=False)
    delta = models.IntegerField()
    quantity_after = models.IntegerField()
    reason = models.CharField(max_length=16, choices=StockReason.choices)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # The order that caused the move (sale, cancel, edit, return). A plain UUID, not a
    # foreign key: the catalog sits below orders and knows nothing of them.
    order_id = models.UUIDField(null=True, blank=True, db_index=True)
    note = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["product", "-id"], name="catalog_stockmove_product")]
        constraints = [
            models.CheckConstraint(condition=~models.Q(delta=0), name="catalog_stockmove_delta_not_zero"),
            models.CheckConstraint(
                condition=models.Q(quantity_after__gte=0), name="catalog_stockmove_quantity_after_non_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(reason__in=StockReason.values), name="catalog_stockmove_reason_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.delta:+d} -> {self.quantity_after} ({self.reason})"
