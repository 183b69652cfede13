"""CSV import and export of products (management commands and the admin).

Import upserts by SKU. Each row is validated as a whole and saved in its own transaction
through catalog.services, so a bad row is reported with its line number and skipped,
never half-written, and good rows around it are kept.

`stock_quantity` is a stock count: for an existing product it goes through the stock
ledger (stock_move set_to, reason `import`: the delta against the locked current level is
recorded); an empty cell leaves the stock alone (so a price-only file, or an export edited
for prices, does not undo the sales made since the export). For a new product it is the
opening stock (empty: 0)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import IO

from django.db import transaction

from catalog import services
from catalog.models import ATTRIBUTE_NAME_RE, Brand, Category, Product, StockReason
from core.errors import DomainError

COLUMNS = [
    "sku",
    "slug",
    "name",
    "description",
    "price",
    "stock_quantity",
    "is_active",
    "category",
    "brand",
    "attributes",
]
REQUIRED = {"sku", "name", "price", "category"}
TRUE = {"1", "true", "yes", "y", "on"}
FALSE = {"0", "false", "no", "n", "off", ""}


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)  # (line number, message)


def write_products(out: IO[str], products: Iterable[Product]) -> int:
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    n = 0
    for p in products:
        writer.writerow(
            [
                p.sku,
                p.slug,
                p.name,
                p.description,
                f"{p.price:.2f}",
                p.stock_quantity,
                "true" if p.is_active else "false",
                p.category.slug,
                p.brand.slug if p.brand_id else "",
                json.dumps(p.attributes, sort_keys=True, ensure_ascii=False),
            ]
        )
        n += 1
    return n


class RowError(ValueError):
    pass


def _clean_row(row: dict[str, str], categories: dict[str, Category], brands: dict[str, Brand]) -> dict:
    row = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k}
    missing = [c for c in sorted(REQUIRED) if not row.get(c)]
    if missing:
        raise RowError(f"missing {', '.join(missing)}")
    data: dict = {"sku": row["sku"], "name": row["name"], "description": row.get("description", "")}
    if len(data["sku"]) > 64 or len(data["name"]) > 255:
        raise RowError("sku longer than 64 or name longer than 255 characters")
    try:
        data["price"] = Decimal(row["price"])
        if not data["price"].is_finite() or data["price"] < 0 or data["price"] >= Decimal(10) ** 10:
            raise InvalidOperation
        data["price"] = data["price"].quantize(Decimal("0.01"))
    except InvalidOperation:
        raise RowError(f"price '{row['price']}' is not a non-negative amount")
    if row.get("stock_quantity"):
        try:
            data["stock_quantity"] = int(row["stock_quantity"])
            if not 0 <= data["stock_quantity"] <= 2_147_483_647:
                raise ValueError
        except ValueError:
            raise RowError(f"stock_quantity '{row['stock_quantity']}' is not a non-negative integer")
    active = row.get("is_active", "true").lower()
    if active not in TRUE | FALSE:
        raise RowError(f"is_active '{active}' is not true or false")
    data["is_active"] = active in TRUE or "is_active" not in row
    if row["category"] not in categories:
        raise RowError(f"unknown category '{row['category']}'")
    data["category"] = categories[row["category"]]
    brand = row.get("brand", "")
    if brand and brand not in brands:
        raise RowError(f"unknown brand '{brand}'")
    data["brand"] = brands.get(brand) if brand else None
    try:
        attributes = json.loads(row.get("attributes") or "{}")
    except json.JSONDecodeError:
        raise RowError("attributes is not valid JSON")
    if not isinstance(attributes, dict) or not all(
        ATTRIBUTE_NAME_RE.match(str(k)) and isinstance(v, str) for k, v in attributes.items()
    ):
        raise RowError('attributes must be a JSON object of name -> text, e.g. {"color": "red"}')
    data["attributes"] = attributes
    if row.get("slug"):
        data["slug"] = row["slug"]
    return data


def import_products(source: IO[str], *, on_row=None, by=None) -> ImportReport:
    """Upsert the CSV's products by SKU; `by` (the staff user importing, if any) is recorded
    on the stock moves and as the products' created_by / updated_by."""
    reader = csv.DictReader(source)
    report = ImportReport()
    header = {h.strip().lower() for h in (reader.fieldnames or [])}
    if not header >= REQUIRED:
        report.errors.append((1, f"header must contain {', '.join(sorted(REQUIRED))}"))
        return report
    categories = {c.slug: c for c in Category.objects.all()}
    brands = {b.slug: b for b in Brand.objects.all()}
    for row in reader:
        line = reader.line_num
        try:
            data = _clean_row(row, categories, brands)
            with transaction.atomic():
                product = Product.objects.select_for_update().filter(sku=data["sku"]).first()
                if product is None:
                    services.product_create(by=by, **data)
                    report.created += 1
                else:
                    services.product_update(product, by=by, stock_reason=StockReason.IMPORT, **data)
                    report.updated += 1
        except (RowError, DomainError) as exc:
            report.errors.append((line, str(getattr(exc, "detail", exc))))
        if on_row:
            on_row()
    return report
