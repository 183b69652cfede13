"""Vouchers (codes a customer enters; one per order) with their redemptions, and automatic
promotions. Both have a scope: the products, categories (with their descendants) and
brands chosen; nothing chosen = every product."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone


class VoucherKind(models.TextChoices):
    PERCENT = "percent", "Percent off"
    FIXED = "fixed", "Fixed amount off"
    FREE_SHIPPING = "free_shipping", "Free shipping"


class PromotionKind(models.TextChoices):
    PERCENT = "percent", "Percent off"
    FIXED = "fixed", "Fixed amount off each unit"


class ScopedDiscount(models.Model):
    products = models.ManyToManyField("catalog.Product", blank=True, related_name="+")
    categories = models.ManyToManyField("catalog.Category", blank=True, related_name="+")
    brands = models.ManyToManyField("catalog.Brand", blank=True, related_name="+")
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True

    def clean(self) -> None:
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": "ends_at must be after starts_at."})
        if getattr(self, "kind", None) == "percent" and self.value is not None and self.value > 100:
            raise ValidationError({"value": "A percentage is at most 100."})

    def is_running(self, now=None) -> bool:
        now = now or timezone.now()
        return (
            self.is_active
            and (self.starts_at is None or self.starts_at <= now)
            and (self.ends_at is None or now < self.ends_at)
        )


class Voucher(ScopedDiscount):
    code = models.CharField(max_length=64, unique=True, help_text="Stored upper-case; matched case-insensitively.")
    name = models.CharField(max_length=120, blank=True)
    kind = models.CharField(max_length=16, choices=VoucherKind.choices)
    value = models.DecimalField(
        max_digits=12, decimal_places=2, default=0, validators=[MinValueValidator(0)], help_text="Percent or amount."
    )
    min_subtotal = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    usage_limit = models.PositiveIntegerField(null=True, blank=True, help_text="Orders in total; empty: no limit.")
    per_customer_limit = models.PositiveIntegerField(null=True, blank=True)
    # Redemptions held by orders (a cancelled order gives its one back). Changed only with
    # F() under the voucher's row lock (promotions.services).
    used_count = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(value__gte=0), name="promotions_voucher_value_non_negative"),
            models.CheckConstraint(
                condition=models.Q(kind__in=[k.value for k in VoucherKind]), name="promotions_voucher_kind_valid"
            ),
            # The database refuses an over-redemption even if a code path forgot the lock.
            models.CheckConstraint(
                condition=models.Q(usage_limit__isnull=True) | models.Q(used_count__lte=models.F("usage_limit")),
                name="promotions_voucher_within_limit",
            ),
        ]

    def __str__(self) -> str:
        return self.code

    def save(self, *args, **kwargs):
        self.code = self.code.strip().upper()
        super().save(*args, **kwargs)


class VoucherRedemption(models.Model):
    """One order that used a voucher. The order is named by id (promotions sit below orders);
    a cancelled order's redemption is released (kept for the record, no longer counted)."""

    voucher = models.ForeignKey(Voucher, on_delete=models.PROTECT, related_name="redemptions")
    order_id = models.UUIDField()
    # Null once the customer's account is erased (promotions.privacy): the use still counts
    # against the voucher's limit, no longer against anyone's.
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["voucher", "user"], name="promotions_redemption_user")]
        constraints = [models.UniqueConstraint(fields=["order_id"], name="promotions_one_voucher_per_order")]

    def __str__(self) -> str:
        return f"{self.voucher_id} on {self.order_id}"


class Promotion(ScopedDiscount):
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=16, choices=PromotionKind.choices)
    value = models.DecimalField(max_digits=12, decimal_places=2, validators=[MinValueValidator(0)])
    # Whether product reads show this promotion now (Product.discounted_price includes it):
    # set by promotions.services when it applies a start or end.
    applied = models.BooleanField(default=False, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(value__gte=0), name="promotions_promotion_value_non_negative"),
            models.CheckConstraint(
                condition=models.Q(kind__in=[k.value for k in PromotionKind]), name="promotions_promotion_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.name
