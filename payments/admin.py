"""Money records are read-only in the admin: they change only through the services."""

from django.contrib import admin

from core.admin import ReadOnlyAdminMixin
from payments.models import Invoice, Payment, Refund, WebhookEvent


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
    list_display = ("created_at", "payment", "provider_refund_id", "amount", "currency", "status")
    list_filter = ("status",)
    search_fields = ("provider_refund_id", "payment__order__number")


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdmin):
    list_display = ("number", "order", "issued_at", "total_amount", "currency")
    list_filter = ("year",)
    search_fields = ("number", "order__number")
    list_select_related = ("order",)


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdmin):
    list_display = ("received_at", "provider", "event_id", "event_type", "processed_at", "result")
    list_filter = ("provider", "event_type", "result")
    search_fields = ("event_id",)
