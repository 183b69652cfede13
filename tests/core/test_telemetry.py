"""Server-Timing on every response, compression of JSON and HTML (API.md, "Operations")."""

import gzip
import re

import brotli
import pytest
from django.conf import settings

from core.compression import MIN_SIZE, negotiate
from tests.catalog.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db

TIMING = re.compile(r"^app;dur=(\d+\.\d), db;dur=(\d+\.\d)(, cache;desc=(hit|miss))?$")


def timing(response) -> re.Match:
    match = TIMING.match(response["Server-Timing"])
    assert match, response["Server-Timing"]
    return match


def test_server_timing_on_json_html_and_errors(api_client, client):
    ProductFactory()
    for response in (
        api_client.get("/api/v1/brands/"),  # JSON, not cached
        client.get("/admin/login/"),  # HTML
        api_client.get("/api/v1/nope/"),  # 404
        api_client.post("/api/v1/orders/", {}, format="json"),  # 401
        api_client.get("/health/live"),
    ):
        match = timing(response)
        assert match.group(3) is None  # no cache part on reads that are not cached
        assert float(match.group(1)) >= float(match.group(2))


def test_server_timing_names_the_cache_on_cached_reads(api_client):
    ProductFactory()
    assert timing(api_client.get("/api/v1/products/")).group(4) == "miss"
    hit = api_client.get("/api/v1/products/")
    assert hit["X-Cache"] == "HIT" and timing(hit).group(4) == "hit"
    assert timing(hit).group(2) == "0.0"  # a hit makes no query


@pytest.mark.postgres
def test_db_time_is_the_time_spent_in_queries(api_client, settings):
    """A request whose queries take 30 ms reports at least that as `db`."""
    from django.db import connection

    from ecommerce import health

    real = health.check_database

    def slow_check():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_sleep(0.03)")
        return real()

    health.check_database = slow_check
    try:
        response = api_client.get("/health/ready")
    finally:
        health.check_database = real
    app_ms, db_ms = (float(x) for x in timing(response).groups()[:2])
    assert db_ms >= 30 and app_ms >= db_ms


def test_server_timing_on_a_server_error(settings):
    from django.test import Client

    settings.ROOT_URLCONF = "tests.core.urls"
    response = Client(raise_request_exception=False).get("/api/test/boom/")
    assert response.status_code == 500
    timing(response)


# --- compression ------------------------------------------------------------------------


def big_json_client(api_client):
    for i in range(30):
        CategoryFactory(name=f"Category with a long enough name {i}")
    return api_client


def test_json_of_a_kilobyte_or_more_is_gzipped_when_accepted(api_client):
    big_json_client(api_client)
    plain = api_client.get("/api/v1/brands/?page_size=100")  # small: under the threshold
    assert "Content-Encoding" not in plain and len(plain.content) < MIN_SIZE
    assert "Accept-Encoding" not in plain.get("Vary", "")

    identity = api_client.get("/api/v1/categories/?page_size=100")
    assert len(identity.content) >= MIN_SIZE and "Content-Encoding" not in identity
    assert "Accept-Encoding" in identity["Vary"]  # varies even when not compressed

    zipped = api_client.get("/api/v1/categories/?page_size=100", HTTP_ACCEPT_ENCODING="gzip")
    assert zipped["Content-Encoding"] == "gzip" and "Accept-Encoding" in zipped["Vary"]
    assert gzip.decompress(zipped.content) == identity.content
    assert int(zipped["Content-Length"]) == len(zipped.content) < len(identity.content)


def test_brotli_is_preferred_when_accepted(api_client):
    big_json_client(api_client)
    identity = api_client.get("/api/v1/categories/?page_size=100")
    response = api_client.get("/api/v1/categories/?page_size=100", HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    assert response["Content-Encoding"] == "br"
    assert brotli.decompress(response.content) == identity.content


def test_dynamic_json_is_compressed(api_client):
    response = api_client.get("/api/schema/?format=json", HTTP_ACCEPT_ENCODING="gzip")
    assert response["Content-Type"].startswith("application/vnd.oai.openapi+json")
    assert response["Content-Encoding"] == "gzip"
    assert gzip.decompress(response.content).startswith(b"{")


def test_a_miss_is_answered_in_the_accepted_encoding(customer_client):
    ProductFactory.create_batch(8)
    response = customer_client.get("/api/v1/products/?page_size=100", HTTP_ACCEPT_ENCODING="gzip")
    assert response["X-Cache"] == "MISS" and response["Content-Encoding"] == "gzip"
    assert gzip.decompress(response.content).startswith(b'{"count":8')


def test_html_is_gzipped_with_padding_and_never_brotli_with_a_session(admin_user):
    from django.test import Client

    admin_user.is_staff = admin_user.is_superuser = True
    admin_user.save()
    browser = Client()
    browser.force_login(admin_user)
    response = browser.get("/admin/", HTTP_ACCEPT_ENCODING="br, gzip")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    # A page with a CSRF token, asked for with a session: gzip with Django's BREACH padding.
    assert response["Content-Encoding"] == "gzip"
    assert gzip.decompress(response.content).startswith(b"<!DOCTYPE html>")
    anonymous = Client().get("/admin/login/", HTTP_ACCEPT_ENCODING="br")
    assert anonymous["Content-Encoding"] == "br"


def test_nothing_is_compressed_for_a_client_that_refuses(api_client):
    big_json_client(api_client)
    for header in ("identity", "gzip;q=0, br;q=0", "*;q=0", ""):
        response = api_client.get("/api/v1/categories/?page_size=100", HTTP_ACCEPT_ENCODING=header)
        assert "Content-Encoding" not in response, header


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("gzip", "gzip"),
        ("gzip, deflate, br", "br"),
        ("br;q=0, gzip", "gzip"),
        ("GZIP;q=0.5", "gzip"),
        ("*", "br"),
        ("*, br;q=0", "gzip"),
        ("deflate", None),
        ("gzip;q=nonsense", None),
        ("", None),
    ],
)
def test_accept_encoding_negotiation(header, expected):
    assert negotiate(header) == expected


def test_no_brotli_when_not_allowed():
    assert negotiate("gzip, br", allow_brotli=False) == "gzip"
    assert negotiate("br", allow_brotli=False) is None
    assert negotiate("*", allow_brotli=False) == "gzip"


def test_cors_exposes_server_timing():
    assert "Server-Timing" in settings.CORS_EXPOSE_HEADERS
