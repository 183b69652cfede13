"""Writes to carts: one service API over two stores (see `carts.stores`).

Every function takes the caller as `user` (authenticated: the database cart) or `token`
(anonymous: the Redis cart that token names). Writes by an anonymous caller whose token is
missing, malformed or expired start a new cart under a fresh token; the returned
`CartDetail.token` is the one the client must send from then on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from carts.errors import (
    CartLineNotFound,
    CartStoreUnavailable,
    InsufficientStock,
    ProductNotFound,
    QuantityTooLarge,
    VariantRequired,
)
from carts.models import Cart, CartItem
from carts.selectors import CartDetail, cart_get, cart_lines_for_user
from carts.stores import (
    AnonymousCartStore,
    CartStore,
    DatabaseCartStore,
    LineLimitExceeded,
    anonymous_cart_store,
    is_well_formed_token,
    lock_user_cart,
    new_cart_token,
    touch_cart,
)
from catalog.models import Product, ProductStructure
from core.errors import InvalidInput

logger = logging.getLogger(__name__)

__all__ = [
    "CartMergeResult",
    "cart_add_item",
    "cart_clear",
    "cart_clear_for_user",
    "cart_get",  # a read, kept in selectors; re-exported so the cart API is one import
    "cart_merge",
    "cart_purge_stale",
    "cart_remove_item",
    "cart_set_quantity",
]


def _is_customer(user) -> bool:
    return user is not None and user.is_authenticated


def _check_quantity(quantity: int) -> None:
    # The API's serializer already enforces this; services are also called from elsewhere.
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise InvalidInput("Quantity must be a whole number of at least 1.", code="min_value", attr="quantity")
    if quantity > settings.CART_MAX_QUANTITY:
        raise QuantityTooLarge(settings.CART_MAX_QUANTITY)


def _sellable_product(product_id: UUID) -> Product:
    product = Product.objects.filter(pk=product_id, is_active=True).first()
    if product is None:
        raise ProductNotFound()
    if product.structure == ProductStructure.PARENT:
        raise VariantRequired(product.pk)
    return product


def _check_stock(product: Product, requested: int) -> None:
    if requested > product.stock_quantity:
        raise InsufficientStock(product_id=product.pk, requested=requested, available=product.stock_quantity)
    if requested > settings.CART_MAX_QUANTITY:
        raise QuantityTooLarge(settings.CART_MAX_QUANTITY)


def _existing_store(user, token: str | None) -> tuple[CartStore | None, str | None]:
    """The caller's store if their cart exists (customers always have one)."""
    if _is_customer(user):
        return DatabaseCartStore(user), None
    if not is_well_formed_token(token):
        return None, None
    store = anonymous_cart_store(token)
    return (store, token) if store.exists() else (None, None)


def _store_for_write(user, token: str | None) -> tuple[CartStore, str | None]:
    store, token = _existing_store(user, token)
    if store is not None:
        return store, token
    # Never adopt a token the client made up: only tokens this server issued name carts.
    # The cart comes into being with its first line, so a failed add leaves nothing behind.
    token = new_cart_token()
    return anonymous_cart_store(token), token


def cart_add_item(*, user=None, token: str | None = None, product_id: UUID, quantity: int) -> CartDetail:
    """Add `quantity` units of a product, summing with the units already in the cart.

    Atomic per cart (database row lock, or one Redis script). Raises ProductNotFound
    (unknown or inactive), VariantRequired (a parent: a variant must be chosen), InsufficientStock (the line would exceed stock, nothing changed),
    QuantityTooLarge, InvalidInput, CartStoreUnavailable."""
    _check_quantity(quantity)
    product = _sellable_product(product_id)
    store, token = _store_for_write(user, token)
    try:
        store.add(product.pk, quantity, limit=min(product.stock_quantity, settings.CART_MAX_QUANTITY))
    except LineLimitExceeded as exc:
        _check_stock(product, exc.current + quantity)
        raise  # unreachable: the limit is the smaller of stock and the maximum
    return cart_get(user=user, token=token)


def cart_set_quantity(*, user=None, token: str | None = None, product_id: UUID, quantity: int) -> CartDetail:
    """Set the quantity of a line already in the cart. Raises ProductNotFound (unknown or
    inactive product), CartLineNotFound, InsufficientStock, QuantityTooLarge, InvalidInput."""
    _check_quantity(quantity)
    product = _sellable_product(product_id)
    _check_stock(product, quantity)
    store, token = _existing_store(user, token)
    if store is None or not store.set(product.pk, quantity):
        raise CartLineNotFound()
    return cart_get(user=user, token=token)


def cart_remove_item(*, user=None, token: str | None = None, product_id: UUID) -> None:
    """Delete a line (whatever became of its product). Raises CartLineNotFound."""
    store, _ = _existing_store(user, token)
    if store is None or not store.remove(product_id):
        raise CartLineNotFound()


def cart_clear(*, user=None, token: str | None = None) -> None:
    """Empty the cart; the anonymous token stays valid. No cart: nothing to do."""
    store, _ = _existing_store(user, token)
    if store is not None:
        store.clear()


def cart_lock_lines_for_checkout(user) -> list[tuple[UUID, int]]:
    """Lock `user`'s cart row until the caller's transaction ends, then read its lines
    ((product_id, quantity), oldest first). Checkout calls it before locking any product
    (lock order: cart, then products): two checkouts of one cart queue here and the second
    finds the cart the first emptied; a concurrent add waits instead of being cleared
    without being ordered."""
    if lock_user_cart(user, create=False) is None:
        return []
    return cart_lines_for_user(user)


def cart_clear_for_user(user) -> None:
    """Empty `user`'s database cart. Safe inside the caller's transaction (checkout)."""
    CartItem.objects.filter(cart__user=user).delete()


@dataclass
class CartMergeResult:
    merged: list[UUID] = field(default_factory=list)  # lines added to or summed into the cart
    capped: list[UUID] = field(default_factory=list)  # lines limited by stock (part or all)
    dropped: list[UUID] = field(default_factory=list)  # products gone or inactive


def cart_merge(user, token: str | None, *, raise_unavailable: bool = False) -> CartMergeResult:
    """Merge the anonymous cart `token` into `user`'s database cart, then delete it.

    Quantities are summed and capped at stock (a line the customer already had is never
    reduced). The anonymous cart is taken (read and deleted) atomically first, so of two
    merges of one token only one finds lines: merging twice is harmless. The database side
    runs in one transaction under the cart row lock; if it fails, the anonymous lines are
    put back and the error propagates.

    An unknown, expired or malformed token is a no-op, never an error. If the anonymous
    store is down nothing is taken (the cart stays for a later merge): a no-op logged as a
    warning, or CartStoreUnavailable when `raise_unavailable` (the merge endpoint).

    Call it outside any transaction of your own (as login does): inside one, a rollback of
    yours after this returns would undo the database side while the anonymous cart is gone."""
    result = CartMergeResult()
    if not is_well_formed_token(token):
        return result
    store: AnonymousCartStore = anonymous_cart_store(token)
    try:
        lines = store.take()
    except CartStoreUnavailable:
        if raise_unavailable:
            raise
        logger.warning("cart merge skipped: anonymous cart store unavailable")
        return result
    if not lines:
        return result
    try:
        with transaction.atomic():
            _merge_lines_into_database(user, lines, result)
    except BaseException:
        _restore_anonymous_lines(store, lines)
        raise
    return result


def _merge_lines_into_database(user, lines: dict[UUID, int], result: CartMergeResult) -> None:
    # A product that became a parent since it was added is no longer sold: dropped.
    sellable = Product.objects.filter(pk__in=list(lines), is_active=True).exclude(structure=ProductStructure.PARENT)
    products = sellable.in_bulk()
    cart = lock_user_cart(user, create=True)
    existing = {item.product_id: item for item in CartItem.objects.filter(cart=cart, product_id__in=list(products))}
    for product_id, quantity in lines.items():
        product = products.get(product_id)
        if product is None:
            result.dropped.append(product_id)
            continue
        item = existing.get(product_id)
        current = item.quantity if item else 0
        cap = min(product.stock_quantity, settings.CART_MAX_QUANTITY)
        new = max(current, min(current + quantity, cap))
        if new < current + quantity:
            result.capped.append(product_id)
        if new == current:
            continue
        if item is None:
            CartItem.objects.create(cart=cart, product=product, quantity=new)
        else:
            item.quantity = new
            item.save(update_fields=["quantity", "updated_at"])
        result.merged.append(product_id)
    touch_cart(cart)


def _restore_anonymous_lines(store: AnonymousCartStore, lines: dict[UUID, int]) -> None:
    try:
        store.restore(lines)
    except CartStoreUnavailable:
        # Both stores failed: the lines would be lost silently, so they go to the error log.
        logger.error(
            "cart merge failed and the anonymous cart could not be restored",
            extra={"cart_token_prefix": store.token[:6], "lines": {str(k): v for k, v in lines.items()}},
        )


def cart_purge_stale(*, older_than_days: int, batch_size: int = 500) -> int:
    """Delete database carts not written for `older_than_days` days; returns how many.

    Works in batches; rows are locked with SKIP LOCKED, so a cart being written right now is
    never deleted under its writer (and the purge never waits on one)."""
    cutoff = timezone.now() - timedelta(days=older_than_days)
    deleted = 0
    while True:
        with transaction.atomic():
            pks = list(
                Cart.objects.select_for_update(skip_locked=True)
                .filter(updated_at__lt=cutoff)
                .order_by("pk")
                .values_list("pk", flat=True)[:batch_size]
            )
            if not pks:
                return deleted
            Cart.objects.filter(pk__in=pks).delete()
            deleted += len(pks)
