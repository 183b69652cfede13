"""Product list pagination (shared/API.md, Conventions).

- `count` is exact up to MAX_WINDOW matches, a lower bound beyond (`count_is_exact: false`):
  the count query stops at MAX_WINDOW + 1 rows, so no request counts a million rows.
- Page-number paging covers the first MAX_WINDOW results; a page starting past it is
  400 `page_too_deep` (OFFSET cost grows with depth).
- `?cursor=` (empty to start) is keyset paging: `WHERE (col, id) > (last_col, last_id)`
  (Django's tuple lookups: a row comparison on PostgreSQL) on an index ending in id,
  constant cost at any depth. Forward only; `next` carries the following cursor.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID

from django.db import connection
from django.db.models import F, QuerySet
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan, TupleLessThan
from rest_framework.pagination import BasePagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from catalog.cache import cached_count
from catalog.filters import DEFAULT_ORDERING, ORDERINGS
from catalog.models import Product
from core.errors import InvalidInput, NotFound

MAX_WINDOW = 10_000


class PageTooDeep(InvalidInput):
    code = "page_too_deep"
    default_detail = f"Page-number paging stops at {MAX_WINDOW} results; use ?cursor= to go deeper."


class InvalidCursor(InvalidInput):
    code = "invalid_cursor"
    default_detail = "This cursor is not valid for this list."


def bounded_count(queryset: QuerySet, limit: int | None = None) -> tuple[int, bool]:
    """(count, exact): counts at most `limit` + 1 rows (default MAX_WINDOW)."""
    limit = MAX_WINDOW if limit is None else limit
    n = queryset.order_by().values("pk")[: limit + 1].count()
    return (n, True) if n <= limit else (limit, False)


def page_rows(queryset, start: int, stop: int, rows: Callable[[QuerySet], Any] | None = None) -> list:
    """Rows `start:stop` of an ordered product list, read through `rows` (a queryset ->
    the queryset to read, e.g. as named rows; default: as it is). The page's ids are picked
    first, in the same statement: `WHERE id IN (SELECT id ... ORDER BY ... OFFSET start
    LIMIT n)`, and only the page's rows are read. The subquery needs no other column than
    the filters and the ordering, so an index that holds them serves it index-only: past
    the first page it skips the rows before the page in the ordering's `(col, id)` index (a
    plain OFFSET fetched the heap row of every skipped product: at offset 5,000 about 30
    times the work); on a filtered first page the rows the filters reject are rejected in
    the index (a category's price-filtered list: the covering (category, price) index)
    instead of each costing a heap page. A result that is not a queryset (a
    relevance-ranked search) is sliced as it is."""
    if not isinstance(queryset, QuerySet):
        return list(queryset[start:stop])
    read = rows or (lambda qs: qs)
    reader = read(queryset)
    if getattr(reader, "slices_by_id", False):  # it picks the page's ids itself (selectors.PageRows)
        return list(reader[start:stop])
    return list(read(queryset.filter(pk__in=queryset.values("pk")[start:stop])))


def _encode_cursor(ordering: str, value: Any, pk: UUID) -> str:
    if isinstance(value, datetime):
        value = value.isoformat()
    elif isinstance(value, Decimal):
        value = str(value)
    raw = json.dumps([ordering, value, pk.hex], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _load_cursor(cursor: str, ordering: str) -> tuple[str, str]:
    """(value, pk hex) of a cursor made for `ordering`; ValueError (and friends) if not."""
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    cursor_ordering, value, pk_hex = json.loads(raw)
    if cursor_ordering != ordering or not isinstance(value, str) or not isinstance(pk_hex, str):
        raise ValueError
    return value, pk_hex


_CURSOR_ERRORS = (ValueError, TypeError, InvalidOperation, binascii.Error, json.JSONDecodeError, UnicodeDecodeError)


def _decode_cursor(cursor: str, ordering: str, field_name: str) -> tuple[Any, Any]:
    try:
        value, pk_hex = _load_cursor(cursor, ordering)
        model_field = Product._meta.get_field(field_name)
        if field_name == "created_at":
            parsed: Any = datetime.fromisoformat(value)
            if parsed.tzinfo is None:
                raise ValueError
        elif field_name in ("price", "rating_avg"):
            parsed = Decimal(value)
            if not parsed.is_finite():
                raise ValueError
        else:
            parsed = value
        pk = UUID(hex=pk_hex)
        # Prepared here only to reject a value the database cannot take (an invalid cursor,
        # not a database error when the page is fetched); the lookup prepares it again.
        model_field.get_db_prep_value(parsed, connection, prepared=False)
        return parsed, pk
    except _CURSOR_ERRORS:
        raise InvalidCursor(attr="cursor")


RELEVANCE = ""  # the ordering key of a relevance-ranked search (see catalog.selectors.effective_ordering)


class ProductPagination(BasePagination):
    page_size = 20
    max_page_size = 100

    def __init__(self) -> None:
        self.count_cache: tuple | None = None
        self.rows: Callable[[QuerySet], Any] | None = None
        self.count = 0
        self.count_is_exact = True
        self.next_url: str | None = None
        self.previous_url: str | None = None

    def get_page_size(self, request) -> int:
        try:
            size = int(request.query_params.get("page_size", self.page_size))
        except (TypeError, ValueError):
            return self.page_size
        return max(1, min(size, self.max_page_size))

    def paginate(
        self,
        queryset,
        request,
        ordering: str,
        *,
        count_cache: tuple | None = None,
        rows: Callable[[QuerySet], Any] | None = None,
    ) -> list:
        """`ordering` is the key of catalog.filters.ORDERINGS in force ("" = relevance).
        `queryset` may also be a sliceable result that counts itself (`bounded_count()`),
        such as a relevance-ranked search. `count_cache` (key, stamp keys[, known]): where the
        list's count is remembered (catalog.cache.cached_count; `known`: its stamp and
        entry as already read). `rows`: how the page is
        read (page_rows); counting and picking the page use `queryset` itself."""
        self.request = request
        self.rows = rows
        self.count_queryset = queryset
        self.count_cache = count_cache
        size = self.get_page_size(request)
        if "cursor" in request.query_params:
            return self._paginate_cursor(queryset, request, ordering, size)
        return self._paginate_pages(queryset, request, size)

    def _count(self) -> tuple[int, bool]:
        if hasattr(self.count_queryset, "bounded_count"):
            return self.count_queryset.bounded_count()  # free: it ranked its candidates anyway
        if self.count_cache is not None:
            key, stamp_keys, *known = self.count_cache
            return cached_count(
                key, stamp_keys, lambda: bounded_count(self.count_queryset), known=known[0] if known else None
            )
        return bounded_count(self.count_queryset)

    def _paginate_pages(self, queryset: QuerySet, request, size: int) -> list:
        raw = request.query_params.get("page", "1")
        try:
            page = int(raw)
            if page < 1:
                raise ValueError
        except (TypeError, ValueError):
            raise NotFound("Invalid page.")
        offset = (page - 1) * size
        if offset >= MAX_WINDOW:
            raise PageTooDeep(attr="page")
        self.count, self.count_is_exact = self._count()
        if page > 1 and offset >= self.count:
            raise NotFound("Invalid page.")
        results = page_rows(queryset, offset, min(offset + size, MAX_WINDOW), self.rows)
        url = request.build_absolute_uri()
        if offset + size < self.count:
            self.next_url = replace_query_param(url, "page", page + 1)
        if page > 1:
            self.previous_url = (
                remove_query_param(url, "page") if page == 2 else replace_query_param(url, "page", page - 1)
            )
        return results

    def _paginate_cursor(self, queryset: QuerySet, request, ordering: str, size: int) -> list:
        if ordering == RELEVANCE:
            if hasattr(queryset, "ids"):
                return self._paginate_ranked_cursor(queryset, request, size)
            ordering = DEFAULT_ORDERING  # no ranking on this database: the list is newest first
        first, _ = ORDERINGS[ordering]
        field_name = first.lstrip("-")
        descending = first.startswith("-")
        self.count, self.count_is_exact = self._count()
        cursor = request.query_params.get("cursor", "")
        if cursor:
            value, pk = _decode_cursor(cursor, ordering, field_name)
            # WHERE (col, id) < (value, pk): one row comparison on PostgreSQL, which the
            # (col, id) index serves as a range scan; SQLite gets the equivalent
            # col < value OR (col = value AND id < pk).
            after = TupleLessThan if descending else TupleGreaterThan
            queryset = queryset.filter(after(Tuple(F(field_name), F("id")), (value, pk)))
        rows = page_rows(queryset, 0, size + 1, self.rows)
        results = rows[:size]
        if len(rows) > size:
            last = results[-1]
            next_cursor = _encode_cursor(ordering, getattr(last, field_name), last.id)
            self.next_url = replace_query_param(request.build_absolute_uri(), "cursor", next_cursor)
        return results

    def _paginate_ranked_cursor(self, ranked, request, size: int) -> list:
        """Relevance order has no column to seek on, but the ranked candidates are a bounded
        list (CATALOG_SEARCH_CANDIDATES ids): the cursor names the last product seen and the
        next page starts right after it, in relevance order."""
        self.count, self.count_is_exact = self._count()
        start = 0
        cursor = request.query_params.get("cursor", "")
        if cursor:
            try:
                _, pk_hex = _load_cursor(cursor, "relevance")
                start = ranked.ids.index(UUID(hex=pk_hex)) + 1
            except _CURSOR_ERRORS:  # malformed, or no longer among the ranked matches
                raise InvalidCursor(attr="cursor")
        results = ranked[start : start + size]
        if results and start + size < len(ranked.ids):
            next_cursor = _encode_cursor("relevance", "", results[-1].id)
            self.next_url = replace_query_param(request.build_absolute_uri(), "cursor", next_cursor)
        return results

    def get_paginated_response(self, data) -> Response:
        return Response(
            {
                "count": self.count,
                "count_is_exact": self.count_is_exact,
                "next": self.next_url,
                "previous": self.previous_url,
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema: dict) -> dict:
        return {
            "type": "object",
            "required": ["count", "count_is_exact", "next", "previous", "results"],
            "properties": {
                "count": {"type": "integer", "example": 123},
                "count_is_exact": {"type": "boolean"},
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "previous": {"type": "string", "nullable": True, "format": "uri"},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view) -> list[dict]:
        return [
            {
                "name": "page",
                "required": False,
                "in": "query",
                "description": f"Page number (the first {MAX_WINDOW} results; deeper pages: use cursor).",
                "schema": {"type": "integer", "minimum": 1},
            },
            {
                "name": "page_size",
                "required": False,
                "in": "query",
                "description": "Results per page (default 20, max 100; larger is clamped).",
                "schema": {"type": "integer"},
            },
            {
                "name": "cursor",
                "required": False,
                "in": "query",
                "description": "Keyset paging: send an empty value to start, then the `next` link.",
                "schema": {"type": "string"},
            },
        ]
