"""PDF documents (invoices, credit notes): one Django template per document, rendered to
PDF by WeasyPrint. The one renderer of the project; apps build a plain context dict in
their selectors and call `render_pdf`.

WeasyPrint lays out HTML and CSS with Pango (system libraries: see the Dockerfile and
docs/operations.md, "Image"). Templates are ours and every value is autoescaped; the
renderer still fetches nothing from the network or the file system (only `data:` URLs), so
a product name can never make the server request a URL.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string

PDF_MEDIA_TYPE = "application/pdf"


def shop_context() -> dict[str, Any]:
    """The seller as printed on every document (settings SHOP_NAME, SHOP_ADDRESS lines,
    SHOP_TAX_ID: empty means not printed)."""
    return {
        "name": settings.SHOP_NAME,
        "address_lines": list(settings.SHOP_ADDRESS),
        "tax_id": settings.SHOP_TAX_ID,
    }


def render_html(template_name: str, context: Mapping[str, Any]) -> str:
    """The document's HTML: `context` plus `shop` (the seller), through Django templates."""
    return render_to_string(template_name, {"shop": shop_context(), **context})


def render_pdf(template_name: str, context: Mapping[str, Any]) -> bytes:
    """Render `template_name` with `context` (plus `shop`) to the bytes of a PDF file."""
    # Imported here: loading WeasyPrint loads Pango, which only document work should pay.
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    html = render_html(template_name, context)
    fetcher = URLFetcher(allowed_protocols=("data",), allow_redirects=False, timeout=1)
    return HTML(string=html, base_url=None, url_fetcher=fetcher).write_pdf()
