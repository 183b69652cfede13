from rest_framework.routers import SimpleRouter

from promotions import views

router = SimpleRouter()
router.register("vouchers", views.VoucherViewSet, basename="voucher")
router.register("promotions", views.PromotionViewSet, basename="promotion")

urlpatterns = router.urls
