"""Writes to orders: checkout, the status machine, cancellation and expiry; after
checkout, edits of pending orders, shipments (fulfillments) and returns.

Lock order, everywhere: the order row first, then (returns) the return row, then (through
the refund hook, in payments) the payment row and the invoice / credit note counter of the
year, then product rows in primary-key order. Keeping one order makes deadlocks impossible;
the provider is called while the order (and payment) row is locked, never product rows.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from uuid import UUID

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q, Sum, prefetch_related_objects
from django.utils import timezone

from accounts.models import Address
from carts.selectors import cart_lines_for_user
from carts.services import cart_clear_for_user, cart_lock_lines_for_checkout
from catalog.models import Product, ProductStructure, StockReason
from catalog.services import review_set_verified_purchase, stock_lock, stock_move_many
from core.addresses import ADDRESS_FIELDS, validate_address
from core.errors import InvalidInput
from core.jobs import enqueue
from core.metrics import ORDERS_PLACED
from core.pricing import Breakdown, VoucherExhausted, VoucherInvalid
from orders import pricing
from orders.errors import (
    EmailNotVerified,
    EmptyOrder,
    InsufficientStock,
    InvalidAddress,
    InvalidLine,
    InvalidTransition,
    LineNotFound,
    NothingToRefund,
    OrderLimitExceeded,
    OrderNotEditable,
    OrderNotReturnable,
    OrderTooLarge,
    OrderWouldBeEmpty,
    OverFulfillment,
    OverReturn,
    PriceChanged,
    ProductUnavailable,
    ReturnAlreadyDecided,
    ReturnNotFound,
    ReturnWindowClosed,
    VariantRequired,
)
from orders.hooks import refund_paid_order
from orders.models import (
    PAID_STATUSES,
    Fulfillment,
    FulfillmentLine,
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
    OrderStatusChange,
    ReturnLine,
    ReturnRequest,
    ReturnStatus,
)
from orders.pricing import PRICING_FIELDS, price_order
from orders.selectors import shipped_quantities
from promotions.services import voucher_find, voucher_redeem, voucher_redemption_update, voucher_release

# The status machine: the only place that says which move is allowed.
TRANSITIONS: dict[str, frozenset[str]] = {
    OrderStatus.PENDING: frozenset({OrderStatus.PAYMENT_CONFIRMED, OrderStatus.CANCELLED}),
    OrderStatus.PAYMENT_CONFIRMED: frozenset({OrderStatus.PROCESSING, OrderStatus.CANCELLED}),
    OrderStatus.PROCESSING: frozenset({OrderStatus.PARTIALLY_SHIPPED, OrderStatus.SHIPPED}),
    OrderStatus.PARTIALLY_SHIPPED: frozenset({OrderStatus.SHIPPED}),
    OrderStatus.SHIPPED: frozenset({OrderStatus.DELIVERED}),
    OrderStatus.DELIVERED: frozenset({OrderStatus.REFUNDED}),
    OrderStatus.CANCELLED: frozenset(),
    OrderStatus.REFUNDED: frozenset(),
}
# Moves made only by their own service, never by `status/`: a partial shipment is a
# fulfillment (order_fulfill), a refunded order is the outcome of its returns' refunds.
_NOT_BY_STATUS_FORM = {
    OrderStatus.PAYMENT_CONFIRMED: "An order becomes paid only through a payment.",
    OrderStatus.PARTIALLY_SHIPPED: "An order is partially shipped by shipping some of its lines (fulfillments/).",
    OrderStatus.REFUNDED: "An order becomes refunded when its returns have refunded all of it.",
}
_CENT = Decimal("0.01")

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


def _record_change(
    order: Order,
    from_status: str,
    to_status: str,
    by,
    note: str = "",
    *,
    event: str = OrderEvent.STATUS,
    details: Mapping[str, Any] | None = None,
) -> OrderStatusChange:
    return OrderStatusChange.objects.create(
        order=order,
        event=event,
        from_status=from_status,
        to_status=to_status,
        changed_by=by if (by is not None and getattr(by, "is_authenticated", False)) else None,
        note=note[:255],
        details=dict(details or {}),
    )


def _record_event(order: Order, event: str, by, note: str = "", **details: Any) -> OrderStatusChange:
    """A history entry that is not a status move (the status is named on both sides)."""
    return _record_change(order, order.status, order.status, by, note, event=event, details=details)


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
    return stock_lock(product_ids, fields=("name", "sku", "is_active", *PRICING_FIELDS))


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
    shipping_method_id: Any = None,
    voucher_code: str | None = None,
    expected_total: Decimal | None = None,
) -> Order:
    """Place an order from `items`, or from the user's cart when `items` is None.

    One transaction: locks every product row (primary-key order), then the voucher's row,
    checks all lines, prices them with the pricing pipeline (orders.pricing.price_order:
    shipping method, voucher, promotions, tax), takes the stock with F(), writes the order
    with its breakdown, counts the voucher's redemption, empties the cart. The confirmation
    email is enqueued on commit.

    Limits against stock hoarding (0 turns one off), staff included: at most
    ORDER_MAX_UNITS_PER_PRODUCT units of one product (lines naming it summed), and at most
    ORDER_MAX_PENDING_PER_USER unpaid `pending` orders (not yet past `expires_at`) per
    customer. The second is counted under a lock of the customer's row, taken first (lock
    order: user, cart, products, voucher), so concurrent checkouts of one customer never pass it.

    Without a broker (eager mode, `make run`) no beat runs the expiry job, so due orders
    are expired first (`orders_expire_due_without_beat`).

    Retries are the Idempotency-Key middleware's job (ecommerce/api/idempotency.py): it
    stores the answer in this same transaction, so a retry either replays the order placed
    or, if the first attempt died before committing, places it once.

    A variant is locked and sold like a standalone product (its own row, stock and
    ledger); a line naming a parent is VariantRequired (400).

    Raises EmailNotVerified (403), EmptyOrder / InvalidAddress / OrderTooLarge /
    VariantRequired / ShippingUnavailable / InvalidShippingMethod / VoucherInvalid (400),
    ProductUnavailable, PriceChanged (a sent unit price or `expected_total` differs),
    InsufficientStock, OrderLimitExceeded, VoucherExhausted (409, every offending line
    listed; nothing written).
    """
    if not user.is_verified:
        raise EmailNotVerified()
    orders_expire_due_without_beat()
    address = _address_snapshot(user, shipping_address_id, shipping_address)
    items = list(items) if items is not None else None
    return _place(
        user,
        items,
        address,
        shipping_method_id=shipping_method_id,
        voucher_code=voucher_code or None,
        expected_total=expected_total,
    )


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


def _check_sent_prices(items: Iterable[LineRequest], breakdown: Breakdown) -> None:
    # Every price the client sent is checked, also when several lines name one product,
    # against the price the pipeline charges (the promoted price while a promotion runs).
    current = {line.product_id: line.unit_price for line in breakdown.lines}
    sent_prices = dict.fromkeys((line.product_id, line.unit_price) for line in items if line.unit_price is not None)
    changed = [
        {"product_id": str(pid), "sent": str(sent), "current": str(current[pid])}
        for pid, sent in sent_prices
        if sent != current[pid]
    ]
    if changed:
        raise PriceChanged(errors=changed)


def _place(
    user,
    items: list[LineRequest] | None,
    address: dict,
    *,
    shipping_method_id: Any = None,
    voucher_code: str | None = None,
    expected_total: Decimal | None = None,
) -> Order:
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
        parents = sorted(pid for pid in requested if products[pid].structure == ProductStructure.PARENT)
        if parents:
            raise VariantRequired(errors=[{"product_id": str(pid)} for pid in parents])

        # The voucher row is locked after the products (lock order), and its usage counts
        # are read under that lock: 50 buyers racing for the last use queue here.
        voucher = voucher_data = None
        if voucher_code:
            voucher, voucher_data = voucher_find(voucher_code, user=user, lock=True)
        breakdown = price_order(
            [(products[pid], quantity) for pid, quantity in requested.items()],
            address,
            shipping_method_id=shipping_method_id,
            voucher=voucher_data,
        )
        _check_sent_prices(items, breakdown)

        short = [
            {"product_id": str(pid), "requested": quantity, "available": max(products[pid].stock_quantity, 0)}
            for pid, quantity in requested.items()
            if quantity > products[pid].stock_quantity
        ]
        if short:
            raise InsufficientStock(errors=short)

        if breakdown.total_amount > MAX_ORDER_AMOUNT or breakdown.subtotal > MAX_ORDER_AMOUNT:
            raise OrderTooLarge(errors=[{"subtotal": str(breakdown.subtotal), "maximum": str(MAX_ORDER_AMOUNT)}])
        if expected_total is not None and expected_total != breakdown.total_amount:
            raise PriceChanged(
                "The order total changed; nothing was ordered.",
                errors=[{"expected_total": str(expected_total), "total_amount": str(breakdown.total_amount)}],
            )

        now = timezone.now()
        method = breakdown.shipping_method
        order = Order.objects.create(
            number=_new_order_number(now),
            user=user,
            status=OrderStatus.PENDING,
            shipping_address=address,
            currency=settings.CURRENCY,
            expires_at=now + timedelta(seconds=settings.ORDER_PAYMENT_TIMEOUT),
            shipping_method_id=int(method.id) if method else None,
            shipping_method_name=method.name if method else "",
            voucher=voucher,
            voucher_code=voucher.code if voucher else "",
            **breakdown_totals(breakdown),
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
                    product_id=line.product_id,
                    product_name=products[line.product_id].name,
                    product_sku=products[line.product_id].sku,
                    quantity=line.quantity,
                    **breakdown_line_fields(line),
                )
                for line in breakdown.lines
            ]
        )
        if voucher is not None:
            voucher_redeem(
                voucher,
                order_id=order.pk,
                user=user,
                amount=breakdown.discount_amount + breakdown.shipping_discount_amount,
            )
        _record_change(order, "", OrderStatus.PENDING, user, "order placed")
        cart_clear_for_user(user)

        from orders.tasks import send_order_confirmation

        enqueue(send_order_confirmation, str(order.pk))
        transaction.on_commit(ORDERS_PLACED.inc)
    # The caller usually renders the new order with its lines and history: load them the
    # way the selectors do (two queries). This is outside checkout's own transaction, but a
    # POST with an Idempotency-Key runs inside the middleware's, so the locks are still held.
    from orders.selectors import ORDER_RELATIONS

    prefetch_related_objects([order], *ORDER_RELATIONS)
    return order


def breakdown_totals(breakdown: Breakdown) -> dict[str, Any]:
    """The order columns a breakdown sets (checkout; order edits write the same)."""
    return {
        "subtotal": breakdown.subtotal,
        "discount_amount": breakdown.discount_amount,
        "shipping_amount": breakdown.shipping_amount,
        "shipping_tax_rate": breakdown.shipping_tax_rate,
        "shipping_tax_amount": breakdown.shipping_tax_amount,
        "tax_amount": breakdown.tax_amount,
        "total_amount": breakdown.total_amount,
        "prices_include_tax": breakdown.prices_include_tax,
    }


def breakdown_line_fields(line) -> dict[str, Any]:
    """The OrderLine columns of one priced line."""
    return {
        "unit_price": line.unit_price,
        "undiscounted_unit_price": line.undiscounted_unit_price,
        "discount_amount": line.discount_amount,
        "tax_rate": line.tax_rate,
        "tax_amount": line.tax_amount,
    }


def checkout_quote(
    user,
    *,
    items: Iterable[LineRequest] | None = None,
    shipping_address_id: UUID | None = None,
    shipping_address: Mapping[str, Any] | None = None,
    shipping_method_id: Any = None,
    voucher_code: str | None = None,
) -> Breakdown:
    """What order_place would charge for the same input, without reserving anything (no
    lock, no write): the same pipeline (orders.pricing.price_order) over the same rows,
    except that the shipping method may be left open (then `shipping_amount` is zero and
    `shipping_methods` lists the choices). Lines for products no longer sold are left out
    of the cart's quote; named in `items` they raise ProductUnavailable (409). Raises what
    order_place raises for its address, lines, shipping method and voucher."""
    address = _address_snapshot(user, shipping_address_id, shipping_address)
    if items is None:
        requested = _merge_lines(LineRequest(pid, q) for pid, q in cart_lines_for_user(user))
    else:
        requested = _merge_lines(items)
    if not requested:
        raise EmptyOrder()
    products = Product.objects.only(
        "id", "name", "sku", "is_active", "stock_quantity", "structure", *PRICING_FIELDS
    ).in_bulk(list(requested))
    if items is None:
        requested = {pid: q for pid, q in requested.items() if pid in products and products[pid].is_active}
        if not requested:
            raise EmptyOrder()
    unavailable = [pid for pid in requested if pid not in products or not products[pid].is_active]
    if unavailable:
        raise ProductUnavailable(errors=[{"product_id": str(pid)} for pid in sorted(unavailable)])
    parents = sorted(pid for pid in requested if products[pid].structure == ProductStructure.PARENT)
    if parents:
        raise VariantRequired(errors=[{"product_id": str(pid)} for pid in parents])
    voucher_data = voucher_find(voucher_code, user=user)[1] if voucher_code else None
    breakdown = price_order(
        [(products[pid], quantity) for pid, quantity in requested.items()],
        address,
        shipping_method_id=shipping_method_id,
        voucher=voucher_data,
        require_shipping_method=False,
    )
    if items is not None:
        _check_sent_prices(items, breakdown)
    return breakdown


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
        lines = list(order.lines.all())
        if previous == OrderStatus.PAYMENT_CONFIRMED:
            # Everything left on the payment goes back (shipping included, unlike a return).
            refund_paid_order(
                order,
                reason=note or "order cancelled",
                key=f"cancel:{order.pk}",
                lines=[refund_line_for(line, line.quantity) for line in lines],
            )

        locked = _lock_products(line.product_id for line in lines)
        _move_stock(
            {line.product_id: line.quantity for line in lines},
            reason=StockReason.CANCEL,
            order=order,
            by=by,
            locked=locked,
            note=note or "cancelled",
        )

        if order.voucher_id is not None:
            voucher_release(order.pk)  # the use goes back (voucher row locked after the products)

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
    order_cancel; `payment_confirmed` only through a payment; `partially_shipped` only
    through order_fulfill and `refunded` only through refunds. `shipped` ships all that is
    left in one fulfillment (with `tracking_number`); `delivered` records `delivered_at`.
    Locks the order row. Raises InvalidTransition (409)."""
    if to_status == OrderStatus.CANCELLED:
        return order_cancel(order_id, by=by, note=note)
    with transaction.atomic():
        order = _lock_order(order_id)
        if to_status in _NOT_BY_STATUS_FORM:
            # Money moves only through payments; a status form cannot fake a payment, a
            # partial shipment or a refund.
            raise InvalidTransition(_NOT_BY_STATUS_FORM[to_status])
        _check_transition(order, to_status)
        if to_status == OrderStatus.SHIPPED:
            _fulfill(order, None, tracking_number=tracking_number, by=by, note=note)
            return order
        previous = order.status
        order.status = to_status
        fields = ["status", "updated_at"]
        if to_status == OrderStatus.DELIVERED:
            order.delivered_at = timezone.now()
            fields.append("delivered_at")
        order.save(update_fields=fields)
        _record_change(order, previous, to_status, by, note)
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


# --- totals ----------------------------------------------------------------------------


@dataclass
class RepriceResult:
    """What order_reprice changed. `notes` are history lines for what a re-evaluation
    dropped or changed besides the totals (the pricing pipeline adds, for example,
    "voucher SPRING10 no longer applies: removed"); the caller records each one."""

    subtotal_before: Decimal
    total_before: Decimal
    notes: list[str] = field(default_factory=list)


def order_reprice(order: Order) -> RepriceResult:
    """Re-price `order` (row locked by the caller) from its lines as they stand, through
    the pricing pipeline (orders.pricing.order_reprice, the checkout's price_order), and
    save the totals and every line's priced columns. The ONE place an existing order's
    totals are computed: line edits call it.

    Each line keeps its base price (`undiscounted_unit_price`, or `unit_price` for orders
    priced before promotions existed; the edited line was given the product's current
    one); promotions, the voucher, tax and shipping are evaluated as of now, with the
    order's address, shipping method and gross/net mode. The voucher row is locked (after
    the order's and the products': the checkout's lock order) and the order's own use is
    not counted against its limits. A voucher that no longer applies (below its minimum,
    expired, deactivated, used up) is dropped: its redemption is released, the order is
    priced without it, and `RepriceResult.notes` says so (the edit services record each
    note as a `repriced` history entry). Raises OrderTooLarge (400) when the total no
    longer fits the money columns, and the pipeline's shipping errors (400)."""
    result = RepriceResult(subtotal_before=order.subtotal, total_before=order.total_amount)
    lines = list(OrderLine.objects.filter(order=order).order_by("pk"))
    products = Product.objects.only("id", *PRICING_FIELDS).in_bulk([line.product_id for line in lines])
    priced_lines = []
    for line in lines:
        product = products[line.product_id]
        product.price = line.undiscounted_unit_price if line.undiscounted_unit_price is not None else line.unit_price
        priced_lines.append((product, line.quantity))

    voucher = voucher_data = None
    if order.voucher_id is not None:
        voucher, data = voucher_find(order.voucher_code, user=order.user, lock=True)
        voucher_data = replace(data, used=max(data.used - 1, 0), used_by_customer=max(data.used_by_customer - 1, 0))
    try:
        breakdown = pricing.order_reprice(order, lines=priced_lines, voucher=voucher_data)
    except (VoucherInvalid, VoucherExhausted) as exc:
        if voucher_data is None:
            raise
        breakdown = pricing.order_reprice(order, lines=priced_lines, voucher=None)
        voucher_release(order.pk)
        result.notes.append(f"voucher {order.voucher_code} no longer applies ({exc.detail}): removed")
        voucher = None
    if breakdown.total_amount > MAX_ORDER_AMOUNT or breakdown.subtotal > MAX_ORDER_AMOUNT:
        raise OrderTooLarge(errors=[{"subtotal": str(breakdown.subtotal), "maximum": str(MAX_ORDER_AMOUNT)}])

    changed_lines = []
    for line, priced in zip(lines, breakdown.lines, strict=True):
        values = breakdown_line_fields(priced)
        if any(getattr(line, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(line, name, value)
            changed_lines.append(line)
    if changed_lines:
        OrderLine.objects.bulk_update(changed_lines, list(breakdown_line_fields(breakdown.lines[0])))

    values = breakdown_totals(breakdown)
    if voucher is None and order.voucher_id is not None:
        values.update(voucher=None, voucher_code="")
    elif voucher is not None:
        voucher_redemption_update(order.pk, amount=breakdown.discount_amount + breakdown.shipping_discount_amount)
    fields = [name for name, value in values.items() if getattr(order, name) != value]
    if fields:
        for name in fields:
            setattr(order, name, values[name])
        order.save(update_fields=[*fields, "updated_at"])
    return result


# --- editing a pending order -------------------------------------------------------------


def _lock_editable(order_id: UUID) -> Order:
    order = _lock_order(order_id)
    if order.status != OrderStatus.PENDING:
        raise OrderNotEditable(errors=[{"status": order.status}])
    if order.expires_at and order.expires_at <= timezone.now():
        raise OrderNotEditable("The time to pay this order has run out; it can no longer be edited.")
    return order


def _line_of(order: Order, line_id: int) -> OrderLine:
    line = OrderLine.objects.filter(order=order, pk=line_id).first()
    if line is None:
        raise LineNotFound()
    return line


def _edit_line(order: Order, product_id: UUID, line: OrderLine | None, quantity: int, *, by, event: str) -> None:
    """Bring the order's line of `product_id` to `quantity` (0 removes it): locks the
    product row (the order row is locked), moves the difference through the stock ledger
    (reason `edit`), prices the line at the product's current price, re-prices the order
    and records the edit. Nothing is written when a check fails."""
    locked = _lock_products([product_id])  # stock_lock: the checkout's lock, in pk order
    product = locked.get(product_id)
    before = line.quantity if line is not None else 0
    delta = quantity - before
    if delta > 0:
        if product is None or not product.is_active:
            raise ProductUnavailable(errors=[{"product_id": str(product_id)}])
        _check_units_limit({product_id: quantity})
        if delta > product.stock_quantity:
            # The checkout's error body: the line's quantity asked for, and what it could
            # reach (stock plus the units the line already holds).
            raise InsufficientStock(
                errors=[
                    {
                        "product_id": str(product_id),
                        "requested": quantity,
                        "available": max(product.stock_quantity, 0) + before,
                    }
                ]
            )
    _move_stock({product_id: -delta}, reason=StockReason.EDIT, order=order, by=by, locked=locked, note="order edited")
    # The edited line's base price is the product's current one (order_reprice applies
    # the running promotion, the voucher share and the tax to it).
    if product is not None:
        unit_price = product.price
    elif line.undiscounted_unit_price is not None:
        unit_price = line.undiscounted_unit_price
    else:
        unit_price = line.unit_price
    details: dict[str, Any] = {
        "product_id": str(product_id),
        "sku": product.sku if product is not None else line.product_sku,
        "from_quantity": before,
        "to_quantity": quantity,
        "unit_price": str(unit_price),
    }
    if quantity == 0:
        details["line_id"] = line.pk
        line.delete()
    elif line is None:
        line = OrderLine.objects.create(
            order=order,
            product_id=product_id,
            product_name=product.name,
            product_sku=product.sku,
            quantity=quantity,
            unit_price=unit_price,
            undiscounted_unit_price=unit_price,
        )
        details["line_id"] = line.pk
    else:
        details["line_id"] = line.pk
        details["previous_unit_price"] = str(line.unit_price)
        line.quantity, line.unit_price, line.undiscounted_unit_price = quantity, unit_price, unit_price
        line.save(update_fields=["quantity", "unit_price", "undiscounted_unit_price"])
    result = order_reprice(order)
    if quantity:
        line.refresh_from_db(fields=["unit_price"])
        details["unit_price"] = str(line.unit_price)  # after the line's promotion
    details["subtotal_before"], details["subtotal_after"] = str(result.subtotal_before), str(order.subtotal)
    details["total_before"], details["total_after"] = str(result.total_before), str(order.total_amount)
    details["tax_after"], details["shipping_after"] = str(order.tax_amount), str(order.shipping_amount)
    details["discount_after"] = str(order.discount_amount)
    note = f"{details['sku']}: {before} -> {quantity}"
    _record_event(order, event, by, note, **details)
    for reprice_note in result.notes:
        _record_event(order, OrderEvent.REPRICED, by, reprice_note)


def order_line_add(order_id: UUID, *, product_id: UUID, quantity: int, by=None) -> Order:
    """Add `quantity` units of a product to a pending order (to its line when the product
    is already on it, as checkout merges lines). Locks the order row, then the product row.
    Raises OrderNotEditable, ProductUnavailable, InsufficientStock, OrderLimitExceeded
    (409), OrderTooLarge (400)."""
    if quantity < 1:
        raise InvalidInput("The quantity must be at least 1.", attr="quantity")
    with transaction.atomic():
        order = _lock_editable(order_id)
        line = OrderLine.objects.filter(order=order, product_id=product_id).first()
        target = quantity + (line.quantity if line is not None else 0)
        _edit_line(order, product_id, line, target, by=by, event=OrderEvent.LINE_ADDED)
    return order


def order_line_set_quantity(order_id: UUID, line_id: int, *, quantity: int, by=None) -> Order:
    """Set a pending order's line to `quantity` (≥ 1; removing is order_line_remove): more
    units are taken from stock, fewer go back. Raises LineNotFound (404) and what
    order_line_add raises."""
    if quantity < 1:
        raise InvalidInput("The quantity must be at least 1 (delete the line to remove it).", attr="quantity")
    with transaction.atomic():
        order = _lock_editable(order_id)
        line = _line_of(order, line_id)
        if quantity != line.quantity:
            _edit_line(order, line.product_id, line, quantity, by=by, event=OrderEvent.LINE_CHANGED)
    return order


def order_line_remove(order_id: UUID, line_id: int, *, by=None) -> Order:
    """Remove a line of a pending order; its units go back to stock. The last line cannot
    go (OrderWouldBeEmpty, 409 `order_empty`: cancel the order instead). Raises
    OrderNotEditable (409), LineNotFound (404)."""
    with transaction.atomic():
        order = _lock_editable(order_id)
        line = _line_of(order, line_id)
        if not OrderLine.objects.filter(order=order).exclude(pk=line.pk).exists():
            raise OrderWouldBeEmpty()
        _edit_line(order, line.product_id, line, 0, by=by, event=OrderEvent.LINE_REMOVED)
    return order


# --- shipments ---------------------------------------------------------------------------


def _merge_line_quantities(lines: Iterable[tuple[int, int]]) -> dict[int, int]:
    merged: dict[int, int] = {}
    for line_id, quantity in lines:
        merged[int(line_id)] = merged.get(int(line_id), 0) + int(quantity)
    return merged


def order_fulfill(
    order_id: UUID, *, lines: Iterable[tuple[int, int]], tracking_number: str = "", by=None, note: str = ""
) -> Fulfillment:
    """Ship `lines` ((line_id, quantity) pairs; one line named twice is summed) of a
    `processing` or `partially_shipped` order in one fulfillment. The order becomes
    `shipped` when nothing is left to ship, else `partially_shipped`; the customer gets a
    shipping email for this fulfillment (with its tracking number). Locks the order row.
    Raises InvalidTransition (409), InvalidLine (400), OverFulfillment (409: each line
    with `requested` and `remaining`, nothing shipped)."""
    requested = _merge_line_quantities(lines)
    if not requested or any(quantity < 1 for quantity in requested.values()):
        raise InvalidInput("Name at least one line, each with a quantity of at least 1.", attr="lines")
    with transaction.atomic():
        order = _lock_order(order_id)
        if order.status not in (OrderStatus.PROCESSING, OrderStatus.PARTIALLY_SHIPPED):
            raise InvalidTransition(
                f"An order in status '{order.status}' cannot be shipped (it must be processing).",
                errors=[{"from_status": order.status, "to_status": OrderStatus.SHIPPED}],
            )
        return _fulfill(order, requested, tracking_number=tracking_number, by=by, note=note)


def _fulfill(order: Order, requested: Mapping[int, int] | None, *, tracking_number: str, by, note: str) -> Fulfillment:
    """Ship `requested` ({line_id: quantity}; None = everything left) of `order` (locked)."""
    order_lines = {line.pk: line for line in order.lines.all()}
    shipped = shipped_quantities(order)
    remaining = {pk: line.quantity - shipped.get(pk, 0) for pk, line in order_lines.items()}
    if requested is None:
        requested = {pk: left for pk, left in remaining.items() if left > 0}
    unknown = sorted(pk for pk in requested if pk not in order_lines)
    if unknown:
        raise InvalidLine(attr="lines", errors=[{"line_id": pk} for pk in unknown])
    over = [
        {"line_id": pk, "requested": quantity, "remaining": remaining[pk]}
        for pk, quantity in sorted(requested.items())
        if quantity > remaining[pk]
    ]
    if over:
        raise OverFulfillment(errors=over)
    if not requested:
        raise OverFulfillment("Nothing is left to ship.")

    now = timezone.now()
    tracking_number = tracking_number.strip()[:100]
    fulfillment = Fulfillment.objects.create(
        order=order,
        tracking_number=tracking_number,
        shipped_by=by if by is not None and getattr(by, "is_authenticated", False) else None,
        shipped_at=now,
    )
    FulfillmentLine.objects.bulk_create(
        [FulfillmentLine(fulfillment=fulfillment, order_line_id=pk, quantity=q) for pk, q in sorted(requested.items())]
    )
    left = sum(remaining.values()) - sum(requested.values())
    to_status = OrderStatus.SHIPPED if left == 0 else OrderStatus.PARTIALLY_SHIPPED
    previous = order.status
    fields = ["updated_at"]
    if to_status != previous:
        _check_transition(order, to_status)
        order.status = to_status
        fields.append("status")
    if tracking_number:
        order.tracking_number = tracking_number
        fields.append("tracking_number")
    order.save(update_fields=fields)
    shipped_lines = [{"line_id": pk, "quantity": q} for pk, q in sorted(requested.items())]
    details = {"fulfillment_id": str(fulfillment.pk), "tracking_number": tracking_number, "lines": shipped_lines}
    text = note or (f"tracking {tracking_number}" if tracking_number else "shipment sent")
    _record_change(order, previous, order.status, by, text, event=OrderEvent.FULFILLED, details=details)

    from orders.tasks import send_fulfillment_shipped

    enqueue(send_fulfillment_shipped, str(fulfillment.pk))
    return fulfillment


# --- returns and their refunds -------------------------------------------------------------


@dataclass(frozen=True)
class RefundLine:
    """One line of a refund (and of its credit note): `total` is the money going back for
    `quantity` units, tax included; `tax_amount` is the tax part of it."""

    order_line_id: int | None
    description: str
    sku: str
    quantity: int
    unit_price: Decimal
    total: Decimal
    tax_amount: Decimal = Decimal("0.00")


def _round(value: Decimal) -> Decimal:
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


def order_line_refund_share(
    line: OrderLine,
    quantity: int,
    *,
    returned_before: int = 0,
    refunded_before: Decimal = Decimal("0.00"),
    tax_refunded_before: Decimal = Decimal("0.00"),
) -> tuple[Decimal, Decimal]:
    """(total, tax) refunded for `quantity` units of `line`: the line's stored charge
    pro rata, its discount share and tax included, shipping never. THE one refund-amount
    computation (returns, cancellation). The units that complete the line
    (`returned_before` + `quantity` = all of it) get what is left of the line's charge
    (`refunded_before`, `tax_refunded_before`), so rounding never refunds a cent more or
    less than the line cost.

    A line was charged `line_total`: unit_price × quantity less its share of the voucher,
    plus its tax when the order's prices are net (gross: the tax is inside); its tax is
    `tax_amount` (docs/pricing.md). Orders priced before the pipeline have zeros there, so
    they refund unit_price × quantity as before."""
    charged = line.line_total
    charged_tax = line.tax_amount
    if returned_before + quantity >= line.quantity:
        return charged - refunded_before, charged_tax - tax_refunded_before
    return _round(charged * quantity / line.quantity), _round(charged_tax * quantity / line.quantity)


def refund_line_for(
    line: OrderLine,
    quantity: int,
    *,
    returned_before: int = 0,
    refunded_before: Decimal = Decimal("0.00"),
    tax_before: Decimal = Decimal("0.00"),
) -> RefundLine:
    """The RefundLine (credit note line) of `quantity` units of `line`, priced by
    order_line_refund_share."""
    total, tax = order_line_refund_share(
        line, quantity, returned_before=returned_before, refunded_before=refunded_before, tax_refunded_before=tax_before
    )
    return RefundLine(line.pk, line.product_name, line.product_sku, quantity, line.unit_price, total, tax)


def _return_window_start(order: Order):
    """When the order was delivered: `delivered_at`, or for orders delivered before that
    was recorded, the history entry of the move to `delivered`."""
    if order.delivered_at:
        return order.delivered_at
    change = order.history.filter(to_status=OrderStatus.DELIVERED).exclude(from_status=OrderStatus.DELIVERED).first()
    return change.created_at if change else None


def _claimed_by_line(order: Order, *, statuses: Sequence[str]) -> dict[int, int]:
    rows = (
        ReturnLine.objects.filter(return_request__order=order, return_request__status__in=list(statuses))
        .values("order_line_id")
        .annotate(claimed=Sum("quantity"))
        .values_list("order_line_id", "claimed")
    )
    return dict(rows)


def return_request_create(order_id: UUID, *, user, lines: Iterable[tuple[int, int]], reason: str = "") -> ReturnRequest:
    """The owner asks to return delivered units ((line_id, quantity) pairs) within
    RETURN_WINDOW_DAYS of delivery. Units already in a requested or approved return count
    as returned. Locks the order row (two requests of one order queue, so they cannot
    claim the same units). Raises OrderNotReturnable / ReturnWindowClosed / OverReturn
    (409), InvalidLine (400). The caller scopes the order to its owner (others' are 404)."""
    requested = _merge_line_quantities(lines)
    if not requested or any(quantity < 1 for quantity in requested.values()):
        raise InvalidInput("Name at least one line, each with a quantity of at least 1.", attr="lines")
    with transaction.atomic():
        order = _lock_order(order_id)
        if order.status != OrderStatus.DELIVERED:
            raise OrderNotReturnable(errors=[{"status": order.status}])
        delivered_at = _return_window_start(order)
        closes = delivered_at + timedelta(days=settings.RETURN_WINDOW_DAYS) if delivered_at else None
        if closes is None or closes < timezone.now():
            raise ReturnWindowClosed(
                errors=[
                    {
                        "delivered_at": delivered_at.isoformat() if delivered_at else None,
                        "days": settings.RETURN_WINDOW_DAYS,
                    }
                ]
            )
        order_lines = {line.pk: line for line in order.lines.all()}
        unknown = sorted(pk for pk in requested if pk not in order_lines)
        if unknown:
            raise InvalidLine(attr="lines", errors=[{"line_id": pk} for pk in unknown])
        claimed = _claimed_by_line(order, statuses=(ReturnStatus.REQUESTED, ReturnStatus.APPROVED))
        over = [
            {"line_id": pk, "requested": q, "returnable": order_lines[pk].quantity - claimed.get(pk, 0)}
            for pk, q in sorted(requested.items())
            if q > order_lines[pk].quantity - claimed.get(pk, 0)
        ]
        if over:
            raise OverReturn(errors=over)
        author = user if user is not None and getattr(user, "is_authenticated", False) else None
        return_request = ReturnRequest.objects.create(order=order, reason=reason[:500], requested_by=author)
        ReturnLine.objects.bulk_create(
            [
                ReturnLine(return_request=return_request, order_line_id=pk, quantity=q)
                for pk, q in sorted(requested.items())
            ]
        )
        _record_event(
            order,
            OrderEvent.RETURN_REQUESTED,
            user,
            reason[:255],
            return_id=str(return_request.pk),
            lines=[{"line_id": pk, "quantity": q} for pk, q in sorted(requested.items())],
        )
    prefetch_related_objects([return_request], "lines")
    return return_request


def _lock_return(return_id: UUID) -> tuple[Order, ReturnRequest]:
    """Lock the return's order row, then the return row (the lock order of returns)."""
    order_id = ReturnRequest.objects.filter(pk=return_id).values_list("order_id", flat=True).first()
    if order_id is None:
        raise ReturnNotFound()
    order = _lock_order(order_id)
    return order, ReturnRequest.objects.select_for_update().get(pk=return_id)


def return_approve(return_id: UUID, *, by=None, restock: bool = False) -> ReturnRequest:
    """Approve a requested return: refund its lines' share (order_line_refund_share:
    discount share and tax included, shipping not) through the payment provider, which
    issues a credit note, and with `restock` put the units back through the stock ledger
    (reason `return`). An order whose every unit is returned, or whose payment is fully
    refunded, becomes `refunded`.

    Idempotent: approving an approved return changes nothing and refunds nothing again
    (checked under the locks; payments' refund key `return:<id>` is the second guard).
    Lock order: order row, return row, (payments) payment row and credit note counter,
    then product rows — the provider is never called while product rows are locked.
    Raises ReturnAlreadyDecided (409) for a rejected return, NothingToRefund (409), and
    the provider's PaymentProviderError (502, nothing changed). The customer's email
    (refund, credit note) is enqueued in the same transaction."""
    with transaction.atomic():
        order, return_request = _lock_return(return_id)
        if return_request.status == ReturnStatus.APPROVED:
            return return_request
        if return_request.status != ReturnStatus.REQUESTED:
            raise ReturnAlreadyDecided(errors=[{"status": return_request.status}])
        return_lines = list(return_request.lines.select_related("order_line"))
        for return_line in return_lines:
            return_line.order_line.order = order  # line_total reads the order's pricing mode
        # What earlier approved returns already took of each line (for the last-units rule).
        before: dict[int, list] = {}
        earlier = ReturnLine.objects.filter(
            return_request__order=order, return_request__status=ReturnStatus.APPROVED
        ).values_list("order_line_id", "quantity", "refund_amount", "tax_amount")
        for line_id, quantity, amount, tax in earlier:
            entry = before.setdefault(line_id, [0, Decimal("0.00"), Decimal("0.00")])
            entry[0] += quantity
            entry[1] += amount
            entry[2] += tax
        refund_lines = []
        for return_line in return_lines:
            done = before.get(return_line.order_line_id, [0, Decimal("0.00"), Decimal("0.00")])
            refund_line = refund_line_for(
                return_line.order_line,
                return_line.quantity,
                returned_before=done[0],
                refunded_before=done[1],
                tax_before=done[2],
            )
            return_line.refund_amount, return_line.tax_amount = refund_line.total, refund_line.tax_amount
            refund_lines.append(refund_line)
        amount = sum((line.total for line in refund_lines), Decimal("0.00"))

        outcome = None
        if amount > 0:
            outcome = refund_paid_order(
                order,
                reason=f"return {return_request.pk}",
                key=f"return:{return_request.pk}",
                lines=refund_lines,
                amount=amount,
            )
            if outcome is None:
                raise NothingToRefund()
            order.refunded_amount += outcome.amount  # payments wrote the column (F())

        if restock:
            deltas: dict[UUID, int] = {}
            for return_line in return_lines:
                product_id = return_line.order_line.product_id
                deltas[product_id] = deltas.get(product_id, 0) + return_line.quantity
            locked = _lock_products(deltas)
            _move_stock(
                deltas, reason=StockReason.RETURN, order=order, by=by, locked=locked, note=f"return {return_request.pk}"
            )

        ReturnLine.objects.bulk_update(return_lines, ["refund_amount", "tax_amount"])
        return_request.status = ReturnStatus.APPROVED
        return_request.decided_by = by if by is not None and getattr(by, "is_authenticated", False) else None
        return_request.decided_at = timezone.now()
        return_request.restocked = bool(restock)
        return_request.refund_amount = amount
        return_request.save(
            update_fields=["status", "decided_by", "decided_at", "restocked", "refund_amount", "updated_at"]
        )
        document = outcome.document if outcome else ""
        _record_event(
            order,
            OrderEvent.RETURN_APPROVED,
            by,
            f"refunded {amount} {order.currency}" + (f" ({document})" if document else ""),
            return_id=str(return_request.pk),
            refund_amount=str(amount),
            restocked=bool(restock),
            credit_note=document,
        )
        if _fully_refunded(order):
            previous = order.status
            _check_transition(order, OrderStatus.REFUNDED)
            order.status = OrderStatus.REFUNDED
            order.save(update_fields=["status", "updated_at"])
            _record_change(order, previous, order.status, by, "all of the order was refunded")
        from orders.tasks import send_return_approved

        enqueue(send_return_approved, str(return_request.pk))
    return return_request


def _fully_refunded(order: Order) -> bool:
    """Every unit returned and refunded, or the whole total refunded."""
    if order.refunded_amount >= order.total_amount:
        return True
    approved = _claimed_by_line(order, statuses=(ReturnStatus.APPROVED,))
    return all(approved.get(line.pk, 0) >= line.quantity for line in order.lines.all())


def return_reject(return_id: UUID, *, by=None, reason: str = "") -> ReturnRequest:
    """Reject a requested return (its units may be asked for again). Rejecting a rejected
    return changes nothing. Locks the order row, then the return row. Raises
    ReturnAlreadyDecided (409) for an approved return. The customer's email (with the
    reason) is enqueued in the same transaction."""
    with transaction.atomic():
        order, return_request = _lock_return(return_id)
        if return_request.status == ReturnStatus.REJECTED:
            return return_request
        if return_request.status != ReturnStatus.REQUESTED:
            raise ReturnAlreadyDecided(errors=[{"status": return_request.status}])
        return_request.status = ReturnStatus.REJECTED
        return_request.rejection_reason = reason[:500]
        return_request.decided_by = by if by is not None and getattr(by, "is_authenticated", False) else None
        return_request.decided_at = timezone.now()
        return_request.save(update_fields=["status", "rejection_reason", "decided_by", "decided_at", "updated_at"])
        _record_event(order, OrderEvent.RETURN_REJECTED, by, reason[:255], return_id=str(return_request.pk))
        from orders.tasks import send_return_rejected

        enqueue(send_return_rejected, str(return_request.pk))
    return return_request
