"""Admin for staff: orders with lines and history inline; the actions call the same
services as the API (so stock, refunds, history and emails behave the same)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.html import format_html

from core.admin import ReadOnlyAdminMixin, apply_to_each
from core.errors import DomainError
from orders.models import (
    Fulfillment,
    Order,
    OrderLine,
    OrderStatus,
    OrderStatusChange,
    ReturnLine,
    ReturnRequest,
)
from orders.selectors import shipped_quantities
from orders.services import (
    order_cancel,
    order_fulfill,
    order_set_status,
    return_approve,
    return_reject,
)


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
    fields = ("created_at", "event", "from_status", "to_status", "changed_by", "note", "details")
    readonly_fields = fields


class FulfillmentInline(ReadOnlyInline):
    model = Fulfillment
    fields = ("shipped_at", "tracking_number", "shipped_by", "shipped_lines")
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("shipped_by").prefetch_related("lines__order_line")

    @admin.display(description="units")
    def shipped_lines(self, fulfillment: Fulfillment) -> str:
        return ", ".join(f"{fl.quantity} x {fl.order_line.product_sku}" for fl in fulfillment.lines.all())


class ReturnRequestInline(ReadOnlyInline):
    model = ReturnRequest
    fields = ("link", "status", "created_at", "refund_amount", "restocked", "reason")
    readonly_fields = fields

    @admin.display(description="return")
    def link(self, return_request: ReturnRequest) -> str:
        url = reverse("admin:orders_returnrequest_change", args=[return_request.pk])
        return format_html("<a href='{}'>{}</a>", url, str(return_request.pk)[:8])


class ShipItemsForm(forms.Form):
    """One quantity field per line with units left to ship (0 = not in this parcel)."""

    tracking_number = forms.CharField(required=False, max_length=100)

    def __init__(self, *args, remaining: dict, **kwargs):
        super().__init__(*args, **kwargs)
        self.remaining = remaining
        for line, left in remaining.items():
            self.fields[f"line_{line.pk}"] = forms.IntegerField(
                label=f"{line.product_name} ({line.product_sku}) — {left} of {line.quantity} left",
                min_value=0,
                max_value=left,
                initial=left,
            )

    def chosen_lines(self) -> list[tuple[int, int]]:
        return [
            (line.pk, self.cleaned_data[f"line_{line.pk}"])
            for line in self.remaining
            if self.cleaned_data.get(f"line_{line.pk}")
        ]


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ("number", "user", "status", "total_amount", "currency", "created_at", "expires_at")
    list_filter = ("status", ("created_at", admin.DateFieldListFilter))
    search_fields = ("number", "user__email")
    date_hierarchy = "created_at"
    list_select_related = ("user",)
    inlines = [OrderLineInline, FulfillmentInline, ReturnRequestInline, OrderStatusChangeInline]
    readonly_fields = ["ship_items", *(f.name for f in Order._meta.fields)]
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

    # --- shipping chosen quantities (a page of its own calling order_fulfill) ---

    def get_urls(self):
        ship = path("<uuid:order_id>/ship/", self.admin_site.admin_view(self.ship_view), name="orders_order_ship")
        return [ship, *super().get_urls()]

    @admin.display(description="shipments")
    def ship_items(self, order: Order) -> str:
        if order.status not in (OrderStatus.PROCESSING, OrderStatus.PARTIALLY_SHIPPED):
            return "—"
        return format_html(
            "<a class='button' href='{}'>Ship items…</a>", reverse("admin:orders_order_ship", args=[order.pk])
        )

    def ship_view(self, request, order_id):
        # Shipping is a change of the order: the same permission as the status actions.
        if not super().has_change_permission(request):
            raise PermissionDenied
        order = Order.objects.filter(pk=order_id).first()
        if order is None:
            raise Http404
        shipped = shipped_quantities(order)
        remaining = {
            line: line.quantity - shipped.get(line.pk, 0)
            for line in order.lines.all()
            if line.quantity - shipped.get(line.pk, 0) > 0
        }
        form = ShipItemsForm(request.POST or None, remaining=remaining)
        if request.method == "POST" and form.is_valid():
            chosen = form.chosen_lines()
            if not chosen:
                form.add_error(None, "Choose at least one unit to ship.")
            else:
                try:
                    order_fulfill(
                        order.pk, lines=chosen, tracking_number=form.cleaned_data["tracking_number"], by=request.user
                    )
                except DomainError as exc:
                    form.add_error(None, exc.detail)
                else:
                    self.message_user(request, f"Shipment recorded for order {order.number}.", messages.SUCCESS)
                    return HttpResponseRedirect(reverse("admin:orders_order_change", args=[order.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Ship items of order {order.number}",
            "order": order,
            "form": form,
            "opts": self.model._meta,
        }
        return render(request, "admin/orders/order/ship.html", context)

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


class ReturnLineInline(ReadOnlyInline):
    model = ReturnLine
    fields = ("order_line", "quantity", "refund_amount", "tax_amount")
    readonly_fields = fields


class ReturnActionForm(ActionForm):
    reason = forms.CharField(required=False, max_length=500, help_text="For “reject”: told to the customer.")


@admin.register(ReturnRequest)
class ReturnRequestAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Returns change only through the approve / reject actions (the services: refund,
    credit note, restock, history), so the rows themselves are read-only."""

    list_display = ("created_at", "order", "status", "refund_amount", "restocked", "decided_by", "decided_at")
    list_filter = ("status", "restocked")
    search_fields = ("order__number", "order__user__email")
    list_select_related = ("order", "decided_by")
    inlines = [ReturnLineInline]
    readonly_fields = [f.name for f in ReturnRequest._meta.fields]
    action_form = ReturnActionForm
    actions = ["approve_and_restock", "approve_without_restock", "reject_returns"]

    def has_decide_permission(self, request) -> bool:
        return request.user.has_perm("orders.change_order")

    def _apply(self, request, queryset, label, act) -> None:
        apply_to_each(
            self,
            request,
            queryset.order_by("pk"),
            act,
            name_of=lambda r: f"return {str(r.pk)[:8]} of {r.order.number}",
            done_message=f"{label}: {{count}} return(s).",
        )

    @admin.action(description="Approve: refund and put the units back in stock", permissions=["decide"])
    def approve_and_restock(self, request, queryset):
        self._apply(request, queryset, "Approved", lambda r: return_approve(r.pk, by=request.user, restock=True))

    @admin.action(description="Approve: refund without restocking", permissions=["decide"])
    def approve_without_restock(self, request, queryset):
        self._apply(request, queryset, "Approved", lambda r: return_approve(r.pk, by=request.user, restock=False))

    @admin.action(description="Reject (with the reason)", permissions=["decide"])
    def reject_returns(self, request, queryset):
        reason = request.POST.get("reason", "").strip()
        self._apply(request, queryset, "Rejected", lambda r: return_reject(r.pk, by=request.user, reason=reason))
