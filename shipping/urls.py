from django.urls import path
from rest_framework.routers import SimpleRouter

from shipping import views

router = SimpleRouter()
router.register("shipping-zones", views.ShippingZoneViewSet, basename="shipping-zone")
router.register("tax-rates", views.TaxRateViewSet, basename="tax-rate")

methods = views.ShippingMethodViewSet.as_view({"get": "list", "post": "create"})
method = views.ShippingMethodViewSet.as_view(
    {"get": "retrieve", "put": "update", "patch": "partial_update", "delete": "destroy"}
)

urlpatterns = [
    path("shipping-zones/<int:zone_pk>/methods/", methods, name="shipping-method-list"),
    path("shipping-zones/<int:zone_pk>/methods/<int:pk>/", method, name="shipping-method-detail"),
    *router.urls,
]
