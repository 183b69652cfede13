"""Bad input is a clear 4xx in the error envelope, never a 500 (security review finding 12)."""

import pytest

pytestmark = pytest.mark.django_db

REGISTER = "/api/v1/auth/register/"
BIG = b'{"email": "' + b"a" * (5 * 1024 * 1024) + b'"}'
DEEP = "[" * 100_000 + "]" * 100_000


def codes(response):
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    return [(e["code"]) for e in response.json()["errors"]]


def test_a_5_mb_body_is_413_request_too_large(api_client):
    response = api_client.post(REGISTER, BIG, content_type="application/json")
    assert response.status_code == 413 and codes(response) == ["request_too_large"]


def test_a_5_mb_body_with_an_idempotency_key_is_413_json_not_a_debug_page(api_client, settings):
    settings.DEBUG = True
    response = api_client.post(REGISTER, BIG, content_type="application/json", HTTP_IDEMPOTENCY_KEY="big-1")
    assert response.status_code == 413 and codes(response) == ["request_too_large"]


def test_json_nested_100000_deep_is_400_parse_error(api_client):
    response = api_client.post(REGISTER, DEEP, content_type="application/json")
    assert response.status_code == 400 and codes(response) == ["parse_error"]


def test_deep_json_with_an_idempotency_key_is_400_parse_error(customer_client):
    response = customer_client.post(
        "/api/v1/cart/items/", DEEP, content_type="application/json", HTTP_IDEMPOTENCY_KEY="deep-1"
    )
    assert response.status_code == 400 and codes(response) == ["parse_error"]
