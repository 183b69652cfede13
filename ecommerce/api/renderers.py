"""Renderers beyond DRF's JSON and browsable API.

`PDFRenderer` lets a view answer `Accept: application/pdf` (or `?format=pdf`, or a `.pdf`
path) with the bytes of a document the domain rendered (`core.documents.render_pdf`). A
view using it includes `PDFErrorsAsJSONMixin`, so an error (404, 401, 429...) is still the
JSON error envelope and never an attempt to "render" an error dict as a PDF.
"""

from __future__ import annotations

from rest_framework.renderers import BaseRenderer, JSONRenderer


class PDFRenderer(BaseRenderer):
    media_type = "application/pdf"
    format = "pdf"
    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        if isinstance(data, bytes | bytearray):
            return bytes(data)
        raise TypeError("PDFRenderer renders the bytes of a PDF document only.")


class PDFErrorsAsJSONMixin:
    """Errors of a view that may answer in PDF are rendered as JSON (the error envelope)."""

    def finalize_response(self, request, response, *args, **kwargs):
        if response.status_code >= 400 and isinstance(getattr(request, "accepted_renderer", None), PDFRenderer):
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)
