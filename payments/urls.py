from django.urls import path
from rest_framework.routers import SimpleRouter

from payments.views import OrderCreditNotePDFView, OrderInvoicePDFView, OrderPaymentViewSet, PaymentWebhookView

# Payment actions live on the order's URL (orders/{id}/pay/, invoice/, invoice.pdf, credit-notes/…), next to
# the routes orders registers under the same prefix; orders itself knows nothing of them.
order_router = SimpleRouter()
order_router.register("orders", OrderPaymentViewSet, basename="order")

urlpatterns = [
    path("payments/webhook/<slug:provider>/", PaymentWebhookView.as_view(), name="payment-webhook"),
    # A document's own path, without the trailing slash: the `.pdf` ends the URL.
    path("orders/<uuid:pk>/invoice.pdf", OrderInvoicePDFView.as_view(), name="order-invoice-pdf"),
    path(
        "orders/<uuid:pk>/credit-notes/<uuid:credit_note_id>.pdf",
        OrderCreditNotePDFView.as_view(),
        name="order-credit-note-pdf",
    ),
    *order_router.urls,
]
