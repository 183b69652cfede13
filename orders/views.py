from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view
from drf_standardized_errors.openapi_validation_errors import extend_validation_errors
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from core.ratelimit import user_or_ip
from ecommerce.api.idempotency import IdempotencyRequiredMixin
from ecommerce.api.openapi import IDEMPOTENCY_RESPONSES, error_response, idempotency_header
from ecommerce.api.permissions import IsCustomer, IsManager
from ecommerce.api.throttling import RateLimitThrottle
from orders import services
from orders.filters import OrderFilter
from orders.models import Order
from orders.selectors import order_get_for_user, order_list_for
from orders.serializers import (
    OrderCancelSerializer,
    OrderCreateSerializer,
    OrderSerializer,
    OrderStatusUpdateSerializer,
)

# RATELIMIT_ORDERS (20/min per user) counts placements and payments (payments.views)
# separately: a customer retrying a declined card should not lose the right to place an order.
PlaceOrderThrottle = RateLimitThrottle.for_("orders-place", "RATELIMIT_ORDERS", user_or_ip)


@extend_schema_view(
    list=extend_schema(summary="List orders (own; staff see all and can filter)"),
    retrieve=extend_schema(summary="One order with its lines and status history"),
)
@extend_validation_errors(["variant_required"], field_name="items", actions=["create"])
class OrderViewSet(
    IdempotencyRequiredMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    # The docstring is the operations' description in the OpenAPI schema (without one they
    # showed IdempotencyRequiredMixin's), so it speaks to clients.
    """A customer's orders. Customers see and act on their own orders only (another
    customer's order answers 404); staff see every order."""

    serializer_class = OrderSerializer
    permission_classes = [IsCustomer]
    filterset_class = OrderFilter
    idempotency_required_actions = frozenset({"create"})

    lookup_value_regex = "[0-9a-fA-F-]{36}"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Order.objects.none()
        # Scoped to the caller: another customer's order is 404, never 403.
        queryset = order_list_for(self.request.user)
        if self.action not in ("list", "retrieve"):
            queryset = queryset.prefetch_related(None)  # actions re-read the order after the service
        return queryset

    def get_permissions(self):
        if self.action == "set_status":
            return [IsManager()]
        return super().get_permissions()

    def get_throttles(self):
        throttles = super().get_throttles()
        if self.action == "create":
            throttles.append(PlaceOrderThrottle())
        return throttles

    def list(self, request, *args, **kwargs):
        services.orders_expire_due_without_beat()  # eager mode: no beat expires them
        return super().list(request, *args, **kwargs)

    def retrieve(self, request, *args, **kwargs):
        services.orders_expire_due_without_beat()
        return super().retrieve(request, *args, **kwargs)

    def _fresh(self, order_id):
        return order_get_for_user(self.request.user, order_id)

    @extend_schema(
        summary="Place an order (from `items`, or from the cart)",
        request=OrderCreateSerializer,
        parameters=idempotency_header(required=True),
        responses={
            201: OrderSerializer,
            403: error_response("`email_not_verified`, or not allowed."),
            **IDEMPOTENCY_RESPONSES,
            409: error_response(
                "`insufficient_stock` (each short line), `price_changed`, `product_unavailable`, "
                "`order_limit` (more than ORDER_MAX_UNITS_PER_PRODUCT units of one product: `product_id`, "
                "`requested`, `limit`; or already ORDER_MAX_PENDING_PER_USER unpaid orders: `pending`, `limit`), "
                "key in use."
            ),
        },
    )
    def create(self, request):
        serializer = OrderCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        items = None
        if "items" in data:
            items = [services.LineRequest(i["product_id"], i["quantity"], i.get("unit_price")) for i in data["items"]]
        order = services.order_place(
            request.user,
            items=items,
            shipping_address_id=data.get("shipping_address_id"),
            shipping_address=data.get("shipping_address"),
        )
        return Response(OrderSerializer(order).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Cancel an order (owner or staff): stock restored, a paid order refunded",
        request=OrderCancelSerializer,
        parameters=idempotency_header(required=False),
        responses={
            200: OrderSerializer,
            **IDEMPOTENCY_RESPONSES,
            409: error_response("`invalid_transition`, or key in use."),
            502: error_response("The refund failed at the provider; nothing changed.", server=True),
        },
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        order = self.get_object()
        serializer = OrderCancelSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.order_cancel(order.pk, by=request.user, note=serializer.validated_data["reason"])
        return Response(OrderSerializer(self._fresh(order.pk)).data)

    @extend_schema(
        summary="Move an order along the status machine (manager/admin)",
        request=OrderStatusUpdateSerializer,
        parameters=idempotency_header(required=False),
        responses={
            200: OrderSerializer,
            **IDEMPOTENCY_RESPONSES,
            409: error_response("`invalid_transition`, or key in use."),
            502: error_response("The refund of a cancelled paid order failed; nothing changed.", server=True),
        },
    )
    @action(detail=True, methods=["post"], url_path="status", url_name="status")
    def set_status(self, request, pk=None):
        order = self.get_object()
        serializer = OrderStatusUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        services.order_set_status(
            order.pk, data["status"], by=request.user, tracking_number=data["tracking_number"], note=data["note"]
        )
        return Response(OrderSerializer(self._fresh(order.pk)).data)
