"""Writes to orders: checkout, the status machine, cancellation and expiry.

Lock order, everywhere: the order row first, then product rows in primary-key order
(then, in payments, the invoice counter). Keeping one order makes deadlocks impossible.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q, prefetch_related_objects
from django.utils import timezone

from accounts.models import Address
from carts.services import cart_clear_for_user, cart_lock_lines_for_checkout
from catalog.models import Product, StockReason
from catalog.services import review_set_verified_purchase, stock_lock, stock_move_many
from core.addresses import ADDRESS_FIELDS, validate_address
from core.jobs import enqueue
from core.metrics import ORDERS_PLACED
from orders.errors import (
    EmailNotVerified,
    EmptyOrder,
    InsufficientStock,
    InvalidAddress,
    InvalidTransition,
    OrderLimitExceeded,
    OrderTooLarge,
    PriceChanged,
    ProductUnavailable,
)
from orders.hooks import refund_paid_order
from orders.models import PAID_STATUSES, Order, OrderLine, OrderStatus, OrderStatusChange

# The status machine: the only place that says which move is allowed.
TRANSITIONS: dict[str, frozenset[str]] = {
    OrderStatus.PENDING: frozenset({OrderStatus.PAYMENT_CONFIRMED, OrderStatus.CANCELLED}),
    OrderStatus.PAYMENT_CONFIRMED: frozenset({OrderStatus.PROCESSING, OrderStatus.CANCELLED}),
    OrderStatus.PROCESSING: frozenset({OrderStatus.SHIPPED}),
    OrderStatus.SHIPPED: frozenset({OrderStatus.DELIVERED}),
    OrderStatus.DELIVERED: frozenset(),
    OrderStatus.CANCELLED: frozenset(),
}

_AMOUNT_FIELD = Order._meta.get_field("total_amount")
# The largest amount an order (and its payment and invoice: same columns) can hold.
MAX_ORDER_AMOUNT = Decimal(10) ** (_AMOUNT_FIELD.max_digits - _AMOUNT_FIELD.decimal_places) - Decimal(10) ** (
    -_AMOUNT_FIELD.decimal_places
)
# Crockford base32 without look-alikes, for the random part of order numbers.
_NUMBER_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


@dataclass(frozen=True)
class LineRequest:
    product_id: UUID
    quantity: int
    unit_price: Decimal | None = None


def can_transition(from_status: str, to_status: str) -> bool:
    return to_status in TRANSITIONS.get(from_status, frozenset())


def _check_transition(order: Order, to_status: str) -> None:
    if not can_transition(order.status, to_status):
        raise InvalidTransition(
            f"An order in status '{order.status}' cannot move to '{to_status}'.",
            errors=[{"from_status": order.status, "to_status": to_status}],
        )


def _new_order_number(now) -> str:
    # Date first, so numbers sort (and read) in time order; 8 random base32 characters
    # (10^12 per day) make a collision practically impossible without a global counter
    # row that every checkout would have to lock.
    suffix = "".join(secrets.choice(_NUMBER_ALPHABET) for _ in range(8))
    return f"{now:%Y%m%d}-{suffix}"


def _record_change(order: Order, from_status: str, to_status: str, by, note: str = "") -> OrderStatusChange:
    return OrderStatusChange.objects.create(
        order=order,
        from_status=from_status,
        to_status=to_status,
        changed_by=by if (by is not None and getattr(by, "is_authenticated", False)) else None,
        note=note[:255],
    )


def _merge_lines(lines: Iterable[LineRequest]) -> dict[UUID, int]:
    """Quantity per product (lines naming the same product are summed)."""
    merged: dict[UUID, int] = {}
    for line in lines:
        merged[line.product_id] = merged.get(line.product_id, 0) + line.quantity
    return merged


def _address_snapshot(user, shipping_address_id: UUID | None, shipping_address: Mapping[str, Any] | None) -> dict:
    if shipping_address_id is not None:
        address = Address.objects.filter(user=user, pk=shipping_address_id).first()
        if address is None:
            raise InvalidAddress(attr="shipping_address_id")
        return {field: getattr(address, field) for field in ADDRESS_FIELDS}
    if shipping_address:
        return validate_address(shipping_address, attr_prefix="shipping_address.")
    raise InvalidAddress("A shipping address is required.", attr="shipping_address")


def _lock_products(product_ids: Iterable[UUID]) -> dict[UUID, Product]:
    """Lock the product rows in primary-key order (catalog.services.stock_lock: the same
    order for every transaction, so two checkouts over the same products queue instead of
    deadlocking)."""
    return stock_lock(product_ids, fields=("name", "sku", "price", "is_active"))


def _move_stock(deltas: Mapping[UUID, int], *, reason: str, order: Order, by=None, locked=None, note: str = "") -> None:
    """Add `deltas` (negative = take) to stock through the stock ledger (locked, F(), one
    StockMove per product, cache invalidated on commit). `locked`: the rows this
    transaction already locked with _lock_products."""
    stock_move_many(deltas, reason=reason, by=by, order_id=order.pk, note=note, locked=locked)


def order_place(
    user,
    *,
    items: Iterable[LineRequest] | None = None,
    shipping_address_id: UUID | None = None,
    shipping_address: Mapping[str, Any] | None = None,
) -> Order:
    """Place an order from `items`, or from the user's cart when `items` is None.

    One transaction: locks every product row (primary-key order), checks all lines,
    takes the stock with F(), writes the order, empties the cart. The confirmation email
    is enqueued on commit.

    Limits against stock hoarding (0 turns one off), staff included: at most
    ORDER_MAX_UNITS_PER_PRODUCT units of one product (lines naming it summed), and at most
    ORDER_MAX_PENDING_PER_USER unpaid `pending` orders (not yet past `expires_at`) per
    customer. The second is counted under a lock of the customer's row, taken first (lock
    order: user, cart, products), so concurrent checkouts of one customer never pass it.

    Without a broker (eager mode, `make run`) no beat runs the expiry job, so due orders
    are expired first (`orders_expire_due_without_beat`).

    Retries are the Idempotency-Key middleware's job (ecommerce/api/idempotency.py): it
    stores the answer in this same transaction, so a retry either replays the order placed
    or, if the first attempt died before committing, places it once.

    Raises EmailNotVerified (403), EmptyOrder / InvalidAddress / OrderTooLarge (400),
    ProductUnavailable, PriceChanged, InsufficientStock, OrderLimitExceeded (409, every
    offending line listed; nothing written).
    """
    if not user.is_verified:
        raise EmailNotVerified()
    orders_expire_due_without_beat()
    address = _address_snapshot(user, shipping_address_id, shipping_address)
    items = list(items) if items is not None else None
    return _place(user, items, address)


def _check_pending_limit(user) -> None:
    """At most ORDER_MAX_PENDING_PER_USER unpaid orders still holding stock for `user`.
    Locks the user's row (until the caller's transaction ends) so two checkouts of one
    customer count one after the other. Orders past `expires_at` do not count: they can
    no longer be paid and the expiry job is about to return their stock."""
    limit = settings.ORDER_MAX_PENDING_PER_USER
    if limit <= 0:
        return
    list(get_user_model().objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True))
    pending = (
        Order.objects.filter(user=user, status=OrderStatus.PENDING)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))
        .count()
    )
    if pending >= limit:
        raise OrderLimitExceeded(
            f"You already have {pending} unpaid orders; at most {limit} may await payment at once. "
            "Pay or cancel one of them first.",
            errors=[{"pending": pending, "limit": limit}],
        )


def _check_units_limit(requested: Mapping[UUID, int]) -> None:
    limit = settings.ORDER_MAX_UNITS_PER_PRODUCT
    if limit <= 0:
        return
    over = [
        {"product_id": str(pid), "requested": quantity, "limit": limit}
        for pid, quantity in sorted(requested.items())
        if quantity > limit
    ]
    if over:
        raise OrderLimitExceeded(f"An order may hold at most {limit} units of one product.", errors=over)


def _place(user, items: list[LineRequest] | None, address: dict) -> Order:
    with transaction.atomic():
        _check_pending_limit(user)
        if items is None:
            # The cart row stays locked until commit (before any product row: lock order
            # cart, then products): a second checkout of the same cart waits and then finds
            # it empty, and an item added meanwhile is not cleared without being ordered.
            items = [LineRequest(product_id, quantity) for product_id, quantity in cart_lock_lines_for_checkout(user)]
        requested = _merge_lines(items)
        if not requested:
            raise EmptyOrder()
        _check_units_limit(requested)
        products = _lock_products(requested)

        unavailable = [pid for pid in requested if pid not in products or not products[pid].is_active]
        if unavailable:
            raise ProductUnavailable(errors=[{"product_id": str(pid)} for pid in sorted(unavailable)])

        # Every price the client sent is checked, also when several lines name one product.
        sent_prices = dict.fromkeys((line.product_id, line.unit_price) for line in items if line.unit_price is not None)
        changed = [
            {"product_id": str(pid), "sent": str(sent), "current": str(products[pid].price)}
            for pid, sent in sent_prices
            if sent != products[pid].price
        ]
        if changed:
            raise PriceChanged(errors=changed)

        short = [
            {"product_id": str(pid), "requested": quantity, "available": max(products[pid].stock_quantity, 0)}
            for pid, quantity in requested.items()
            if quantity > products[pid].stock_quantity
        ]
        if short:
            raise InsufficientStock(errors=short)

        subtotal = sum((products[pid].price * quantity for pid, quantity in requested.items()), Decimal("0.00"))
        if subtotal > MAX_ORDER_AMOUNT:
            raise OrderTooLarge(errors=[{"subtotal": str(subtotal), "maximum": str(MAX_ORDER_AMOUNT)}])

        now = timezone.now()
        order = Order.objects.create(
            number=_new_order_number(now),
            user=user,
            status=OrderStatus.PENDING,
            shipping_address=address,
            subtotal=subtotal,
            total_amount=subtotal,
            currency=settings.CURRENCY,
            expires_at=now + timedelta(seconds=settings.ORDER_PAYMENT_TIMEOUT),
        )
        _move_stock(
            {pid: -quantity for pid, quantity in requested.items()},
            reason=StockReason.SALE,
            order=order,
            by=user,
            locked=products,
        )
        OrderLine.objects.bulk_create(
            [
                OrderLine(
                    order=order,
                    product_id=pid,
                    product_name=products[pid].name,
                    product_sku=products[pid].sku,
                    quantity=quantity,
                    unit_price=products[pid].price,
                )
                for pid, quantity in requested.items()
            ]
        )
        _record_change(order, "", OrderStatus.PENDING, user, "order placed")
        cart_clear_for_user(user)

        from orders.tasks import send_order_confirmation

        enqueue(send_order_confirmation, str(order.pk))
        transaction.on_commit(ORDERS_PLACED.inc)
    # The caller usually renders the new order with its lines and history: load them the
    # way the selectors do (two queries). This is outside checkout's own transaction, but a
    # POST with an Idempotency-Key runs inside the middleware's, so the locks are still held.
    prefetch_related_objects([order], "lines", "history")
    return order


def _lock_order(order_id: UUID) -> Order:
    return Order.objects.select_for_update().get(pk=order_id)


def order_mark_paid(order: Order, *, by=None, note: str = "") -> None:
    """pending → payment_confirmed. The caller (payments) holds the order row lock and is
    inside its transaction. Marks the buyer's reviews of these products as verified."""
    _check_transition(order, OrderStatus.PAYMENT_CONFIRMED)
    previous = order.status
    order.status = OrderStatus.PAYMENT_CONFIRMED
    order.paid_at = timezone.now()
    order.save(update_fields=["status", "paid_at", "updated_at"])
    _record_change(order, previous, order.status, by, note or "payment confirmed")
    product_ids = list(order.lines.values_list("product_id", flat=True))
    review_set_verified_purchase(order.user_id, product_ids, verified=True)


def order_cancel(order_id: UUID, *, by=None, note: str = "", only_if_expired: bool = False) -> Order:
    """Cancel a pending or paid order: refund a paid order, put the stock back (locked,
    F()), record the move and email the customer. The one way to cancel an order (API,
    status endpoint, admin, expiry job).

    The refund is the handler payments registers in `orders.hooks` at startup (orders
    cannot import payments); it runs in this transaction, so its failure rolls the
    cancellation back. Locks the order row first (so a concurrent payment or cancellation
    waits, and stock comes back exactly once), then the product rows in primary-key order;
    the provider is called while only the order row is locked. Raises InvalidTransition
    (409) and, when the refund fails, the handler's UpstreamError (502
    `payment_provider_error`, nothing changed).
    With `only_if_expired`, does nothing (returns the order) unless it is still pending
    past its `expires_at` — the check the expiry job needs, made under the lock."""
    with transaction.atomic():
        order = _lock_order(order_id)
        if only_if_expired and not (
            order.status == OrderStatus.PENDING and order.expires_at and order.expires_at <= timezone.now()
        ):
            return order
        _check_transition(order, OrderStatus.CANCELLED)
        previous = order.status
        if previous == OrderStatus.PAYMENT_CONFIRMED:
            refund_paid_order(order, reason=note or "order cancelled")

        lines = list(order.lines.all().only("product_id", "quantity"))
        locked = _lock_products(line.product_id for line in lines)
        _move_stock(
            {line.product_id: line.quantity for line in lines},
            reason=StockReason.CANCEL,
            order=order,
            by=by,
            locked=locked,
            note=note or "cancelled",
        )

        order.status = OrderStatus.CANCELLED
        order.cancelled_at = timezone.now()
        order.save(update_fields=["status", "cancelled_at", "updated_at"])
        _record_change(order, previous, order.status, by, note or "cancelled")
        if previous in PAID_STATUSES:
            _unverify_reviews(order)

        from orders.tasks import send_order_cancelled

        enqueue(send_order_cancelled, str(order.pk))
    return order


def _unverify_reviews(order: Order) -> None:
    from orders.selectors import user_has_purchased

    product_ids = order.lines.values_list("product_id", flat=True)
    no_longer_bought = [product_id for product_id in product_ids if not user_has_purchased(order.user, product_id)]
    review_set_verified_purchase(order.user_id, no_longer_bought, verified=False)


def order_set_status(order_id: UUID, to_status: str, *, by=None, tracking_number: str = "", note: str = "") -> Order:
    """Move an order along the status machine (staff: API, admin). `cancelled` goes through
    order_cancel; `payment_confirmed` only through a payment. Locks the order row.
    Raises InvalidTransition (409)."""
    if to_status == OrderStatus.CANCELLED:
        return order_cancel(order_id, by=by, note=note)
    with transaction.atomic():
        order = _lock_order(order_id)
        if to_status == OrderStatus.PAYMENT_CONFIRMED:
            # Money moves only through payments; a status form cannot fake a payment.
            raise InvalidTransition("An order becomes paid only through a payment.")
        _check_transition(order, to_status)
        previous = order.status
        order.status = to_status
        fields = ["status", "updated_at"]
        if to_status == OrderStatus.SHIPPED and tracking_number:
            order.tracking_number = tracking_number[:100]
            fields.append("tracking_number")
        order.save(update_fields=fields)
        _record_change(
            order, previous, to_status, by, note or (f"tracking {tracking_number}" if tracking_number else "")
        )
        if to_status == OrderStatus.SHIPPED:
            from orders.tasks import send_order_shipped

            enqueue(send_order_shipped, str(order.pk))
    return order


def orders_expire(*, now=None, limit: int = 500) -> int:
    """Cancel pending orders past `expires_at`, returning their stock. Each order is
    handled in its own transaction under its row lock (a payment arriving at the same
    moment either wins the lock first — the order is paid — or finds it cancelled).
    Returns how many orders were cancelled."""
    now = now or timezone.now()
    ids = list(
        Order.objects.filter(status=OrderStatus.PENDING, expires_at__lte=now)
        .order_by("expires_at")
        .values_list("pk", flat=True)[:limit]
    )
    cancelled = 0
    for order_id in ids:
        order = order_cancel(order_id, note="payment timeout", only_if_expired=True)
        if order.status == OrderStatus.CANCELLED and order.cancelled_at and order.cancelled_at >= now:
            cancelled += 1
    return cancelled


# Enough to clear what a dev server accumulates between two requests; the rest goes on
# the next call.
_INLINE_EXPIRY_BATCH = 50


def orders_expire_due_without_beat() -> int:
    """Expire due orders now when no broker is configured (CELERY_TASK_ALWAYS_EAGER, the
    embedded default of `make run`): then neither a worker nor beat runs
    `orders.tasks.expire_orders`, and unpaid orders would hold their stock forever.
    Checkout and order reads call it first. Costs one indexed query when nothing is due;
    with a broker it does nothing (beat's job). Returns how many orders were cancelled."""
    if not settings.CELERY_TASK_ALWAYS_EAGER:
        return 0
    return orders_expire(limit=_INLINE_EXPIRY_BATCH)
