"""Django admin for staff. Every save, delete and bulk action goes through catalog.services,
so the same validation runs and cached catalog responses are invalidated."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpResponse

from catalog import services
from catalog.models import Brand, Category, Product, Review
from core.errors import DomainError

EXPORT_FIELDS = ["sku", "slug", "name", "price", "stock_quantity", "is_active", "category", "brand", "attributes"]


class InStockFilter(admin.SimpleListFilter):
    title = "stock"
    parameter_name = "in_stock"

    def lookups(self, request, model_admin):
        return [("yes", "In stock"), ("no", "Out of stock")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(stock_quantity__gt=0)
        if self.value() == "no":
            return queryset.filter(stock_quantity=0)
        return queryset


class ServiceAdminMixin:
    """Route saves/deletes through services and show domain errors as admin messages."""

    save_service = None
    delete_service = None

    def save_model(self, request, obj, form, change):
        type(self).save_service(obj)

    def delete_model(self, request, obj):
        try:
            type(self).delete_service(obj)
        except DomainError as exc:
            self.message_user(request, exc.detail, level=messages.ERROR)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


@admin.register(Category)
class CategoryAdmin(ServiceAdminMixin, admin.ModelAdmin):
    save_service = services.category_save
    delete_service = services.category_delete
    list_display = ["indented_name", "slug", "depth", "sort_order"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["parent"]
    ordering = ["path"]

    @admin.display(description="name", ordering="path")
    def indented_name(self, obj: Category) -> str:
        return f"{'— ' * obj.depth}{obj.name}"

    def save_model(self, request, obj, form, change):
        try:
            services.category_save(obj)
        except DomainError as exc:
            self.message_user(request, exc.detail, level=messages.ERROR)


@admin.register(Brand)
class BrandAdmin(ServiceAdminMixin, admin.ModelAdmin):
    save_service = services.brand_save
    delete_service = services.brand_delete
    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


class ReviewInline(admin.TabularInline):
    model = Review
    extra = 0
    fields = ["user", "rating", "title", "verified_purchase", "is_approved", "created_at"]
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Product)
class ProductAdmin(ServiceAdminMixin, admin.ModelAdmin):
    save_service = services.product_save
    delete_service = services.product_delete
    list_display = ["name", "sku", "category", "brand", "price", "stock_quantity", "is_active", "updated_at"]
    list_editable = ["stock_quantity"]
    list_filter = ["is_active", InStockFilter, "brand", "category"]
    list_select_related = ["category", "brand"]
    search_fields = ["name", "=sku"]
    autocomplete_fields = ["category", "brand"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["rating_avg", "review_count", "created_at", "updated_at"]
    inlines = [ReviewInline]
    actions = ["activate", "deactivate", "export_csv"]
    show_full_result_count = False  # no COUNT(*) over a million rows per page view
    list_per_page = 50

    @admin.action(description="Activate selected products")
    def activate(self, request, queryset: QuerySet[Product]):
        n = services.product_set_active(queryset.values_list("pk", flat=True), True)
        self.message_user(request, f"{n} product(s) activated.")

    @admin.action(description="Deactivate selected products")
    def deactivate(self, request, queryset: QuerySet[Product]):
        n = services.product_set_active(queryset.values_list("pk", flat=True), False)
        self.message_user(request, f"{n} product(s) deactivated.")

    @admin.action(description="Export selected products as CSV")
    def export_csv(self, request, queryset: QuerySet[Product]):
        from catalog.csv_io import write_products

        response = HttpResponse(content_type="text/csv")
        response["Content-Disposition"] = 'attachment; filename="products.csv"'
        write_products(response, queryset.select_related("category", "brand"))
        return response


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin):
    list_display = ["product", "user", "rating", "verified_purchase", "is_approved", "created_at"]
    list_filter = ["is_approved", "verified_purchase", "rating"]
    list_select_related = ["product", "user"]
    search_fields = ["product__name", "product__sku", "user__email", "title"]
    raw_id_fields = ["product", "user"]
    readonly_fields = ["verified_purchase", "created_at"]
    actions = ["approve", "reject"]

    def save_model(self, request, obj, form, change):
        obj.save()
        services.product_rating_refresh(obj.product)

    def delete_model(self, request, obj):
        services.review_delete(obj)

    def delete_queryset(self, request, queryset):
        for review in queryset.select_related("product"):
            services.review_delete(review)

    @admin.action(description="Approve selected reviews")
    def approve(self, request, queryset):
        for review in queryset.select_related("product"):
            services.review_moderate(review, approved=True)

    @admin.action(description="Reject (hide) selected reviews")
    def reject(self, request, queryset):
        for review in queryset.select_related("product"):
            services.review_moderate(review, approved=False)
