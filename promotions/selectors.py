"""Reads of promotions and vouchers as plain data for the pricing pipeline (core.pricing)."""

from __future__ import annotations

import contextlib
import uuid
from datetime import datetime

from django.core.cache import cache
from django.db.models import Q, QuerySet
from django.utils import timezone

from catalog.models import Product
from core.caching import generation_cached
from core.pricing import ProductRef, PromotionData, Scope, VoucherData
from promotions.models import Promotion, Voucher, VoucherRedemption

GENERATION_KEY = "promotions:generation"
_SCOPE_PREFETCH = ("products", "categories", "brands")
_HAS_PARENT = any(f.name == "parent" for f in Product._meta.get_fields())


def product_ref(product: Product) -> ProductRef:
    """What scopes match `product` on (its category's path names every ancestor: no query).
    Needs the product's category loaded (or its path) when categories are scoped."""
    category = product.category if "category" in product._state.fields_cache else None
    path = category.path if category is not None else ""
    category_ids = {uuid.UUID(part) for part in path.split("/") if part}
    if product.category_id:
        category_ids.add(product.category_id)
    return ProductRef(
        product_id=product.pk,
        category_ids=frozenset(category_ids),
        brand_id=product.brand_id,
        parent_id=getattr(product, "parent_id", None),
    )


def scope_of(obj) -> Scope:
    """The scope of a voucher or promotion with its three relations prefetched."""
    products = frozenset(p.pk for p in obj.products.all())
    categories = frozenset(c.pk for c in obj.categories.all())
    brands = frozenset(b.pk for b in obj.brands.all())
    if not (products or categories or brands):
        return Scope(all_products=True)
    return Scope(product_ids=products, category_ids=categories, brand_ids=brands)


def scope_q(obj) -> Q | None:
    """The products a voucher's or promotion's scope covers, as a filter (None: all)."""
    scope = scope_of(obj)
    if scope.all_products:
        return None
    q = Q(pk__in=scope.product_ids) | Q(brand_id__in=scope.brand_ids)
    if _HAS_PARENT and scope.product_ids:
        q |= Q(parent_id__in=scope.product_ids)
    for category_id in scope.category_ids:
        q |= Q(category__path__contains=f"{category_id.hex}/")
    return q


def promotion_data(promotion: Promotion) -> PromotionData:
    return PromotionData(
        id=str(promotion.pk), kind=promotion.kind, value=promotion.value, scope=scope_of(promotion), name=promotion.name
    )


def _promotions_loaded() -> list[tuple[datetime | None, datetime | None, PromotionData]]:
    now = timezone.now()
    rows = Promotion.objects.filter(is_active=True).filter(Q(ends_at__isnull=True) | Q(ends_at__gt=now))
    return [(p.starts_at, p.ends_at, promotion_data(p)) for p in rows.prefetch_related(*_SCOPE_PREFETCH)]


def promotions_running(now: datetime | None = None) -> list[PromotionData]:
    """The promotions running at `now`, from the cache while no promotion was written
    (a generation token, replaced on commit by every write), else four queries."""
    now = now or timezone.now()
    rows = generation_cached(
        GENERATION_KEY, "promotions:running", _promotions_loaded, valid=lambda v: isinstance(v, list), timeout=24 * 3600
    )
    return [data for starts, ends, data in rows if (starts is None or starts <= now) and (ends is None or now < ends)]


def voucher_scope(voucher: Voucher) -> Scope:
    """The voucher's scope, cached under its `updated_at`: every save through the services
    (the API, the admin) bumps it in the transaction that sets the scope, so an entry is
    never read for a scope it does not describe. Saves three queries per checkout."""
    key = f"promotions:vscope:{voucher.pk}:{voucher.updated_at.timestamp() if voucher.updated_at else 0}"
    with contextlib.suppress(Exception):
        scope = cache.get(key)
        if isinstance(scope, Scope):
            return scope
    scope = scope_of(voucher)
    with contextlib.suppress(Exception):  # best effort
        cache.set(key, scope, timeout=24 * 3600)
    return scope


def voucher_data(voucher: Voucher, *, user=None) -> VoucherData:
    """The pipeline's view of `voucher`, with how often it is used (by `user`). Read inside
    the voucher's row lock at checkout, so the counts cannot move before the order commits."""
    used_by_customer = 0
    if voucher.per_customer_limit is not None and user is not None:
        used_by_customer = VoucherRedemption.objects.filter(
            voucher=voucher, user=user, released_at__isnull=True
        ).count()
    return VoucherData(
        id=str(voucher.pk),
        code=voucher.code,
        kind=voucher.kind,
        value=voucher.value,
        scope=voucher_scope(voucher),
        min_subtotal=voucher.min_subtotal,
        starts_at=voucher.starts_at,
        ends_at=voucher.ends_at,
        is_active=voucher.is_active,
        usage_limit=voucher.usage_limit,
        used=voucher.used_count,
        per_customer_limit=voucher.per_customer_limit,
        used_by_customer=used_by_customer,
    )


def voucher_list() -> QuerySet[Voucher]:
    return Voucher.objects.prefetch_related(*_SCOPE_PREFETCH)


def promotion_list() -> QuerySet[Promotion]:
    return Promotion.objects.prefetch_related(*_SCOPE_PREFETCH)
