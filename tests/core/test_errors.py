"""Every 4xx/5xx on API paths has the one error shape of API.md, with DEBUG off."""

import pytest
from django.test import override_settings

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.core.urls")]


def assert_envelope(response, status, error_type, code, attr=None):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["type"] == error_type
    assert body["errors"][0]["code"] == code
    assert "detail" in body["errors"][0]
    assert body["errors"][0]["attr"] == attr
    return body


def test_400_validation_error_names_the_field(api_client):
    response = api_client.post("/api/test/validation/", {"quantity": 0}, format="json")
    assert_envelope(response, 400, "validation_error", "min_value", attr="quantity")


def test_400_malformed_json(api_client):
    response = api_client.post("/api/test/validation/", data="{not json", content_type="application/json")
    assert_envelope(response, 400, "client_error", "parse_error")


def test_401_without_credentials(api_client):
    assert_envelope(api_client.get("/api/test/private/"), 401, "client_error", "not_authenticated")


def test_401_with_garbage_token(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Bearer not-a-jwt")
    assert_envelope(api_client.get("/api/test/private/"), 401, "client_error", "token_not_valid")


def test_403_for_wrong_role(customer_client):
    assert_envelope(customer_client.get("/api/test/staff/"), 403, "client_error", "permission_denied")


def test_404_on_unknown_api_path_is_json(api_client):
    response = api_client.get("/api/v1/no-such-thing/")
    assert_envelope(response, 404, "client_error", "not_found")


def test_405_method_not_allowed(api_client):
    assert_envelope(api_client.delete("/api/test/validation/"), 405, "client_error", "method_not_allowed")


def test_409_domain_error_carries_extra_fields(api_client):
    body = assert_envelope(api_client.post("/api/test/conflict/"), 409, "client_error", "invalid_transition")
    assert body["errors"][0]["product_id"] == "p1"
    assert body["errors"][0]["available"] == 0


@override_settings(RATELIMIT_ENABLE=True, RATELIMIT_DEFAULT="3/m")
def test_429_with_retry_after(api_client):
    for _ in range(3):
        assert api_client.post("/api/test/validation/", {"quantity": 1}, format="json").status_code == 200
    response = api_client.post("/api/test/validation/", {"quantity": 1}, format="json")
    assert_envelope(response, 429, "client_error", "throttled")
    assert 1 <= int(response["Retry-After"]) <= 60


def test_500_in_api_view_is_json_without_internals():
    from rest_framework.test import APIClient

    response = APIClient(raise_request_exception=False).get("/api/test/boom/")
    body = assert_envelope(response, 500, "server_error", "error")
    assert "secret internals" not in response.content.decode()
    assert body["errors"][0]["detail"]


def test_500_in_plain_django_view_on_api_path_is_json():
    from django.test import Client

    client = Client(raise_request_exception=False)
    response = client.get("/api/test/plain-boom/")
    assert_envelope(response, 500, "server_error", "error")


@pytest.mark.parametrize("path", ["/api", "/health", "/api/v2/products/"])
def test_404_on_bare_api_prefixes_is_json(api_client, path):
    assert_envelope(api_client.get(path), 404, "client_error", "not_found")


def test_404_outside_api_stays_html(client):
    response = client.get("/definitely-not-here/")
    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")


@pytest.mark.parametrize("debug", [False, True])
def test_post_without_trailing_slash_is_308_keeping_method_and_body(api_client, debug):
    # 308, not Django's 301 (followed with a GET, body lost) or, under DEBUG, a 500.
    with override_settings(DEBUG=debug):
        response = api_client.post("/api/test/validation", {"quantity": 0}, format="json")
    assert response.status_code == 308
    assert response["Location"] == "/api/test/validation/"
    followed = api_client.post(response["Location"], {"quantity": 0}, format="json")
    assert_envelope(followed, 400, "validation_error", "min_value", attr="quantity")


def test_get_without_trailing_slash_keeps_the_301(api_client):
    response = api_client.get("/api/test/private?x=1")
    assert response.status_code == 301
    assert response["Location"] == "/api/test/private/?x=1"
