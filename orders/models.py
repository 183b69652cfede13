"""Orders: the order itself, its lines (price and name snapshots), its status history,
the emails already sent for it, and the idempotency records of the API."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class OrderStatus(models.TextChoices):
    PENDING = "pending", "Pending payment"
    PAYMENT_CONFIRMED = "payment_confirmed", "Payment confirmed"
    PROCESSING = "processing", "Processing"
    SHIPPED = "shipped", "Shipped"
    DELIVERED = "delivered", "Delivered"
    CANCELLED = "cancelled", "Cancelled"


# Statuses in which the customer has paid (and not been refunded by a cancellation).
PAID_STATUSES = (
    OrderStatus.PAYMENT_CONFIRMED,
    OrderStatus.PROCESSING,
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
    currency = models.CharField(max_length=3)
    tracking_number = models.CharField(max_length=100, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
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


class OrderStatusChange(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="history")
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.from_status or '-'} -> {self.to_status}"
