import pytest
from django.test import RequestFactory, override_settings

from core.ratelimit import client_ip

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.core.urls")]

UNREACHABLE_REDIS = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2, "IGNORE_EXCEPTIONS": True},
    }
}


def request_with(remote, forwarded=None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


@override_settings(TRUSTED_PROXY_COUNT=0)
def test_forwarded_header_is_ignored_without_trusted_proxies():
    assert client_ip(request_with("10.0.0.5", "1.2.3.4")) == "10.0.0.5"


@override_settings(TRUSTED_PROXY_COUNT=1)
def test_one_trusted_proxy_uses_the_hop_it_appended():
    # The client sent "6.6.6.6" itself to spoof; the proxy appended the real peer 1.2.3.4.
    assert client_ip(request_with("10.0.0.1", "6.6.6.6, 1.2.3.4")) == "1.2.3.4"


@override_settings(TRUSTED_PROXY_COUNT=2)
def test_two_trusted_proxies():
    assert client_ip(request_with("10.0.0.1", "6.6.6.6, 1.2.3.4, 10.0.0.9")) == "1.2.3.4"


@override_settings(TRUSTED_PROXY_COUNT=1)
def test_garbage_forwarded_header_falls_back_to_socket_address():
    assert client_ip(request_with("10.0.0.1", "not-an-ip")) == "10.0.0.1"


@override_settings(RATELIMIT_ENABLE=True, RATELIMIT_DEFAULT="2/m")
def test_limit_is_per_client_ip_for_anonymous(api_client):
    for _ in range(2):
        assert api_client.post("/api/test/validation/", {"quantity": 1}, REMOTE_ADDR="1.1.1.1").status_code == 200
    assert api_client.post("/api/test/validation/", {"quantity": 1}, REMOTE_ADDR="1.1.1.1").status_code == 429
    assert api_client.post("/api/test/validation/", {"quantity": 1}, REMOTE_ADDR="2.2.2.2").status_code == 200


@override_settings(RATELIMIT_ENABLE=True, RATELIMIT_DEFAULT="2/m")
def test_limit_is_per_user_when_authenticated(customer_client, manager_client):
    for _ in range(2):
        assert customer_client.get("/api/test/private/").status_code == 200
    assert customer_client.get("/api/test/private/").status_code == 429
    assert manager_client.get("/api/test/private/").status_code == 200


@override_settings(RATELIMIT_ENABLE=False, RATELIMIT_DEFAULT="1/m")
def test_limits_can_be_turned_off(api_client):
    for _ in range(3):
        assert api_client.post("/api/test/validation/", {"quantity": 1}).status_code == 200


@override_settings(RATELIMIT_ENABLE=True, RATELIMIT_DEFAULT="1/m", CACHES=UNREACHABLE_REDIS)
def test_limits_fail_open_when_the_cache_is_down(api_client):
    for _ in range(3):
        assert api_client.post("/api/test/validation/", {"quantity": 1}).status_code == 200
