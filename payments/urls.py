from django.urls import path

from payments.views import PaymentWebhookView

urlpatterns = [
    path("payments/webhook/<slug:provider>/", PaymentWebhookView.as_view(), name="payment-webhook"),
]
