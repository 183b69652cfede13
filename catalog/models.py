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
# Products and shipping methods have a tax class; tax rates are defined per class.
TAX_CLASS_DEFAULT = "standard"


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


class ProductType(models.Model):
    """What kind of product this is (a T-shirt, a drill): the attributes its products carry,
    each typed, and which of them tell its variants apart (the variant axes). A product
    without a type keeps free text attributes."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=140, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AttributeType(models.TextChoices):
    TEXT = "text", "text"
    CHOICE = "choice", "choice (one of the listed values)"
    NUMBER = "number", "number"
    BOOLEAN = "boolean", "yes / no"


class AttributeDefinition(models.Model):
    """One attribute of a product type: `slug` is its key in `Product.attributes`; the
    value stored there is a JSON string (text, choice), number or boolean."""

    product_type = models.ForeignKey(ProductType, on_delete=models.CASCADE, related_name="attribute_definitions")
    slug = models.SlugField(max_length=64, help_text="The key in the product's attributes, e.g. size.")
    name = models.CharField(max_length=120)
    type = models.CharField(max_length=16, choices=AttributeType.choices, default=AttributeType.TEXT)
    values = models.JSONField(default=list, blank=True, help_text="The allowed values of a choice attribute.")
    is_variant_axis = models.BooleanField(
        default=False, help_text="Variants of a product of this type differ by this attribute (size, colour)."
    )
    sort_order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["sort_order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["product_type", "slug"], name="catalog_attrdef_slug_per_type"),
            models.CheckConstraint(
                condition=models.Q(type__in=AttributeType.values), name="catalog_attrdef_type_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.type})"


class ProductStructure(models.TextChoices):
    """As django-oscar models variants: a *parent* is the product a customer browses (not
    sold itself, no stock of its own); each *child* (variant) is sold, with its own SKU,
    price and stock; a *standalone* product is sold and has no variants."""

    STANDALONE = "standalone", "standalone"
    PARENT = "parent", "parent (has variants)"
    CHILD = "child", "variant"


# What customers see in lists: products with no parent (standalone ones and parents). The
# list indexes are partial on this, so variants cost nothing there.
LISTED = models.Q(is_active=True, parent__isnull=True)


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
    product_type = models.ForeignKey(
        ProductType, null=True, blank=True, on_delete=models.PROTECT, related_name="products", db_index=False
    )
    structure = models.CharField(
        max_length=16, choices=ProductStructure.choices, default=ProductStructure.STANDALONE, editable=False
    )
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="variants",
        db_index=False,
        help_text="Set on a variant: the product it is a variant of.",
    )
    is_active = models.BooleanField(default=True)
    # Shipping weight of one unit, in grams (weight-banded shipping sums it over the cart).
    weight = models.PositiveIntegerField(
        default=0, db_default=0, help_text="Grams per unit, for weight-banded shipping."
    )
    # The tax class its tax rate is looked up by (with the address's country and region).
    tax_class = models.SlugField(max_length=32, default=TAX_CLASS_DEFAULT, db_default=TAX_CLASS_DEFAULT)
    # The price while a promotion runs (null when none does): written only by the promotions
    # service (promotions.services.promotion_prices_refresh) when a promotion is saved or
    # deleted and at each start or end, so a catalog read shows it without knowing about
    # promotions. Checkout does not trust it: the pricing pipeline recomputes the promotion.
    discounted_price = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True, editable=False)
    # On a parent, the highest price of its active variants (null when it has none; always
    # null on standalone products and variants); its `price` is their lowest. Kept by
    # catalog.services.product_refresh_parent_prices on every write that changes a variant's
    # price or activity, so a price filter can decide most parents on their own row (an
    # index-only test) and looks at the variants only when their range straddles the filter.
    variant_price_max = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True, editable=False)
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
            models.Index(fields=["-created_at", "-id"], name="catalog_prod_active_created", condition=LISTED),
            # With what a price filter reads: `ordering=price&min_price=` walks this index
            # from the cheapest up, and the products below the minimum (and the parents
            # without a variant in range) are rejected index-only, not a heap page each.
            models.Index(
                fields=["price", "id"],
                name="catalog_prod_active_price_cov",
                condition=LISTED,
                include=["category", "structure", "variant_price_max"],
            ),
            models.Index(fields=["name", "id"], name="catalog_prod_active_name", condition=LISTED),
            models.Index(fields=["-rating_avg", "-id"], name="catalog_prod_active_rating", condition=LISTED),
            # Category listing (category + descendants) ordered by date or price.
            # Partial like the ones above, so counting a customer's filtered list is an
            # index-only scan (is_active needs no heap visit).
            models.Index(fields=["category", "-created_at"], name="catalog_prod_cat_created", condition=LISTED),
            # (category, price) with what a category's price-filtered list reads besides: the
            # count and the page's ids of `?category=&min_price=&max_price=&ordering=` (price,
            # -created_at, -rating_avg) are index-only scans of the subtree's entries, where
            # reading the rows cost a heap page per product (a root category: ~15,000).
            models.Index(
                fields=["category", "price"],
                name="catalog_prod_cat_price_cov",
                condition=LISTED,
                include=["structure", "variant_price_max", "created_at", "rating_avg", "id"],
            ),
            models.Index(fields=["brand", "price"], name="catalog_prod_brand_price", condition=LISTED),
            # Foreign-key lookups for all products (staff lists, PROTECT checks on delete).
            models.Index(fields=["category"], name="catalog_prod_category"),
            models.Index(fields=["brand"], name="catalog_prod_brand"),
            models.Index(fields=["stock_quantity"], name="catalog_prod_stock"),
            # A parent's variants (lists, the EXISTS filters through variants, facets).
            models.Index(fields=["parent", "price"], name="catalog_prod_parent_price"),
            models.Index(fields=["product_type"], name="catalog_prod_type"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(stock_quantity__gte=0), name="catalog_product_stock_non_negative"
            ),
            models.CheckConstraint(condition=models.Q(price__gte=0), name="catalog_product_price_non_negative"),
            # A variant, and only a variant, has a parent; a parent holds no stock itself.
            models.CheckConstraint(
                condition=models.Q(structure=ProductStructure.CHILD, parent__isnull=False)
                | (~models.Q(structure=ProductStructure.CHILD) & models.Q(parent__isnull=True)),
                name="catalog_product_parent_iff_variant",
            ),
            models.CheckConstraint(
                condition=~models.Q(structure=ProductStructure.PARENT) | models.Q(stock_quantity=0),
                name="catalog_product_parent_no_stock",
            ),
            models.CheckConstraint(
                condition=models.Q(structure__in=ProductStructure.values), name="catalog_product_structure_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.sku})"

    @property
    def in_stock(self) -> bool:
        return self.stock_quantity > 0

    @property
    def effective_price(self):
        """What a customer pays per unit now: the promoted price while a promotion runs."""
        return self.price if self.discounted_price is None else self.discounted_price

    @property
    def is_parent(self) -> bool:
        return self.structure == ProductStructure.PARENT

    @property
    def is_variant(self) -> bool:
        return self.structure == ProductStructure.CHILD


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
