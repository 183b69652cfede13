from django.urls import path
from rest_framework.routers import SimpleRouter

from orders.views import CheckoutQuoteView, OrderViewSet, ReturnViewSet

router = SimpleRouter()
router.register("orders", OrderViewSet, basename="order")
router.register("returns", ReturnViewSet, basename="return")

urlpatterns = [path("checkout/quote/", CheckoutQuoteView.as_view(), name="checkout-quote"), *router.urls]
