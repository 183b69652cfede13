"""Response compression: which encoding a client accepts, and the compressed bytes.

Used by `ecommerce.middleware.CompressionMiddleware` (every JSON and HTML body of
MIN_SIZE bytes or more) and by the catalog cache, which stores each cached page in every
encoding once, so that a cache hit never compresses again.

- gzip: Django's `compress_string`. Dynamic answers get its "Heal The Breach" padding (a
  random file name of up to 100 bytes, as Django's GZipMiddleware adds) against BREACH;
  the public catalog pages the cache stores hold no secret and are compressed without it.
- br (brotli, Google's bindings): preferred when the client accepts it, but never for a
  request carrying a session cookie (the admin, the browsable API): those pages hold CSRF
  tokens, and brotli has no padding like gzip's, so they get padded gzip.
"""

from __future__ import annotations

import functools

import brotli
from django.conf import settings
from django.utils.text import compress_string

# Bodies smaller than this are sent as they are: compressing them saves little and costs time.
MIN_SIZE = 1024
# Brotli quality 0-11. 5 compresses JSON about as small as gzip -9 at a fraction of the
# time of the default 11 (which spends milliseconds on a 20 kB page).
BROTLI_QUALITY = 5
BREACH_PADDING = 100
GZIP, BROTLI = "gzip", "br"
ENCODINGS = (BROTLI, GZIP)

COMPRESSIBLE_TYPES = ("application/json", "text/html", "application/vnd.oai.openapi")


def is_compressible(content_type: str) -> bool:
    """JSON (`application/json`, `application/problem+json`, the OpenAPI schema…) and HTML."""
    media = content_type.split(";", 1)[0].strip().lower()
    return media.startswith(COMPRESSIBLE_TYPES) or media.endswith("+json")


@functools.lru_cache(maxsize=256)
def _accepted(accept_encoding: str) -> frozenset[str]:
    """The codings an Accept-Encoding header allows (q > 0), `*` standing for any not named."""
    allowed: set[str] = set()
    refused: set[str] = set()
    wildcard = False
    for part in accept_encoding.lower().split(","):
        coding, _, params = part.partition(";")
        coding = coding.strip()
        if not coding:
            continue
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if coding == "*":
            wildcard = q > 0
        elif q > 0:
            allowed.add(coding)
        else:
            refused.add(coding)
    if wildcard:
        allowed |= {c for c in ENCODINGS if c not in refused}
    return frozenset(allowed)


def negotiate(accept_encoding: str, *, allow_brotli: bool = True) -> str | None:
    """The encoding to answer with: br when accepted (and allowed), else gzip, else None."""
    if not accept_encoding:
        return None
    accepted = _accepted(accept_encoding)
    if allow_brotli and BROTLI in accepted:
        return BROTLI
    if GZIP in accepted:
        return GZIP
    return None


def compress(content: bytes, encoding: str, *, pad: bool = True) -> bytes:
    """`content` in `encoding` (gzip or br); `pad` adds gzip's BREACH padding."""
    if encoding == BROTLI:
        return brotli.compress(content, mode=brotli.MODE_TEXT, quality=BROTLI_QUALITY)
    if encoding == GZIP:
        return compress_string(content, max_random_bytes=BREACH_PADDING if pad else None)
    raise ValueError(f"unknown encoding {encoding!r}")


def encoded_variants(content: bytes, encodings=ENCODINGS) -> dict[str, bytes | None]:
    """A public body for caches: "" (the identity) and each of `encodings` (gzip, br), as
    compressed bytes or None where compressing does not pay (a body under MIN_SIZE, or one
    that came out no smaller): None means "send the identity"."""
    variants: dict[str, bytes | None] = {"": content}
    for encoding in encodings:
        variants[encoding] = None
        if len(content) >= MIN_SIZE:
            compressed = compress(content, encoding, pad=False)
            if len(compressed) < len(content):
                variants[encoding] = compressed
    return variants


def response_encoding(request) -> str | None:
    """The encoding to answer `request` with (negotiate, brotli refused with a session)."""
    return negotiate(
        request.META.get("HTTP_ACCEPT_ENCODING", ""),
        allow_brotli=settings.SESSION_COOKIE_NAME not in request.COOKIES,
    )
