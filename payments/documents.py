"""The PDF documents of payments, rendered by `core.documents.render_pdf` from the
contexts the selectors build (no DRF: the API, the receipt email and the admin use these)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.documents import render_pdf
from payments.models import CreditNote, Invoice
from payments.selectors import credit_note_document, invoice_document

INVOICE_TEMPLATE = "payments/documents/invoice.html"
CREDIT_NOTE_TEMPLATE = "payments/documents/credit_note.html"


def invoice_pdf(invoice: Invoice) -> bytes:
    """The invoice as a PDF; pass one from `invoice_for_order` (lines and refunds prefetched)."""
    return render_pdf(INVOICE_TEMPLATE, invoice_document(invoice))


def invoice_pdf_filename(invoice: Invoice) -> str:
    return f"{invoice.number}.pdf"


def credit_note_pdf(context: Mapping[str, Any]) -> bytes:
    """A credit note as a PDF, from the plain context documented in docs/documents.md
    (number, issued_at, invoice_number, order_number, currency, billing_address?, lines
    [{name, sku, quantity, unit_price, amount}], tax_breakdown [{rate, net, tax}], total,
    reason). The credit-note model builds it in its selector."""
    return render_pdf(CREDIT_NOTE_TEMPLATE, context)


def credit_note_pdf_of(note: CreditNote) -> bytes:
    """The PDF of a stored credit note; pass one from `credit_note_of_order` or
    `credit_notes_for_order` (lines, order and invoice loaded)."""
    return credit_note_pdf(credit_note_document(note))


def credit_note_pdf_filename(note: CreditNote) -> str:
    return f"{note.number}.pdf"
