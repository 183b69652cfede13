import re

from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from ecommerce import health, telemetry

api_v1 = [
    path("", include("accounts.urls")),
    path("", include("catalog.urls")),
    path("", include("carts.urls")),
    path("", include("shipping.urls")),
    path("", include("promotions.urls")),
    path("", include("orders.urls")),
    path("", include("payments.urls")),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("health/live", health.live, name="health-live"),
    path("health/ready", health.ready, name="health-ready"),
    path("metrics", telemetry.metrics, name="metrics"),
    path("api/v1/", include(api_v1)),
]
if settings.API_DOCS_PUBLIC:  # API_DOCS_PUBLIC=false closes the schema and both docs pages (404)
    urlpatterns += [
        path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
        # The split view serves its start-up script as a file: no inline script for the CSP.
        path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-ui"),
        path(
            "api/redoc/",
            SpectacularRedocView.as_view(url_name="schema", template_name="ecommerce/redoc.html"),
            name="redoc",
        ),
    ]

if settings.SERVE_MEDIA and settings.MEDIA_URL.startswith(
    "/"
):  # local settings: uploaded media from MEDIA_ROOT (production: the proxy or the storage)
    from django.views.static import serve

    urlpatterns += [
        re_path(
            rf"^{re.escape(settings.MEDIA_URL.lstrip('/'))}(?P<path>.*)$", serve, {"document_root": settings.MEDIA_ROOT}
        )
    ]

handler400 = "ecommerce.api.exceptions.handler400"
handler403 = "ecommerce.api.exceptions.handler403"
handler404 = "ecommerce.api.exceptions.handler404"
handler500 = "ecommerce.api.exceptions.handler500"
