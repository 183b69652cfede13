from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from ecommerce.api.openapi import error_response
from payments.serializers import WebhookAckSerializer
from payments.services import webhook_handle


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
