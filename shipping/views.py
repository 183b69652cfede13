from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.generics import get_object_or_404

from ecommerce.api.openapi import error_response, write_schemas
from ecommerce.api.pagination import PageNumberPagination
from ecommerce.api.permissions import IsManager
from shipping import selectors, services
from shipping.models import ShippingMethod, ShippingZone
from shipping.serializers import ShippingMethodSerializer, ShippingZoneSerializer, TaxRateSerializer

# Field errors, and the service's checks of bands and days (`invalid`, with the field in `attr`).
INVALID = error_response("Validation errors: each names its field in `attr` (bands, countries, days...).")


@extend_schema(tags=["shipping"])
@extend_schema_view(list=extend_schema(summary="Shipping zones with their methods (manager/admin)"))
@extend_schema_view(**write_schemas(ShippingZoneSerializer, invalid=INVALID))
class ShippingZoneViewSet(viewsets.ModelViewSet):
    """Shipping zones (countries) and the methods each offers. Staff only."""

    serializer_class = ShippingZoneSerializer
    permission_classes = [IsManager]
    pagination_class = PageNumberPagination

    def get_queryset(self):
        return selectors.shipping_zone_list()

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        serializer.instance = services.shipping_zone_create(methods=data.pop("methods", None), **data)

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        methods = data.pop("methods", None)
        serializer.instance = services.shipping_zone_update(serializer.instance, methods=methods, **data)
        serializer.instance = self.get_queryset().get(pk=serializer.instance.pk)

    def perform_destroy(self, instance):
        services.shipping_zone_delete(instance)


@extend_schema(tags=["shipping"])
@extend_schema_view(**write_schemas(ShippingMethodSerializer, invalid=INVALID))
class ShippingMethodViewSet(viewsets.ModelViewSet):
    """The methods of one zone, at `shipping-zones/{zone_id}/methods/`. Staff only."""

    serializer_class = ShippingMethodSerializer
    permission_classes = [IsManager]
    pagination_class = PageNumberPagination

    def _zone(self) -> ShippingZone:
        return get_object_or_404(ShippingZone, pk=self.kwargs["zone_pk"])

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ShippingMethod.objects.none()
        return selectors.shipping_method_list().filter(zone=self._zone())

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        data.pop("id", None)
        serializer.instance = services.shipping_method_create(zone=self._zone(), **data)

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        data.pop("id", None)
        serializer.instance = services.shipping_method_update(serializer.instance, **data)

    def perform_destroy(self, instance):
        services.shipping_method_delete(instance)


@extend_schema(tags=["shipping"])
@extend_schema_view(
    **write_schemas(TaxRateSerializer, invalid=INVALID, conflict=error_response("`unique`: that rate exists."))
)
class TaxRateViewSet(viewsets.ModelViewSet):
    """Tax rates per country (and optional region) and tax class. Staff only."""

    serializer_class = TaxRateSerializer
    permission_classes = [IsManager]
    pagination_class = PageNumberPagination

    def get_queryset(self):
        return selectors.tax_rate_list()

    def perform_create(self, serializer):
        serializer.instance = services.tax_rate_create(**serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.tax_rate_update(serializer.instance, **serializer.validated_data)

    def perform_destroy(self, instance):
        services.tax_rate_delete(instance)
