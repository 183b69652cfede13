"""Reads of payments."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Prefetch, QuerySet

from core.pricing import tax_summary
from orders.models import Order
from orders.selectors import order_tax_breakdown
from payments.models import CreditNote, CreditNoteLine, Invoice, RefundStatus


def invoice_for_order(order: Order) -> Invoice | None:
    """The order's invoice with its lines and its payment's refunds (`invoice_refunds`)."""
    return (
        Invoice.objects.select_related("order", "payment")
        .prefetch_related("order__lines", "payment__refunds")
        .filter(order=order)
        .first()
    )


def invoice_refunds(invoice: Invoice) -> tuple[Decimal, datetime | None]:
    """(amount refunded, when last) of the invoice's payment. Refunds the provider accepted
    but has not settled yet (`pending`) count: the money is on its way back."""
    refunds = [r for r in invoice.payment.refunds.all() if r.status != RefundStatus.FAILED]
    amount = sum((r.amount for r in refunds), Decimal("0.00"))
    return amount, max((r.created_at for r in refunds), default=None)


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def _tax_breakdown(invoice: Invoice) -> list[dict[str, str]]:
    """The invoice's tax per rate: [{rate: "20.00", net, tax}], rates ascending: the rows
    of the invoice JSON's `taxes` (orders.selectors.order_tax_breakdown over the amounts
    the order's lines and shipping stored when it was priced; `net` is its `base`, what
    was taxed at that rate, after discounts). Orders without tax print no table."""
    rows = order_tax_breakdown(invoice.order)
    if not any(row.tax for row in rows):
        return []
    return [{"rate": _money(row.rate), "net": _money(row.base), "tax": _money(row.tax)} for row in rows]


def _adjustments(order: Order) -> list[dict[str, str]]:
    """The rows between the subtotal and the total: the discount (negative) and shipping,
    as the order stored them."""
    rows = []
    if order.discount_amount:
        code = f" ({order.voucher_code})" if order.voucher_code else ""
        rows.append({"label": f"Discount{code}", "amount": _money(-order.discount_amount)})
    if order.shipping_amount or order.shipping_method_name:
        name = f" ({order.shipping_method_name})" if order.shipping_method_name else ""
        rows.append({"label": f"Shipping{name}", "amount": _money(order.shipping_amount)})
    return rows


def invoice_document(invoice: Invoice) -> dict[str, Any]:
    """Everything the invoice PDF prints, as a plain dict (the context of
    `payments/documents/invoice.html`); its numbers are the invoice JSON's.

    Keys: `number`, `issued_at`, `order_number`, `order_date`, `paid_at` (datetimes),
    `currency`, `billing_address` (the snapshot dict), `lines` [{name, sku, quantity,
    unit_price, amount}], `tax_breakdown` [{rate, net, tax}], `adjustments` [{label,
    amount}] (discount, shipping), `subtotal`, `tax_amount` (None when the order has no
    tax), `prices_include_tax` (the tax is inside the total), `total_amount`, `refunded_amount` (None if nothing was refunded),
    `refunded_at`. Money values are decimal strings with two places, as in the JSON.
    Pass an invoice from `invoice_for_order` (its lines and refunds prefetched)."""
    order = invoice.order
    refunded, refunded_at = invoice_refunds(invoice)
    return {
        "number": invoice.number,
        "issued_at": invoice.issued_at,
        "order_number": order.number,
        "order_date": order.created_at,
        "paid_at": order.paid_at,
        "currency": invoice.currency,
        "billing_address": invoice.billing_address or {},
        "lines": [
            {
                "name": line.product_name,
                "sku": line.product_sku,
                "quantity": line.quantity,
                "unit_price": _money(line.unit_price),
                "amount": _money(line.line_total),
            }
            for line in order.lines.all()
        ],
        "tax_breakdown": _tax_breakdown(invoice),
        "adjustments": _adjustments(order),
        "subtotal": _money(invoice.subtotal),
        "tax_amount": _money(order.tax_amount) if order.tax_amount else None,
        "prices_include_tax": order.prices_include_tax,
        "total_amount": _money(invoice.total_amount),
        "refunded_amount": _money(refunded) if refunded else None,
        "refunded_at": refunded_at,
    }


def credit_notes_for_order(order: Order) -> QuerySet[CreditNote]:
    """The order's credit notes, oldest first, with their lines, invoice and refund (for
    JSON or a template: two queries)."""
    return (
        CreditNote.objects.filter(order=order)
        .select_related("order", "invoice", "refund")
        .prefetch_related(Prefetch("lines", queryset=CreditNoteLine.objects.select_related("order_line")))
        .order_by("year", "sequence")
    )


def credit_note_of_order(order: Order, credit_note_id) -> CreditNote | None:
    """One of the order's credit notes (None if it has no such note), with what
    `credit_note_document` reads (two queries)."""
    return credit_notes_for_order(order).filter(pk=credit_note_id).first()


def _credit_note_tax_breakdown(note: CreditNote) -> list[dict[str, str]]:
    """The credited tax per rate: [{rate, net, tax}], rates ascending: the note's lines
    grouped by the tax rate their order line was priced with (net = `amount`, tax =
    `tax_amount`). Lines that credit no tax (a note without tax, "other charges") are
    left out; a note without tax prints no table."""
    items = [
        (line.order_line.tax_rate, line.amount, line.tax_amount)
        for line in note.lines.all()
        if line.order_line_id is not None and line.tax_amount
    ]
    return [{"rate": _money(row.rate), "net": _money(row.base), "tax": _money(row.tax)} for row in tax_summary(items)]


def credit_note_document(note: CreditNote) -> dict[str, Any]:
    """Everything the credit-note PDF prints, as the plain dict `credit_note.html` takes
    (docs/documents.md, "Credit notes"); its numbers are those of the credit note's JSON
    (`GET orders/{id}/credit-notes/`).

    Keys: `number`, `issued_at`, `invoice_number` (None for a payment no invoice
    covers), `order_number`, `currency`, `billing_address`, `lines` [{name, sku, quantity,
    unit_price, amount}] (`amount` tax excluded, as in the JSON), `tax_breakdown`,
    `subtotal`, `tax_amount` (None when no tax was credited), `total`, `reason`. Money
    values are decimal strings with two places. Pass a note from `credit_notes_for_order`
    or `credit_note_of_order` (lines, order and invoice loaded)."""
    return {
        "number": note.number,
        "issued_at": note.issued_at,
        "invoice_number": note.invoice.number if note.invoice else None,
        "order_number": note.order.number,
        "currency": note.currency,
        "billing_address": note.billing_address or {},
        "lines": [
            {
                "name": line.description,
                "sku": line.sku,
                "quantity": line.quantity,
                "unit_price": _money(line.unit_price),
                "amount": _money(line.amount),
            }
            for line in note.lines.all()
        ],
        "tax_breakdown": _credit_note_tax_breakdown(note),
        "subtotal": _money(note.subtotal),
        "tax_amount": _money(note.tax_amount) if note.tax_amount else None,
        "total": _money(note.total_amount),
        "reason": note.reason,
    }
