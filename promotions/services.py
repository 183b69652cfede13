"""Writes of vouchers and promotions: staff edits, redemptions at checkout (under the
voucher's row lock), their release when an order is cancelled, and the promoted prices
the catalog shows (Product.discounted_price) at every promotion start and end.

Lock order at checkout: user, cart, products (orders), then the voucher row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from catalog.cache import set_price_boundary
from catalog.models import Product
from catalog.services import product_discounted_prices_set
from core.caching import bump_generation_on_commit
from core.errors import Conflict, InvalidInput
from core.jobs import enqueue
from core.pricing import VoucherData, best_promotion
from promotions.errors import VoucherInvalid
from promotions.models import Promotion, Voucher, VoucherRedemption
from promotions.selectors import _HAS_PARENT, GENERATION_KEY, product_ref, promotion_data, scope_q, voucher_data

SCOPE_FIELDS = ("products", "categories", "brands")
# One refresher at a time (PostgreSQL advisory lock key: "promo" in ASCII).
_REFRESH_LOCK = 0x70726F6D6F


def promotions_changed() -> None:
    """Invalidate the cached running promotions once the current transaction commits."""
    bump_generation_on_commit(GENERATION_KEY)


def _full_clean(obj) -> None:
    try:
        obj.full_clean(exclude=list(SCOPE_FIELDS), validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise InvalidInput(messages[0], code="invalid", attr=None if field == "__all__" else field)


def _save_scoped(obj, *, fields: Iterable[str] | None, scope: Mapping[str, Iterable] | None) -> None:
    _full_clean(obj)
    update = (
        None if obj._state.adding or fields is None else [*(f for f in fields if f not in SCOPE_FIELDS), "updated_at"]
    )
    try:
        with transaction.atomic():
            obj.save(update_fields=update)
    except IntegrityError:
        raise Conflict("A voucher with this code already exists.", code="unique")
    for name, values in (scope or {}).items():
        if name in SCOPE_FIELDS and values is not None:
            getattr(obj, name).set(list(values))


# --- vouchers -----------------------------------------------------------------------------


def _pop_scope(data: dict) -> dict:
    """The scope fields (products, categories, brands) taken out of a create/update's data."""
    return {name: data.pop(name) for name in SCOPE_FIELDS if name in data}


@transaction.atomic
def voucher_save(voucher: Voucher, *, fields: Iterable[str] | None = None, scope: Mapping | None = None) -> Voucher:
    """Create or change a voucher (`scope`: products/categories/brands to set). Raises
    InvalidInput (400), Conflict `unique` (409) for a taken code."""
    _save_scoped(voucher, fields=fields, scope=scope)
    return voucher


def voucher_create(**data: Any) -> Voucher:
    scope = _pop_scope(data)
    return voucher_save(Voucher(**data), scope=scope)


def voucher_update(voucher: Voucher, **data: Any) -> Voucher:
    scope = _pop_scope(data)
    for key, value in data.items():
        setattr(voucher, key, value)
    return voucher_save(voucher, fields=data.keys(), scope=scope)


@transaction.atomic
def voucher_delete(voucher: Voucher) -> None:
    """Delete an unused voucher; one that orders used is kept (409 `protected`): deactivate it."""
    if voucher.redemptions.exists():
        raise Conflict("Orders used this voucher; deactivate it instead.", code="protected")
    voucher.delete()


def voucher_find(code: str, *, user=None, lock: bool = False) -> tuple[Voucher, VoucherData]:
    """The voucher named `code` (any case) and its pipeline data with its usage counts.
    With `lock`, a voucher with a usage limit has its row locked until the caller's
    transaction ends (checkout: the counts then cannot change before the redemption is
    written). Raises VoucherInvalid (400) for an unknown code."""
    voucher = Voucher.objects.filter(code=str(code).strip().upper()[:64]).first()
    if voucher is None:
        raise VoucherInvalid("Unknown voucher code.", attr="voucher_code")
    if lock and (voucher.usage_limit is not None or voucher.per_customer_limit is not None):
        # Only a limited voucher needs its row locked for the whole checkout (the counts
        # decide); an unlimited one is counted by the F() update at the end, a short lock.
        voucher = Voucher.objects.select_for_update().get(pk=voucher.pk)
    return voucher, voucher_data(voucher, user=user)


def voucher_redeem(voucher: Voucher, *, order_id: UUID, user, amount: Decimal) -> VoucherRedemption:
    """Count one use of `voucher` by `order_id` (two statements, no savepoint: it runs in
    the checkout transaction, which fails as a whole if this does). The caller holds the
    row lock of a limited voucher (voucher_find(lock=True)) and has checked the limits
    under it, so the database constraint `promotions_voucher_within_limit` is a backstop
    that a correct caller never trips."""
    Voucher.objects.filter(pk=voucher.pk).update(used_count=F("used_count") + 1)
    return VoucherRedemption.objects.create(voucher=voucher, order_id=order_id, user=user, amount=amount)


def voucher_redemption_update(order_id: UUID, *, amount: Decimal) -> bool:
    """Set what the voucher took off an order that was re-priced (order edits) and keeps
    it. True if the order holds a redemption and its amount changed."""
    return bool(
        VoucherRedemption.objects.filter(order_id=order_id, released_at__isnull=True)
        .exclude(amount=amount)
        .update(amount=amount)
    )


def voucher_release(order_id: UUID) -> bool:
    """Give back the redemption of a cancelled order (inside the cancel transaction: the
    voucher row is locked after the order's and its products'). True if one was released."""
    redemption = VoucherRedemption.objects.filter(order_id=order_id, released_at__isnull=True).first()
    if redemption is None:
        return False
    Voucher.objects.select_for_update().filter(pk=redemption.voucher_id).values_list("pk", flat=True).first()
    updated = VoucherRedemption.objects.filter(pk=redemption.pk, released_at__isnull=True).update(
        released_at=timezone.now()
    )
    if updated:
        Voucher.objects.filter(pk=redemption.voucher_id, used_count__gt=0).update(used_count=F("used_count") - 1)
    return bool(updated)


# --- promotions ---------------------------------------------------------------------------


@transaction.atomic
def promotion_save(
    promotion: Promotion, *, fields: Iterable[str] | None = None, scope: Mapping | None = None
) -> Promotion:
    """Create or change a promotion, re-price the catalog now (on commit the product
    reads show it) and schedule a re-pricing at its start and end."""
    _save_scoped(promotion, fields=fields, scope=scope)
    _after_promotion_change([promotion.starts_at, promotion.ends_at])
    return promotion


def promotion_create(**data: Any) -> Promotion:
    scope = _pop_scope(data)
    return promotion_save(Promotion(**data), scope=scope)


def promotion_update(promotion: Promotion, **data: Any) -> Promotion:
    scope = _pop_scope(data)
    for key, value in data.items():
        setattr(promotion, key, value)
    return promotion_save(promotion, fields=data.keys(), scope=scope)


@transaction.atomic
def promotion_delete(promotion: Promotion) -> None:
    promotion.delete()
    _after_promotion_change([])


def _after_promotion_change(boundaries: Iterable[datetime | None]) -> None:
    promotions_changed()
    next_boundary = promotion_prices_refresh(force=True)
    now = timezone.now()
    from promotions.tasks import refresh_promotion_prices

    for when in boundaries:
        if when is not None and when > now:
            enqueue(refresh_promotion_prices, eta=when)
    transaction.on_commit(lambda: set_price_boundary(next_boundary))


def _lock_refresh() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_REFRESH_LOCK])


def _promotions_in_play(now: datetime, *, prefetch: bool = False) -> list[Promotion]:
    """Promotions that run, will run, or whose prices are still applied."""
    qs = Promotion.objects.filter(Q(is_active=True) | Q(applied=True)).filter(
        Q(ends_at__isnull=True) | Q(ends_at__gt=now) | Q(applied=True)
    )
    return list(qs.prefetch_related(*SCOPE_FIELDS) if prefetch else qs)


def promotion_prices_refresh(*, force: bool = False, now: datetime | None = None) -> float | None:
    """Bring Product.discounted_price in line with the promotions running at `now`: each
    product a running promotion covers gets its best promotion's price, every other
    product none. Does the work only when a promotion started or ended since the last run
    (or `force`, after an edit): otherwise it costs one query. One refresher at a time (a
    PostgreSQL advisory lock, taken only when there is work). Returns the Unix time of the
    next start or end (None: none scheduled)."""
    now = now or timezone.now()
    promotions = _promotions_in_play(now)
    if force or any(p.applied != p.is_running(now) for p in promotions):
        with transaction.atomic():
            _lock_refresh()
            promotions = _promotions_in_play(now, prefetch=True)  # again, under the lock
            running = [p for p in promotions if p.is_running(now)]
            flips = [p for p in promotions if p.applied != p.is_running(now)]
            _reprice(running)
            for promotion in flips:
                Promotion.objects.filter(pk=promotion.pk).update(applied=not promotion.applied)
            if flips:
                promotions_changed()
    upcoming = [
        when for p in promotions if p.is_active for when in (p.starts_at, p.ends_at) if when is not None and when > now
    ]
    return min(upcoming).timestamp() if upcoming else None


def promotion_prices_refresh_due() -> float | None:
    """The catalog's hook (catalog.hooks.refresh_prices): apply starts and ends that are due."""
    return promotion_prices_refresh()


def _reprice(running: list[Promotion]) -> int:
    """Recompute the promoted price of every product that has one now or that a running
    promotion covers."""
    covered = Q(discounted_price__isnull=False)
    for promotion in running:
        q = scope_q(promotion)
        covered |= Q(pk__isnull=False) if q is None else q
    data = [promotion_data(p) for p in running]
    prices: dict[UUID, Decimal | None] = {}
    fields = ["id", "price", "discounted_price", "brand_id", "category__path", "category_id"]
    if _HAS_PARENT:
        fields.append("parent_id")
    products = Product.objects.filter(covered).select_related("category").only(*fields)
    for product in products.iterator(chunk_size=2000):
        _, off = best_promotion(data, product_ref(product), product.price)
        prices[product.pk] = product.price - off if off > 0 else None
    return product_discounted_prices_set(prices)
