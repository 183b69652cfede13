"""The product list's query parameters (`GET products/`, `GET products/facets/`), as one
django-filter FilterSet. It is the single definition of each parameter:

- it validates: a bad value is a form error naming the parameter (the view answers 400);
- it filters: `ProductFilter(...).qs` is every matching product, in the requested
  `ordering` when one was given (catalog.selectors adds the default order and relevance
  ranking, and counts facets over the same queryset);
- it documents: drf-spectacular reads the filter classes and the type hints of the filter
  methods, so this module needs no schema annotations and imports no DRF (the selectors,
  which are domain code, build it).
"""

from __future__ import annotations

import re

import django_filters
from django import forms
from django.db import connection
from django.db.models import Q, QuerySet
from django.db.models.fields.json import KeyTextTransform
from django.db.models.lookups import In

from catalog.models import ATTRIBUTE_NAME_RE, Category, Product

# ordering parameter -> ORDER BY, always with id last so the order is total (keyset paging).
ORDERINGS: dict[str, tuple[str, str]] = {
    "price": ("price", "id"),
    "-price": ("-price", "-id"),
    "created_at": ("created_at", "id"),
    "-created_at": ("-created_at", "-id"),
    "name": ("name", "id"),
    "-name": ("-name", "-id"),
    "-rating_avg": ("-rating_avg", "-id"),
}
DEFAULT_ORDERING = "-created_at"
SEARCH_WORD_RE = re.compile(r"\w+", re.UNICODE)


def parse_attribute_filters(values: list[str]) -> dict[str, list[str]]:
    """`["color:red|blue", "size:M"]` -> {"color": ["red", "blue"], "size": ["M"]}.
    Raises ValueError with a message naming the bad value."""
    parsed: dict[str, list[str]] = {}
    for raw in values:
        name, sep, options = raw.partition(":")
        name = name.strip()
        choices = [o.strip() for o in options.split("|") if o.strip()]
        if not sep or not choices or any(len(c) > 200 or "\x00" in c for c in choices):
            raise ValueError(f"'{raw[:100]}' is not of the form name:value or name:value1|value2.")
        if not ATTRIBUTE_NAME_RE.match(name):
            raise ValueError(f"Attribute name '{name[:64]}' must be 1-64 letters, digits, '_' or '-' (not '__').")
        parsed.setdefault(name, []).extend(choices)
    return parsed


def search_query(text: str):
    """websearch_to_tsquery (english, stemmed) OR the words as typed with the last one as a
    prefix (simple config), so `running shoes` matches stems and `runn` / `trail runn` find
    `running`. Only the last word is a prefix: it is the one a user may still be typing, and
    a prefix scan per word made multi-word queries several times slower on 1M products.
    PostgreSQL only."""
    from django.contrib.postgres.search import SearchQuery

    query = SearchQuery(text, search_type="websearch", config="english")
    words = SEARCH_WORD_RE.findall(text.lower())[:8]
    # Quoted phrases, negation and OR are websearch syntax: honour them exactly, no prefixes.
    uses_operators = '"' in text or re.search(r"(^|\s)-\w", text) or re.search(r"\bor\b", text, re.I)
    if words and not uses_operators:
        prefix = " & ".join([*words[:-1], f"{words[-1]}:*"])
        query = query | SearchQuery(prefix, search_type="raw", config="simple")
    return query


# --- form fields: parsing and validation of one parameter each ---------------------------


class AttributeListField(forms.Field):
    """Repeatable `attributes=name:value|value`; cleans to {name: [values]}."""

    widget = forms.SelectMultiple  # reads every occurrence of the parameter
    default_error_messages = {"invalid_filter": "%(reason)s"}

    def to_python(self, value) -> dict[str, list[str]]:
        if not value:
            return {}
        values = value if isinstance(value, list) else [value]
        try:
            return parse_attribute_filters([str(v) for v in values])
        except ValueError as exc:
            # `invalid_filter`: the code the security review's fix names for a name that is
            # not a plain key (`regex:.`, `color__isnull:x`) or a malformed pair.
            raise forms.ValidationError(
                self.error_messages["invalid_filter"], code="invalid_filter", params={"reason": str(exc)}
            )


class StrictBooleanField(forms.Field):
    """`true`/`false` (also 1/0, yes/no); anything else is an error, not "no filter"."""

    widget = forms.TextInput
    default_error_messages = {"invalid": "Must be true or false."}
    TRUE, FALSE = {"true", "1", "yes", "on"}, {"false", "0", "no", "off"}

    def to_python(self, value) -> bool | None:
        if value in (None, ""):
            return None
        text = str(value).strip().lower()
        if text in self.TRUE:
            return True
        if text in self.FALSE:
            return False
        raise forms.ValidationError(self.error_messages["invalid"], code="invalid")


class SlugListField(forms.CharField):
    """`acme` or `acme, zeta`: the whole value is checked (max_length), then split on
    commas; blank entries are dropped."""

    def clean(self, value) -> list[str]:
        text = super().clean(value)
        return [slug.strip() for slug in text.split(",") if slug.strip()]


class CategorySlugField(django_filters.fields.ModelChoiceField):
    def to_python(self, value):
        if isinstance(value, str) and "\x00" in value:
            raise forms.ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return super().to_python(value)


# --- filters -----------------------------------------------------------------------------


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


class SlugListFilter(django_filters.CharFilter):
    """Comma-separated slugs (documented as a string, as the API describes it)."""

    field_class = SlugListField


class CategorySlugFilter(django_filters.ModelChoiceFilter):
    field_class = CategorySlugField


class AttributeFilter(django_filters.MultipleChoiceFilter):
    """A parameter that may be repeated. It subclasses MultipleChoiceFilter (without
    choices) because that is how django-filter and drf-spectacular know a repeatable
    parameter: documented as an array, `explode: true`. The filtering is its method."""

    field_class = AttributeListField


ORDERING_CHOICES = [(key, key) for key in ORDERINGS]


class ProductFilter(django_filters.FilterSet):
    """Bind it to the query parameters and to the products the caller may see
    (catalog.selectors.product_filterset does both); read `.qs` only once `is_valid()`."""

    search = django_filters.CharFilter(method="filter_search", max_length=200, help_text="Full-text search, ranked.")
    category = CategorySlugFilter(
        queryset=Category.objects.all(),
        to_field_name="slug",
        method="filter_category",
        help_text="Category slug; includes every descendant category.",
    )
    brand = SlugListFilter(
        field_name="brand__slug",
        lookup_expr="in",
        max_length=1000,
        help_text="Brand slug, or a comma-separated list (unknown slugs match nothing).",
    )
    min_price = django_filters.NumberFilter(
        field_name="price", lookup_expr="gte", min_value=0, max_digits=12, decimal_places=2
    )
    max_price = django_filters.NumberFilter(
        field_name="price", lookup_expr="lte", min_value=0, max_digits=12, decimal_places=2
    )
    in_stock = StrictBooleanFilter(method="filter_in_stock")
    attributes = AttributeFilter(
        method="filter_attributes",
        help_text="name:value, e.g. color:red|blue (repeatable; AND across names, OR within a name).",
    )
    ordering = django_filters.ChoiceFilter(
        choices=ORDERING_CHOICES,
        method="filter_ordering",
        help_text="Default -created_at, or relevance when `search` is given.",
    )

    class Meta:
        model = Product
        fields: list[str] = []

    # A filter method runs only for a non-empty value.

    def filter_search(self, queryset: QuerySet[Product], name: str, value: str) -> QuerySet[Product]:
        if connection.vendor == "postgresql":
            return queryset.filter(search_vector=search_query(value))
        # SQLite fallback for development: substring match, no ranking.
        cond = Q(name__icontains=value) | Q(sku__icontains=value) | Q(description__icontains=value)
        return queryset.filter(cond | Q(brand__name__icontains=value))

    def filter_category(self, queryset: QuerySet[Product], name: str, value: Category) -> QuerySet[Product]:
        # The category and every descendant: an indexed prefix match on the path.
        subtree = Category.objects.filter(path__startswith=value.path).values("id")
        return queryset.filter(category_id__in=subtree)

    def filter_in_stock(self, queryset: QuerySet[Product], name: str, value: bool) -> QuerySet[Product]:
        return queryset.filter(stock_quantity__gt=0) if value else queryset.filter(stock_quantity=0)

    def filter_attributes(
        self, queryset: QuerySet[Product], name: str, value: dict[str, list[str]]
    ) -> QuerySet[Product]:
        # An attribute name is data, never part of a lookup: on PostgreSQL it is a key of the
        # containment document (`attributes @> '{"color": "red"}'`, served by the
        # jsonb_path_ops GIN index), elsewhere the argument of a key transform compared with
        # `IN` (`attributes ->> '$."color"' IN ('red')`). Building `attributes__<name>` from
        # the query string let `regex:.` match everything and `isnull:x` answer 500.
        for attribute, options in value.items():
            if connection.vendor == "postgresql":
                cond = Q()
                for option in options:
                    cond |= Q(attributes__contains={attribute: option})
                queryset = queryset.filter(cond)
            else:
                queryset = queryset.filter(In(KeyTextTransform(attribute, "attributes"), options))
        return queryset

    def filter_ordering(self, queryset: QuerySet[Product], name: str, value: str) -> QuerySet[Product]:
        return queryset.order_by(*ORDERINGS[value])

    # What the selectors need beyond `.qs` (valid filtersets only).

    @property
    def search_text(self) -> str:
        return self.form.cleaned_data.get("search") or ""

    @property
    def explicit_ordering(self) -> str:
        return self.form.cleaned_data.get("ordering") or ""
