"""Reads of orders."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import TypedDict
from uuid import UUID

from django.db.models import Count, DecimalField, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from accounts.roles import is_staff_user
from orders.models import PAID_STATUSES, FulfillmentLine, Order, OrderLine, OrderStatus, ReturnRequest

# What an order is shown with (detail and list): a fixed number of queries, however many
# lines, shipments and returns it has.
ORDER_RELATIONS = ("lines", "history", "fulfillments__lines", "returns__lines")


def order_list_for(user) -> QuerySet[Order]:
    """Orders `user` may see: all for staff, own otherwise (others' are 404)."""
    qs = Order.objects.prefetch_related(*ORDER_RELATIONS)
    if is_staff_user(user):
        return qs
    return qs.filter(user=user)


def orders_owned_by(user) -> QuerySet[Order]:
    """Orders `user` placed, staff included: the scope of owner-only actions (paying), where
    another customer's order is 404 for everyone."""
    return Order.objects.filter(user_id=getattr(user, "pk", None))


def order_get_for_user(user, order_id: UUID) -> Order | None:
    return order_list_for(user).filter(pk=order_id).first()


def user_has_purchased(user, product_id: UUID) -> bool:
    """True when `user` has an order of `product_id` that is paid or later (not cancelled).
    The catalog uses it for `verified_purchase` on reviews."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return OrderLine.objects.filter(order__user=user, product_id=product_id, order__status__in=PAID_STATUSES).exists()


def return_list_for(user) -> QuerySet[ReturnRequest]:
    """Returns `user` may see: all for staff, those of their own orders otherwise."""
    qs = ReturnRequest.objects.select_related("order").prefetch_related("lines")
    if is_staff_user(user):
        return qs
    return qs.filter(order__user=user)


def shipped_quantities(order: Order) -> dict[int, int]:
    """Units shipped so far per line id (lines with none are absent)."""
    rows = (
        FulfillmentLine.objects.filter(fulfillment__order=order)
        .values("order_line_id")
        .annotate(shipped=Sum("quantity"))
        .values_list("order_line_id", "shipped")
    )
    return dict(rows)


# --- staff dashboard ---------------------------------------------------------------------


class DailyOrderTotals(TypedDict):
    day: date
    orders: int  # orders placed that day, whatever became of them
    sales: Decimal  # total of those orders that are paid (or later), not cancelled


def order_daily_totals(*, days: int = 30, today: date | None = None) -> list[DailyOrderTotals]:
    """Orders placed and sales per day for the `days` days ending `today` (the shop's
    TIME_ZONE), oldest first, days without orders included as zeros. One query, a range
    scan of the created_at index."""
    today = today or timezone.localdate()
    first = today - timedelta(days=days - 1)
    start = timezone.make_aware(datetime.combine(first, time.min))
    end = timezone.make_aware(datetime.combine(today + timedelta(days=1), time.min))
    rows = (
        Order.objects.filter(created_at__gte=start, created_at__lt=end)
        .annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(
            orders=Count("id"),
            sales=Coalesce(
                Sum("total_amount", filter=Q(status__in=PAID_STATUSES)),
                Value(Decimal("0.00")),
                output_field=DecimalField(max_digits=14, decimal_places=2),
            ),
        )
        .order_by("day")
    )
    by_day = {row["day"]: row for row in rows}
    totals: list[DailyOrderTotals] = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        row = by_day.get(day)
        totals.append(
            DailyOrderTotals(
                day=day,
                orders=row["orders"] if row else 0,
                sales=Decimal(row["sales"]).quantize(Decimal("0.01")) if row else Decimal("0.00"),
            )
        )
    return totals


def order_status_counts() -> list[tuple[str, str, int]]:
    """(status, label, number of orders) for every status, in the order of the status
    machine, zeros included. One query."""
    counts = dict(Order.objects.order_by().values_list("status").annotate(n=Count("id")))
    return [(status.value, status.label, counts.get(status.value, 0)) for status in OrderStatus]


def order_latest(*, limit: int = 10) -> list[Order]:
    """The newest orders with their customer (one query, the created_at index)."""
    return list(Order.objects.select_related("user").order_by("-created_at", "-id")[:limit])
