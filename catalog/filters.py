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
from decimal import Decimal, InvalidOperation

import django_filters
from django import forms
from django.db import connection
from django.db.models import Exists, JSONField, OuterRef, Q, QuerySet, TextField, Value
from django.db.models.fields.json import DataContains, KeyTextTransform
from django.db.models.functions import Cast
from django.db.models.lookups import In
from django.http import QueryDict
from django_filters.constants import EMPTY_VALUES

from catalog.models import ATTRIBUTE_NAME_RE, Category, Product, ProductStructure

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


def _typed_options(options: list[str]) -> list:
    """Each filter value with the typed JSON values it also stands for: a value that reads
    as a number matches a number attribute numerically (`10` matches 10 and 10.0), `true`
    and `false` match a boolean attribute. Product types decide the JSON type stored
    (catalog.attributes), so a typed attribute is matched in its type, and an untyped
    (text) one still matches the text as typed."""
    typed: list = []
    for option in options:
        typed.append(option)
        if option in ("true", "false"):
            typed.append(option == "true")
            continue
        try:
            number = Decimal(option)
        except InvalidOperation:
            continue
        if number.is_finite() and re.fullmatch(r"-?\d+(\.\d+)?", option):
            as_int = int(number)
            typed.append(as_int if number == as_int else float(number))
    return typed


def attribute_condition(attribute: str, options: list[str], *, outer: bool = False) -> Q:
    """The product's `attributes` (with `outer`, inside a subquery: the outer row's) have
    `attribute` equal to one of `options` (OR).

    An attribute name is data, never part of a lookup: on PostgreSQL it is a key of the
    containment document (`attributes @> '{"color": "red"}'`, served by the jsonb_path_ops
    GIN index; numbers compare as numbers in jsonb), elsewhere the argument of a key
    transform compared with `IN`. Building `attributes__<name>` from the query string let
    `regex:.` match everything and `isnull:x` answer 500."""
    typed = _typed_options(options)
    if connection.vendor == "postgresql":
        cond = Q()
        for option in typed:
            if outer:
                document = Value({attribute: option}, output_field=JSONField())
                cond |= Q(DataContains(OuterRef("attributes"), document))
            else:
                cond |= Q(attributes__contains={attribute: option})
        return cond
    field = "parent__attributes" if outer else "attributes"
    # SQLite (development): JSON_EXTRACT gives numbers as numbers (10.5, or 10.0 for a
    # float stored whole) and booleans as 1/0; compared as text, so each number is spelt
    # both ways SQLite casts it ("10" and "10.0").
    plain: set[str] = set()
    for option in typed:
        if isinstance(option, bool):
            plain.add(str(int(option)))
        elif isinstance(option, int | float):
            plain.update({str(option), repr(float(option))})
        else:
            plain.add(option)
    return Q(In(Cast(KeyTextTransform(attribute, field), TextField()), sorted(plain)))


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


class SharedFields(dict):
    """A form class's `base_fields` that each form instance shares instead of deep-copying
    (Django copies them so that one form may change its fields; these forms never do):
    copying the product filters' fields, widgets and validators was a tenth of an uncached
    list's Python time."""

    def __deepcopy__(self, memo):
        return dict(self)


class ValidatedForm:
    """What the filters read of a bound form that validated before with the same values:
    valid, no errors, its cleaned data (a copy, so no request changes another's)."""

    def __init__(self, cleaned_data: dict, fields: dict) -> None:
        self.cleaned_data = dict(cleaned_data)
        self.errors = forms.utils.ErrorDict()
        self.fields = fields  # the form's fields, for whoever inspects them (the OpenAPI schema)

    def is_valid(self) -> bool:
        return True


class SharedFiltersFilterSet(django_filters.FilterSet):
    """A FilterSet that builds its filters and its form class once per class, not per
    request. django-filter deep-copies every filter into each instance (so a filter can
    find its `method` on `filter.parent`) and assembles a new form class from them each
    time; for the product list that was a fifth of an uncached request's Python time.

    Here the instance reads the class's filters (never mutated after the first form
    class is built, so they are safe to share between threads) and calls a filter's
    `method` on itself, as django-filter's FilterMethod would on `parent`: skipped for an
    empty value, called as `method(queryset, field_name, value)`. Form instances share
    the fields too (SharedFields): cleaning a value does not change its field."""

    def __init__(self, data=None, queryset=None, *, request=None, prefix=None):
        if queryset is None:
            queryset = self._meta.model._default_manager.all()
        self.is_bound = data is not None
        self.data = data or QueryDict()
        self.queryset = queryset
        self.request = request
        self.form_prefix = prefix
        self.filters = self.base_filters

    @classmethod
    def shared_form_class(cls) -> type[forms.Form]:
        form_class = cls.__dict__.get("_shared_form_class")
        if form_class is None:
            for filter_ in cls.base_filters.values():
                filter_.model = cls._meta.model
            fields = {name: filter_.field for name, filter_ in cls.base_filters.items()}
            form_class = type(f"{cls.__name__}Form", (cls._meta.form,), fields)
            form_class.base_fields = SharedFields(form_class.base_fields)
            cls._shared_form_class = form_class
        return form_class

    def get_form_class(self):
        return self.shared_form_class()

    # Valid parameter sets whose cleaning reads no database (every filter but those with a
    # queryset, such as `category`), by their raw values -> their cleaned data: a list's
    # pages in every ordering and size share one validation. Bounded; emptied when full.
    _validated: dict = {}
    VALIDATED_MAX = 1024

    @property
    def form(self):
        if not hasattr(self, "_form"):
            key = self._validation_key()
            cleaned = self._validated.get(key) if key is not None else None
            if cleaned is not None:
                self._form = ValidatedForm(cleaned, dict(self.get_form_class().base_fields))
            else:
                self._form = super().form
                if key is not None and self._form.is_valid():
                    if len(self._validated) >= self.VALIDATED_MAX:
                        self._validated.clear()
                    self._validated[key] = dict(self._form.cleaned_data)
        return self._form

    def _validation_key(self):
        if not self.is_bound or self.form_prefix:
            return None
        data = self.data
        getlist = getattr(data, "getlist", None)
        values = []
        for name in sorted(self.filters):
            if name in data:
                if getattr(self.filters[name], "queryset", None) is not None:
                    return None  # cleaning it reads the database
                values.append((name, tuple(getlist(name)) if getlist else data[name]))
        key = (type(self), tuple(values))
        try:
            hash(key)
        except TypeError:  # a value that cannot be a key (a plain dict's list): not remembered
            return None
        return key

    def filter_queryset(self, queryset):
        for name, value in self.form.cleaned_data.items():
            filter_ = self.filters[name]
            method = filter_.method
            if method is None:
                queryset = filter_.filter(queryset, value)
            elif value not in EMPTY_VALUES:
                bound = method if callable(method) else getattr(self, method)
                queryset = bound(queryset, filter_.field_name, value)
        return queryset


class ProductFilter(SharedFiltersFilterSet):
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
        method="filter_price",
        min_value=0,
        max_digits=12,
        decimal_places=2,
        help_text="A parent matches when one of its variants does.",
    )
    max_price = django_filters.NumberFilter(
        method="filter_price",
        min_value=0,
        max_digits=12,
        decimal_places=2,
        help_text="A parent matches when one of its variants does.",
    )
    in_stock = StrictBooleanFilter(
        method="filter_in_stock", help_text="A parent is in stock when one of its variants is."
    )
    attributes = AttributeFilter(
        method="filter_attributes",
        help_text="name:value, e.g. color:red|blue (repeatable; AND across names, OR within a name). "
        "A parent matches when one of its variants does (its own attributes count for every variant).",
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

    # Price, stock and attributes look through variants. Each of these filters only records
    # its value; filter_queryset then applies them together, so that a parent matches when
    # ONE of its active variants matches all of them (an M that is in stock and under 20,
    # not an M that is out of stock beside an S in stock):
    #
    #   (structure <> 'parent' AND <the conditions on the product's own columns>)
    #   OR (structure = 'parent' AND <its row's variant price range can match>
    #       AND EXISTS (SELECT 1 FROM product v WHERE v.parent_id = p.id AND v.is_active
    #                   AND <the conditions on v; an attribute may be the parent's>))
    #
    # A parent's row holds the range of its active variants' prices (`price` their lowest,
    # `variant_price_max` their highest, null without any), so the range test is exact
    # where it can be: an active variant lies in [lo, hi] only if price <= hi and
    # variant_price_max >= lo, and one surely does if moreover the cheapest is >= lo or the
    # dearest <= hi. With price conditions alone only a parent whose variants straddle the
    # whole range looks at its variants (the EXISTS, a lookup on the (parent, price) index);
    # the others are decided by their row, which the (category, price) list index covers,
    # so a category's filtered count and page ids are index-only scans.

    # The type hints document each parameter (drf-spectacular reads them).

    def filter_price(self, queryset: QuerySet[Product], name: str, value: Decimal) -> QuerySet[Product]:
        self._through_variants[name] = value
        return queryset

    def filter_in_stock(self, queryset: QuerySet[Product], name: str, value: bool) -> QuerySet[Product]:
        self._through_variants[name] = value
        return queryset

    def filter_attributes(
        self, queryset: QuerySet[Product], name: str, value: dict[str, list[str]]
    ) -> QuerySet[Product]:
        self._through_variants[name] = value
        return queryset

    def filter_queryset(self, queryset: QuerySet[Product]) -> QuerySet[Product]:
        self._through_variants: dict = {}
        queryset = super().filter_queryset(queryset)
        conditions = self._through_variants
        if not conditions:
            return queryset
        low, high = conditions.get("min_price"), conditions.get("max_price")
        own, variant = Q(), Q(is_active=True)
        # What the parent's own row must show for an active variant to match (the prices).
        parent_range = Q(variant_price_max__isnull=False)
        if low is not None:
            own &= Q(price__gte=low)
            variant &= Q(price__gte=low)
            parent_range &= Q(variant_price_max__gte=low)
        outer = Q()
        if high is not None:
            # Exact for both kinds (a parent's price is its cheapest active variant's), and
            # an index condition on the (price, id) and (category, price) list indexes.
            outer &= Q(price__lte=high)
            variant &= Q(price__lte=high)
        in_stock = conditions.get("in_stock")
        if in_stock is True:
            own &= Q(stock_quantity__gt=0)
            variant &= Q(stock_quantity__gt=0)
        elif in_stock is False:
            own &= Q(stock_quantity=0)
        attributes = conditions.get("attributes") or {}
        for attribute, options in attributes.items():
            own &= attribute_condition(attribute, options)
            variant &= attribute_condition(attribute, options) | attribute_condition(attribute, options, outer=True)
        # `v.id <> p.id` (always true: a variant is not its own parent) is a second outer
        # reference besides `v.parent_id = p.id`, so PostgreSQL cannot turn the EXISTS into
        # a hashed subplan (which scans every matching variant of the catalog first): it
        # probes the (parent_id, price) index per candidate parent, stopping at the first
        # match, which is what a page of 20 ordered by an index needs.
        variants = Product.objects.filter(parent=OuterRef("pk")).exclude(pk=OuterRef("pk"))
        matching_variant = Exists(variants.filter(variant))
        if in_stock is True or attributes:
            parent_match = parent_range & matching_variant  # the row only rules parents out
        elif low is not None and high is not None:
            # The cheapest or the dearest variant is in range, else look (listed in this
            # order: PostgreSQL evaluates an OR's arms left to right, the EXISTS rarely).
            parent_match = parent_range & (Q(price__gte=low) | Q(variant_price_max__lte=high) | matching_variant)
        else:  # one bound (`high` is in `outer`), or none: the range decides
            parent_match = parent_range
        parent = Q(structure=ProductStructure.PARENT) & parent_match
        if in_stock is False:  # out of stock: no active variant has any
            parent &= ~Exists(variants.filter(is_active=True, stock_quantity__gt=0))
        return queryset.filter(outer, (~Q(structure=ProductStructure.PARENT) & own) | parent)

    def filter_ordering(self, queryset: QuerySet[Product], name: str, value: str) -> QuerySet[Product]:
        return queryset.order_by(*ORDERINGS[value])

    # What the selectors need beyond `.qs` (valid filtersets only).

    @property
    def search_text(self) -> str:
        return self.form.cleaned_data.get("search") or ""

    @property
    def explicit_ordering(self) -> str:
        return self.form.cleaned_data.get("ordering") or ""
