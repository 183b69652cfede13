from rest_framework.routers import SimpleRouter

from orders.views import OrderViewSet, ReturnViewSet

router = SimpleRouter()
router.register("orders", OrderViewSet, basename="order")
router.register("returns", ReturnViewSet, basename="return")

urlpatterns = router.urls
