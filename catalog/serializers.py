"""Catalog API shapes. Output serializers render; write serializers parse and validate,
then views hand the validated data to catalog.services."""

from __future__ import annotations

import math
import uuid
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalog import images as image_files
from catalog.attributes import clean_choice_values
from catalog.models import (
    ATTRIBUTE_NAME_RE,
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


class ProductTypeRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = ProductType
        fields = ["id", "slug", "name"]


@extend_schema_field({"oneOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}]})
class AttributeValueField(serializers.Field):
    """One attribute value: text, a number or a boolean (the product type decides which;
    catalog.attributes checks it)."""

    default_error_messages = {"invalid": "An attribute value must be text, a number or true/false."}

    def to_internal_value(self, data):
        if isinstance(data, float) and not math.isfinite(data):
            self.fail("invalid")
        if isinstance(data, str | bool | int | float):
            return data
        self.fail("invalid")

    def to_representation(self, value):
        return value


# --- product types ---------------------------------------------------------------------


class AttributeDefinitionSerializer(serializers.Serializer):
    slug = serializers.SlugField(max_length=64, help_text="The key in a product's `attributes`.")
    name = serializers.CharField(max_length=120, required=False, help_text="Default: the slug.")
    type = serializers.ChoiceField(choices=AttributeType.choices, default=AttributeType.TEXT)
    values = serializers.ListField(
        child=serializers.CharField(max_length=200), required=False, default=list, help_text="Choice only."
    )
    is_variant_axis = serializers.BooleanField(default=False)

    def validate_slug(self, value):
        if not ATTRIBUTE_NAME_RE.match(value):
            raise serializers.ValidationError("Letters, digits, '_' and '-' only, and never '__'.", code="invalid")
        return value

    def to_representation(self, definition) -> dict:
        return {
            "slug": definition.slug,
            "name": definition.name,
            "type": definition.type,
            "values": list(definition.values or []),
            "is_variant_axis": definition.is_variant_axis,
        }


class ProductTypeSerializer(serializers.ModelSerializer):
    attributes = AttributeDefinitionSerializer(source="attribute_definitions", many=True, read_only=True)

    class Meta:
        model = ProductType
        fields = ["id", "slug", "name", "attributes", "created_at", "updated_at"]
        read_only_fields = fields


@extend_schema_field(AttributeDefinitionSerializer(many=True))
class AttributeDefinitionListField(serializers.JSONField):
    """The definitions of a type, checked as a whole: any error is reported on
    `attributes`, naming the position and the attribute (the error schema can name a
    field, not a list position)."""

    def to_internal_value(self, data):
        data = super().to_internal_value(data)
        if not isinstance(data, list) or len(data) > 100:
            raise serializers.ValidationError("A list of at most 100 attribute definitions.", code="invalid")
        if not all(isinstance(item, dict) for item in data):
            raise serializers.ValidationError("Each attribute definition must be an object.", code="invalid")
        definitions = AttributeDefinitionSerializer(data=data, many=True)
        if not definitions.is_valid():
            raise serializers.ValidationError(_first_error(definitions.errors), code="invalid")
        cleaned = []
        for item in definitions.validated_data:
            try:
                item["values"] = clean_choice_values(item.get("type", AttributeType.TEXT), item.get("values") or [])
            except ValueError as exc:
                raise serializers.ValidationError(f"'{item['slug']}': {exc}", code="invalid") from None
            cleaned.append(dict(item))
        return cleaned


def _first_error(errors, path: str = "") -> str:
    """`position.field: message` of the first error in nested serializer errors."""
    if isinstance(errors, dict):
        key, value = next(iter(errors.items()))
        return _first_error(value, f"{path}{key}.")
    if isinstance(errors, list):
        for position, value in enumerate(errors):
            if value:
                if isinstance(value, dict | list):
                    return _first_error(value, f"{path}{position}.")
                return f"{path.rstrip('.')}: {value}"
    return f"{path.rstrip('.')}: {errors}"


class ProductTypeWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    slug = serializers.SlugField(max_length=140, required=False)
    attributes = AttributeDefinitionListField(
        required=False, help_text="Replaces the type's attribute definitions (in this order)."
    )

    def validate_slug(self, value):
        qs = ProductType.objects.filter(slug=value)
        if self.instance is not None:
            qs = qs.exclude(pk=self.instance.pk)
        if qs.exists():
            raise serializers.ValidationError("A product type with this slug already exists.", code="unique")
        return value


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


def image_data(image) -> dict:
    """An image as ProductImageSerializer writes it, from a ProductImage or an image row
    (catalog.selectors.IMAGE_ROW_FIELDS)."""
    thumbnails = image.thumbnails if isinstance(image.thumbnails, dict) else {}
    url = image_files.url
    return {
        "id": str(image.id),
        "url": url(image.image),
        "alt_text": image.alt_text,
        "position": image.position,
        "width": image.width,
        "height": image.height,
        "thumbnails": {size: url(thumbnails.get(size)) for size in settings.IMAGE_THUMBNAIL_SIZES},
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


class VariantSerializer(serializers.Serializer):
    """A variant as its parent lists it (the full variant: GET products/{variant id}/)."""

    id = serializers.UUIDField()
    slug = serializers.SlugField()
    sku = serializers.CharField()
    name = serializers.CharField()
    price = serializers.DecimalField(**MONEY)
    stock_quantity = serializers.IntegerField()
    in_stock = serializers.BooleanField()
    attributes = serializers.DictField(child=AttributeValueField())
    is_active = serializers.BooleanField()
    updated_at = serializers.DateTimeField()

    def to_representation(self, obj: Product) -> dict:
        return variant_data(obj)


def variant_data(obj) -> dict:
    """A variant as VariantSerializer writes it, from a Product or a
    catalog.selectors.VariantRow (a plain function: a serializer instance per variant cost
    more than the dict)."""
    return {
        "id": str(obj.id),
        "slug": obj.slug,
        "sku": obj.sku,
        "name": obj.name,
        "price": _money(obj.price),
        "stock_quantity": obj.stock_quantity,
        "in_stock": obj.stock_quantity > 0,
        "attributes": _attributes(obj.attributes),
        "is_active": obj.is_active,
        "updated_at": _iso(obj.updated_at),
    }


class ProductPriceRangeSerializer(serializers.Serializer):
    min = serializers.DecimalField(**MONEY)
    max = serializers.DecimalField(**MONEY)


class ProductSerializer(serializers.ModelSerializer):
    price = serializers.DecimalField(**MONEY, help_text="The price now: the promoted price while a promotion runs.")
    price_undiscounted = serializers.DecimalField(
        **MONEY, help_text="The list price (equal to `price` when no promotion runs)."
    )
    weight = serializers.IntegerField(read_only=True, help_text="Grams per unit.")
    tax_class = serializers.CharField(read_only=True)
    currency = serializers.SerializerMethodField()
    in_stock = serializers.BooleanField(read_only=True)
    category = CategoryRefSerializer(read_only=True)
    brand = BrandRefSerializer(read_only=True, allow_null=True)
    attributes = serializers.DictField(child=AttributeValueField(), read_only=True)
    rating_avg = serializers.DecimalField(max_digits=3, decimal_places=2, read_only=True)
    images = ProductImageSerializer(many=True, read_only=True, help_text="In position order.")
    # Types and variants (product_structure_fields); a parent's stock_quantity is the total
    # of its active variants and it is in_stock when one of them is.
    product_type = ProductTypeRefSerializer(read_only=True, allow_null=True)
    structure = serializers.ChoiceField(choices=ProductStructure.choices, read_only=True)
    parent = serializers.UUIDField(read_only=True, allow_null=True, help_text="A variant's parent.")
    variants = serializers.SerializerMethodField(help_text="A parent's variants (empty for other products).")
    price_range = serializers.SerializerMethodField(help_text="A parent's lowest and highest variant price.")

    class Meta:
        model = Product
        fields = [
            "id",
            "slug",
            "sku",
            "name",
            "description",
            "price",
            "price_undiscounted",
            "currency",
            "stock_quantity",
            "in_stock",
            "weight",
            "tax_class",
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
            "product_type",
            "structure",
            "parent",
            "variants",
            "price_range",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.STR)
    def get_currency(self, obj) -> str:
        return settings.CURRENCY

    @extend_schema_field(VariantSerializer(many=True))
    def get_variants(self, obj):  # rendered by to_representation; declared for the schema
        return []

    @extend_schema_field(ProductPriceRangeSerializer(allow_null=True))
    def get_price_range(self, obj):
        return None

    def to_representation(self, obj: Product) -> dict:
        return product_data(
            obj,
            category=_ref(obj.category),
            brand=_ref(obj.brand) if obj.brand_id else None,
            product_type=_ref(obj.product_type) if obj.product_type_id else None,
            images=[image_data(image) for image in obj.images.all()],
            variants=getattr(obj, "listed_variants", None) or [],
        )


def product_data(
    p, *, category: dict, brand: dict | None, product_type: dict | None, images: list[dict], variants: list
) -> dict:
    """A product as ProductSerializer writes it (the declared fields document it), from
    anything with the product's attributes: a Product, or a row of a product list
    (product_row_data); `variants` as catalog.selectors.product_variants_by_parent gives
    them. Hand-written: the generic field-by-field pass was most of a product list's
    Python time."""
    return {
        "id": str(p.id),
        "slug": p.slug,
        "sku": p.sku,
        "name": p.name,
        "description": p.description,
        "price": _money(p.price if p.discounted_price is None else p.discounted_price),
        "price_undiscounted": _money(p.price),
        "currency": settings.CURRENCY,
        "stock_quantity": p.stock_quantity,
        "in_stock": p.stock_quantity > 0,
        "weight": p.weight,
        "tax_class": p.tax_class,
        "category": category,
        "brand": brand,
        "attributes": _attributes(p.attributes),
        "rating_avg": _money(p.rating_avg),
        "review_count": p.review_count,
        "is_active": p.is_active,
        "images": images,
        "meta_title": p.meta_title,
        "meta_description": p.meta_description,
        "created_at": _iso(p.created_at),
        "updated_at": _iso(p.updated_at),
        **product_structure_fields(p, product_type=product_type, variants=variants),
    }


def product_row_data(row, images: list, variants: list) -> dict:
    """A product list item from a row of catalog.selectors.PRODUCT_ROW_FIELDS, its image
    rows (selectors.product_images_by_product) and its variants (a parent's;
    selectors.product_variants_by_parent): the same dict as ProductSerializer gives for
    the product (tests/catalog/test_list_fast_path.py compares them)."""
    brand = product_type = None
    if row.brand_id is not None:
        brand = {"id": str(row.brand_id), "slug": row.brand__slug, "name": row.brand__name}
    if row.product_type_id is not None:
        product_type = {"id": str(row.product_type_id), "slug": row.product_type__slug, "name": row.product_type__name}
    return product_data(
        row,
        category={"id": str(row.category_id), "slug": row.category__slug, "name": row.category__name},
        brand=brand,
        product_type=product_type,
        images=[image_data(image) for image in images],
        variants=variants,
    )


def product_structure_fields(obj, *, product_type: dict | None, variants: list) -> dict:
    """The type-and-variant fields of a product (a Product or a list row). A parent's
    variants come from catalog.selectors.product_variants_by_parent (on a Product:
    product_attach_variants, `listed_variants`); its stock is theirs: `stock_quantity` the
    total of the active ones (what catalog.selectors.product_stock_levels gives the cache
    for it), `in_stock` when any has stock, `price_range` their prices."""
    data = {
        "product_type": product_type,
        "structure": obj.structure,
        "parent": str(obj.parent_id) if obj.parent_id else None,
        "variants": [variant_data(v) for v in variants],
        "price_range": None,
    }
    if obj.structure == ProductStructure.PARENT:
        active = [v for v in variants if v.is_active]
        stock = sum(v.stock_quantity for v in active)
        data["stock_quantity"], data["in_stock"] = stock, stock > 0
        if active:
            prices = [v.price for v in active]
            data["price_range"] = {"min": _money(min(prices)), "max": _money(max(prices))}
    return data


def _attributes(attributes) -> dict:
    """Stored attributes as the API shows them: text, numbers and booleans as they are
    (typed attributes keep their JSON type), anything else as its text."""
    if not isinstance(attributes, dict):
        return {}
    return {
        str(k): v if isinstance(v, str | bool | int | float) and v == v else str(v)  # noqa: PLR0124 - NaN check
        for k, v in attributes.items()
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


class AttributesField(serializers.DictField):
    # validate_attributes raises `invalid` (a bad name, too many): declared here so the
    # schema's error codes list it.
    default_error_messages = {"invalid": "Invalid attributes."}


class ProductWriteSerializer(serializers.ModelSerializer):
    slug = serializers.SlugField(max_length=255, required=False)
    sku = serializers.CharField(max_length=64, required=False, help_text="Omitted on create: one is generated.")
    price = serializers.DecimalField(**MONEY, min_value=0)
    stock_quantity = serializers.IntegerField(min_value=0, max_value=2_147_483_647, required=False)
    category_id = UUIDRelatedField(
        source="category", queryset=Category.objects.all(), required=False, help_text="Required but for a variant."
    )
    brand_id = UUIDRelatedField(source="brand", queryset=Brand.objects.all(), allow_null=True, required=False)
    attributes = AttributesField(
        child=AttributeValueField(),
        required=False,
        help_text="Checked against the product type's attributes (400 `invalid_attribute`).",
    )
    product_type_id = UUIDRelatedField(
        source="product_type", queryset=ProductType.objects.all(), allow_null=True, required=False
    )
    parent = UUIDRelatedField(
        queryset=Product.objects.all(),
        required=False,
        help_text="On create only: makes this product a variant of `parent` (its type, category, brand, weight "
        "and tax class by default); its variant-axis values must be unique among the parent's variants (409 "
        "`unique`).",
    )
    weight = serializers.IntegerField(
        min_value=0,
        max_value=2_147_483_647,
        required=False,
        help_text="Grams per unit. Default 0; a variant: its parent's.",
    )
    tax_class = serializers.SlugField(
        max_length=32, required=False, help_text="Default `standard`; a variant: its parent's."
    )

    class Meta:
        model = Product
        fields = [
            "slug",
            "sku",
            "name",
            "description",
            "price",
            "weight",
            "tax_class",
            "stock_quantity",
            "category_id",
            "brand_id",
            "attributes",
            "is_active",
            "meta_title",
            "meta_description",
            "product_type_id",
            "parent",
        ]

    def validate(self, data):
        if self.instance is None and "parent" not in data and "category" not in data:
            raise serializers.ValidationError({"category_id": ["This field is required."]}, code="required")
        if self.instance is not None and "parent" in data and data["parent"].pk != self.instance.parent_id:
            raise serializers.ValidationError(
                {"parent": ["A product's parent is set when the variant is created and never changes."]},
                code="invalid",
            )
        if self.instance is not None:
            data.pop("parent", None)  # unchanged
        return data

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
        # Names here (as for untyped products); values against the type: catalog.attributes.
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
