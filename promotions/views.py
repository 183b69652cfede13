from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import viewsets

from ecommerce.api.openapi import error_response, write_schemas
from ecommerce.api.pagination import PageNumberPagination
from ecommerce.api.permissions import IsManager
from promotions import selectors, services
from promotions.serializers import PromotionSerializer, VoucherSerializer

CONFLICT = error_response("`protected`: orders used this voucher (deactivate it instead).")
INVALID = error_response("Validation errors: each names its field in `attr`.")


@extend_schema(tags=["promotions"])
@extend_schema_view(destroy=extend_schema(responses={204: None, 409: CONFLICT}))
@extend_schema_view(
    **write_schemas(VoucherSerializer, invalid=INVALID, conflict=error_response("`unique`: a voucher has this code."))
)
class VoucherViewSet(viewsets.ModelViewSet):
    """Voucher codes (percent, fixed or free shipping; one per order). Staff only."""

    serializer_class = VoucherSerializer
    permission_classes = [IsManager]
    pagination_class = PageNumberPagination

    def get_queryset(self):
        return selectors.voucher_list()

    def perform_create(self, serializer):
        serializer.instance = services.voucher_create(**serializer.validated_data)

    def perform_update(self, serializer):
        services.voucher_update(serializer.instance, **serializer.validated_data)
        serializer.instance = self.get_queryset().get(pk=serializer.instance.pk)

    def perform_destroy(self, instance):
        services.voucher_delete(instance)


@extend_schema(tags=["promotions"])
@extend_schema_view(**write_schemas(PromotionSerializer, invalid=INVALID))
class PromotionViewSet(viewsets.ModelViewSet):
    """Automatic promotions: percent or fixed off the products in scope between two dates;
    product reads show the discounted price while one runs. Staff only."""

    serializer_class = PromotionSerializer
    permission_classes = [IsManager]
    pagination_class = PageNumberPagination

    def get_queryset(self):
        return selectors.promotion_list()

    def perform_create(self, serializer):
        serializer.instance = services.promotion_create(**serializer.validated_data)

    def perform_update(self, serializer):
        services.promotion_update(serializer.instance, **serializer.validated_data)
        serializer.instance = self.get_queryset().get(pk=serializer.instance.pk)

    def perform_destroy(self, instance):
        services.promotion_delete(instance)
