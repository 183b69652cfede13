from django.urls import path
from rest_framework.routers import SimpleRouter

from catalog import views

router = SimpleRouter()
router.register("categories", views.CategoryViewSet, basename="category")
router.register("brands", views.BrandViewSet, basename="brand")
router.register("products", views.ProductViewSet, basename="product")
router.register("product-types", views.ProductTypeViewSet, basename="product-type")

reviews = views.ProductReviewViewSet.as_view({"get": "list", "post": "create"})

urlpatterns = [
    path("products/<uuid:product_pk>/reviews/", reviews, name="product-reviews"),
    *router.urls,
]
