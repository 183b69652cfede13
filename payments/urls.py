from django.urls import path
from rest_framework.routers import SimpleRouter

from payments.views import OrderPaymentViewSet, PaymentWebhookView

# Payment actions live on the order's URL (orders/{id}/pay/, orders/{id}/invoice/), next to
# the routes orders registers under the same prefix; orders itself knows nothing of them.
order_router = SimpleRouter()
order_router.register("orders", OrderPaymentViewSet, basename="order")

urlpatterns = [
    path("payments/webhook/<slug:provider>/", PaymentWebhookView.as_view(), name="payment-webhook"),
    *order_router.urls,
]
