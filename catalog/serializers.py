"""Catalog API shapes. Output serializers render; write serializers parse and validate,
then views hand the validated data to catalog.services."""

from __future__ import annotations

import uuid
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalog import images as image_files
from catalog.models import ATTRIBUTE_NAME_RE, Brand, Category, Product, ProductImage, Review, StockMove, StockReason
from core.formats import iso_utc

MONEY = {"max_digits": 12, "decimal_places": 2}


class UUIDRelatedField(serializers.PrimaryKeyRelatedField):
    """A related id that must be a UUID: anything else is `incorrect_type`, not an
    undocumented error code."""

    def to_internal_value(self, data):
        try:
            uuid.UUID(str(data))
        except ValueError:
            self.fail("incorrect_type", data_type=type(data).__name__)
        return super().to_internal_value(data)


class CategoryRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Category
        fields = ["id", "slug", "name"]


class BrandRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Brand
        fields = ["id", "slug", "name"]


# --- categories ------------------------------------------------------------------------


class CategorySerializer(serializers.ModelSerializer):
    parent = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)

    class Meta:
        model = Category
        fields = [
            "id",
            "slug",
            "name",
            "parent",
            "depth",
            "sort_order",
            "meta_title",
            "meta_description",
            "created_at",
            "updated_at",
        ]


class CategoryDetailSerializer(CategorySerializer):
    ancestors = serializers.SerializerMethodField(help_text="Breadcrumbs, root first.")
    children = serializers.SerializerMethodField()

    class Meta(CategorySerializer.Meta):
        fields = [*CategorySerializer.Meta.fields, "ancestors", "children"]

    @extend_schema_field(CategoryRefSerializer(many=True))
    def get_ancestors(self, obj):
        return CategoryRefSerializer(self.context["ancestors"], many=True).data

    @extend_schema_field(CategoryRefSerializer(many=True))
    def get_children(self, obj):
        return CategoryRefSerializer(self.context["children"], many=True).data


class CategoryTreeNodeSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    slug = serializers.SlugField()
    name = serializers.CharField()
    children = serializers.ListField(child=serializers.DictField(), help_text="Nodes of the same shape.")


class CategoryWriteSerializer(serializers.ModelSerializer):
    slug = serializers.SlugField(max_length=140, required=False)
    parent = UUIDRelatedField(queryset=Category.objects.all(), allow_null=True, required=False)
    sort_order = serializers.IntegerField(min_value=0, max_value=2_147_483_647, required=False)

    class Meta:
        model = Category
        fields = ["name", "slug", "parent", "sort_order", "meta_title", "meta_description"]

    def validate_slug(self, value):
        qs = Category.objects.filter(slug=value)
        if self.instance is not None:
            qs = qs.exclude(pk=self.instance.pk)
        if qs.exists():
            raise serializers.ValidationError("A category with this slug already exists.", code="unique")
        return value


# --- brands ----------------------------------------------------------------------------


class BrandSerializer(serializers.ModelSerializer):
    class Meta:
        model = Brand
        fields = ["id", "slug", "name", "created_at"]


class BrandWriteSerializer(serializers.ModelSerializer):
    slug = serializers.SlugField(max_length=140, required=False)

    class Meta:
        model = Brand
        fields = ["name", "slug"]

    def validate_slug(self, value):
        qs = Brand.objects.filter(slug=value)
        if self.instance is not None:
            qs = qs.exclude(pk=self.instance.pk)
        if qs.exists():
            raise serializers.ValidationError("A brand with this slug already exists.", code="unique")
        return value


# --- products --------------------------------------------------------------------------


class ProductImageThumbnailsSerializer(serializers.Serializer):
    small = serializers.CharField(allow_null=True, help_text="null until the thumbnails job has made it")
    medium = serializers.CharField(allow_null=True)
    large = serializers.CharField(allow_null=True)


class ProductImageSerializer(serializers.ModelSerializer):
    url = serializers.CharField(help_text="The image (re-encoded, without metadata); absolute when MEDIA_URL is.")
    thumbnails = ProductImageThumbnailsSerializer(help_text="WebP thumbnails, each null until made.")

    class Meta:
        model = ProductImage
        fields = ["id", "url", "alt_text", "position", "width", "height", "thumbnails"]
        read_only_fields = fields

    def to_representation(self, image: ProductImage) -> dict:
        return image_data(image)


def image_data(image: ProductImage) -> dict:
    thumbnails = image.thumbnails if isinstance(image.thumbnails, dict) else {}
    return {
        "id": str(image.id),
        "url": image_files.url(image.image),
        "alt_text": image.alt_text,
        "position": image.position,
        "width": image.width,
        "height": image.height,
        "thumbnails": {size: image_files.url(thumbnails.get(size)) for size in settings.IMAGE_THUMBNAIL_SIZES},
    }


class ProductImageUploadSerializer(serializers.Serializer):
    image = serializers.FileField(help_text="JPEG, PNG, WebP or GIF, at most IMAGE_MAX_BYTES.")
    alt_text = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    position = serializers.IntegerField(
        min_value=0, max_value=2_147_483_647, required=False, help_text="Default: after the last image."
    )


class ProductImageUpdateSerializer(serializers.Serializer):
    alt_text = serializers.CharField(max_length=255, required=False, allow_blank=True)
    position = serializers.IntegerField(min_value=0, max_value=2_147_483_647, required=False)


class ProductSerializer(serializers.ModelSerializer):
    price = serializers.DecimalField(**MONEY)
    currency = serializers.SerializerMethodField()
    in_stock = serializers.BooleanField(read_only=True)
    category = CategoryRefSerializer(read_only=True)
    brand = BrandRefSerializer(read_only=True, allow_null=True)
    attributes = serializers.DictField(child=serializers.CharField(), read_only=True)
    rating_avg = serializers.DecimalField(max_digits=3, decimal_places=2, read_only=True)
    images = ProductImageSerializer(many=True, read_only=True, help_text="In position order.")

    class Meta:
        model = Product
        fields = [
            "id",
            "slug",
            "sku",
            "name",
            "description",
            "price",
            "currency",
            "stock_quantity",
            "in_stock",
            "category",
            "brand",
            "attributes",
            "rating_avg",
            "review_count",
            "is_active",
            "images",
            "meta_title",
            "meta_description",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.STR)
    def get_currency(self, obj) -> str:
        return settings.CURRENCY

    def to_representation(self, obj: Product) -> dict:
        # Hand-written: the generic field-by-field pass was most of a product list's
        # Python time. Same output as the declared fields (which document the schema).
        return {
            "id": str(obj.id),
            "slug": obj.slug,
            "sku": obj.sku,
            "name": obj.name,
            "description": obj.description,
            "price": _money(obj.price),
            "currency": settings.CURRENCY,
            "stock_quantity": obj.stock_quantity,
            "in_stock": obj.stock_quantity > 0,
            "category": _ref(obj.category),
            "brand": _ref(obj.brand) if obj.brand_id else None,
            "attributes": {str(k): str(v) for k, v in (obj.attributes or {}).items()}
            if isinstance(obj.attributes, dict)
            else {},
            "rating_avg": _money(obj.rating_avg),
            "review_count": obj.review_count,
            "is_active": obj.is_active,
            "images": [image_data(image) for image in obj.images.all()],
            "meta_title": obj.meta_title,
            "meta_description": obj.meta_description,
            "created_at": _iso(obj.created_at),
            "updated_at": _iso(obj.updated_at),
        }


class StockMoveSerializer(serializers.ModelSerializer):
    """One entry of the stock ledger (staff only)."""

    reason = serializers.ChoiceField(choices=StockReason.choices)
    by = serializers.EmailField(allow_null=True, help_text="Email of the user who moved the stock (null: the system).")
    at = serializers.DateTimeField(source="created_at")

    class Meta:
        model = StockMove
        fields = ["delta", "quantity_after", "reason", "by", "order_id", "note", "at"]
        read_only_fields = fields

    def to_representation(self, move: StockMove) -> dict:
        return {
            "delta": move.delta,
            "quantity_after": move.quantity_after,
            "reason": move.reason,
            "by": move.by.email if move.by_id and move.by else None,
            "order_id": str(move.order_id) if move.order_id else None,
            "note": move.note,
            "at": _iso(move.created_at),
        }


class UserRefSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    email = serializers.EmailField()


class ProductDetailSerializer(ProductSerializer):
    """Product detail. Staff (managers, admins) also get `stock_moves`, `created_by` and
    `updated_by` (context `staff=True`); for everyone else those keys are absent (not
    empty). The view caches the two audiences apart."""

    # Not read-only, so the schema marks them optional: customers never get them.
    stock_moves = StockMoveSerializer(
        many=True, required=False, help_text="Staff only: the last stock moves, newest first."
    )
    created_by = UserRefSerializer(required=False, allow_null=True, help_text="Staff only: who created it.")
    updated_by = UserRefSerializer(required=False, allow_null=True, help_text="Staff only: who last edited it.")

    class Meta(ProductSerializer.Meta):
        fields = [*ProductSerializer.Meta.fields, "stock_moves", "created_by", "updated_by"]
        read_only_fields = ProductSerializer.Meta.fields

    def to_representation(self, obj: Product) -> dict:
        data = super().to_representation(obj)
        moves = self.context.get("stock_moves")
        if moves is not None:
            data["stock_moves"] = [StockMoveSerializer().to_representation(move) for move in moves]
        if self.context.get("staff"):
            data["created_by"] = _user_ref(obj.created_by) if obj.created_by_id else None
            data["updated_by"] = _user_ref(obj.updated_by) if obj.updated_by_id else None
        return data


def _user_ref(user) -> dict:
    return {"id": str(user.pk), "email": user.email}


def _money(value) -> str:
    return f"{Decimal(value).quantize(Decimal('0.01'), rounding=ROUND_HALF_UP)}"


def _ref(obj) -> dict:
    return {"id": str(obj.id), "slug": obj.slug, "name": obj.name}


_iso = iso_utc


class ProductWriteSerializer(serializers.ModelSerializer):
    slug = serializers.SlugField(max_length=255, required=False)
    sku = serializers.CharField(max_length=64, required=False, help_text="Omitted on create: one is generated.")
    price = serializers.DecimalField(**MONEY, min_value=0)
    stock_quantity = serializers.IntegerField(min_value=0, max_value=2_147_483_647, required=False)
    category_id = UUIDRelatedField(source="category", queryset=Category.objects.all())
    brand_id = UUIDRelatedField(source="brand", queryset=Brand.objects.all(), allow_null=True, required=False)
    attributes = serializers.DictField(child=serializers.CharField(max_length=200), required=False)

    class Meta:
        model = Product
        fields = [
            "slug",
            "sku",
            "name",
            "description",
            "price",
            "stock_quantity",
            "category_id",
            "brand_id",
            "attributes",
            "is_active",
            "meta_title",
            "meta_description",
        ]

    def _unique(self, field: str, value):
        qs = Product.objects.filter(**{field: value})
        if self.instance is not None:
            qs = qs.exclude(pk=self.instance.pk)
        if qs.exists():
            raise serializers.ValidationError(f"A product with this {field} already exists.", code="unique")
        return value

    def validate_slug(self, value):
        return self._unique("slug", value)

    def validate_sku(self, value):
        if "\x00" in value:
            raise serializers.ValidationError("Null characters are not allowed.", code="null_characters_not_allowed")
        return self._unique("sku", value)

    def validate_attributes(self, value):
        if len(value) > 50:
            raise serializers.ValidationError("At most 50 attributes.", code="invalid")
        for key in value:
            if not ATTRIBUTE_NAME_RE.match(key):
                raise serializers.ValidationError(
                    f"Attribute name '{key[:64]}' must be 1-64 letters, digits, '_' or '-' (not '__').", code="invalid"
                )
        return value


class ProductFacetCountSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    slug = serializers.SlugField()
    name = serializers.CharField()
    count = serializers.IntegerField()


class AttributeValueCountSerializer(serializers.Serializer):
    value = serializers.CharField()
    count = serializers.IntegerField()


class PriceRangeSerializer(serializers.Serializer):
    min = serializers.DecimalField(**MONEY, allow_null=True)
    max = serializers.DecimalField(**MONEY, allow_null=True)


class ProductFacetsSerializer(serializers.Serializer):
    is_exact = serializers.BooleanField(help_text="False when the filtered set exceeded the counted sample.")
    total = serializers.IntegerField(help_text="Products counted.")
    categories = ProductFacetCountSerializer(many=True)
    brands = ProductFacetCountSerializer(many=True)
    attributes = serializers.DictField(child=AttributeValueCountSerializer(many=True))
    price = PriceRangeSerializer()
    currency = serializers.CharField()


class CategoryCountSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    slug = serializers.SlugField()
    name = serializers.CharField()
    count = serializers.IntegerField()


class CatalogCacheStatsSerializer(serializers.Serializer):
    hits = serializers.IntegerField(help_text="Cached catalog reads served from the cache.")
    misses = serializers.IntegerField(help_text="Cached catalog reads rendered from the database.")
    hit_ratio = serializers.FloatField(help_text="hits / (hits + misses); 0 before any read.")


class ProductStatsSerializer(serializers.Serializer):
    product_count = serializers.IntegerField()
    active_count = serializers.IntegerField()
    stock_units = serializers.IntegerField()
    stock_value = serializers.DecimalField(max_digits=20, decimal_places=2)
    currency = serializers.CharField()
    low_stock_threshold = serializers.IntegerField()
    low_stock_count = serializers.IntegerField()
    out_of_stock_count = serializers.IntegerField()
    per_category = CategoryCountSerializer(many=True)
    cache = CatalogCacheStatsSerializer(help_text="Catalog response cache since its counters started.")


# --- reviews ---------------------------------------------------------------------------


class ReviewSerializer(serializers.ModelSerializer):
    product_id = serializers.UUIDField(read_only=True)
    author = serializers.SerializerMethodField()

    class Meta:
        model = Review
        fields = [
            "id",
            "product_id",
            "author",
            "rating",
            "title",
            "body",
            "verified_purchase",
            "is_approved",
            "created_at",
        ]
        read_only_fields = fields
        extra_kwargs = {"is_approved": {"help_text": "False while the review waits for moderation."}}

    @extend_schema_field(OpenApiTypes.STR)
    def get_author(self, obj) -> str:
        if obj.user is None:  # the author's account was erased; the review stays
            return "Deleted user"
        first = (obj.user.first_name or "").strip()
        last = (obj.user.last_name or "").strip()
        return f"{first} {last[:1]}.".strip() if last else (first or "Customer")


class ReviewUpdateSerializer(serializers.Serializer):
    rating = serializers.IntegerField(min_value=1, max_value=5, required=False)
    title = serializers.CharField(max_length=200, required=False, allow_blank=True)
    body = serializers.CharField(max_length=10_000, required=False, allow_blank=True)
    is_approved = serializers.BooleanField(required=False, help_text="Staff only: approve or hide the review.")


class ReviewWriteSerializer(serializers.Serializer):
    rating = serializers.IntegerField(min_value=1, max_value=5)
    title = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    body = serializers.CharField(max_length=10_000, required=False, allow_blank=True, default="")
