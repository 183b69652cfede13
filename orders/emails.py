"""Customer emails about an order (plain text + HTML), sent by the tasks in orders/tasks.py
and payments/tasks.py."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.utils.html import escape, format_html, format_html_join

from core.emails import Attachment, send_multipart_email
from orders.models import Fulfillment, Order, ReturnRequest
from orders.selectors import order_tax_breakdown


def _lines_text(order: Order) -> str:
    return "\n".join(
        f"  {line.quantity} x {line.product_name} ({line.product_sku}) @ {line.unit_price} {order.currency}"
        for line in order.lines.all()
    )


def _lines_html(order: Order) -> str:
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{} {}</td></tr>",
        (
            (line.quantity, line.product_name, line.product_sku, line.unit_price, order.currency)
            for line in order.lines.all()
        ),
    )
    return format_html("<table><tr><th>Qty</th><th>Product</th><th>SKU</th><th>Price</th></tr>{}</table>", rows)


def _breakdown(order: Order) -> list[tuple[str, str]]:
    """(label, amount) rows between the lines and the total: subtotal, discount, shipping,
    tax per rate (shown as included when prices are gross)."""
    rows = [("Subtotal", f"{order.subtotal} {order.currency}")]
    if order.discount_amount:
        code = f" ({order.voucher_code})" if order.voucher_code else ""
        rows.append((f"Discount{code}", f"-{order.discount_amount} {order.currency}"))
    if order.shipping_method_name or order.shipping_amount:
        rows.append(
            (f"Shipping ({order.shipping_method_name or 'standard'})", f"{order.shipping_amount} {order.currency}")
        )
    for entry in order_tax_breakdown(order):
        if entry.tax:
            label = f"Tax {entry.rate}%" + (" (included)" if order.prices_include_tax else "")
            rows.append((label, f"{entry.tax} {order.currency}"))
    return rows


def send_order_email(
    order: Order, *, subject: str, intro: str, extra: str = "", attachments: Iterable[Attachment] = ()
) -> None:
    link = f"{settings.FRONTEND_URL}/orders/{order.pk}"
    breakdown = _breakdown(order)
    summary = "\n".join(f"{label}: {amount}" for label, amount in breakdown)
    text = (
        f"{intro}\n\nOrder {order.number}\n{_lines_text(order)}\n\n{summary}\n"
        f"Total: {order.total_amount} {order.currency}\n{extra}\n{link}\n"
    )
    html = format_html(
        "<p>{}</p><h3>Order {}</h3>{}<table>{}</table><p><strong>Total: {} {}</strong></p><p>{}</p>"
        "<p><a href='{}'>{}</a></p>",
        intro,
        order.number,
        _lines_html(order),
        format_html_join("", "<tr><td>{}</td><td>{}</td></tr>", breakdown),
        order.total_amount,
        order.currency,
        escape(extra),
        link,
        link,
    )
    send_multipart_email(
        to=order.user.email, subject=f"{subject} — {order.number}", text=text, html=str(html), attachments=attachments
    )


def send_fulfillment_email(fulfillment: Fulfillment) -> None:
    """ "Your order has shipped": the units of this shipment and its tracking number."""
    order = fulfillment.order
    link = f"{settings.FRONTEND_URL}/orders/{order.pk}"
    lines = list(fulfillment.lines.all())
    tracking = fulfillment.tracking_number
    tracking_text = f"Tracking number: {tracking}" if tracking else "No tracking number was given for this parcel."
    text = "\n".join(
        [
            "Good news: part of your order is on its way."
            if order.status == "partially_shipped"
            else "Good news: your order is on its way.",
            "",
            f"Order {order.number}",
            *(f"  {fl.quantity} x {fl.order_line.product_name} ({fl.order_line.product_sku})" for fl in lines),
            "",
            tracking_text,
            link,
            "",
        ]
    )
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
        ((fl.quantity, fl.order_line.product_name, fl.order_line.product_sku) for fl in lines),
    )
    html = format_html(
        "<p>Your parcel is on its way.</p><h3>Order {}</h3>"
        "<table><tr><th>Qty</th><th>Product</th><th>SKU</th></tr>{}</table><p>{}</p><p><a href='{}'>{}</a></p>",
        order.number,
        rows,
        tracking_text,
        link,
        link,
    )
    send_multipart_email(
        to=order.user.email, subject=f"Your order has shipped — {order.number}", text=text, html=str(html)
    )


def _return_lines(return_request: ReturnRequest) -> list[tuple[int, str, str]]:
    return [(rl.quantity, rl.order_line.product_name, rl.order_line.product_sku) for rl in return_request.lines.all()]


def _return_email(return_request: ReturnRequest, *, subject: str, intro: str, outcome: str) -> None:
    order = return_request.order
    link = f"{settings.FRONTEND_URL}/orders/{order.pk}"
    lines = _return_lines(return_request)
    text = "\n".join(
        [
            intro,
            "",
            f"Order {order.number}, returned units:",
            *(f"  {quantity} x {name} ({sku})" for quantity, name, sku in lines),
            "",
            outcome,
            link,
            "",
        ]
    )
    rows = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>", lines)
    html = format_html(
        "<p>{}</p><h3>Order {}</h3><table><tr><th>Qty</th><th>Product</th><th>SKU</th></tr>{}</table>"
        "<p><strong>{}</strong></p><p><a href='{}'>{}</a></p>",
        intro,
        order.number,
        rows,
        outcome,
        link,
        link,
    )
    send_multipart_email(to=order.user.email, subject=f"{subject} — {order.number}", text=text, html=str(html))


def send_return_approved_email(return_request: ReturnRequest, *, credit_note: str) -> None:
    """ "Your return was approved": its units, the amount refunded and the credit note."""
    order = return_request.order
    if return_request.refund_amount > 0:
        outcome = f"Refund: {return_request.refund_amount} {order.currency}, to the card you paid with."
        if credit_note:
            outcome += f" Credit note {credit_note}."
    else:
        outcome = "Nothing was charged for these units, so no refund is due."
    _return_email(
        return_request, subject="Your return was approved", intro="We have approved your return.", outcome=outcome
    )


def send_return_rejected_email(return_request: ReturnRequest) -> None:
    """ "Your return was not accepted", with the reason staff gave."""
    reason = return_request.rejection_reason or "No reason was given; reply to this email to ask."
    _return_email(
        return_request,
        subject="Your return was not accepted",
        intro="We could not accept your return, so nothing was refunded.",
        outcome=f"Reason: {reason}",
    )
