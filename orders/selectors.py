"""Reads of orders."""

from __future__ import annotations

from uuid import UUID

from django.db.models import QuerySet, Sum

from accounts.roles import is_staff_user
from orders.models import PAID_STATUSES, FulfillmentLine, Order, OrderLine, ReturnRequest

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
