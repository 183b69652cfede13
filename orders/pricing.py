"""The loader of the pricing pipeline: builds `core.pricing.price_checkout`'s plain inputs
from the database (products, the zones and tax rates of shipping, the running promotions,
a voucher) and prices them. The quote endpoint, checkout, order edits and returns all price
through `price_order`, so a quote and the order placed from it cannot disagree.

    price_order(lines, address, shipping_method_id=..., voucher=..., ...) -> Breakdown
    order_reprice(order, lines=...) -> Breakdown   # an existing order, at today's prices

See docs/pricing.md.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils import timezone

from catalog.models import Category, Product
from core.money import currency_places
from core.pricing import (
    Address,
    Breakdown,
    PriceLine,
    PricingSettings,
    ProductRef,
    VoucherData,
    price_checkout,
)
from promotions.selectors import promotions_running
from shipping.selectors import pricing_config

# The product columns pricing reads (checkout locks the rows with them).
PRICING_FIELDS = ("price", "weight", "tax_class", "category_id", "brand_id")
if any(f.name == "parent" for f in Product._meta.get_fields()):
    PRICING_FIELDS = (*PRICING_FIELDS, "parent_id")


def _needs_categories(promotions, voucher: VoucherData | None) -> bool:
    scopes = [p.scope for p in promotions] + ([voucher.scope] if voucher is not None else [])
    return any(scope.category_ids for scope in scopes)


def _category_paths(products: Sequence[Product]) -> dict[uuid.UUID, str]:
    ids = {p.category_id for p in products if p.category_id}
    return dict(Category.objects.filter(pk__in=ids).values_list("pk", "path")) if ids else {}


def _ref(product: Product, paths: Mapping[uuid.UUID, str]) -> ProductRef:
    path = paths.get(product.category_id, "")
    categories = {uuid.UUID(part) for part in path.split("/") if part}
    if product.category_id:
        categories.add(product.category_id)
    return ProductRef(
        product_id=product.pk,
        category_ids=frozenset(categories),
        brand_id=product.brand_id,
        parent_id=getattr(product, "parent_id", None),
    )


def price_order(
    lines: Sequence[tuple[Product, int]],
    address: Mapping[str, Any],
    *,
    shipping_method_id: Any = None,
    voucher: VoucherData | None = None,
    require_shipping_method: bool = True,
    now: datetime | None = None,
    prices_include_tax: bool | None = None,
) -> Breakdown:
    """Price `lines` ((product, quantity), the products loaded with PRICING_FIELDS) for
    `address` (a dict with `country` and `region`), with the shipping method of that id
    (None: none chosen; required unless `require_shipping_method` is False), `voucher`
    (promotions.services.voucher_find: at checkout read under its row lock), the promotions
    running at `now`, today's tax rates and PRICES_INCLUDE_TAX. Queries: none when the
    shipping config and the running promotions are cached, plus one for category paths when
    a running promotion or the voucher is scoped to categories.

    Raises ShippingUnavailable / InvalidShippingMethod / VoucherInvalid (400) and
    VoucherExhausted (409)."""
    now = now or timezone.now()
    config = pricing_config()
    country = str(address.get("country", "")).upper()
    where = Address(country=country, region=str(address.get("region") or ""))
    promotions = promotions_running(now)
    products = [product for product, _ in lines]
    paths = _category_paths(products) if _needs_categories(promotions, voucher) else {}
    price_lines = [
        PriceLine(
            product=_ref(product, paths),
            quantity=quantity,
            unit_price=product.price,
            tax_class=product.tax_class,
            weight=product.weight,
        )
        for product, quantity in lines
    ]
    return price_checkout(
        price_lines,
        address=where,
        shipping=config.shipping_for(country),
        shipping_method_id=None if shipping_method_id is None else str(shipping_method_id),
        voucher=voucher,
        promotions=promotions,
        tax_rates=config.tax_table_for(country),
        settings=PricingSettings(
            prices_include_tax=settings.PRICES_INCLUDE_TAX if prices_include_tax is None else prices_include_tax,
            places=currency_places(settings.CURRENCY),
            currency=settings.CURRENCY,
            now=now,
            require_shipping_method=require_shipping_method,
        ),
    )


def order_reprice(order, *, lines: Sequence[tuple[Product, int]] | None = None, voucher: VoucherData | None = None):
    """Price an existing order again at today's prices (order edits): its address, its
    shipping method (when it still exists; else none is required), `lines` (default: its
    own, products re-read) and `voucher` (the caller reads it, under its lock, with
    promotions.services.voucher_find(order.voucher_code, user=order.user, lock=True); a
    voucher the order already holds counts itself in `used`, so pass it with one use
    less, as `dataclasses.replace(data, used=data.used - 1, used_by_customer=...)`).
    The order's own pricing mode (gross or net) is kept."""
    if lines is None:
        items = list(order.lines.all().only("product_id", "quantity"))
        products = Product.objects.only("id", *PRICING_FIELDS).in_bulk([line.product_id for line in items])
        lines = [(products[line.product_id], line.quantity) for line in items]
    return price_order(
        lines,
        order.shipping_address,
        shipping_method_id=order.shipping_method_id,
        voucher=voucher,
        require_shipping_method=order.shipping_method_id is not None,
        prices_include_tax=order.prices_include_tax,
    )
