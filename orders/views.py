from __future__ import annotations

import django_filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from drf_standardized_errors.openapi_validation_errors import extend_validation_errors
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from core.ratelimit import user_or_ip
from ecommerce.api.idempotency import IdempotencyRequiredMixin
from ecommerce.api.openapi import IDEMPOTENCY_RESPONSES, error_response, idempotency_header
from ecommerce.api.permissions import IsCustomer, IsManager
from ecommerce.api.throttling import RateLimitThrottle
from orders import services
from orders.filters import OrderFilter
from orders.models import Order, ReturnRequest, ReturnStatus
from orders.selectors import order_get_for_user, order_list_for, orders_owned_by, return_list_for
from orders.serializers import (
    FulfillmentCreateSerializer,
    FulfillmentSerializer,
    OrderCancelSerializer,
    OrderCreateSerializer,
    OrderLineAddSerializer,
    OrderLineQuantitySerializer,
    OrderSerializer,
    OrderStatusUpdateSerializer,
    QuoteRequestSerializer,
    QuoteSerializer,
    ReturnApproveSerializer,
    ReturnCreateSerializer,
    ReturnRejectSerializer,
    ReturnSerializer,
)

# RATELIMIT_ORDERS (20/min per user) counts placements and payments (payments.views)
# separately: a customer retrying a declined card should not lose the right to place an order.
PlaceOrderThrottle = RateLimitThrottle.for_("orders-place", "RATELIMIT_ORDERS", user_or_ip)


def checkout_arguments(data) -> dict:
    """What a quote and an order are priced from (validated request data): the same for
    both, so a quote is what the order will charge."""
    items = None
    if "items" in data:
        items = [services.LineRequest(i["product_id"], i["quantity"], i.get("unit_price")) for i in data["items"]]
    return {
        "items": items,
        "shipping_address_id": data.get("shipping_address_id"),
        "shipping_address": data.get("shipping_address"),
        "shipping_method_id": data.get("shipping_method_id"),
        "voucher_code": data.get("voucher_code"),
    }


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
    # Adding a line, shipping and asking for a return are not idempotent by themselves (a
    # retry would add, ship or claim the units twice): the key is required.
    idempotency_required_actions = frozenset({"create", "add_line", "fulfill", "request_return"})

    lookup_value_regex = "[0-9a-fA-F-]{36}"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Order.objects.none()
        # Scoped to the caller: another customer's order is 404, never 403. Returns are
        # asked for by the order's customer only (anyone else, staff included: 404).
        if self.action == "request_return":
            return orders_owned_by(self.request.user)
        queryset = order_list_for(self.request.user)
        if self.action not in ("list", "retrieve"):
            queryset = queryset.prefetch_related(None)  # actions re-read the order after the service
        return queryset

    def get_permissions(self):
        if self.action in ("set_status", "fulfill"):
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
            400: error_response(
                "Validation errors, `shipping_unavailable` (no zone covers the address), `invalid_shipping_method` "
                "(missing, unknown or not offered for the address), `voucher_invalid`, `idempotency_key_required`."
            ),
            403: error_response("`email_not_verified`, or not allowed."),
            **IDEMPOTENCY_RESPONSES,
            409: error_response(
                "`insufficient_stock` (each short line), `price_changed` (a unit price or `expected_total`), "
                "`voucher_exhausted`, `product_unavailable`, "
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
        order = services.order_place(
            request.user, **checkout_arguments(data), expected_total=data.get("expected_total")
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

    @extend_schema(
        summary="Add a product to a pending order (owner or staff)",
        description="The product's current price; a product already on the order gets its quantity added. "
        "Stock is taken at once (as at checkout). The order is re-priced as checkout prices it (promotions, "
        "voucher, tax, shipping); a voucher that no longer applies is removed and the history says so.",
        request=OrderLineAddSerializer,
        parameters=idempotency_header(required=True),
        responses={
            201: OrderSerializer,
            400: error_response("`order_too_large`, `shipping_unavailable`, `invalid_shipping_method`, or bad input."),
            **IDEMPOTENCY_RESPONSES,
            409: error_response(
                "`order_not_editable` (not pending, or past its payment time), `insufficient_stock` "
                "(`product_id`, `requested`, `available`), `product_unavailable`, `order_limit`, or key in use."
            ),
        },
    )
    @action(detail=True, methods=["post"], url_path="lines", url_name="lines")
    def add_line(self, request, pk=None):
        order = self.get_object()
        serializer = OrderLineAddSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        services.order_line_add(order.pk, product_id=data["product_id"], quantity=data["quantity"], by=request.user)
        return Response(OrderSerializer(self._fresh(order.pk)).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        methods=["PATCH"],
        summary="Change the quantity of a pending order's line (owner or staff)",
        request=OrderLineQuantitySerializer,
        responses={
            200: OrderSerializer,
            400: error_response("`order_too_large`, `shipping_unavailable`, `invalid_shipping_method`, or bad input."),
            404: error_response("No such order or line."),
            409: error_response("`order_not_editable`, `insufficient_stock`, `product_unavailable`, `order_limit`."),
        },
    )
    @extend_schema(
        methods=["DELETE"],
        summary="Remove a line of a pending order (owner or staff); its units go back to stock",
        request=None,
        responses={
            200: OrderSerializer,
            404: error_response("No such order or line."),
            409: error_response("`order_not_editable`, or `order_empty` (the last line: cancel the order instead)."),
        },
    )
    @action(
        detail=True,
        methods=["patch", "delete"],
        url_path=r"lines/(?P<line_id>[0-9]{1,18})",
        url_name="line",
    )
    def line(self, request, pk=None, line_id=None):
        order = self.get_object()
        if request.method == "DELETE":
            services.order_line_remove(order.pk, int(line_id), by=request.user)
        else:
            serializer = OrderLineQuantitySerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            services.order_line_set_quantity(
                order.pk, int(line_id), quantity=serializer.validated_data["quantity"], by=request.user
            )
        return Response(OrderSerializer(self._fresh(order.pk)).data)

    @extend_schema(
        summary="Ship some or all of what is left of a processing order (manager/admin)",
        description="One fulfillment (shipment) with the given units; the order becomes `partially_shipped`, "
        "or `shipped` when nothing is left. The customer gets a shipping email per fulfillment.",
        request=FulfillmentCreateSerializer,
        parameters=idempotency_header(required=True),
        responses={
            201: FulfillmentSerializer,
            400: error_response("`invalid_line` (not a line of this order), or bad input."),
            **IDEMPOTENCY_RESPONSES,
            409: error_response(
                "`over_fulfillment` (`line_id`, `requested`, `remaining`), `invalid_transition` "
                "(not processing), or key in use."
            ),
        },
    )
    @action(detail=True, methods=["post"], url_path="fulfillments", url_name="fulfillments")
    def fulfill(self, request, pk=None):
        order = self.get_object()
        serializer = FulfillmentCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        fulfillment = services.order_fulfill(
            order.pk,
            lines=[(line["line_id"], line["quantity"]) for line in data["lines"]],
            tracking_number=data["tracking_number"],
            by=request.user,
        )
        return Response(FulfillmentSerializer(fulfillment).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Ask to return delivered items (the order's customer)",
        description="Within RETURN_WINDOW_DAYS (default 30) of delivery. Staff approve (refund, optionally "
        "restock) or reject it at `returns/{id}/`.",
        request=ReturnCreateSerializer,
        parameters=idempotency_header(required=True),
        responses={
            201: ReturnSerializer,
            400: error_response("`invalid_line` (not a line of this order), or bad input."),
            **IDEMPOTENCY_RESPONSES,
            409: error_response(
                "`over_return` (`line_id`, `requested`, `returnable`), `return_window_closed`, "
                "`order_not_returnable` (not delivered), or key in use."
            ),
        },
    )
    @action(detail=True, methods=["post"], url_path="returns", url_name="returns")
    def request_return(self, request, pk=None):
        order = self.get_object()
        serializer = ReturnCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        return_request = services.return_request_create(
            order.pk,
            user=request.user,
            lines=[(line["line_id"], line["quantity"]) for line in data["lines"]],
            reason=data["reason"],
        )
        return Response(ReturnSerializer(return_request).data, status=status.HTTP_201_CREATED)


class ReturnFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=ReturnStatus.choices)
    order = django_filters.UUIDFilter(field_name="order_id")

    class Meta:
        model = ReturnRequest
        fields = ["status", "order"]


@extend_schema_view(
    list=extend_schema(summary="List returns (of own orders; staff see all, filter by `status`, `order`)"),
    retrieve=extend_schema(summary="One return with its lines and refund"),
)
class ReturnViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Returns of delivered orders. Customers see the returns of their own orders (another
    customer's return answers 404); staff see all and approve or reject them."""

    serializer_class = ReturnSerializer
    permission_classes = [IsCustomer]
    filterset_class = ReturnFilter
    lookup_value_regex = "[0-9a-fA-F-]{36}"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ReturnRequest.objects.none()
        return return_list_for(self.request.user)

    def get_permissions(self):
        if self.action in ("approve", "reject"):
            return [IsManager()]
        return super().get_permissions()

    def _fresh(self, return_id):
        return return_list_for(self.request.user).get(pk=return_id)

    @extend_schema(
        summary="Approve a return: refund its lines' share and issue a credit note (manager/admin)",
        description="The refund is the lines' share of what was paid (their discount share and tax included, "
        "shipping not), through the payment provider, once: approving an approved return refunds nothing "
        "again. `restock` puts the units back in stock.",
        request=ReturnApproveSerializer,
        parameters=idempotency_header(required=False),
        responses={
            200: ReturnSerializer,
            **IDEMPOTENCY_RESPONSES,
            409: error_response(
                "`return_already_decided` (rejected), `nothing_to_refund`, `refund_exceeds_payment`, or key in use."
            ),
            502: error_response("The provider could not refund; nothing changed.", server=True),
        },
    )
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return_request = self.get_object()
        serializer = ReturnApproveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.return_approve(return_request.pk, by=request.user, restock=serializer.validated_data["restock"])
        return Response(ReturnSerializer(self._fresh(return_request.pk)).data)

    @extend_schema(
        summary="Reject a return (manager/admin)",
        request=ReturnRejectSerializer,
        parameters=idempotency_header(required=False),
        responses={
            200: ReturnSerializer,
            **IDEMPOTENCY_RESPONSES,
            409: error_response("`return_already_decided` (approved), or key in use."),
        },
    )
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        return_request = self.get_object()
        serializer = ReturnRejectSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.return_reject(return_request.pk, by=request.user, reason=serializer.validated_data["reason"])
        return Response(ReturnSerializer(self._fresh(return_request.pk)).data)


@extend_schema(tags=["orders"])
class CheckoutQuoteView(APIView):
    """What an order would cost: lines with their discounts and tax, the shipping methods
    the address can have, totals. Priced by the same pipeline as POST orders/, so placing
    the order with the same input (and `expected_total` = this `total_amount`) charges
    exactly this. Nothing is reserved."""

    permission_classes = [IsCustomer]

    @extend_schema(
        summary="Price a checkout (the cart, or `items`) without placing it",
        request=QuoteRequestSerializer,
        responses={
            200: QuoteSerializer,
            400: error_response(
                "Validation errors, `empty_order`, `invalid_address`, `shipping_unavailable`, "
                "`invalid_shipping_method`, `voucher_invalid`, `variant_required`."
            ),
            409: error_response("`voucher_exhausted`, `product_unavailable`, `price_changed`."),
        },
    )
    def post(self, request):
        serializer = QuoteRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        breakdown = services.checkout_quote(request.user, **checkout_arguments(serializer.validated_data))
        return Response(QuoteSerializer(QuoteSerializer.from_breakdown(breakdown)).data)
