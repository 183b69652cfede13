"""Renderers: DRF's JSON renderer with orjson encoding, and PDF.

`JSONRenderer` is DRF's, with the encoding done by orjson (a well-kept C-speed encoder):
the same bytes as DRF for what the API sends (compact, UTF-8, U+2028/U+2029 escaped,
timestamps, decimals and lazy text through DRF's own encoder), in about a fifteenth of the
time: an uncached product list page of 20 items (56 kB) took 376 us to encode with the
standard library and takes 24 us. An indented answer (`Accept: application/json;
indent=4`, the browsable API), a project that turns off DRF's compact, Unicode or strict
JSON, and anything orjson refuses (an integer beyond 64 bits) go through DRF's renderer as
before. What differs, all of it out of reach of what the API sends today: a NaN or
infinite float, which DRF refuses (a 500), is written `null`; a float below 1e-4 may be
spelled otherwise, the same number (1e-7 for DRF's 1e-07, 0.00005 for its 5e-05); a dict or
list subclass is written from what it stores, not through an `items()` or `__iter__` of its
own (a QueryDict gives every value, a Django ErrorDict would lose its messages: pass plain
data); and a generator that orjson used up before refusing something else is empty when
DRF's renderer takes over. Data may hold `orjson.Fragment`s, JSON text copied in as it is
(a product list's items as PostgreSQL wrote them, catalog.selectors.PageJSON): the view
checks `encodes_with_orjson` first, since DRF's renderer cannot write them; such text
means the same as DRF's bytes would, not always in the same bytes (spaces in attributes,
decimals as stored).

`PDFRenderer` lets a view answer `Accept: application/pdf` (or `?format=pdf`, or a `.pdf`
path) with the bytes of a document the domain rendered (`core.documents.render_pdf`). A
view using it includes `PDFErrorsAsJSONMixin`, so an error (404, 401, 429...) is still the
JSON error envelope and never an attempt to "render" an error dict as a PDF.
"""

from __future__ import annotations

import orjson
from rest_framework import renderers
from rest_framework.renderers import BaseRenderer
from rest_framework.utils.encoders import JSONEncoder

# Types orjson would write its own way are handed to DRF's encoder instead (datetime,
# date and time: DRF's ISO form, `Z` for UTC; dataclasses); dict keys that are not text
# are written as text, as the standard library does.
_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_NON_STR_KEYS
_LINE_SEPARATOR, _PARAGRAPH_SEPARATOR = "\u2028".encode(), "\u2029".encode()


class JSONRenderer(renderers.JSONRenderer):
    """DRF's JSONRenderer, encoding with orjson (see the module docstring)."""

    def encodes_with_orjson(self, accepted_media_type=None, renderer_context=None) -> bool:
        """Whether render() encodes with orjson (compact, no indent asked for): only then
        may the data hold `orjson.Fragment`s, JSON text sent as it is (a product list's
        items as the database wrote them, catalog.selectors.PageJSON)."""
        return (
            self.encoder_class is JSONEncoder
            and self.compact
            and not self.ensure_ascii
            and self.strict
            and self.get_indent(accepted_media_type, renderer_context or {}) is None
        )

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        if data is None:
            return b""
        if not self.encodes_with_orjson(accepted_media_type, renderer_context):
            return super().render(data, accepted_media_type, renderer_context)
        try:
            content = orjson.dumps(data, default=self.encoder_class().default, option=_ORJSON_OPTIONS)
        except orjson.JSONEncodeError:
            return super().render(data, accepted_media_type, renderer_context)
        # As DRF does: these two are valid JSON but end a line in JavaScript.
        if _LINE_SEPARATOR in content:
            content = content.replace(_LINE_SEPARATOR, b"\\u2028")
        if _PARAGRAPH_SEPARATOR in content:
            content = content.replace(_PARAGRAPH_SEPARATOR, b"\\u2029")
        return content


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
