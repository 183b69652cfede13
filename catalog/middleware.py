"""The early path of cached catalog reads: an anonymous visitor's cache hit is answered
before the session, CSRF, authentication and message middleware and the DRF view run (the
place Django's own FetchFromCacheMiddleware takes), which is most of what a hit used to cost.

Answered here only when the answer cannot depend on who asks: a GET without an
`Authorization` header and without a session cookie (staff see more fields; a bad token is
a 401, not a hit), that DRF would render as plain JSON (no Accept header, `*/*` or
`application/json`, no `?format=`), to one of the cached catalog URLs
(`catalog.views.PUBLIC_CACHED_READS`). The key, the stamp and the bytes are the view's own
(`CachedReadMixin.cached` stores them, with the headers DRF adds), so the answer is the one
the view would give. Everything else, and every miss, goes on down the stack; a miss leaves
its lookup on the request for the view, which then does not ask the cache again.

What the middleware above this one does is kept: request id, the access log line,
Server-Timing and metrics, load shedding, security headers and the CSP, CORS, X-Frame-Options,
compression (a hit is sent in the stored encoding). Rate limits too: a hit is counted
against the global limit exactly as DRF's GlobalRateThrottle counts an anonymous call (per
client IP, RATELIMIT_DEFAULT); over the limit the request goes on to the view, whose
throttle answers the 429 without counting it a second time.
"""

from __future__ import annotations

import functools

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.urls import Resolver404, get_urlconf, resolve

from catalog.cache import cached_page, list_count_key, record_lookup
from catalog.views import PUBLIC_CACHED_READS, cache_key_for, cache_variant, cached_hit_response, query_pairs
from core.compression import response_encoding
from core.ratelimit import ip_key, usage

CATALOG_PREFIXES = ("/api/v1/products/", "/api/v1/categories/")
# The Accept headers DRF answers with its JSON renderer as `application/json` exactly.
JSON_ACCEPTS = frozenset({"", "*/*", "application/json"})
PUBLIC_VARIANT_MEDIA_TYPE = "application/json"


def is_anonymous_json_get(request) -> bool:
    return (
        request.method == "GET"
        and "HTTP_AUTHORIZATION" not in request.META
        and settings.SESSION_COOKIE_NAME not in request.COOKIES
        and request.META.get("HTTP_ACCEPT", "") in JSON_ACCEPTS
        and "format" not in request.GET
        # DRF's test client authenticates without a header (force_authenticate)
        and getattr(request, "_force_auth_user", None) is None
    )


@functools.lru_cache(maxsize=4096)
def _resolve(path: str, urlconf: str):
    """The URL match of a catalog path (None: no route), remembered: resolving walked the
    whole URLconf on every hit, a sixth of what a hit cost. Keyed by the URLconf too (tests
    swap it), and forgotten when URLs are reloaded (setting_changed)."""
    try:
        return resolve(path, urlconf)
    except Resolver404:
        return None


@receiver(setting_changed)
def _forget_routes(**kwargs) -> None:
    if kwargs.get("setting") == "ROOT_URLCONF":
        _resolve.cache_clear()


class CachedCatalogMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if (
            settings.CATALOG_CACHE_ENABLED
            and request.path_info.startswith(CATALOG_PREFIXES)
            and is_anonymous_json_get(request)
        ):
            response = self.early_hit(request)
            if response is not None:
                return response
        return self.get_response(request)

    def early_hit(self, request):
        match = _resolve(request.path_info, get_urlconf() or settings.ROOT_URLCONF)
        if match is None:
            return None
        endpoint = PUBLIC_CACHED_READS.get(match.url_name)
        if endpoint is None:
            return None
        namespace, stamp_for = endpoint
        variant = cache_variant(request, staff=False, media_type=PUBLIC_VARIANT_MEDIA_TYPE)
        key = cache_key_for(request, namespace, variant)
        encoding = response_encoding(request)
        # A product list's miss needs the list's count: read with the page's entry.
        count_key = (
            list_count_key("public", request.path, query_pairs(request)) if match.url_name == "product-list" else None
        )
        lookup = cached_page(
            key, stamp_for(match.kwargs, request.GET), encoding=encoding, also=(count_key,) if count_key else ()
        )
        page = lookup.page
        if page is None:
            # A miss, or the cache is down (stamp None): the view renders it from the
            # database and stores it under this stamp, without asking the cache again.
            if lookup.stamp is not None:
                record_lookup(hit=False)
            request.catalog_cache_probe = (key, lookup)
            if count_key is not None and lookup.also is not None and lookup.stamp is not None:
                request.catalog_count_probe = (count_key, (lookup.stamp, lookup.also.get(count_key)))
            return None
        record_lookup(hit=True)
        counted = usage(group="global", key=ip_key, rate=settings.RATELIMIT_DEFAULT, request=request)
        if counted and counted["should_limit"]:
            request.ratelimit_counted = frozenset({"global"})
            return None
        request.resolver_match = match  # the route label of the request's metrics
        # Vary: Cookie, as SessionMiddleware would add (DRF's session authentication reads
        # the session): the answer depends on the absence of a session cookie.
        return cached_hit_response(page, encoding, vary=("Cookie",))
