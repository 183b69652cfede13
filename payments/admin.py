"""Money records are read-only in the admin: they change only through the services.

Payments also adds "Record offline payment" to the order admin: orders sits below payments
and cannot call its services, so the order admin is extended here (payments → orders is
the allowed direction) rather than reaching up through a hook."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.urls import path, reverse
from django.utils.html import format_html

from core.admin import ReadOnlyAdminMixin
from core.documents import PDF_MEDIA_TYPE
from orders.admin import (
    FulfillmentInline,
    OrderActionForm,
    OrderLineInline,
    OrderStatusChangeInline,
    ReadOnlyInline,
    ReturnRequestInline,
)
from orders.admin import OrderAdmin as BaseOrderAdmin
from orders.models import Order
from payments.documents import credit_note_pdf_filename, credit_note_pdf_of, invoice_pdf, invoice_pdf_filename
from payments.models import CreditNote, CreditNoteLine, Invoice, Payment, Refund, WebhookEvent
from payments.selectors import credit_note_of_order, invoice_for_order
from payments.services import payment_record_offline


class OrderPaymentActionForm(OrderActionForm):
    transaction_id = forms.CharField(
        required=False,
        max_length=128,
        help_text="For “record offline payment”: the bank transfer or receipt reference (blank: generated).",
    )


class PaymentInline(ReadOnlyInline):
    """The order's payment attempts, each with its refund and invoice (prefetched: a fixed
    number of queries however many attempts)."""

    model = Payment
    fields = (
        "created_at", "provider", "payment_method", "transaction_id", "amount", "currency", "status",
        "failure_code", "refund", "invoice",
    )  # fmt: skip
    readonly_fields = fields
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("refunds", "invoices")

    @admin.display(description="refund")
    def refund(self, payment: Payment) -> str:
        return ", ".join(f"{r.amount} {r.currency} {r.get_status_display()}" for r in payment.refunds.all()) or "—"

    @admin.display(description="invoice")
    def invoice(self, payment: Payment) -> str:
        return ", ".join(invoice.number for invoice in payment.invoices.all()) or "—"


class OrderAdmin(BaseOrderAdmin):
    action_form = OrderPaymentActionForm
    action_fields = {**BaseOrderAdmin.action_fields, "transaction_id": "record_offline_payment"}
    # The page, top to bottom: what was bought, the money, the shipments and returns, then
    # the status history.
    inlines = [OrderLineInline, PaymentInline, FulfillmentInline, ReturnRequestInline, OrderStatusChangeInline]
    actions = [*BaseOrderAdmin.actions, "record_offline_payment"]

    def has_record_payment_permission(self, request) -> bool:
        # Money received is recorded by whoever may add payments (admins; managers only
        # view payments), not by everyone who fulfils orders.
        return request.user.has_perm("payments.add_payment")

    @admin.action(
        description="Record offline payment (order total, received outside the shop)", permissions=["record_payment"]
    )
    def record_offline_payment(self, request, queryset):
        reference = request.POST.get("transaction_id", "").strip()
        if reference and queryset.count() > 1:
            self.message_user(
                request, "A transaction id belongs to one payment: select a single order.", messages.ERROR
            )
            return
        self._apply(
            request,
            queryset,
            "Offline payment recorded",
            lambda o: payment_record_offline(o.pk, by=request.user, transaction_id=reference),
        )


admin.site.unregister(Order)
admin.site.register(Order, OrderAdmin)


class ReadOnlyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    pass


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "order", "provider", "transaction_id", "amount", "currency", "status")
    list_filter = ("status", "provider")
    search_fields = ("transaction_id", "order__number", "order__user__email")
    list_select_related = ("order",)


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "payment", "provider_refund_id", "amount", "currency", "status", "key")
    list_filter = ("status",)
    search_fields = ("provider_refund_id", "payment__order__number", "key")


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdmin):
    list_display = ("number", "order", "issued_at", "total_amount", "currency", "pdf_link")
    list_filter = ("year",)
    search_fields = ("number", "order__number")
    list_select_related = ("order",)

    def get_urls(self):
        pdf = path("<uuid:pk>/pdf/", self.admin_site.admin_view(self.pdf_view), name="payments_invoice_pdf")
        return [pdf, *super().get_urls()]

    @admin.display(description="PDF")
    def pdf_link(self, invoice: Invoice) -> str:
        return format_html(
            '<a href="{}">{}.pdf</a>', reverse("admin:payments_invoice_pdf", args=[invoice.pk]), invoice.number
        )

    def pdf_view(self, request, pk):
        """The same PDF as GET orders/{id}/invoice.pdf, for staff who may view invoices."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        invoice = Invoice.objects.filter(pk=pk).first()
        invoice = invoice_for_order(invoice.order) if invoice is not None else None
        if invoice is None:
            raise Http404("No such invoice.")
        response = HttpResponse(invoice_pdf(invoice), content_type=PDF_MEDIA_TYPE)
        response["Content-Disposition"] = f'inline; filename="{invoice_pdf_filename(invoice)}"'
        return response


class CreditNoteLineInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = CreditNoteLine
    extra = 0
    fields = ("description", "sku", "quantity", "unit_price", "amount", "tax_amount", "total")
    readonly_fields = fields


@admin.register(CreditNote)
class CreditNoteAdmin(ReadOnlyAdmin):
    list_display = ("number", "order", "invoice", "issued_at", "total_amount", "currency", "pdf_link")
    list_filter = ("year",)
    search_fields = ("number", "order__number", "invoice__number")
    list_select_related = ("order", "invoice")
    inlines = [CreditNoteLineInline]
    readonly_fields = ("pdf_link",)

    def get_urls(self):
        pdf = path("<uuid:pk>/pdf/", self.admin_site.admin_view(self.pdf_view), name="payments_creditnote_pdf")
        return [pdf, *super().get_urls()]

    @admin.display(description="PDF")
    def pdf_link(self, note: CreditNote) -> str:
        return format_html(
            '<a href="{}">{}.pdf</a>', reverse("admin:payments_creditnote_pdf", args=[note.pk]), note.number
        )

    def pdf_view(self, request, pk):
        """The same PDF as GET orders/{id}/credit-notes/{credit_note_id}.pdf, for staff who
        may view credit notes."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        note = CreditNote.objects.select_related("order").filter(pk=pk).first()
        note = credit_note_of_order(note.order, note.pk) if note is not None else None
        if note is None:
            raise Http404("No such credit note.")
        response = HttpResponse(credit_note_pdf_of(note), content_type=PDF_MEDIA_TYPE)
        response["Content-Disposition"] = f'inline; filename="{credit_note_pdf_filename(note)}"'
        return response


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdmin):
    list_display = ("received_at", "provider", "event_id", "event_type", "processed_at", "result")
    list_filter = ("provider", "event_type", "result")
    search_fields = ("event_id",)
