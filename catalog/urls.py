from django.urls import path
from rest_framework.routers import SimpleRouter

from catalog import views

router = SimpleRouter()
router.register("categories", views.CategoryViewSet, basename="category")
router.register("brands", views.BrandViewSet, basename="brand")
router.register("products", views.ProductViewSet, basename="product")
router.register("product-types", views.ProductTypeViewSet, basename="product-type")

reviews = views.ProductReviewViewSet.as_view({"get": "list", "post": "create"})
review = views.ProductReviewDetailViewSet.as_view({"patch": "partial_update", "delete": "destroy"})
images = views.ProductImageViewSet.as_view({"post": "create"})
image = views.ProductImageViewSet.as_view({"patch": "partial_update", "delete": "destroy"})

urlpatterns = [
    path("products/<uuid:product_pk>/reviews/", reviews, name="product-reviews"),
    path("products/<uuid:product_pk>/reviews/<uuid:pk>/", review, name="product-review"),
    path("products/<uuid:product_pk>/images/", images, name="product-images"),
    path("products/<uuid:product_pk>/images/<uuid:pk>/", image, name="product-image"),
    *router.urls,
]
