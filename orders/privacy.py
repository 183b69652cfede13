"""What orders hold on a user, for the personal-data export and the account erasure
(registered in OrdersConfig.ready(); see accounts.privacy).

Erasure keeps the orders for the books, with their address snapshots, detached from the
account (`Order.user` becomes null). Unpaid pending orders are cancelled first, through the
one cancel service, so the stock they hold goes back; paid orders are fulfilled as usual
to the address they carry (no more emails: there is nobody to write to)."""

from __future__ import annotations

from typing import Any

from django.db.models import F

from accounts.hooks import register_personal_data
from core.models import SentEmail
from orders.models import Fulfillment, Order, OrderLine, OrderStatus, OrderStatusChange, ReturnRequest

ERASURE_NOTE = "account erased"


def _export_orders(user) -> list[dict[str, Any]]:
    orders = list(Order.objects.filter(user=user).order_by("created_at", "id").prefetch_related("lines", "history"))
    emails: dict[str, list[dict[str, Any]]] = {}
    rows = SentEmail.objects.filter(key__in=[str(o.pk) for o in orders], kind__startswith="order.")
    for row in rows.order_by("created_at", "id"):
        emails.setdefault(row.key, []).append({"kind": row.kind, "sent_at": row.sent_at})
    return [
        {
            "id": order.pk,
            "number": order.number,
            "status": order.status,
            "shipping_address": order.shipping_address,
            "subtotal": order.subtotal,
            "total_amount": order.total_amount,
            "currency": order.currency,
            "tracking_number": order.tracking_number,
            "created_at": order.created_at,
            "paid_at": order.paid_at,
            "cancelled_at": order.cancelled_at,
            "lines": [_line(line) for line in order.lines.all()],
            "history": [
                {"from_status": h.from_status, "to_status": h.to_status, "at": h.created_at, "note": h.note}
                for h in order.history.all()
            ],
            "emails": emails.get(str(order.pk), []),
        }
        for order in orders
    ]


def _line(line: OrderLine) -> dict[str, Any]:
    return {
        "product_id": line.product_id,
        "name": line.product_name,
        "sku": line.product_sku,
        "quantity": line.quantity,
        "unit_price": line.unit_price,
        "line_total": line.line_total,
    }


def _export_status_changes(user) -> list[dict[str, Any]]:
    # Status moves the user made (their own cancellations; a staff member's fulfilment work).
    return list(
        OrderStatusChange.objects.filter(changed_by=user)
        .order_by("created_at", "id")
        .values("order_id", "from_status", "to_status", "note", "created_at", order_number=F("order__number"))
    )


def _erase_orders(user) -> None:
    from orders.services import order_cancel

    # The user row is locked by the erasure; the pending orders next, in key order (the
    # order checkout locks in: user, then its rows), so none gets paid meanwhile.
    pending = list(
        Order.objects.select_for_update()
        .filter(user=user, status=OrderStatus.PENDING)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for order_id in pending:
        order_cancel(order_id, by=None, note=ERASURE_NOTE)
    Order.objects.filter(user=user).update(user=None)


def _erase_status_changes(user) -> None:
    OrderStatusChange.objects.filter(changed_by=user).update(changed_by=None)


def _export_fulfillments(user) -> list[dict[str, Any]]:
    # Shipments a staff member recorded (their work, not their customers' data).
    return list(
        Fulfillment.objects.filter(shipped_by=user)
        .order_by("shipped_at", "id")
        .values("id", "order_id", "tracking_number", "shipped_at", order_number=F("order__number"))
    )


def _erase_fulfillments(user) -> None:
    # The shipment stays (the order's record); it no longer says who shipped it.
    Fulfillment.objects.filter(shipped_by=user).update(shipped_by=None)


def _export_returns(user) -> list[dict[str, Any]]:
    # Returns the user asked for, and those they decided as staff.
    from django.db.models import Q

    return list(
        ReturnRequest.objects.filter(Q(requested_by=user) | Q(decided_by=user))
        .order_by("created_at", "id")
        .values(
            "id",
            "order_id",
            "status",
            "reason",
            "rejection_reason",
            "refund_amount",
            "restocked",
            "created_at",
            "decided_at",
            order_number=F("order__number"),
        )
    )


def _erase_returns(user) -> None:
    # Returns stay with their order (refunds and credit notes refer to them), detached. The
    # reason is free text the customer wrote: it may name them, so it goes too.
    ReturnRequest.objects.filter(requested_by=user).update(requested_by=None, reason="")
    ReturnRequest.objects.filter(decided_by=user).update(decided_by=None)


def register_orders_personal_data() -> None:
    register_personal_data("orders", models=("orders.Order",), export=_export_orders, erase=_erase_orders)
    register_personal_data(
        "order_status_changes",
        models=("orders.OrderStatusChange",),
        export=_export_status_changes,
        erase=_erase_status_changes,
    )
    register_personal_data(
        "fulfillments", models=("orders.Fulfillment",), export=_export_fulfillments, erase=_erase_fulfillments
    )
    register_personal_data("returns", models=("orders.ReturnRequest",), export=_export_returns, erase=_erase_returns)
