"""Admin of vouchers (with their redemptions, read-only) and promotions (with whether they
run now). Saves go through promotions.services: the catalog's promoted prices are
recomputed and the boundaries scheduled exactly as from the API."""

from __future__ import annotations

from django.contrib import admin

from core.admin import ReadOnlyAdminMixin
from promotions import services
from promotions.models import Promotion, Voucher, VoucherRedemption


class VoucherRedemptionInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = VoucherRedemption
    extra = 0
    can_delete = False
    fields = ("created_at", "order_id", "user", "amount", "released_at")
    readonly_fields = fields


class _ScopeAdmin(admin.ModelAdmin):
    autocomplete_fields = ["products", "categories", "brands"]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        self.after_related_saved(form.instance)

    def after_related_saved(self, obj) -> None:
        pass


@admin.register(Voucher)
class VoucherAdmin(_ScopeAdmin):
    list_display = ("code", "kind", "value", "used_count", "usage_limit", "starts_at", "ends_at", "is_active")
    list_filter = ("kind", "is_active")
    search_fields = ("code", "name")
    readonly_fields = ("used_count", "created_at", "updated_at")
    inlines = [VoucherRedemptionInline]

    def save_model(self, request, obj, form, change):
        services.voucher_save(
            obj, fields=[f for f in form.changed_data if f not in services.SCOPE_FIELDS] if change else None
        )

    def delete_model(self, request, obj):
        services.voucher_delete(obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        # A voucher orders used is kept for the books (deactivate it).
        if obj is not None and obj.redemptions.exists():
            return False
        return super().has_delete_permission(request, obj)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # bulk deletes would skip the service's check
        return actions


@admin.register(Promotion)
class PromotionAdmin(_ScopeAdmin):
    list_display = ("name", "kind", "value", "starts_at", "ends_at", "is_active", "running")
    list_filter = ("kind", "is_active")
    search_fields = ("name",)
    readonly_fields = ("running", "created_at", "updated_at")

    @admin.display(boolean=True, description="running now")
    def running(self, promotion: Promotion) -> bool:
        return promotion.is_running()

    def save_model(self, request, obj, form, change):
        # The scope is saved after the row (save_related): prices are applied then.
        super().save_model(request, obj, form, change)

    def after_related_saved(self, obj) -> None:
        services.promotion_save(obj, fields=[])

    def delete_model(self, request, obj):
        services.promotion_delete(obj)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # each delete re-prices through the service
        return actions
