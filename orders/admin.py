"""Admin for staff: orders with lines and history inline; the actions call the same
services as the API (so stock, refunds, history and emails behave the same)."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.admin.helpers import ActionForm

from core.admin import ReadOnlyAdminMixin, apply_to_each
from orders.models import Order, OrderLine, OrderStatus, OrderStatusChange
from orders.services import order_cancel, order_set_status


class OrderActionForm(ActionForm):
    tracking_number = forms.CharField(required=False, max_length=100, help_text="For “mark shipped”.")


class ReadOnlyInline(ReadOnlyAdminMixin, admin.TabularInline):
    extra = 0
    can_delete = False


class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    fields = ("product", "product_name", "product_sku", "quantity", "unit_price")
    readonly_fields = fields


class OrderStatusChangeInline(ReadOnlyInline):
    model = OrderStatusChange
    fields = ("created_at", "from_status", "to_status", "changed_by", "note")
    readonly_fields = fields


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ("number", "user", "status", "total_amount", "currency", "created_at", "expires_at")
    list_filter = ("status", ("created_at", admin.DateFieldListFilter))
    search_fields = ("number", "user__email")
    date_hierarchy = "created_at"
    list_select_related = ("user",)
    inlines = [OrderLineInline, OrderStatusChangeInline]
    readonly_fields = [f.name for f in Order._meta.fields]
    action_form = OrderActionForm
    actions = ["mark_processing", "mark_shipped", "cancel_orders"]

    def has_add_permission(self, request) -> bool:
        return False  # orders are placed by checkout only

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        # An order changes only through the actions below (the services, under the order
        # row lock). Its change form is read-only: a Save would write back the copy of the
        # row read when the form loaded, undoing a payment committed in the meantime.
        if obj is not None:
            return False
        return super().has_change_permission(request)

    def _apply(self, request, queryset, label, move) -> None:
        apply_to_each(
            self,
            request,
            queryset.order_by("pk"),
            move,
            name_of=lambda order: order.number,
            done_message=f"{label}: {{count}} order(s).",
        )

    @admin.action(description="Mark selected orders as processing", permissions=["change"])
    def mark_processing(self, request, queryset):
        self._apply(
            request, queryset, "Processing", lambda o: order_set_status(o.pk, OrderStatus.PROCESSING, by=request.user)
        )

    @admin.action(description="Mark selected orders as shipped (with the tracking number)", permissions=["change"])
    def mark_shipped(self, request, queryset):
        tracking = request.POST.get("tracking_number", "").strip()
        self._apply(
            request,
            queryset,
            "Shipped",
            lambda o: order_set_status(o.pk, OrderStatus.SHIPPED, by=request.user, tracking_number=tracking),
        )

    @admin.action(description="Cancel selected orders (restock, refund if paid)", permissions=["change"])
    def cancel_orders(self, request, queryset):
        self._apply(request, queryset, "Cancelled", lambda o: order_cancel(o.pk, by=request.user, note="admin"))
