"""Reads of the catalog: products (filtered, searched, ordered), facets, stats, the category
tree and reviews. Views, the admin and commands all read through here."""

from __future__ import annotations

import functools
import json
import re
from collections import Counter, defaultdict, namedtuple
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import orjson
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, connections, router, transaction
from django.db.models import Case, Count, F, JSONField, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum, Value, When
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce, JSONObject

from accounts.roles import is_staff_user
from catalog import hooks
from catalog.filters import DEFAULT_ORDERING, ORDERINGS, ProductFilter, search_query
from catalog.models import (
    AttributeDefinition,
    Brand,
    Category,
    Product,
    ProductImage,
    ProductStructure,
    ProductType,
    Review,
    StockMove,
)
from core.errors import NotFound
from core.statements import fetch_prepared

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


# --- products --------------------------------------------------------------------------


def product_base_queryset(user) -> QuerySet[Product]:
    """Products `user` may see: everything for staff, active products for everyone else
    (variants included: a variant's detail is readable; lists take product_filterset)."""
    return _product_base(is_staff_user(user))


def _product_base(staff: bool) -> QuerySet[Product]:
    qs = Product.objects.select_related("category", "brand", "product_type").defer("search_vector")
    return qs if staff else qs.filter(is_active=True)


def product_images_prefetch() -> Prefetch:
    """A product's images in position order, in one query for a whole page of products."""
    return Prefetch("images", queryset=ProductImage.objects.order_by("position", "id"))


def product_display_queryset(user) -> QuerySet[Product]:
    """product_base_queryset plus what product reads show besides the row: the images
    (one query per page, whatever their number)."""
    return product_base_queryset(user).prefetch_related(product_images_prefetch())


def product_get_for_user(user, product_id: UUID, *, display: bool = False) -> Product:
    """One product; inactive ones are 404 for everyone but staff. `display`: loaded for
    the detail page (its images; for staff also who created and last edited it)."""
    qs = product_base_queryset(user)
    if display:
        qs = qs.prefetch_related(product_images_prefetch())
        if is_staff_user(user):
            qs = qs.select_related("created_by", "updated_by")
    try:
        return qs.get(pk=product_id)
    except (Product.DoesNotExist, ValueError, ValidationError):
        raise NotFound()


STOCK_MOVES_SHOWN = 20


def product_stock_moves(product: Product, *, limit: int = STOCK_MOVES_SHOWN) -> list[StockMove]:
    """The product's last `limit` stock moves, newest first, with who made them (one
    query, on the (product, -id) index). For staff: customers never see the ledger."""
    moves = StockMove.objects.filter(product=product).select_related("by").order_by("-id")
    fields = ("delta", "quantity_after", "reason", "by", "by__email", "order_id", "note", "created_at")
    return list(moves.only(*fields)[:limit])


def _variants_stock() -> Subquery:
    """The stock of a parent's active variants, summed (a correlated subquery on the
    (parent, price) index)."""
    variants = Product.objects.filter(parent=OuterRef("pk"), is_active=True).order_by().values("parent")
    return Subquery(variants.annotate(total=Sum("stock_quantity")).values("total"))


def product_stock_levels(product_ids: Iterable) -> dict[str, tuple[int, datetime]]:
    """{str(id): (stock_quantity, updated_at)} of these products (missing ones are absent):
    one primary-key lookup. What a cached product page merges in on a hit (a stock move
    also sets updated_at). A parent's level is the total stock of its active variants (it
    holds none itself), as ProductSerializer shows it."""
    level = Case(
        When(structure=ProductStructure.PARENT, then=Coalesce(_variants_stock(), Value(0))),
        default=F("stock_quantity"),
    )
    rows = (
        Product.objects.filter(pk__in=list(product_ids)).annotate(level=level).values_list("id", "level", "updated_at")
    )
    return {str(pk): (quantity, updated_at) for pk, quantity, updated_at in rows}


# Columns a variant shows inside its parent (ProductSerializer's `variants`).
VARIANT_FIELDS = (
    "id", "slug", "sku", "name", "price", "stock_quantity", "attributes", "is_active", "parent_id",
    "structure", "created_at", "updated_at",
)  # fmt: skip


def product_variants_by_parent(parent_ids: Iterable[UUID], user) -> dict[UUID, list[Product]]:
    """{parent id: its variants} (oldest first; active ones only, except for staff), one
    list per id given: one query for any number of parents and variants, none without
    parents."""
    variants_of: dict[UUID, list[Product]] = {pk: [] for pk in parent_ids}
    if not variants_of:
        return variants_of
    variants = (
        Product.objects.filter(parent_id__in=list(variants_of)).only(*VARIANT_FIELDS).order_by("created_at", "id")
    )
    if not is_staff_user(user):
        variants = variants.filter(is_active=True)
    for variant in variants:
        variants_of[variant.parent_id].append(variant)
    return variants_of


def product_attach_variants(products: Iterable[Product], user) -> None:
    """Give each parent among `products` its variants as `listed_variants`
    (product_variants_by_parent), others an empty list. Serializers read `listed_variants`
    (ProductSerializer: `variants`, `price_range`, a parent's stock)."""
    products = list(products)
    variants_of = product_variants_by_parent([p.pk for p in products if p.structure == ProductStructure.PARENT], user)
    for product in products:
        product.listed_variants = variants_of.get(product.pk, [])


# --- product types -----------------------------------------------------------------------


def product_type_list() -> QuerySet[ProductType]:
    """Product types with their attribute definitions (two queries for the whole page)."""
    definitions = AttributeDefinition.objects.order_by("sort_order", "id")
    return ProductType.objects.prefetch_related(Prefetch("attribute_definitions", queryset=definitions)).order_by(
        "name", "id"
    )


def product_type_get(product_type_id) -> ProductType:
    try:
        return product_type_list().get(pk=product_type_id)
    except (ProductType.DoesNotExist, ValueError, ValidationError):
        raise NotFound()


def product_filterset(user, params: Mapping[str, Any]) -> ProductFilter:
    """The product filters (catalog.filters) bound to `params` (a QueryDict or a dict) over
    the products `user` may see. Check `is_valid()` (its errors name the parameter) before
    passing it to product_list, product_matches or product_facets. Lists show parents and
    standalone products, never variants (the filters look through a parent's variants)."""
    listed = _listed_products(is_staff_user(user)).prefetch_related(product_images_prefetch())
    return ProductFilter(params, queryset=listed)


@functools.cache
def _listed_products(staff: bool) -> QuerySet[Product]:
    """The products a list starts from, built once per audience: building it (select_related,
    defer, two filters) cost 0.3 ms of every uncached list request. Never evaluated itself:
    each request takes its own copy, with an images prefetch of its own (Django gives a
    prefetch's queryset hints naming the instances it fetched for), as DRF does with a
    view's class-level queryset."""
    return _product_base(staff).filter(parent__isnull=True)


def _matches(filterset: ProductFilter) -> QuerySet[Product]:
    if not filterset.is_valid():
        raise ValueError(f"invalid product filters: {filterset.errors.as_json()}")
    return filterset.qs


def effective_ordering(filterset: ProductFilter) -> str:
    """The ordering in force: explicit, else relevance for a search (""), else newest first.
    Cursor paging of a relevance-ranked search walks its bounded ranked list."""
    if filterset.explicit_ordering:
        return filterset.explicit_ordering
    if filterset.search_text:
        return ""
    return DEFAULT_ORDERING


def product_list(filterset: ProductFilter) -> QuerySet[Product] | RankedProducts:
    """The filtered, ordered product list: in the requested ordering, else ranked by
    relevance for a search (PostgreSQL), else newest first.

    Relevance ranking is bounded: only the first CATALOG_SEARCH_CANDIDATES matches (the
    page-number window) are ranked, so a common term never ranks every match."""
    qs = _matches(filterset)
    if filterset.explicit_ordering:
        return qs  # ordered by the FilterSet
    if filterset.search_text and connection.vendor == "postgresql":
        return RankedProducts(filterset.queryset, qs, search_query(filterset.search_text))
    return qs.order_by(*ORDERINGS[DEFAULT_ORDERING])


# What a product list item shows (catalog.serializers.product_row_data), as one row per
# product: the product's columns and its category's and brand's (joined, not instantiated).
PRODUCT_ROW_FIELDS = (
    "id", "slug", "sku", "name", "description", "price", "discounted_price", "weight", "tax_class",
    "stock_quantity", "attributes", "rating_avg",
    "review_count", "is_active", "meta_title", "meta_description", "created_at", "updated_at",
    "category_id", "category__slug", "category__name", "brand_id", "brand__slug", "brand__name",
    "product_type_id", "product_type__slug", "product_type__name", "structure", "parent_id",
)  # fmt: skip
IMAGE_ROW_FIELDS = ("product_id", "id", "image", "alt_text", "position", "width", "height", "thumbnails")


def _as_rows(qs: QuerySet[Product]) -> QuerySet:
    return (
        qs.prefetch_related(None)
        .annotate(image_rows=_images_column())
        .values_list(*PRODUCT_ROW_FIELDS, "image_rows", named=True)
    )


ImageRow = namedtuple("ImageRow", IMAGE_ROW_FIELDS[1:])  # what image_data reads


def _images_column():
    """The product's images, in position order, as one JSON array column of the page's
    own statement (no query of their own: a list stays within its query budget whatever
    the number of images and variants)."""
    if connection.vendor == "postgresql":
        from django.contrib.postgres.expressions import ArraySubquery

        images = ProductImage.objects.filter(product_id=OuterRef("pk")).order_by("position", "id")
        return ArraySubquery(images.values(json=JSONObject(**{f: f for f in IMAGE_ROW_FIELDS[1:]})))
    pairs = ", ".join(f"'{f}', {'json(i.thumbnails)' if f == 'thumbnails' else 'i.' + f}" for f in IMAGE_ROW_FIELDS[1:])
    # SQLite (development): the same array with its JSON functions; fixed SQL, no input.
    return RawSQL(  # noqa: S611  # nosec B611
        f"(SELECT json_group_array(json_object({pairs})) FROM (SELECT * FROM catalog_productimage i"  # noqa: S608 - fixed column names  # nosec B608
        ' WHERE i.product_id = "catalog_product"."id" ORDER BY i.position, i.id) i)',
        (),
        output_field=JSONField(),
    )


def row_images(row) -> list[ImageRow]:
    """The images of a list row (_as_rows) as image_data reads them. The id stays text, as
    image_data writes it: PostgreSQL's JSON has the canonical form already; SQLite's has
    32 hex digits."""
    return [
        ImageRow(
            _uuid_text(i["id"]), i["image"], i["alt_text"], i["position"], i["width"], i["height"], i["thumbnails"]
        )
        for i in row.image_rows or ()
    ]


def _uuid_text(value) -> str:
    text = str(value)
    return text if len(text) == 36 else str(UUID(text))


def product_list_rows(
    products: QuerySet[Product] | RankedProducts, *, staff: bool = False, json_slot: str | None = None
) -> tuple[Any, Callable[[QuerySet], Any] | None]:
    """(the list for the paginator, how it turns a page of it into rows): product_list's
    result read as named rows of PRODUCT_ROW_FIELDS, same filters and order. A page of
    20-100 products then costs no model instances (three per product) and no related
    manager per product for its images, which were most of an uncached list's Python time;
    its images come in the same statement (row_images). The paginator counts and picks the page's ids
    on the plain queryset (index-only scans: the rows' joins would defeat them) and reads
    only the page as rows. A ranked search already reads its page by id: as rows.

    On PostgreSQL the page is read by PageRows: its ids through the ORM (the filters),
    then every row with its images and a parent's variants (`variant_rows`; all of them
    for `staff`, else the active ones) in one fixed statement by id; elsewhere the rows come
    from `_as_rows` and the variants from product_variants_by_parent.

    `json_slot` (PostgreSQL, a page to be sent as JSON): the page is read by PageJSON
    instead, each item as the JSON text the database wrote, every stock field written as
    this placeholder (a JSON string with a nonce in it; catalog.cache.cut_stock_template)."""
    if connection.vendor != "postgresql":
        read = _as_rows
    elif json_slot is not None and page_json_media_prefix() is not None:
        read = functools.partial(PageJSON, staff=staff, slot=json_slot)
    else:
        read = functools.partial(PageRows, staff=staff)
    if isinstance(products, RankedProducts):
        products.visible = read(products.visible)
        return products, None
    return products, read


ProductRow = namedtuple("ProductRow", [*PRODUCT_ROW_FIELDS, "image_rows", "variant_rows"])
VariantRow = namedtuple("VariantRow", "id slug sku name price stock_quantity attributes is_active updated_at")


def _page_rows_sql(staff: bool) -> str:
    """The statement PageRows reads a page with: the products whose ids `@IDS@` stands for
    (an array parameter), in that order, with category, brand and type joined, their
    images and (for parents) their variants as JSON arrays in the orders the ORM path uses. Column and table names come from the
    models; nothing in it comes from a request."""

    def cols(model, *names, alias):
        return [f"{alias}.{model._meta.get_field(n).column}" for n in names]

    def table(model):
        return model._meta.db_table

    own = [f for f in PRODUCT_ROW_FIELDS if "__" not in f]
    product_cols = cols(Product, *own, alias="p")
    joined = {"category__slug": "c.slug", "category__name": "c.name", "brand__slug": "b.slug",
              "brand__name": "b.name", "product_type__slug": "t.slug", "product_type__name": "t.name"}  # fmt: skip
    select = [product_cols[own.index(f)] if f in own else joined[f] for f in PRODUCT_ROW_FIELDS]
    image = ", ".join(f"'{f}', i.{ProductImage._meta.get_field(f).column}" for f in IMAGE_ROW_FIELDS[1:])
    variant_fields = {"price": "v.price::text"}
    variant = ", ".join(
        f"'{f}', {variant_fields.get(f, 'v.' + Product._meta.get_field(f).column)}" for f in VariantRow._fields
    )
    active = "" if staff else " AND v.is_active"
    return (
        f"SELECT {', '.join(select)}, "  # noqa: S608 - model names only  # nosec B608
        f"(SELECT json_agg(json_build_object({image}) ORDER BY i.position, i.id)::text"
        f" FROM {table(ProductImage)} i WHERE i.product_id = p.id), "
        f"CASE WHEN p.structure = '{ProductStructure.PARENT.value}' THEN"
        f" (SELECT json_agg(json_build_object({variant}) ORDER BY v.created_at, v.id)::text"
        f" FROM {table(Product)} v WHERE v.parent_id = p.id{active}) END "
        f"FROM unnest(@IDS@) WITH ORDINALITY AS page(id, n) JOIN {table(Product)} p ON p.id = page.id"
        f" JOIN {table(Category)} c ON c.id = p.category_id"
        f" LEFT JOIN {table(Brand)} b ON b.id = p.brand_id LEFT JOIN {table(ProductType)} t ON t.id = p.product_type_id"
        f"{_LISTED_ONLY[staff]} ORDER BY page.n"
    )


# Customers' pages: a product deactivated (or deleted) between the id query and the page's
# statement (two statements, two snapshots) is left out rather than shown.
_LISTED_ONLY = {False: " WHERE p.is_active AND p.parent_id IS NULL", True: ""}


_PAGE_ROWS_SQL: dict[bool, str] = {}
_ATTRIBUTES = PRODUCT_ROW_FIELDS.index("attributes")


def _variant_row(v: dict) -> VariantRow:
    return VariantRow(
        v["id"], v["slug"], v["sku"], v["name"], Decimal(v["price"]), v["stock_quantity"], v["attributes"],
        v["is_active"], datetime.fromisoformat(v["updated_at"]),
    )  # fmt: skip


def product_rows_by_id(ids: list, *, staff: bool) -> list[ProductRow]:
    """The ProductRows of `ids`, in that order (ids not found are left out): one statement."""
    return _read_rows(list(ids), staff=staff, using=router.db_for_read(Product))


def _read_rows(ids: list, *, staff: bool, using: str) -> list[ProductRow]:
    if not ids:
        return []
    sql = _PAGE_ROWS_SQL.get(staff)
    if sql is None:
        sql = _PAGE_ROWS_SQL[staff] = _page_rows_sql(staff).replace("@IDS@", "%s::uuid[]")
    loads = json.loads
    rows = []
    # On the database the ORM reads products from (the read replica when routed there). Not
    # prepared: its columns are the tables' own (a varchar widened by a migration would
    # change a prepared statement's result type); PageJSON's statement is the fast path.
    with connections[using].cursor() as cursor:
        cursor.execute(sql, [ids])
        fetched = cursor.fetchall()
    for values in fetched:
        values = list(values)
        attributes = values[_ATTRIBUTES]
        values[_ATTRIBUTES] = loads(attributes) if isinstance(attributes, str) else attributes
        images, variants = values[-2:]
        values[-2] = loads(images) if images else []
        values[-1] = [_variant_row(v) for v in loads(variants)] if variants else []
        rows.append(ProductRow(*values))
    return rows


class PageRows:
    """A page of a product list as ProductRows (PostgreSQL): the ids come from the ORM
    queryset (its filters, ordering and slice: an index-only scan of the ordering's index
    when it can), the rows from product_rows_by_id. Compiling the row query through the
    ORM for every page (the joins, the JSON columns, the converters) cost more Python than
    everything else an uncached list page does; its SQL is fixed, so it is built once."""

    slices_by_id = True

    def __init__(self, queryset: QuerySet[Product], *, staff: bool) -> None:
        self.queryset, self.staff = queryset, staff

    def __getitem__(self, key: slice) -> list[ProductRow]:
        # The page's ids by the ORM's id query (filters, ordering, slice), then its rows by
        # the fixed statement (its SQL built once). Not one statement: with the id query
        # inside the prepared one (PageJSON), its window a parameter, PostgreSQL's generic
        # plan read far more of the index (its CPU per page 2.4 -> 3.7 ms).
        ids = self.queryset.values_list("pk", flat=True)[key]
        return self._rows(list(ids), using=ids.db)

    def __iter__(self):
        return iter(self[:])

    def by_ids(self, ids: list) -> list[ProductRow]:
        """The rows of `ids` that the queryset holds, in the order given."""
        visible = set(self.queryset.filter(pk__in=ids).values_list("pk", flat=True))
        return self._rows([pk for pk in ids if pk in visible], using=router.db_for_read(Product))

    def _rows(self, ids: list, *, using: str) -> list:
        """The rows of `ids`, in that order, from the database `using`."""
        return _read_rows(ids, staff=self.staff, using=using)


# --- a list page as JSON text written by PostgreSQL --------------------------------------

# A page's item as PageJSON reads it: the product's id and the columns a cursor is made of
# (catalog.pagination: `getattr(last, field)`), the item's JSON text with its stock fields
# as placeholders, and the stock levels those stand for, as JSON text.
JsonItem = namedtuple("JsonItem", "id created_at price name rating_avg item levels")

# A stored file name whose URL on the local file system is MEDIA_URL followed by the name as
# it is: path segments of letters, digits, `_`, `-` and `.`, none starting with a dot (no `.`
# or `..` segment for urljoin to resolve, nothing filepath_to_uri would quote).
_PLAIN_FILE_NAME = r"^[A-Za-z0-9_-][A-Za-z0-9_.-]*(/[A-Za-z0-9_-][A-Za-z0-9_.-]*)*$"
_SIMPLE_KEY = re.compile(r"[A-Za-z0-9_]+")


def page_json_media_prefix() -> str | None:
    """What PageJSON's statement puts before a file name to make its URL: the local file
    system storage's base URL, when its URL of a plain name is exactly that prefix and the
    name. None (items are then built in Python, catalog.serializers.product_row_data) for
    any other storage (S3 may sign its URLs), or when a thumbnail size name is not a plain
    word (it is written into the statement)."""
    from django.core.files.storage import FileSystemStorage, storages

    storage = storages["default"]
    if type(storage) is not FileSystemStorage or not all(
        _SIMPLE_KEY.fullmatch(s) for s in settings.IMAGE_THUMBNAIL_SIZES
    ):
        return None
    return _filesystem_prefix(storage, storage.base_url)


@functools.lru_cache(maxsize=16)
def _filesystem_prefix(storage, base_url: str | None) -> str | None:
    probe = "a1/b-2_c.d"
    try:
        url = storage.url(probe)
    except ValueError:  # no base URL
        return None
    return url[: -len(probe)] if url.endswith(probe) else None


def _iso_sql(column: str) -> str:
    """core.formats.iso_utc in SQL: UTC, microseconds only when there are any, `Z`."""
    utc = f"({column} AT TIME ZONE 'UTC')"
    return (
        f"(to_char({utc}, 'YYYY-MM-DD\"T\"HH24:MI:SS') || CASE WHEN mod(extract(microseconds FROM {column})::bigint,"
        f" 1000000) = 0 THEN '' ELSE to_char({utc}, '.US') END || 'Z')"
    )


def _text_sql(expr: str) -> str:
    return f"COALESCE(to_json({expr})::text, 'null')"


def _quoted_sql(expr: str) -> str:
    """A value whose text needs no JSON escaping (a UUID, a decimal), as a JSON string."""
    return f"('\"' || {expr}::text || '\"')"


def _object_sql(*pairs: tuple[str, str]) -> str:
    """A JSON object of fixed keys (plain words) and SQL expressions giving JSON text."""
    return "('{' || " + " || ',' || ".join(f"'\"{key}\":' || {expr}" for key, expr in pairs) + " || '}')"


def _ref_sql(alias: str) -> str:
    ref = _object_sql(("id", _quoted_sql(f"{alias}.id")), ("slug", _text_sql(f"{alias}.slug")),
                      ("name", _text_sql(f"{alias}.name")))  # fmt: skip
    return f"CASE WHEN {alias}.id IS NULL THEN 'null' ELSE {ref} END"


def _attributes_sql(column: str) -> str:
    """catalog.serializers._attributes for attributes whose values are all text, numbers or
    booleans (see _attributes_plain_sql): the object as it is (jsonb's text: the same
    object), `{}` when not an object."""
    return f"CASE WHEN jsonb_typeof({column}) = 'object' THEN {column}::text ELSE '{{}}' END"


def _attributes_plain_sql(column: str) -> str:
    """Whether _attributes_sql writes what _attributes would: no value that it turns into
    its Python text (null, a list, an object)."""
    return (
        f"CASE WHEN jsonb_typeof({column}) = 'object' THEN NOT jsonb_path_exists({column}, 'strict $.* ?"
        ' (@.type() != "string" && @.type() != "number" && @.type() != "boolean")\') ELSE true END'
    )


def _page_json_sql(staff: bool, sizes: tuple[str, ...]) -> str:
    """The statement PageJSON reads a page with: for each product whose id `@IDS@` gives
    (as in _page_rows_sql), in that order, its id and cursor columns, the list item as JSON
    text (what product_row_data gives, key for key; stock fields as placeholders) and its
    stock levels (its own and its variants') as JSON text, and whether everything in it is
    plain enough for SQL to write (attributes of text, numbers and booleans; file names
    that need no quoting). Names come from the models and settings, values are parameters:
    `k` holds this read's stock placeholder, the currency as JSON text and the media URL
    prefix. Every stock field is the placeholder; catalog.cache.cut_stock_template knows
    them by their order: a product's stock_quantity, in_stock and updated_at, then each of
    its variants' (in the order of the levels)."""

    def url(name: str) -> str:  # null for no name (None or ""), as images.url gives
        return f"COALESCE(to_json(k.media || NULLIF({name}, ''))::text, 'null')"

    def thumbnail(size: str) -> str:
        return f"CASE WHEN jsonb_typeof(i.thumbnails) = 'object' THEN i.thumbnails ->> '{size}' END"

    thumbnails = "('{' || " + " || ',' || ".join(f"'\"{s}\":' || {url(thumbnail(s))}" for s in sizes) + " || '}')"
    if not sizes:
        thumbnails = "'{}'"
    image = _object_sql(
        ("id", _quoted_sql("i.id")), ("url", url("i.image")), ("alt_text", _text_sql("i.alt_text")),
        ("position", "i.position::text"), ("width", "i.width::text"), ("height", "i.height::text"),
        ("thumbnails", thumbnails),
    )  # fmt: skip
    # Plain: the file's name, and every value of the thumbnails (null, "" or a plain name).
    plain_value = f'@.type() == "null" || (@.type() == "string" && (@ == "" || @ like_regex "{_PLAIN_FILE_NAME}"))'
    image_plain = (
        f"(i.image = '' OR i.image ~ '{_PLAIN_FILE_NAME}') AND CASE WHEN jsonb_typeof(i.thumbnails) = 'object'"
        f" THEN NOT jsonb_path_exists(i.thumbnails, 'strict $.* ? (!({plain_value}))') ELSE true END"
    )
    variant = _object_sql(
        ("id", _quoted_sql("v.id")), ("slug", _text_sql("v.slug")), ("sku", _text_sql("v.sku")),
        ("name", _text_sql("v.name")), ("price", _quoted_sql("v.price")),
        ("stock_quantity", "k.slot"), ("in_stock", "k.slot"),
        ("attributes", _attributes_sql("v.attributes")), ("is_active", "v.is_active::text"),
        ("updated_at", "k.slot"),
    )  # fmt: skip

    def level(id_column: str, stock: str, updated_at: str) -> str:
        return f"('[\"' || {id_column}::text || '\",' || {stock}::text || ',\"' || {_iso_sql(updated_at)} || '\"]')"

    parent = f"p.structure = '{ProductStructure.PARENT.value}'"
    item = _object_sql(
        ("id", _quoted_sql("p.id")), ("slug", _text_sql("p.slug")), ("sku", _text_sql("p.sku")),
        ("name", _text_sql("p.name")), ("description", _text_sql("p.description")),
        ("price", _quoted_sql("COALESCE(p.discounted_price, p.price)")), ("price_undiscounted", _quoted_sql("p.price")),
        ("currency", "k.currency"), ("stock_quantity", "k.slot"),
        ("in_stock", "k.slot"), ("weight", "COALESCE(p.weight::text, 'null')"),
        ("tax_class", _text_sql("p.tax_class")), ("category", _ref_sql("c")), ("brand", _ref_sql("b")),
        ("attributes", _attributes_sql("p.attributes")), ("rating_avg", _quoted_sql("p.rating_avg")),
        ("review_count", "p.review_count::text"), ("is_active", "p.is_active::text"),
        ("images", "COALESCE(im.items, '[]')"), ("meta_title", _text_sql("p.meta_title")),
        ("meta_description", _text_sql("p.meta_description")), ("created_at", f"('\"' || {_iso_sql('p.created_at')} || '\"')"),
        ("updated_at", "k.slot"), ("product_type", _ref_sql("t")),
        ("structure", _text_sql("p.structure")),
        ("parent", f"CASE WHEN p.parent_id IS NULL THEN 'null' ELSE {_quoted_sql('p.parent_id')} END"),
        ("variants", "COALESCE(vs.items, '[]')"),
        ("price_range", f"CASE WHEN {parent} AND vs.min_price IS NOT NULL THEN"
                        " '{\"min\":\"' || vs.min_price::text || '\",\"max\":\"' || vs.max_price::text || '\"}'"
                        " ELSE 'null' END"),
    )  # fmt: skip
    own_level = level(
        "p.id", f"CASE WHEN {parent} THEN COALESCE(vs.stock, 0) ELSE p.stock_quantity END", "p.updated_at"
    )
    levels = f"('[' || {own_level} || COALESCE(vs.levels, '') || ']')"
    plain = f"({_attributes_plain_sql('p.attributes')} AND COALESCE(im.plain, true) AND COALESCE(vs.plain, true))"
    products = Product._meta.db_table
    active = "" if staff else " AND v.is_active"
    # Model and setting names only; every value is a parameter.
    return (
        "WITH k AS (SELECT %s::text AS slot, %s::text AS currency, %s::text AS media) "  # noqa: S608  # nosec B608
        # Result columns of types without length or precision: a migration changing one
        # (varchar(255) to (300)) must not change the prepared statement's result type.
        f"SELECT p.id, p.created_at::timestamptz, p.price::numeric, p.name::text, p.rating_avg::numeric,"
        f" {item}, {levels}, {plain} "
        f"FROM k CROSS JOIN unnest(@IDS@) WITH ORDINALITY AS page(id, n) JOIN {products} p ON p.id = page.id"
        f" JOIN {Category._meta.db_table} c ON c.id = p.category_id"
        f" LEFT JOIN {Brand._meta.db_table} b ON b.id = p.brand_id"
        f" LEFT JOIN {ProductType._meta.db_table} t ON t.id = p.product_type_id"
        f" LEFT JOIN LATERAL (SELECT '[' || string_agg({image}, ',' ORDER BY i.position, i.id) || ']' AS items,"
        f" bool_and({image_plain}) AS plain FROM {ProductImage._meta.db_table} i WHERE i.product_id = p.id) im ON true"
        f" LEFT JOIN LATERAL (SELECT '[' || string_agg({variant}, ',' ORDER BY v.created_at, v.id) || ']' AS items,"
        f" string_agg(',' || {level('v.id', 'v.stock_quantity', 'v.updated_at')}, '' ORDER BY v.created_at, v.id) AS levels,"
        " min(v.price) FILTER (WHERE v.is_active) AS min_price, max(v.price) FILTER (WHERE v.is_active) AS max_price,"
        " sum(v.stock_quantity) FILTER (WHERE v.is_active) AS stock,"
        f" bool_and({_attributes_plain_sql('v.attributes')}) AS plain"
        f" FROM {products} v WHERE {parent} AND v.parent_id = p.id{active}) vs ON true"
        f"{_LISTED_ONLY[staff]} ORDER BY page.n"
    )


_PAGE_JSON_SQL: dict[tuple, str] = {}


def _read_json_items(ids: list, *, staff: bool, slot: str, using: str) -> list[JsonItem] | None:
    """The JsonItems of the products `ids` (in that order), or None when one of them has
    something only Python writes right (then the page is read as ProductRows)."""
    media = page_json_media_prefix()
    if media is None:
        return None
    if not ids:
        return []
    sizes = tuple(settings.IMAGE_THUMBNAIL_SIZES)
    sql = _PAGE_JSON_SQL.get((staff, sizes))
    if sql is None:
        sql = _PAGE_JSON_SQL[(staff, sizes)] = _page_json_sql(staff, sizes).replace("@IDS@", "%s::uuid[]")
    currency = json.dumps(settings.CURRENCY, ensure_ascii=False)
    rows = fetch_prepared(using, sql, [slot, currency, media, ids])
    if not all(row[-1] for row in rows):
        return None
    return [JsonItem(*row[:-1]) for row in rows]


def json_item_levels(items: Iterable[JsonItem]) -> dict[str, tuple[int, str]]:
    """{product id: (stock_quantity, updated_at as ISO text)} of a page of JsonItems and of
    their variants: what their stock placeholders stand for."""
    return {pk: (quantity, updated_at) for item in items for pk, quantity, updated_at in orjson.loads(item.levels)}


class PageJSON(PageRows):
    """A page of a product list as JsonItems (PostgreSQL): the same ids as PageRows picks,
    each item's JSON written by the database (_page_json_sql), to be sent as it is
    (orjson.Fragment) with its stock fields filled in from the levels read with it. The
    Python that turned rows into dicts and dicts into JSON was most of what an uncached
    list page cost. A page with something only Python writes right is read as ProductRows."""

    def __init__(self, queryset: QuerySet[Product], *, staff: bool, slot: str) -> None:
        super().__init__(queryset, staff=staff)
        self.slot = slot

    def _rows(self, ids: list, *, using: str) -> list[JsonItem] | list[ProductRow]:
        items = _read_json_items(ids, staff=self.staff, slot=self.slot, using=using)
        return super()._rows(ids, using=using) if items is None else items


class RankedProducts:
    """A relevance-ordered search result. One query ranks the first
    CATALOG_SEARCH_CANDIDATES matches (bounded work however common the term); pages are
    then fetched by id from `visible` (the products the caller may see). Sliceable like a
    queryset and counts itself, for the paginator."""

    def __init__(self, visible: QuerySet[Product], matches: QuerySet[Product], query) -> None:
        from django.contrib.postgres.search import SearchRank

        self.visible = visible
        self.limit = settings.CATALOG_SEARCH_CANDIDATES
        # Each candidate's rank is computed by the scan that finds it (the row is at hand)
        # and the at most `limit` candidates are ordered around it (ids): ranking them in a
        # second query by `id IN (candidates)` read every candidate's row twice.
        self._candidates = (
            matches.order_by()
            .prefetch_related(None)
            .annotate(rank=SearchRank(F("search_vector"), query))
            .values_list("pk", "rank", "created_at")[: self.limit]
        )
        self._ids: list[UUID] | None = None

    @property
    def ids(self) -> list[UUID]:
        """The candidates' ids by rank, then newest first (then id, descending: the order
        of the list's keyset indexes)."""
        if self._ids is None:
            sql, params = self._candidates.query.sql_with_params()
            # The ORDER BY is outside the candidates' LIMIT: it orders the candidates, not
            # every match. The f-string adds fixed text to the ORM's SQL (its values stay
            # parameters); the columns are the values_list aliases.
            statement = f"SELECT c.pk FROM ({sql}) AS c ORDER BY c.rank DESC, c.created_at DESC, c.pk DESC"  # noqa: S608  # nosec B608
            with connection.cursor() as cursor:
                cursor.execute(statement, params)
                self._ids = [pk for (pk,) in cursor.fetchall()]
        return self._ids

    def bounded_count(self) -> tuple[int, bool]:
        n = len(self.ids)
        return n, n < self.limit

    def __getitem__(self, key: slice) -> list[Product]:
        page_ids = self.ids[key]
        if isinstance(self.visible, PageRows):
            return self.visible.by_ids(page_ids)
        rows = {p.id: p for p in self.visible.filter(pk__in=page_ids)}
        return [rows[pk] for pk in page_ids if pk in rows]


def product_matches(filterset: ProductFilter) -> QuerySet[Product]:
    """Every product matching the filters and search, unordered (counts and facets)."""
    return _matches(filterset).order_by()


def product_facets(filterset: ProductFilter) -> dict[str, Any]:
    """Counts per category, brand and attribute value and the price range of the filtered
    set, in one query. Counted over at most CATALOG_FACET_MAX_ROWS matches (then
    `is_exact` is false); brands and attribute values are the CATALOG_FACET_TOP most
    frequent (categories: all that occur).

    Counts are of listed products (parents and standalone ones): a parent counts once for
    each attribute value it or one of its active variants has (a T-shirt in S, M and L
    counts once under each size), and its variants' prices make the price range."""
    cap = settings.CATALOG_FACET_MAX_ROWS
    sample = product_matches(filterset).values("id", "structure", "category_id", "brand_id", "attributes", "price")
    categories, brands, attributes, price_min, price_max, total = _facet_counts(
        sample[: cap + 1], searched=bool(filterset.search_text)
    )
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


# The only dialect differences of the facet statement: how a JSON object is expanded into
# (key, value-as-text) rows, and asking PostgreSQL to compute the sample once.
_FACET_DIALECTS = {
    "postgresql": {
        "materialized": "MATERIALIZED",
        "attribute_pairs": """jsonb_each_text(
            CASE WHEN jsonb_typeof({col}) = 'object' THEN {col} ELSE '{{}}'::jsonb END
        ) AS kv""",
        "value_text": "kv.value",
    },
    "sqlite": {
        "materialized": "",
        "attribute_pairs": "json_each(CASE WHEN json_type({col}) = 'object' THEN {col} ELSE '{{}}' END) AS kv",
        # json_each gives booleans as 1/0; jsonb_each_text as true/false.
        "value_text": "CASE kv.type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' ELSE CAST(kv.value AS TEXT) END",
    },
}


def _facet_counts(sample: QuerySet, *, searched: bool = False):
    sql, params = sample.query.sql_with_params()
    # On the database the ORM reads products from (the read replica when routed there).
    using = router.db_for_read(Product)
    vendor = connections[using].vendor
    dialect = _FACET_DIALECTS[vendor]
    pairs = dialect["attribute_pairs"].format
    value = dialect["value_text"]
    parent = ProductStructure.PARENT.value
    # One round trip: the capped matching set once, grouped three ways, names joined. The
    # f-string joins only the ORM's own SQL (its values stay parameters) and fixed dialect text.
    statement = f"""
        WITH s AS {dialect["materialized"]} ({sql}),
        c AS (SELECT category_id, count(*) AS n FROM s GROUP BY category_id),
        b AS (SELECT brand_id, count(*) AS n FROM s WHERE brand_id IS NOT NULL GROUP BY brand_id),
        -- Expand each distinct attribute set once (far fewer than rows): expanding per row
        -- was most of the statement's time. Parents are counted apart, below.
        a AS (SELECT attributes, count(*) AS n FROM s WHERE structure <> '{parent}' GROUP BY attributes),
        -- The active variants of the parents in the sample (the (parent, price) index).
        v AS {dialect["materialized"]} (
            SELECT s.id AS pid, pv.attributes, pv.price FROM s
              JOIN catalog_product pv ON pv.parent_id = s.id AND pv.is_active
             WHERE s.structure = '{parent}'
        ),
        -- Each (parent, name, value) once, from the parent's own attributes and its variants'.
        pa AS (
            SELECT DISTINCT x.pid, kv.key AS k, {value} AS val FROM (
                SELECT pid, attributes FROM v
                UNION ALL SELECT id, attributes FROM s WHERE structure = '{parent}'
            ) x, {pairs(col="x.attributes")}
        )
        SELECT 'c', CAST(c.category_id AS TEXT), cat.slug, cat.name, c.n
          FROM c JOIN catalog_category cat ON cat.id = c.category_id
        UNION ALL
        SELECT 'b', CAST(b.brand_id AS TEXT), br.slug, br.name, b.n FROM b JOIN catalog_brand br ON br.id = b.brand_id
        UNION ALL
        SELECT 'a', NULL, t.k, t.val, CAST(sum(t.n) AS INTEGER) FROM (
            SELECT kv.key AS k, {value} AS val, a.n AS n FROM a, {pairs(col="a.attributes")}
            UNION ALL SELECT k, val, 1 FROM pa
        ) t GROUP BY t.k, t.val
        UNION ALL
        SELECT 'p', NULL, CAST(min(pr.price) AS TEXT), CAST(max(pr.price) AS TEXT), (SELECT count(*) FROM s)
          FROM (SELECT price FROM s WHERE structure <> '{parent}' UNION ALL SELECT price FROM v) pr
    """  # noqa: S608 - the inner SQL is Django's, parameters stay parameters  # nosec B608
    categories, brands = [], []
    attributes: dict[str, Counter] = defaultdict(Counter)
    price_min = price_max = None
    total = 0
    with transaction.atomic(using=using), connections[using].cursor() as cursor:
        if searched and vendor == "postgresql":
            # PostgreSQL misjudges how many rows a common prefix term (`'black' | 'black':*`)
            # matches, and looks for the sample's first 10,001 matches by reading the table
            # in order (24,000 pages at 1M products: 140-160 ms); the search index finds
            # them in 95-120 ms. For this statement only (SET LOCAL: this transaction).
            cursor.execute("SET LOCAL enable_seqscan = off")
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


def product_low_stock(*, limit: int = 10) -> list[Product]:
    """Active products with stock at or below CATALOG_LOW_STOCK_THRESHOLD, the emptiest
    first: what staff should reorder. One query over the stock_quantity index."""
    return list(
        Product.objects.filter(is_active=True, stock_quantity__lte=settings.CATALOG_LOW_STOCK_THRESHOLD)
        .only("id", "name", "sku", "stock_quantity")
        .order_by("stock_quantity", "name", "id")[:limit]
    )


# --- reviews ---------------------------------------------------------------------------


def review_list_for_product(product: Product) -> QuerySet[Review]:
    return (
        Review.objects.filter(product=product, is_approved=True).select_related("user").order_by("-created_at", "-id")
    )


def review_get_for_user(user, product: Product, review_id) -> Review:
    """A review of `product` that `user` may change: their own (approved or not); staff
    may reach any. Someone else's review is 404 (its existence is not revealed)."""
    qs = Review.objects.filter(product=product).select_related("user", "product")
    if not is_staff_user(user):
        qs = qs.filter(user_id=getattr(user, "pk", None))
    try:
        return qs.get(pk=review_id)
    except (Review.DoesNotExist, ValueError, ValidationError):
        raise NotFound()


def product_image_get(product: Product, image_id) -> ProductImage:
    try:
        return ProductImage.objects.get(product=product, pk=image_id)
    except (ProductImage.DoesNotExist, ValueError, ValidationError):
        raise NotFound()


def review_is_verified_purchase(user, product: Product) -> bool:
    """Whether `user` bought `product`, as the checker orders registered answers it (an
    order of it that is paid or later, not cancelled); see catalog.hooks."""
    return hooks.user_has_purchased(user, product.pk)
