from django.urls import path
from rest_framework.routers import SimpleRouter

from orders.views import CheckoutQuoteView, OrderViewSet

router = SimpleRouter()
router.register("orders", OrderViewSet, basename="order")

urlpatterns = [path("checkout/quote/", CheckoutQuoteView.as_view(), name="checkout-quote"), *router.urls]
