"""Admin for staff: orders with lines and history inline; the actions call the same
services as the API (so stock, refunds, history and emails behave the same).

The order page is read-only (see has_change_permission) and carries the same actions as the
list, for that one order (`order_action_view`): a status change, a cancellation, or, added by
payments' subclass, an offline payment, each through its service. Apps above orders add their
inlines to the page in their subclass of OrderAdmin (payments: the payments with refunds and
invoice); each is one entry in `inlines`, in the order of the page."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.contrib.admin.utils import unquote
from django.http import HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html_join

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
    fields = ("product", "product_name", "product_sku", "quantity", "unit_price", "line_total")
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("product")


class OrderStatusChangeInline(ReadOnlyInline):
    model = OrderStatusChange
    fields = ("created_at", "from_status", "to_status", "changed_by", "note")
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("changed_by")


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ("number", "user", "status", "total_amount", "currency", "created_at", "expires_at")
    list_filter = ("status", ("created_at", admin.DateFieldListFilter))
    search_fields = ("number", "user__email")
    date_hierarchy = "created_at"
    list_select_related = ("user",)
    # What was bought first, the status history last; subclasses insert theirs in between.
    inlines = [OrderLineInline, OrderStatusChangeInline]
    readonly_fields = [("shipping_to" if f.name == "shipping_address" else f.name) for f in Order._meta.fields]
    action_form = OrderActionForm
    # Fields of the action form that only one action reads: left off the order page when
    # the user may not run that action.
    action_fields = {"tracking_number": "mark_shipped"}
    actions = ["mark_processing", "mark_shipped", "mark_delivered", "cancel_orders"]

    @admin.display(description="shipping address")
    def shipping_to(self, order: Order):
        address = order.shipping_address or {}
        town = " ".join(part for part in (address.get("postal_code"), address.get("city")) if part)
        lines = [address.get(key) for key in ("full_name", "line1", "line2")]
        lines += [town, address.get("region"), address.get("country"), address.get("phone")]
        return format_html_join("", "{}<br>", ((line,) for line in lines if line))

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

    # --- the actions on the order's own page ---------------------------------------------

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        act = path(
            "<path:object_id>/act/", self.admin_site.admin_view(self.order_action_view), name="{}_{}_act".format(*info)
        )
        return [act, *super().get_urls()]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        choices = self.get_action_choices(request, default_choices=[])
        if choices:
            form = self.action_form(auto_id="order-action-%s")
            form.fields["action"].choices = choices
            allowed = {name for name, _ in choices}
            for field, action in self.action_fields.items():
                if action not in allowed:
                    del form.fields[field]
            extra_context = {**(extra_context or {}), "order_action_form": form}
        return super().change_view(request, object_id, form_url, extra_context)

    def order_action_view(self, request, object_id):
        """POST: run one of the list's actions (the services) on this order alone, then back
        to its page with the outcome as a message. The action's own permission applies."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        order = self.get_object(request, unquote(object_id))
        if order is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        page = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[order.pk])
        action = self.get_actions(request).get(request.POST.get("action", ""))
        if action is None:
            self.message_user(request, "Choose an action you may run.", messages.ERROR)
            return HttpResponseRedirect(page)
        func = action[0]
        response = func(self, request, self.get_queryset(request).filter(pk=order.pk))
        return response if isinstance(response, HttpResponse) else HttpResponseRedirect(page)

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

    @admin.action(description="Mark selected orders as delivered", permissions=["change"])
    def mark_delivered(self, request, queryset):
        self._apply(
            request, queryset, "Delivered", lambda o: order_set_status(o.pk, OrderStatus.DELIVERED, by=request.user)
        )

    @admin.action(description="Cancel selected orders (restock, refund if paid)", permissions=["change"])
    def cancel_orders(self, request, queryset):
        self._apply(request, queryset, "Cancelled", lambda o: order_cancel(o.pk, by=request.user, note="admin"))
