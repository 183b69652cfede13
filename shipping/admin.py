"""Admin of shipping zones, methods and tax rates; saves go through shipping.services so the
pricing config is invalidated the same way as from the API."""

from __future__ import annotations

from django.contrib import admin

from shipping import services
from shipping.models import ShippingMethod, ShippingZone, TaxRate


class ShippingMethodInline(admin.TabularInline):
    model = ShippingMethod
    extra = 0
    fields = ("name", "kind", "price", "bands", "free_over", "min_days", "max_days", "tax_class")


@admin.register(ShippingZone)
class ShippingZoneAdmin(admin.ModelAdmin):
    list_display = ("name", "country_list", "method_count", "updated_at")
    search_fields = ("name",)
    inlines = [ShippingMethodInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("methods")

    @admin.display(description="countries")
    def country_list(self, zone: ShippingZone) -> str:
        return ", ".join(str(c) for c in zone.countries)

    @admin.display(description="methods")
    def method_count(self, zone: ShippingZone) -> int:
        return len(zone.methods.all())

    def save_model(self, request, obj, form, change):
        services.shipping_zone_save(obj, fields=form.changed_data if change else None)

    def save_formset(self, request, form, formset, change):
        super().save_formset(request, form, formset, change)
        services.shipping_changed()

    def delete_model(self, request, obj):
        services.shipping_zone_delete(obj)

    def delete_queryset(self, request, queryset):
        for zone in queryset:
            services.shipping_zone_delete(zone)


@admin.register(TaxRate)
class TaxRateAdmin(admin.ModelAdmin):
    list_display = ("country", "region", "tax_class", "rate", "updated_at")
    list_filter = ("tax_class", "country")
    search_fields = ("country", "region", "tax_class")

    def save_model(self, request, obj, form, change):
        services.tax_rate_save(obj, fields=form.changed_data if change else None)

    def delete_model(self, request, obj):
        services.tax_rate_delete(obj)

    def delete_queryset(self, request, queryset):
        for rate in queryset:
            services.tax_rate_delete(rate)
