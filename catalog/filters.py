"""Product list filters (django-filter): parsing and validation of the query string, so a
bad value is a 400 naming the parameter and the OpenAPI schema lists every parameter. The
filtering itself is `catalog.selectors.product_list`."""

from __future__ import annotations

import django_filters
from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from catalog.models import Category, Product
from catalog.selectors import ORDERINGS, ProductFilters, parse_attribute_filters


class AttributeListField(forms.Field):
    """Repeatable `attributes=name:value|value` parameter."""

    widget = forms.SelectMultiple
    default_error_messages = {"invalid": "%(reason)s"}

    def to_python(self, value):
        if not value:
            return {}
        values = value if isinstance(value, list) else [value]
        try:
            return parse_attribute_filters([str(v) for v in values])
        except ValueError as exc:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid", params={"reason": str(exc)})


class StrictBooleanField(forms.Field):
    """`true`/`false` (also 1/0, yes/no); anything else is an error, not "no filter"."""

    widget = forms.TextInput
    default_error_messages = {"invalid": "Must be true or false."}
    TRUE, FALSE = {"true", "1", "yes", "on"}, {"false", "0", "no", "off"}

    def to_python(self, value):
        if value in (None, ""):
            return None
        text = str(value).strip().lower()
        if text in self.TRUE:
            return True
        if text in self.FALSE:
            return False
        raise forms.ValidationError(self.error_messages["invalid"], code="invalid")


@extend_schema_field(OpenApiTypes.BOOL)
class StrictBooleanFilter(django_filters.Filter):
    field_class = StrictBooleanField


class CategorySlugField(django_filters.fields.ModelChoiceField):
    def to_python(self, value):
        if isinstance(value, str) and "\x00" in value:
            raise forms.ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return super().to_python(value)


class CategorySlugFilter(django_filters.ModelChoiceFilter):
    field_class = CategorySlugField


@extend_schema_field({"type": "array", "items": {"type": "string", "example": "color:red|blue"}})
class AttributeFilter(django_filters.Filter):
    field_class = AttributeListField


@extend_schema_field(OpenApiTypes.STR)
class SlugListFilter(django_filters.CharFilter):
    """Comma-separated slugs."""


ORDERING_CHOICES = [(key, key) for key in ORDERINGS]
PRICE_BOUNDS = [MinValueValidator(0), MaxValueValidator(10**10)]


class ProductFilter(django_filters.FilterSet):
    search = django_filters.CharFilter(method="noop", max_length=200, help_text="Full-text search, ranked.")
    category = CategorySlugFilter(
        queryset=Category.objects.all(),
        to_field_name="slug",
        method="noop",
        help_text="Category slug; includes every descendant category.",
    )
    brand = SlugListFilter(method="noop", max_length=1000, help_text="Brand slug, or a comma-separated list.")
    min_price = django_filters.NumberFilter(method="noop", min_value=0, max_digits=12, decimal_places=2)
    max_price = django_filters.NumberFilter(method="noop", min_value=0, max_digits=12, decimal_places=2)
    in_stock = StrictBooleanFilter(method="noop")
    attributes = AttributeFilter(
        method="noop", help_text="name:value (repeatable; AND across names, OR within: color:red|blue)."
    )
    ordering = django_filters.ChoiceFilter(
        choices=ORDERING_CHOICES,
        method="noop",
        help_text="Default -created_at, or relevance when `search` is given.",
    )

    class Meta:
        model = Product
        fields: list[str] = []

    def noop(self, queryset, name, value):
        return queryset

    def to_filters(self) -> ProductFilters:
        data = self.form.cleaned_data
        brands = [b.strip() for b in (data.get("brand") or "").split(",") if b.strip()]
        return ProductFilters(
            search=(data.get("search") or "").strip(),
            category=data.get("category"),
            brands=brands,
            min_price=data.get("min_price"),
            max_price=data.get("max_price"),
            in_stock=data.get("in_stock"),
            attributes=data.get("attributes") or {},
            ordering=data.get("ordering") or "",
        )

    def filter_queryset(self, queryset):
        # Filtering and ordering happen in the selector (the view calls it with
        # to_filters()); the FilterSet only validates and documents the parameters.
        return queryset
