"""Orders: the order itself, its lines (price and name snapshots), its history (status
moves and every other event: line edits, shipments, returns), its shipments
(`Fulfillment`) and its returns (`ReturnRequest`)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class OrderStatus(models.TextChoices):
    PENDING = "pending", "Pending payment"
    PAYMENT_CONFIRMED = "payment_confirmed", "Payment confirmed"
    PROCESSING = "processing", "Processing"
    PARTIALLY_SHIPPED = "partially_shipped", "Partially shipped"
    SHIPPED = "shipped", "Shipped"
    DELIVERED = "delivered", "Delivered"
    CANCELLED = "cancelled", "Cancelled"
    REFUNDED = "refunded", "Refunded"


# Statuses in which the customer has paid (and not been refunded by a cancellation).
PAID_STATUSES = (
    OrderStatus.PAYMENT_CONFIRMED,
    OrderStatus.PROCESSING,
    OrderStatus.PARTIALLY_SHIPPED,
    OrderStatus.SHIPPED,
    OrderStatus.DELIVERED,
)


class Order(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    number = models.CharField(max_length=32, unique=True, editable=False)
    # Null once the customer's account is erased (or the user deleted): the order stays for
    # the books with its address snapshot and links to nobody.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="orders"
    )
    status = models.CharField(max_length=20, choices=OrderStatus.choices, default=OrderStatus.PENDING)
    # A copy of the address at checkout: editing or deleting an address never rewrites history.
    shipping_address = models.JSONField()
    subtotal = models.DecimalField(max_digits=12, decimal_places=2)
    total_amount = models.DecimalField(max_digits=12, decimal_places=2)
    # What went back to the customer so far (cancellation, returns): written by the payments
    # refund service, with F(), in the refund's transaction.
    refunded_amount = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    currency = models.CharField(max_length=3)
    # The latest shipment's tracking number (each shipment keeps its own: Fulfillment).
    tracking_number = models.CharField(max_length=100, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # When the order became `delivered`: the start of the return window (RETURN_WINDOW_DAYS).
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="orders_order_user_created"),
            models.Index(fields=["status", "expires_at"], name="orders_order_status_expires"),
            models.Index(fields=["-created_at"], name="orders_order_created"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(subtotal__gte=0), name="orders_order_subtotal_non_negative"),
            models.CheckConstraint(condition=models.Q(total_amount__gte=0), name="orders_order_total_non_negative"),
            models.CheckConstraint(
                condition=models.Q(refunded_amount__gte=0), name="orders_order_refunded_non_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=[s.value for s in OrderStatus]), name="orders_order_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.number


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    # PROTECT: a product that was sold cannot be deleted (the catalog answers 409 `protected`).
    product = models.ForeignKey("catalog.Product", on_delete=models.PROTECT, related_name="order_lines")
    product_name = models.CharField(max_length=255)
    product_sku = models.CharField(max_length=64)
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity__gte=1), name="orders_line_quantity_positive"),
            models.CheckConstraint(condition=models.Q(unit_price__gte=0), name="orders_line_price_non_negative"),
            models.UniqueConstraint(fields=["order", "product"], name="orders_line_one_per_product"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.product_sku}"

    @property
    def line_total(self):
        return self.unit_price * self.quantity


class OrderEvent(models.TextChoices):
    """What a history entry records. A status move has `from_status` ≠ `to_status`; the
    other events leave the status as it was (both fields name it) and say in `details`
    what changed."""

    STATUS = "status", "status changed"
    LINE_ADDED = "line_added", "line added"
    LINE_CHANGED = "line_changed", "line quantity changed"
    LINE_REMOVED = "line_removed", "line removed"
    REPRICED = "repriced", "totals re-evaluated"
    FULFILLED = "fulfilled", "shipment sent"
    RETURN_REQUESTED = "return_requested", "return requested"
    RETURN_APPROVED = "return_approved", "return approved"
    RETURN_REJECTED = "return_rejected", "return rejected"


class OrderStatusChange(models.Model):
    """One entry of an order's history: who, when, what (a status move, or an edit, a
    shipment, a return…, with the specifics in `details`)."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="history")
    event = models.CharField(max_length=20, choices=OrderEvent.choices, default=OrderEvent.STATUS)
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(max_length=255, blank=True)
    # What changed, machine-readable (e.g. {"line_id", "product_id", "sku", "from_quantity",
    # "to_quantity", "unit_price", "subtotal_before", "subtotal_after"} for an edit).
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        if self.event != OrderEvent.STATUS:
            return f"{self.order_id}: {self.event}"
        return f"{self.order_id}: {self.from_status or '-'} -> {self.to_status}"


class Fulfillment(models.Model):
    """One shipment of (part of) an order: which lines, how many units, tracking."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="fulfillments")
    tracking_number = models.CharField(max_length=100, blank=True)
    shipped_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    shipped_at = models.DateTimeField()

    class Meta:
        ordering = ["shipped_at", "id"]

    def __str__(self) -> str:
        return f"{self.order_id} shipment {self.tracking_number or self.pk}"


class FulfillmentLine(models.Model):
    fulfillment = models.ForeignKey(Fulfillment, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="fulfillment_lines")
    quantity = models.PositiveIntegerField()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(quantity__gte=1), name="orders_fulfillmentline_quantity_positive"
            ),
            models.UniqueConstraint(fields=["fulfillment", "order_line"], name="orders_fulfillmentline_once"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} of line {self.order_line_id}"


class ReturnStatus(models.TextChoices):
    REQUESTED = "requested", "Requested"
    APPROVED = "approved", "Approved (refunded)"
    REJECTED = "rejected", "Rejected"


class ReturnRequest(models.Model):
    """A customer's request to send back delivered units. Approval refunds the lines' share
    (through payments, with a credit note) and optionally restocks them."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="returns")
    status = models.CharField(max_length=16, choices=ReturnStatus.choices, default=ReturnStatus.REQUESTED)
    reason = models.CharField(max_length=500, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    rejection_reason = models.CharField(max_length=500, blank=True)
    restocked = models.BooleanField(default=False)
    refund_amount = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "-created_at"], name="orders_return_status_created")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=[s.value for s in ReturnStatus]), name="orders_return_status_valid"
            ),
            models.CheckConstraint(condition=models.Q(refund_amount__gte=0), name="orders_return_refund_non_negative"),
        ]

    def __str__(self) -> str:
        return f"return {self.pk} of {self.order_id} ({self.status})"


class ReturnLine(models.Model):
    return_request = models.ForeignKey(ReturnRequest, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="return_lines")
    quantity = models.PositiveIntegerField()
    # The refund of these units (their share of the line, tax included), set on approval.
    refund_amount = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    tax_amount = models.DecimalField(max_digits=12, decimal_places=2, default=0)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity__gte=1), name="orders_returnline_quantity_positive"),
            models.UniqueConstraint(fields=["return_request", "order_line"], name="orders_returnline_once"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} of line {self.order_line_id}"
