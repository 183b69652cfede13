"""Reads of the catalog: products (filtered, searched, ordered), facets, stats, the category
tree and reviews. Views, the admin and commands all read through here."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Count, F, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce

from accounts.roles import is_staff_user
from catalog import hooks
from catalog.models import Brand, Category, Product, Review
from core.errors import NotFound

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
ATTRIBUTE_NAME_RE = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")
SEARCH_WORD_RE = re.compile(r"\w+", re.UNICODE)


# --- categories ------------------------------------------------------------------------


def category_list() -> QuerySet[Category]:
    return Category.objects.order_by("path")


def category_tree() -> list[dict[str, Any]]:
    """The whole tree as nested dicts, in one query (categories number in the hundreds)."""
    nodes: dict[UUID, dict[str, Any]] = {}
    roots: list[dict[str, Any]] = []
    for cat in Category.objects.order_by("depth", "sort_order", "name"):
        node = {"id": cat.id, "slug": cat.slug, "name": cat.name, "children": []}
        nodes[cat.id] = node
        parent = nodes.get(cat.parent_id) if cat.parent_id else None
        (parent["children"] if parent else roots).append(node)
    return roots


def category_get(category_id: UUID) -> Category:
    try:
        return Category.objects.get(pk=category_id)
    except (Category.DoesNotExist, ValueError, ValidationError):
        raise NotFound()


def category_ancestors(category: Category) -> list[Category]:
    """Breadcrumbs, root first: the ids come from the materialised path, one query."""
    ids = category.ancestor_ids()
    if not ids:
        return []
    return list(Category.objects.filter(id__in=ids).order_by("depth"))


def category_descendant_ids_subquery(category: Category) -> QuerySet:
    """The category and every descendant (an indexed prefix match on the path)."""
    return Category.objects.filter(path__startswith=category.path).values("id")


# --- products --------------------------------------------------------------------------


def product_base_queryset(user) -> QuerySet[Product]:
    """Products `user` may see: everything for staff, active products for everyone else."""
    qs = Product.objects.select_related("category", "brand").defer("search_vector")
    if not is_staff_user(user):
        qs = qs.filter(is_active=True)
    return qs


def product_get_for_user(user, product_id: UUID) -> Product:
    """One product; inactive ones are 404 for everyone but staff."""
    try:
        return product_base_queryset(user).get(pk=product_id)
    except (Product.DoesNotExist, ValueError, ValidationError):
        raise NotFound()


def parse_attribute_filters(values: list[str]) -> dict[str, list[str]]:
    """`["color:red|blue", "size:M"]` -> {"color": ["red", "blue"], "size": ["M"]}.
    Raises ValueError with a message naming the bad value."""
    parsed: dict[str, list[str]] = {}
    for raw in values:
        name, sep, options = raw.partition(":")
        name = name.strip()
        choices = [o.strip() for o in options.split("|") if o.strip()]
        if (
            not sep
            or not ATTRIBUTE_NAME_RE.match(name)
            or not choices
            or any(len(c) > 200 or "\x00" in c for c in choices)
        ):
            raise ValueError(f"'{raw[:100]}' is not of the form name:value or name:value1|value2.")
        parsed.setdefault(name, []).extend(choices)
    return parsed


def _search_query(text: str):
    """websearch_to_tsquery (english, stemmed) OR the words as typed with the last one as a
    prefix (simple config), so `running shoes` matches stems and `runn` / `trail runn` find
    `running`. Only the last word is a prefix: it is the one a user may still be typing, and
    a prefix scan per word made multi-word queries several times slower on 1M products."""
    from django.contrib.postgres.search import SearchQuery

    query = SearchQuery(text, search_type="websearch", config="english")
    words = SEARCH_WORD_RE.findall(text.lower())[:8]
    # Quoted phrases, negation and OR are websearch syntax: honour them exactly, no prefixes.
    uses_operators = '"' in text or re.search(r"(^|\s)-\w", text) or re.search(r"\bor\b", text, re.I)
    if words and not uses_operators:
        prefix = " & ".join([*words[:-1], f"{words[-1]}:*"])
        query = query | SearchQuery(prefix, search_type="raw", config="simple")
    return query


def _apply_search(qs: QuerySet[Product], text: str) -> tuple[QuerySet[Product], Any]:
    if connection.vendor == "postgresql":
        query = _search_query(text)
        return qs.filter(search_vector=query), query
    # SQLite fallback for development: substring match, no ranking.
    cond = Q(name__icontains=text) | Q(sku__icontains=text) | Q(description__icontains=text)
    cond |= Q(brand__name__icontains=text)
    return qs.filter(cond), None


@dataclass
class ProductFilters:
    search: str = ""
    category: Category | None = None
    brands: list[str] = field(default_factory=list)
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    in_stock: bool | None = None
    attributes: dict[str, list[str]] = field(default_factory=dict)
    ordering: str = ""


def product_filter(qs: QuerySet[Product], filters: ProductFilters) -> QuerySet[Product]:
    """Apply every filter except search and ordering (shared by lists and facets)."""
    if filters.category is not None:
        qs = qs.filter(category_id__in=category_descendant_ids_subquery(filters.category))
    if filters.brands:
        qs = qs.filter(brand__slug__in=filters.brands)
    if filters.min_price is not None:
        qs = qs.filter(price__gte=filters.min_price)
    if filters.max_price is not None:
        qs = qs.filter(price__lte=filters.max_price)
    if filters.in_stock is True:
        qs = qs.filter(stock_quantity__gt=0)
    elif filters.in_stock is False:
        qs = qs.filter(stock_quantity=0)
    for name, options in filters.attributes.items():
        cond = Q()
        for option in options:
            if connection.vendor == "postgresql":
                cond |= Q(attributes__contains={name: option})  # served by the jsonb_path_ops GIN index
            else:
                cond |= Q(**{f"attributes__{name}": option})
        qs = qs.filter(cond)
    return qs


def effective_ordering(filters: ProductFilters) -> str:
    """The ordering in force: explicit, else relevance for a search (""), else newest first.
    Cursor paging of a relevance-ranked search walks its bounded ranked list."""
    if filters.ordering:
        return filters.ordering
    if filters.search:
        return ""
    return DEFAULT_ORDERING


def product_list(user, filters: ProductFilters) -> QuerySet[Product] | RankedProducts:
    """The filtered, ordered product list `user` may see.

    Relevance ranking is bounded: only the first CATALOG_SEARCH_CANDIDATES matches (the
    page-number window) are ranked, so a common term never ranks every match."""
    qs = product_filter(product_base_queryset(user), filters)
    query = None
    if filters.search:
        qs, query = _apply_search(qs, filters.search)
    ordering = effective_ordering(filters)
    if ordering:
        return qs.order_by(*ORDERINGS[ordering])
    if query is None:  # SQLite: no ranking
        return qs.order_by(*ORDERINGS[DEFAULT_ORDERING])
    return RankedProducts(user, qs, query)


class RankedProducts:
    """A relevance-ordered search result. One query ranks the ids of the first
    CATALOG_SEARCH_CANDIDATES matches (bounded work however common the term); pages are
    then fetched by id. Sliceable like a queryset and counts itself, for the paginator."""

    def __init__(self, user, matches: QuerySet[Product], query) -> None:
        from django.contrib.postgres.search import SearchRank

        self.user = user
        self.limit = settings.CATALOG_SEARCH_CANDIDATES
        candidates = matches.order_by().values("pk")[: self.limit]
        self._ranked = (
            Product.objects.filter(pk__in=candidates)
            .annotate(rank=SearchRank(F("search_vector"), query))
            .order_by("-rank", "-created_at", "-id")
            .values_list("pk", flat=True)
        )
        self._ids: list[UUID] | None = None

    @property
    def ids(self) -> list[UUID]:
        if self._ids is None:
            self._ids = list(self._ranked)
        return self._ids

    def bounded_count(self) -> tuple[int, bool]:
        n = len(self.ids)
        return n, n < self.limit

    def __getitem__(self, key: slice) -> list[Product]:
        page_ids = self.ids[key]
        rows = {p.pk: p for p in product_base_queryset(self.user).filter(pk__in=page_ids)}
        return [rows[pk] for pk in page_ids if pk in rows]


def product_matches(user, filters: ProductFilters) -> QuerySet[Product]:
    """Every product matching the filters and search, unordered (counts and facets)."""
    qs = product_filter(product_base_queryset(user), filters)
    if filters.search:
        qs, _ = _apply_search(qs, filters.search)
    return qs


def product_facets(user, filters: ProductFilters) -> dict[str, Any]:
    """Counts per category, brand and attribute value and the price range of the filtered
    set, in one query. Counted over at most CATALOG_FACET_MAX_ROWS matches (then
    `is_exact` is false); brands and attribute values are the CATALOG_FACET_TOP most
    frequent (categories: all that occur)."""
    cap = settings.CATALOG_FACET_MAX_ROWS
    qs = product_matches(user, filters).order_by()
    sample = qs.values("category_id", "brand_id", "attributes", "price")[: cap + 1]
    if connection.vendor == "postgresql":
        categories, brands, attributes, price_min, price_max, total = _facets_postgres(sample)
    else:
        categories, brands, attributes, price_min, price_max, total = _facets_python(list(sample))
    top = settings.CATALOG_FACET_TOP
    by_count = lambda d: (-d["count"], d.get("name", d.get("value")))  # noqa: E731
    return {
        "is_exact": total <= cap,
        "total": min(total, cap),
        "categories": sorted(categories, key=by_count),
        "brands": sorted(brands, key=by_count)[:top],
        "attributes": {
            name: sorted(({"value": v, "count": n} for v, n in values.items()), key=by_count)[:top]
            for name, values in sorted(attributes.items())
        },
        "price": {"min": price_min, "max": price_max},
    }


def _facets_postgres(sample: QuerySet):
    sql, params = sample.query.sql_with_params()
    # One round trip: the capped matching set once, grouped three ways, names joined.
    statement = f"""
        WITH s AS MATERIALIZED ({sql}),
        c AS (SELECT category_id, count(*) AS n FROM s GROUP BY category_id),
        b AS (SELECT brand_id, count(*) AS n FROM s WHERE brand_id IS NOT NULL GROUP BY brand_id),
        -- Expand each distinct attribute set once (far fewer than rows): jsonb_each_text
        -- per row was most of the statement's time.
        a AS (SELECT attributes, count(*) AS n FROM s GROUP BY attributes)
        SELECT 'c', c.category_id::text, cat.slug, cat.name, c.n
          FROM c JOIN catalog_category cat ON cat.id = c.category_id
        UNION ALL
        SELECT 'b', b.brand_id::text, br.slug, br.name, b.n FROM b JOIN catalog_brand br ON br.id = b.brand_id
        UNION ALL
        SELECT 'a', NULL, kv.key, kv.value, sum(a.n)::int FROM a, jsonb_each_text(
            CASE WHEN jsonb_typeof(a.attributes) = 'object' THEN a.attributes ELSE '{{}}'::jsonb END
        ) AS kv GROUP BY kv.key, kv.value
        UNION ALL
        SELECT 'p', NULL, min(price)::text, max(price)::text, count(*) FROM s
    """  # noqa: S608 (the inner SQL is Django's, parameters stay parameters)
    categories, brands = [], []
    attributes: dict[str, Counter] = defaultdict(Counter)
    price_min = price_max = None
    total = 0
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        for kind, pk, a, b, n in cursor.fetchall():
            if kind == "c":
                categories.append({"id": UUID(pk), "slug": a, "name": b, "count": n})
            elif kind == "b":
                brands.append({"id": UUID(pk), "slug": a, "name": b, "count": n})
            elif kind == "a":
                attributes[a][b] = n
            else:
                price_min = Decimal(a) if a is not None else None
                price_max = Decimal(b) if b is not None else None
                total = n
    return categories, brands, attributes, price_min, price_max, total


def _facets_python(rows: list[dict[str, Any]]):
    total = len(rows)
    rows = rows[: settings.CATALOG_FACET_MAX_ROWS]
    cat_counts: Counter = Counter(r["category_id"] for r in rows if r["category_id"])
    brand_counts: Counter = Counter(r["brand_id"] for r in rows if r["brand_id"])
    attributes: dict[str, Counter] = defaultdict(Counter)
    for r in rows:
        if isinstance(r["attributes"], dict):
            for k, v in r["attributes"].items():
                attributes[k][v if isinstance(v, str) else _json_text(v)] += 1
    cats = Category.objects.filter(id__in=list(cat_counts)) if cat_counts else []
    brands = Brand.objects.filter(id__in=list(brand_counts)) if brand_counts else []
    prices = [r["price"] for r in rows]
    return (
        [{"id": c.id, "slug": c.slug, "name": c.name, "count": cat_counts[c.id]} for c in cats],
        [{"id": b.id, "slug": b.slug, "name": b.name, "count": brand_counts[b.id]} for b in brands],
        attributes,
        min(prices, default=None),
        max(prices, default=None),
        total,
    )


def _json_text(value: Any) -> str:
    import json

    return json.dumps(value) if not isinstance(value, (int, float)) or isinstance(value, bool) else str(value)


def product_stats() -> dict[str, Any]:
    """Staff dashboard numbers over the whole catalog (two aggregate queries)."""
    threshold = settings.CATALOG_LOW_STOCK_THRESHOLD
    totals = Product.objects.aggregate(
        product_count=Count("id"),
        active_count=Count("id", filter=Q(is_active=True)),
        stock_units=Coalesce(Sum("stock_quantity"), Value(0)),
        stock_value=Coalesce(Sum(F("price") * F("stock_quantity")), Value(Decimal("0.00"))),
        low_stock_count=Count("id", filter=Q(stock_quantity__lte=threshold)),
        out_of_stock_count=Count("id", filter=Q(stock_quantity=0)),
    )
    per_category = (
        Product.objects.values("category_id", "category__slug", "category__name")
        .annotate(count=Count("id"))
        .order_by("-count", "category__name")
    )
    totals["stock_value"] = Decimal(totals["stock_value"]).quantize(Decimal("0.01"))
    totals["low_stock_threshold"] = threshold
    totals["per_category"] = [
        {"id": r["category_id"], "slug": r["category__slug"], "name": r["category__name"], "count": r["count"]}
        for r in per_category
    ]
    return totals


# --- reviews ---------------------------------------------------------------------------


def review_list_for_product(product: Product) -> QuerySet[Review]:
    return (
        Review.objects.filter(product=product, is_approved=True).select_related("user").order_by("-created_at", "-id")
    )


def review_is_verified_purchase(user, product: Product) -> bool:
    """Whether `user` bought `product`, as the checker orders registered answers it (an
    order of it that is paid or later, not cancelled); see catalog.hooks."""
    return hooks.user_has_purchased(user, product.pk)
