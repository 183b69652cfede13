from __future__ import annotations

from django.utils.cache import patch_vary_headers
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import AllowAny
from rest_framework.renderers import BrowsableAPIRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import NotFound
from core.ratelimit import user_or_ip
from ecommerce.api.idempotency import HEADER, IdempotencyRequiredMixin
from ecommerce.api.openapi import IDEMPOTENCY_RESPONSES, JSONErrorsAutoSchema, error_response, idempotency_header
from ecommerce.api.permissions import IsCustomer
from ecommerce.api.renderers import JSONRenderer, PDFErrorsAsJSONMixin, PDFRenderer
from ecommerce.api.throttling import GlobalRateThrottle, RateLimitThrottle
from orders.models import Order
from orders.selectors import order_list_for, orders_owned_by
from payments.documents import credit_note_pdf_filename, credit_note_pdf_of, invoice_pdf, invoice_pdf_filename
from payments.models import CreditNote, Invoice
from payments.selectors import credit_note_of_order, credit_notes_for_order, invoice_for_order
from payments.serializers import (
    CreditNoteSerializer,
    InvoiceSerializer,
    PaymentSerializer,
    PayOrderSerializer,
    WebhookAckSerializer,
)
from payments.services import payment_pay, webhook_handle

# RATELIMIT_ORDERS (20/min per user), counted apart from order placement (orders.views):
# a customer retrying a declined card should not lose the right to place an order.
PayOrderThrottle = RateLimitThrottle.for_("orders-pay", "RATELIMIT_ORDERS", user_or_ip)
# RATELIMIT_DOCUMENTS (30/min per user): every PDF answer is a render (tens of milliseconds
# of CPU), so they are counted apart from the JSON reads.
DocumentThrottle = RateLimitThrottle.for_("documents", "RATELIMIT_DOCUMENTS", user_or_ip)

INVOICE_PDF_RESPONSE = OpenApiResponse(
    OpenApiTypes.BINARY,
    description='The invoice as a PDF document (`Content-Disposition: inline; filename="INV-….pdf"`), '
    "with the same number, lines and totals as the JSON.",
)


CREDIT_NOTE_PDF_RESPONSE = OpenApiResponse(
    OpenApiTypes.BINARY,
    description='The credit note as a PDF document (`Content-Disposition: inline; filename="CN-….pdf"`), '
    "with the same number, lines and totals as the JSON.",
)
CREDIT_NOTE_ID = OpenApiParameter(
    "credit_note_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The credit note's `id`."
)
UUID_PATTERN = "[0-9a-fA-F-]{36}"


def _invoice_of(order: Order) -> Invoice:
    invoice = invoice_for_order(order)
    if invoice is None:
        raise NotFound("This order has no invoice (it is not paid).")
    return invoice


def _pdf_response(invoice: Invoice) -> Response:
    return Response(
        invoice_pdf(invoice),
        content_type=PDFRenderer.media_type,
        headers={"Content-Disposition": f'inline; filename="{invoice_pdf_filename(invoice)}"'},
    )


def _credit_note_of(order: Order, credit_note_id) -> CreditNote:
    note = credit_note_of_order(order, credit_note_id)
    if note is None:
        raise NotFound("This order has no such credit note.")
    return note


def _credit_note_pdf_response(note: CreditNote) -> Response:
    return Response(
        credit_note_pdf_of(note),
        content_type=PDFRenderer.media_type,
        headers={"Content-Disposition": f'inline; filename="{credit_note_pdf_filename(note)}"'},
    )


def _scoped_orders(request):
    # Orders the caller may read: their own, every order for staff (others' are 404). The
    # invoice views read what they render themselves, so nothing is prefetched.
    return order_list_for(request.user).prefetch_related(None)


# The payment actions of an order, mounted under the orders prefix beside orders' own
# routes (payments/urls.py), tagged and scoped like them. The docstring is the operations'
# description in the OpenAPI schema, so it speaks to clients.
@extend_schema(tags=["orders"])
class OrderPaymentViewSet(PDFErrorsAsJSONMixin, IdempotencyRequiredMixin, viewsets.GenericViewSet):
    """Paying an order and reading its invoice. Only the customer who placed an order pays
    it (anyone else, staff included, gets 404); the owner and staff read its invoice."""

    permission_classes = [IsCustomer]
    schema = JSONErrorsAutoSchema()
    idempotency_required_actions = frozenset({"pay"})
    lookup_value_regex = UUID_PATTERN

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Order.objects.none()
        # Scoped to the caller: another customer's order is 404, never 403. Paying is the
        # owner's action, staff included (they record offline payments in the admin);
        # reading the invoice is open to staff. The actions read what they render
        # themselves, so the order's relations are not prefetched.
        if self.action == "pay":
            return orders_owned_by(self.request.user)
        return _scoped_orders(self.request)

    def get_throttles(self):
        throttles = super().get_throttles()
        if self.action == "pay":
            throttles.append(PayOrderThrottle())
        if isinstance(getattr(self.request, "accepted_renderer", None), PDFRenderer):
            throttles.append(DocumentThrottle())
        return throttles

    @extend_schema(
        summary="Pay an order (the amount is the order's total)",
        description="The customer who placed the order pays it; for anyone else, staff included, the order "
        "answers 404 (staff record money received outside the shop in the admin).",
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

    @extend_schema(
        summary="The invoice of a paid order, as JSON or PDF (owner or staff)",
        description="JSON by default; `Accept: application/pdf` (or `?format=pdf`, or the path "
        "`orders/{id}/invoice.pdf`) answers the invoice as a PDF with the same numbers. A refunded "
        "order's invoice says so: `refunded`, `refunded_amount` and `refunded_at` (the latest "
        "refund); each refund also has a credit note (`credit-notes/`). Errors are JSON whatever was asked for.",
        responses={(200, "application/json"): InvoiceSerializer, (200, "application/pdf"): INVOICE_PDF_RESPONSE},
    )
    @action(detail=True, methods=["get"], renderer_classes=[JSONRenderer, BrowsableAPIRenderer, PDFRenderer])
    def invoice(self, request, pk=None):
        invoice = _invoice_of(self.get_object())
        if isinstance(request.accepted_renderer, PDFRenderer):
            response = _pdf_response(invoice)
        else:
            response = Response(InvoiceSerializer(invoice).data)
        patch_vary_headers(response, ["Accept"])  # one URL, two representations
        return response

    @extend_schema(
        summary="The credit notes of an order (owner or staff), one per refund, oldest first",
        description="Numbered gap-free per year (`CN-2026-000001`); each lists what it credits (lines with "
        "quantities and amounts), its tax and total, and the invoice it corrects.",
        responses={200: CreditNoteSerializer(many=True)},
    )
    @action(detail=True, methods=["get"], url_path="credit-notes", url_name="credit-notes")
    def credit_notes(self, request, pk=None):
        order = self.get_object()
        # A plain list, not a page: an order has a handful of refunds at most (each needs a
        # return or the cancellation).
        return Response(CreditNoteSerializer(credit_notes_for_order(order), many=True).data)

    @extend_schema(
        summary="One credit note of an order, as JSON or PDF (owner or staff)",
        description="JSON by default; `Accept: application/pdf` (or `?format=pdf`, or the path "
        "`orders/{id}/credit-notes/{credit_note_id}.pdf`) answers the credit note as a PDF with the same "
        "number, lines and totals. Another customer's order, or a note of another order, is 404. Errors are "
        "JSON whatever was asked for.",
        parameters=[CREDIT_NOTE_ID],
        responses={
            (200, "application/json"): CreditNoteSerializer,
            (200, "application/pdf"): CREDIT_NOTE_PDF_RESPONSE,
        },
    )
    @action(
        detail=True,
        methods=["get"],
        url_path=f"credit-notes/(?P<credit_note_id>{UUID_PATTERN})",
        url_name="credit-note",
        renderer_classes=[JSONRenderer, BrowsableAPIRenderer, PDFRenderer],
    )
    def credit_note(self, request, pk=None, credit_note_id=None):
        note = _credit_note_of(self.get_object(), credit_note_id)
        if isinstance(request.accepted_renderer, PDFRenderer):
            response = _credit_note_pdf_response(note)
        else:
            response = Response(CreditNoteSerializer(note).data)
        patch_vary_headers(response, ["Accept"])  # one URL, two representations
        return response


class OrderDocumentPDFView(PDFErrorsAsJSONMixin, GenericAPIView):
    """A document of an order as a PDF (errors as JSON); the owner and staff read it
    (another customer's order answers 404)."""

    permission_classes = [IsCustomer]
    renderer_classes = [PDFRenderer]
    schema = JSONErrorsAutoSchema()
    throttle_classes = [GlobalRateThrottle, DocumentThrottle]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Order.objects.none()
        return _scoped_orders(self.request)


@extend_schema(tags=["orders"])
class OrderInvoicePDFView(OrderDocumentPDFView):
    """The invoice of a paid order as a PDF document; the owner and staff read it (another
    customer's order answers 404)."""

    @extend_schema(
        operation_id="orders_invoice_pdf_retrieve",
        summary="The invoice of a paid order as a PDF (owner or staff)",
        description="The same document as `orders/{id}/invoice/` with `Accept: application/pdf`. Errors are JSON.",
        responses={(200, "application/pdf"): INVOICE_PDF_RESPONSE},
    )
    def get(self, request, pk=None):
        return _pdf_response(_invoice_of(self.get_object()))


@extend_schema(tags=["orders"])
class OrderCreditNotePDFView(OrderDocumentPDFView):
    """One credit note of an order as a PDF document; the owner and staff read it (another
    customer's order answers 404)."""

    @extend_schema(
        operation_id="orders_credit_note_pdf_retrieve",
        summary="One credit note of an order as a PDF (owner or staff)",
        description="The same document as `orders/{id}/credit-notes/{credit_note_id}/` with "
        "`Accept: application/pdf`. Errors are JSON.",
        parameters=[CREDIT_NOTE_ID],
        responses={(200, "application/pdf"): CREDIT_NOTE_PDF_RESPONSE},
    )
    def get(self, request, pk=None, credit_note_id=None):
        return _credit_note_pdf_response(_credit_note_of(self.get_object(), credit_note_id))


WEBHOOK_DESCRIPTION = """Called by the payment provider, not by clients; authenticated by a signature,
not by a user.

**Signature.** `X-Signature-Timestamp` is the Unix time (seconds) of signing and
`X-Signature` is `hex(HMAC-SHA256(PAYMENT_WEBHOOK_SECRET, "{timestamp}." + raw body))`
(optionally prefixed `sha256=`). A missing or wrong signature, or a timestamp more than
`PAYMENT_WEBHOOK_TOLERANCE` seconds (default 300) from now, is 400 `invalid_signature`;
with no secret configured every delivery is refused.

**Events.** `{"id", "type", "data"}`; each event id is applied once (a redelivery answers
`{"result": "duplicate"}`). `payment.succeeded` and `payment.failed` name the charge by
`data.transaction_id` (the provider's id); `payment.succeeded` must also carry the
payment's `data.amount` and `data.currency`. Only a payment still `processing` becomes
`succeeded` (a declined payment stays failed: `ignored_not_processing`). An event without
a transaction id, or with another amount or currency, is stored but nothing is applied:
400 `webhook_mismatch`."""


class PaymentWebhookView(APIView):
    """Provider → us. Authenticated by the HMAC signature of the timestamp and raw body,
    not by a user."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        summary="Payment provider webhook (HMAC-SHA256 of the timestamp and raw body in X-Signature)",
        description=WEBHOOK_DESCRIPTION,
        request={"application/json": OpenApiTypes.OBJECT},
        parameters=[
            OpenApiParameter(
                "X-Signature",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                required=True,
                description='hex(HMAC-SHA256(secret, "{X-Signature-Timestamp}." + raw body)), optionally `sha256=`…',
            ),
            OpenApiParameter(
                "X-Signature-Timestamp",
                OpenApiTypes.INT,
                OpenApiParameter.HEADER,
                required=True,
                description="Unix time of signing, in seconds; at most PAYMENT_WEBHOOK_TOLERANCE (300 s) from now.",
            ),
        ],
        responses={
            200: WebhookAckSerializer,
            400: error_response(
                "`invalid_signature` (missing or wrong signature, timestamp outside the tolerance), "
                "`invalid_payload`, or `webhook_mismatch` (no transaction id, or another amount or currency: "
                "the event is stored, nothing is applied)."
            ),
            404: error_response("Unknown provider."),
            502: error_response("Refunding a payment for an order no longer payable failed; retry.", server=True),
        },
    )
    def post(self, request, provider: str):
        # The raw body: the signature covers the exact bytes, so DRF must not parse it.
        result = webhook_handle(provider, request.body, request.headers)
        return Response({"result": result})
