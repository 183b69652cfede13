"""Reads of orders."""

from __future__ import annotations

from uuid import UUID

from django.db.models import QuerySet

from accounts.roles import is_staff_user
from core.pricing import TaxLine, tax_summary
from orders.models import PAID_STATUSES, Order, OrderLine


def order_list_for(user) -> QuerySet[Order]:
    """Orders `user` may see: all for staff, own otherwise (others' are 404)."""
    qs = Order.objects.prefetch_related("lines", "history")
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


def order_tax_breakdown(order: Order) -> list[TaxLine]:
    """The order's tax per rate (the invoice's table), from the amounts each line and the
    shipping stored when it was priced: the base is what was taxed at that rate (gross or
    net as the order was priced), lowest rate first. Orders priced before taxes existed
    have one zero-rate entry. Uses the order's (prefetched) lines."""
    items = [
        (line.tax_rate, line.unit_price * line.quantity - line.discount_amount, line.tax_amount)
        for line in order.lines.all()
    ]
    if order.shipping_amount:
        items.append((order.shipping_tax_rate, order.shipping_amount, order.shipping_tax_amount))
    return tax_summary(items)
