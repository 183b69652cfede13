"""The app's URLs plus `bench/bytes/<n>/`: a bare Django view returning n bytes of JSON,
the baseline the cached catalog responses are compared with. Mounted only by
bench.settings, so it is unreachable in production."""

from django.http import HttpResponse
from django.urls import path

from ecommerce.urls import urlpatterns as app_urlpatterns

_BODIES: dict[int, bytes] = {}


def bare_bytes(request, size: int):
    body = _BODIES.get(size)
    if body is None:
        body = _BODIES.setdefault(size, b'{"x":"' + b"a" * max(size - 8, 0) + b'"}')
    return HttpResponse(body, content_type="application/json")


urlpatterns = [path("bench/bytes/<int:size>/", bare_bytes), *app_urlpatterns]
