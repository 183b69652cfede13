"""The early path of cached catalog reads (catalog.middleware) and cached pages stored in
every encoding (catalog.cache): same answer as the view, never for staff or signed-in
callers, writes visible at once, no compression on a hit."""

import gzip
from unittest import mock

import brotli
import pytest
from django.test import Client

from catalog import views
from catalog.services import product_stock_changed
from tests.catalog.factories import CategoryFactory, ProductFactory
from tests.conftest import auth_client_for

pytestmark = pytest.mark.django_db(transaction=True)  # on_commit invalidation really runs

# Headers that differ per request by design.
PER_REQUEST = {"x-request-id", "server-timing"}


def headers_of(response) -> dict:
    return {k.lower(): v for k, v in response.headers.items() if k.lower() not in PER_REQUEST}


@pytest.fixture
def view_only(monkeypatch):
    """Turn the early path off: every hit is answered by the view (the full stack)."""
    from catalog import middleware

    monkeypatch.setattr(middleware, "is_anonymous_json_get", lambda request: False)


@pytest.fixture
def spy_early(monkeypatch):
    """Count the hits the early path answered."""
    from catalog import middleware

    answered = []
    real = middleware.CachedCatalogMiddleware.early_hit

    def early_hit(self, request):
        response = real(self, request)
        if response is not None:
            answered.append(request.path)
        return response

    monkeypatch.setattr(middleware.CachedCatalogMiddleware, "early_hit", early_hit)
    return answered


def catalog_paths():
    category = CategoryFactory()
    products = [ProductFactory(category=category, description="x" * 300) for _ in range(6)]
    return [
        "/api/v1/products/",
        "/api/v1/products/?ordering=price&page_size=3",
        f"/api/v1/products/{products[0].id}/",
        "/api/v1/products/facets/",
        "/api/v1/products/?in_stock=true",
        "/api/v1/categories/",
        f"/api/v1/categories/{category.id}/",
        "/api/v1/categories/tree/",
    ]


@pytest.mark.parametrize("encoding", ["", "gzip", "br"])
def test_early_hit_is_the_answer_of_the_full_stack(encoding, monkeypatch, spy_early):
    paths = catalog_paths()
    client = Client()
    extra = {"HTTP_ACCEPT_ENCODING": encoding} if encoding else {}
    for path in paths:
        client.get(path, **extra)  # miss: stored
    early = {path: client.get(path, **extra) for path in paths}
    assert sorted(spy_early) == sorted(path.split("?")[0] for path in paths)
    from catalog import middleware

    monkeypatch.setattr(middleware, "is_anonymous_json_get", lambda request: False)
    full = {path: client.get(path, **extra) for path in paths}
    for path in paths:
        assert early[path]["X-Cache"] == full[path]["X-Cache"] == "HIT", path
        assert early[path].status_code == full[path].status_code == 200
        assert early[path].content == full[path].content, path
        assert headers_of(early[path]) == headers_of(full[path]), path
        assert "cache;desc=hit" in early[path]["Server-Timing"]
        assert early[path]["X-Request-ID"]


def test_early_hit_keeps_security_cors_and_vary_headers(settings, spy_early):
    settings.CORS_ALLOWED_ORIGINS = ["http://shop.example"]
    ProductFactory()
    client = Client()
    client.get("/api/v1/products/")
    hit = client.get("/api/v1/products/", HTTP_ORIGIN="http://shop.example")
    assert spy_early == ["/api/v1/products/"]
    assert hit["Access-Control-Allow-Origin"] == "http://shop.example"
    assert hit["Content-Security-Policy"] == settings.CONTENT_SECURITY_POLICY_JSON
    assert hit["X-Content-Type-Options"] == "nosniff" and hit["X-Frame-Options"] == "DENY"
    assert {"Accept", "Cookie", "origin"} <= {v.strip() for v in hit["Vary"].split(",")}
    assert hit["Allow"] == "GET, POST, HEAD, OPTIONS"


def test_staff_and_signed_in_callers_never_get_an_early_answer(manager, customer, spy_early):
    product = ProductFactory(is_active=False)  # staff see it, the public get 404
    visible = ProductFactory()
    anonymous = Client()
    for path in ("/api/v1/products/", f"/api/v1/products/{visible.id}/"):
        anonymous.get(path), anonymous.get(path)
    assert len(spy_early) == 2  # the second anonymous read of each
    spy_early.clear()

    staff = auth_client_for(manager)
    listing = staff.get("/api/v1/products/")
    assert listing.json()["count"] == 2 and spy_early == []
    assert staff.get(f"/api/v1/products/{product.id}/").status_code == 200
    assert "stock_moves" in staff.get(f"/api/v1/products/{visible.id}/").json()

    session = Client()
    session.force_login(manager)
    assert session.get("/api/v1/products/", HTTP_ACCEPT="application/json").json()["count"] == 2
    assert auth_client_for(customer).get("/api/v1/products/").json()["count"] == 1
    # A bad token is a 401, never a cached 200.
    assert Client().get("/api/v1/products/", HTTP_AUTHORIZATION="Bearer nonsense").status_code == 401
    # DRF's forced authentication in tests has no header either.
    from rest_framework.test import APIClient

    forced = APIClient()
    forced.force_authenticate(manager)
    assert forced.get("/api/v1/products/").json()["count"] == 2
    assert spy_early == []


def test_other_media_types_go_to_the_view(spy_early):
    ProductFactory()
    client = Client()
    client.get("/api/v1/products/"), client.get("/api/v1/products/")
    spy_early.clear()
    assert client.get("/api/v1/products/", HTTP_ACCEPT="text/html").status_code == 200
    assert client.get("/api/v1/products/?format=json")["X-Cache"] in ("HIT", "MISS")
    assert client.get("/api/v1/products/", HTTP_ACCEPT="application/json; indent=4").content.startswith(b"{\n")
    assert spy_early == []


def test_a_write_is_visible_on_the_next_get_through_the_early_path(manager_client, spy_early):
    product = ProductFactory(price="10.00", stock_quantity=5)
    client = Client()
    detail = f"/api/v1/products/{product.id}/"
    for path in (detail, "/api/v1/products/"):
        client.get(path), client.get(path)
    assert len(spy_early) == 2
    assert manager_client.patch(detail, {"price": "12.50"}, format="json").status_code == 200
    after = client.get(detail)
    assert after["X-Cache"] == "MISS" and after.json()["price"] == "12.50"
    assert client.get("/api/v1/products/").json()["results"][0]["price"] == "12.50"
    # A stock move keeps the page a hit, with the live level.
    from django.db import transaction

    from catalog.models import Product

    with transaction.atomic():
        Product.objects.filter(pk=product.pk).update(stock_quantity=2)
        product_stock_changed({product.pk: -3})
    spy_early.clear()
    hit = client.get(detail)
    assert hit["X-Cache"] == "HIT" and spy_early == [detail]
    assert hit.json()["stock_quantity"] == 2


def test_a_miss_asks_the_cache_once(monkeypatch):
    from catalog import cache as catalog_cache

    ProductFactory()
    lookups = []
    real = catalog_cache.cached_page
    monkeypatch.setattr(views, "cached_page", lambda *a, **k: lookups.append("view") or real(*a, **k))
    from catalog import middleware

    monkeypatch.setattr(middleware, "cached_page", lambda *a, **k: lookups.append("early") or real(*a, **k))
    assert Client().get("/api/v1/products/")["X-Cache"] == "MISS"
    assert lookups == ["early"]
    assert Client().get("/api/v1/products/")["X-Cache"] == "HIT"
    assert lookups == ["early", "early"]


def test_early_hits_are_rate_limited_like_the_view(settings):
    """Anonymous cached reads count against the global limit per IP, as they did when the
    view answered them; the 429 is the view's (counted once)."""
    settings.CACHES = {
        **settings.CACHES,
        "early-rl": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "early-rl"},
    }
    settings.RATELIMIT_USE_CACHE = "early-rl"
    settings.RATELIMIT_ENABLE = True
    settings.RATELIMIT_DEFAULT = "4/h"
    ProductFactory()
    client = Client()
    statuses = [client.get("/api/v1/products/").status_code for _ in range(6)]
    assert statuses == [200, 200, 200, 200, 429, 429]
    throttled = client.get("/api/v1/products/")
    assert throttled.json()["errors"][0]["code"] == "throttled" and int(throttled["Retry-After"]) >= 1


# --- stored encodings ----------------------------------------------------------------------


def test_a_hit_does_not_compress_again(view_only):
    """Through the view and through the early path: the stored bytes go out as they are."""
    ProductFactory.create_batch(6, description="y" * 300)
    client = Client()
    first = client.get("/api/v1/products/", HTTP_ACCEPT_ENCODING="gzip")
    assert first["X-Cache"] == "MISS" and first["Content-Encoding"] == "gzip"
    client.get("/api/v1/products/", HTTP_ACCEPT_ENCODING="br")  # br's first request: compressed once, kept
    with (
        mock.patch("core.compression.compress") as compress,
        mock.patch("catalog.cache.encoded_variants") as encode,
        mock.patch("ecommerce.middleware.compress") as middleware_compress,
    ):
        for encoding in ("gzip", "br", "gzip, br", ""):
            hit = client.get("/api/v1/products/", HTTP_ACCEPT_ENCODING=encoding)
            assert hit["X-Cache"] == "HIT"
    assert not compress.called and not encode.called and not middleware_compress.called


def test_each_encoding_is_compressed_once_per_entry_and_only_when_asked_for():
    from core import compression

    ProductFactory.create_batch(6, description="y" * 300)
    client = Client()
    with mock.patch.object(compression, "compress", wraps=compression.compress) as compress:
        identity = client.get("/api/v1/products/")  # a client that takes no encoding: nothing compressed
        assert identity["X-Cache"] == "MISS" and not compress.called
        answers = [client.get("/api/v1/products/", HTTP_ACCEPT_ENCODING=e) for e in ("br", "br", "gzip", "gzip", "")]
    assert [call.args[1] for call in compress.call_args_list] == ["br", "gzip"]
    assert brotli.decompress(answers[1].content) == identity.content
    assert gzip.decompress(answers[3].content) == identity.content
    assert all(a["X-Cache"] == "HIT" for a in answers) and "Content-Encoding" not in answers[4]


def test_early_hit_does_not_compress_again():
    ProductFactory.create_batch(6, description="y" * 300)
    client = Client()
    identity = client.get("/api/v1/products/").content
    for encoding in ("gzip", "br"):  # the first request for each encoding compresses it, once
        client.get("/api/v1/products/", HTTP_ACCEPT_ENCODING=encoding)
    with mock.patch("catalog.cache.encoded_variants") as encode, mock.patch("ecommerce.middleware.compress") as comp:
        zipped = client.get("/api/v1/products/", HTTP_ACCEPT_ENCODING="gzip")
        br = client.get("/api/v1/products/", HTTP_ACCEPT_ENCODING="br")
    assert not encode.called and not comp.called
    assert zipped["Content-Encoding"] == "gzip" and gzip.decompress(zipped.content) == identity
    assert br["Content-Encoding"] == "br" and brotli.decompress(br.content) == identity


def test_a_stock_move_re_encodes_once_and_serves_the_live_level():
    from django.db import transaction

    from catalog import cache as catalog_cache
    from catalog.models import Product

    products = ProductFactory.create_batch(4, description="z" * 400, stock_quantity=9)
    client = Client()
    client.get("/api/v1/products/", HTTP_ACCEPT_ENCODING="gzip")
    with transaction.atomic():
        Product.objects.filter(pk=products[1].pk).update(stock_quantity=3)
        product_stock_changed({products[1].pk: -6})
    with mock.patch.object(catalog_cache, "encoded_variants", wraps=catalog_cache.encoded_variants) as encode:
        answers = [client.get("/api/v1/products/", HTTP_ACCEPT_ENCODING="gzip") for _ in range(3)]
    assert encode.call_count == 1  # the first hit after the move; the next ones serve it stored
    for answer in answers:
        assert answer["X-Cache"] == "HIT"
        levels = {
            row["id"]: row["stock_quantity"]
            for row in __import__("json").loads(gzip.decompress(answer.content))["results"]
        }
        assert levels[str(products[1].pk)] == 3 and levels[str(products[0].pk)] == 9


def test_small_pages_are_stored_and_sent_plain():
    ProductFactory()
    client = Client()
    client.get("/api/v1/categories/")
    hit = client.get("/api/v1/categories/", HTTP_ACCEPT_ENCODING="gzip, br")
    assert hit["X-Cache"] == "HIT" and "Content-Encoding" not in hit
    assert "Accept-Encoding" not in hit.get("Vary", "")
