from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import NotFound
from core.ratelimit import user_or_ip
from ecommerce.api.idempotency import HEADER, IdempotencyRequiredMixin
from ecommerce.api.openapi import IDEMPOTENCY_RESPONSES, error_response, idempotency_header
from ecommerce.api.permissions import IsCustomer
from ecommerce.api.throttling import RateLimitThrottle
from orders.models import Order
from orders.selectors import order_list_for
from payments.selectors import invoice_for_order
from payments.serializers import InvoiceSerializer, PaymentSerializer, PayOrderSerializer, WebhookAckSerializer
from payments.services import payment_pay, webhook_handle

# RATELIMIT_ORDERS (20/min per user), counted apart from order placement (orders.views):
# a customer retrying a declined card should not lose the right to place an order.
PayOrderThrottle = RateLimitThrottle.for_("orders-pay", "RATELIMIT_ORDERS", user_or_ip)


# The payment actions of an order, mounted under the orders prefix beside orders' own
# routes (payments/urls.py), tagged and scoped like them. The docstring is the operations'
# description in the OpenAPI schema, so it speaks to clients.
@extend_schema(tags=["orders"])
class OrderPaymentViewSet(IdempotencyRequiredMixin, viewsets.GenericViewSet):
    """Paying an order and reading its invoice. Customers act on their own orders only:
    another customer's order answers 404."""

    permission_classes = [IsCustomer]
    idempotency_required_actions = frozenset({"pay"})
    lookup_value_regex = "[0-9a-fA-F-]{36}"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Order.objects.none()
        # Scoped to the caller: another customer's order is 404, never 403. The actions
        # read what they render themselves, so the order's relations are not prefetched.
        return order_list_for(self.request.user).prefetch_related(None)

    def get_throttles(self):
        throttles = super().get_throttles()
        if self.action == "pay":
            throttles.append(PayOrderThrottle())
        return throttles

    @extend_schema(
        summary="Pay an order (the amount is the order's total)",
        request=PayOrderSerializer,
        parameters=idempotency_header(required=True),
        responses={
            201: PaymentSerializer,
            402: error_response("`payment_declined`: the order stays pending."),
            **IDEMPOTENCY_RESPONSES,
            409: error_response("`already_paid`, `order_not_payable`, `order_expired`, or key in use."),
            502: error_response("`payment_provider_error`: nothing was charged.", server=True),
        },
    )
    @action(detail=True, methods=["post"])
    def pay(self, request, pk=None):
        order = self.get_object()
        serializer = PayOrderSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        payment = payment_pay(
            order.pk,
            user=request.user,
            token=serializer.validated_data["token"],
            payment_method=serializer.validated_data["payment_method"],
            idempotency_key=request.headers[HEADER],
        )
        return Response(PaymentSerializer(payment).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="The invoice of a paid order", responses={200: InvoiceSerializer})
    @action(detail=True, methods=["get"])
    def invoice(self, request, pk=None):
        order = self.get_object()
        invoice = invoice_for_order(order)
        if invoice is None:
            raise NotFound("This order has no invoice (it is not paid).")
        return Response(InvoiceSerializer(invoice).data)


class PaymentWebhookView(APIView):
    """Provider → us. Authenticated by the HMAC signature of the raw body, not by a user."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        summary="Payment provider webhook (HMAC-SHA256 of the raw body in X-Signature)",
        request={"application/json": OpenApiTypes.OBJECT},
        parameters=[
            OpenApiParameter("X-Signature", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False),
        ],
        responses={
            200: WebhookAckSerializer,
            400: error_response("`invalid_signature` or `invalid_payload`."),
            404: error_response("Unknown provider."),
        },
    )
    def post(self, request, provider: str):
        # The raw body: the signature covers the exact bytes, so DRF must not parse it.
        result = webhook_handle(provider, request.body, request.headers)
        return Response({"result": result})
