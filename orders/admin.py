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
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.http import Http404, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from core.admin import ReadOnlyAdminMixin, apply_to_each
from core.errors import DomainError
from orders.models import (
    Fulfillment,
    FulfillmentLine,
    Order,
    OrderLine,
    OrderStatus,
    OrderStatusChange,
    ReturnLine,
    ReturnRequest,
    ReturnStatus,
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
    fields = (
        "product", "product_name", "product_sku", "quantity", "unit_price", "discount_amount", "tax_rate",
        "tax_amount", "line_total",
    )  # fmt: skip
    readonly_fields = fields

    def get_queryset(self, request):
        # line_total reads the order's pricing mode (gross or net): joined, not one query a line.
        return super().get_queryset(request).select_related("product", "order")


class OrderStatusChangeInline(ReadOnlyInline):
    model = OrderStatusChange
    fields = ("created_at", "event", "from_status", "to_status", "changed_by", "note", "details")
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("changed_by")


class FulfillmentInline(ReadOnlyInline):
    model = Fulfillment
    fields = ("shipped_at", "tracking_number", "shipped_by", "shipped_lines")
    readonly_fields = fields

    def get_queryset(self, request):
        lines = Prefetch("lines", queryset=FulfillmentLine.objects.select_related("order_line"))
        return super().get_queryset(request).select_related("shipped_by").prefetch_related(lines)

    @admin.display(description="units")
    def shipped_lines(self, fulfillment: Fulfillment) -> str:
        return ", ".join(f"{fl.quantity} x {fl.order_line.product_sku}" for fl in fulfillment.lines.all())


# The form the return inline's buttons post (OrderAdmin.return_decision_view). It sits
# outside the order page's own <form> (forms do not nest); the inline's buttons and reason
# fields join it through their `form` attribute.
RETURN_DECISION_FORM_ID = "return-decisions"

# The buttons of a requested return on the order page: decision -> label.
RETURN_DECISIONS = {
    "approve_restock": "Approve and restock",
    "approve": "Approve, no restock",
    "reject": "Reject",
}


def may_decide_returns(request) -> bool:
    # Deciding a return changes the order (refund, stock, status): the order change permission.
    return request.user.has_perm("orders.change_order")


class ReturnRequestInline(ReadOnlyInline):
    """The order's returns with their units; a requested one carries the approve (with or
    without restock) and reject buttons, for staff who may decide returns."""

    model = ReturnRequest
    fields = ("link", "status", "created_at", "units", "reason", "refund_amount", "restocked", "decision")
    readonly_fields = fields

    def get_queryset(self, request):
        lines = Prefetch("lines", queryset=ReturnLine.objects.select_related("order_line"))
        return super().get_queryset(request).select_related("decided_by").prefetch_related(lines)

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        if not may_decide_returns(request):
            fields = [f for f in fields if f != "decision"]
        return fields

    @admin.display(description="return")
    def link(self, return_request: ReturnRequest) -> str:
        url = reverse("admin:orders_returnrequest_change", args=[return_request.pk])
        return format_html("<a href='{}'>{}</a>", url, str(return_request.pk)[:8])

    @admin.display(description="units")
    def units(self, return_request: ReturnRequest) -> str:
        return ", ".join(f"{rl.quantity} x {rl.order_line.product_sku}" for rl in return_request.lines.all())

    @admin.display(description="decision")
    def decision(self, return_request: ReturnRequest) -> str:
        if return_request.status != ReturnStatus.REQUESTED:
            who = return_request.decided_by.email if return_request.decided_by else "—"
            why = f": {return_request.rejection_reason}" if return_request.rejection_reason else ""
            return f"{return_request.get_status_display()} by {who}{why}"
        buttons = format_html_join(
            " ",
            "<button type='submit' class='button' form='{}' name='decide' value='{}:{}'>{}</button>",
            ((RETURN_DECISION_FORM_ID, return_request.pk, key, label) for key, label in RETURN_DECISIONS.items()),
        )
        return format_html(
            "<input type='text' form='{}' name='reason_{}' maxlength='500' placeholder='Reason, if rejecting' "
            "title='Told to the customer when the return is rejected' aria-label='Reason'> {}",
            RETURN_DECISION_FORM_ID,
            return_request.pk,
            buttons,
        )


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
    # What was bought first, the status history last; subclasses insert theirs in between.
    inlines = [OrderLineInline, FulfillmentInline, ReturnRequestInline, OrderStatusChangeInline]
    readonly_fields = [
        "ship_items",
        *(("shipping_to" if f.name == "shipping_address" else f.name) for f in Order._meta.fields),
    ]
    # The snapshot is shown as an address (`shipping_to`), not as its JSON too.
    exclude = ["shipping_address"]
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
        ship = path("<uuid:order_id>/ship/", self.admin_site.admin_view(self.ship_view), name="orders_order_ship")
        decide = path(
            "<uuid:order_id>/returns/decide/",
            self.admin_site.admin_view(self.return_decision_view),
            name="orders_order_return_decide",
        )
        return [act, ship, decide, *super().get_urls()]

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
        if may_decide_returns(request):
            extra_context = {**(extra_context or {}), "return_decision_form_id": RETURN_DECISION_FORM_ID}
        return super().change_view(request, object_id, form_url, extra_context)

    def return_decision_view(self, request, order_id):
        """POST from a button of the returns inline (`decide` = "<return id>:<decision>",
        `reason_<return id>`): approve (with or without restock) or reject that return of
        this order through the services, then back to the order's page with the outcome."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not may_decide_returns(request):
            raise PermissionDenied
        order = Order.objects.filter(pk=order_id).first()
        if order is None:
            raise Http404
        page = reverse("admin:orders_order_change", args=[order.pk])
        return_id, _, decision = request.POST.get("decide", "").partition(":")
        return_request = None
        if decision in RETURN_DECISIONS:
            try:
                return_request = order.returns.filter(pk=return_id).first()
            except ValidationError:  # not a UUID
                return_request = None
        if return_request is None:
            self.message_user(request, "Choose a return of this order and a decision.", messages.ERROR)
            return HttpResponseRedirect(page)
        name = f"Return {str(return_request.pk)[:8]}"
        try:
            if decision == "reject":
                reason = request.POST.get(f"reason_{return_request.pk}", "").strip()
                return_reject(return_request.pk, by=request.user, reason=reason)
                self.message_user(request, f"{name} rejected.", messages.SUCCESS)
            else:
                done = return_approve(return_request.pk, by=request.user, restock=decision == "approve_restock")
                restocked = " and restocked" if done.restocked else ""
                self.message_user(
                    request,
                    f"{name} approved{restocked}: refunded {done.refund_amount} {order.currency}.",
                    messages.SUCCESS,
                )
        except DomainError as exc:
            self.message_user(request, f"{name}: {exc.detail}", messages.ERROR)
        return HttpResponseRedirect(page)

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

    # --- shipping chosen quantities (a page of its own calling order_fulfill) ---

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

    @admin.action(description="Mark selected orders as delivered", permissions=["change"])
    def mark_delivered(self, request, queryset):
        self._apply(
            request, queryset, "Delivered", lambda o: order_set_status(o.pk, OrderStatus.DELIVERED, by=request.user)
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
