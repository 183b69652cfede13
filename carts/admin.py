"""Read-only admin of customers' carts: what is in them and which were abandoned (filter by
`updated_at`). Carts change only through the API's services; the purge job deletes stale ones."""

from django.contrib import admin
from django.db.models import Count, Sum

from carts.models import Cart, CartItem
from core.admin import ReadOnlyAdminMixin


class CartItemInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = CartItem
    fields = ["product", "quantity", "added_at", "updated_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("product")


@admin.register(Cart)
class CartAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["user", "line_count", "unit_count", "created_at", "updated_at"]
    list_filter = ["updated_at", "created_at"]
    search_fields = ["user__email"]
    date_hierarchy = "updated_at"
    ordering = ["-updated_at"]
    list_select_related = ["user"]
    fields = ["user", "created_at", "updated_at"]
    readonly_fields = fields
    inlines = [CartItemInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_lines=Count("items"), _units=Sum("items__quantity"))

    @admin.display(description="lines", ordering="_lines")
    def line_count(self, obj):
        return obj._lines

    @admin.display(description="units", ordering="_units")
    def unit_count(self, obj):
        return obj._units or 0
