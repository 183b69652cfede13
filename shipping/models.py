"""Shipping zones (countries), the methods each offers, and tax rates per country, region
and tax class. Checkout reads them through `shipping.selectors.pricing_config()`, as plain
data for the pricing pipeline (core.pricing)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django_countries.fields import CountryField

from catalog.models import TAX_CLASS_DEFAULT


class ShippingZone(models.Model):
    name = models.CharField(max_length=120)
    # Comma-separated ISO codes (django-countries); one country may sit in several zones,
    # whose methods are then all offered.
    countries = CountryField(multiple=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class ShippingKind(models.TextChoices):
    FLAT = "flat", "Flat price"
    WEIGHT = "weight", "By weight (bands in grams)"
    PRICE = "price", "By subtotal (bands)"


MAX_BANDS = 50


def clean_bands(value) -> list[dict[str, str]]:
    """Bands as stored: a list of {"up_to", "price"} with non-negative decimal strings
    (two places for the price), sorted by `up_to`, no `up_to` twice. Raises ValidationError."""
    if not isinstance(value, list) or len(value) > MAX_BANDS:
        raise ValidationError(f"A list of at most {MAX_BANDS} bands {{up_to, price}}.", code="invalid")
    cleaned = []
    for band in value:
        if not isinstance(band, dict) or set(band) != {"up_to", "price"}:
            raise ValidationError("Each band is {up_to, price}.", code="invalid")
        try:
            up_to, price = Decimal(str(band["up_to"])), Decimal(str(band["price"]))
        except (InvalidOperation, ValueError):
            raise ValidationError("up_to and price are decimal numbers.", code="invalid")
        if not (up_to.is_finite() and price.is_finite()) or up_to < 0 or price < 0 or up_to > 10**10 or price > 10**10:
            raise ValidationError("up_to and price are non-negative numbers.", code="invalid")
        cleaned.append({"up_to": format(up_to.normalize(), "f"), "price": f"{price.quantize(Decimal('0.01'))}"})
    cleaned.sort(key=lambda b: Decimal(b["up_to"]))
    if len({b["up_to"] for b in cleaned}) != len(cleaned):
        raise ValidationError("Two bands have the same up_to.", code="invalid")
    return cleaned


class ShippingMethod(models.Model):
    zone = models.ForeignKey(ShippingZone, on_delete=models.CASCADE, related_name="methods")
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=16, choices=ShippingKind.choices, default=ShippingKind.FLAT)
    price = models.DecimalField(max_digits=12, decimal_places=2, default=0, validators=[MinValueValidator(0)])
    # [{"up_to": "1000", "price": "4.90"}, ...]: weight in grams or subtotal, inclusive;
    # the first band (by up_to) that fits prices the order; none fits = not offered.
    bands = models.JSONField(default=list, blank=True)
    free_over = models.DecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True, help_text="Free from this subtotal on."
    )
    min_days = models.PositiveSmallIntegerField(null=True, blank=True)
    max_days = models.PositiveSmallIntegerField(null=True, blank=True)
    tax_class = models.SlugField(max_length=32, default=TAX_CLASS_DEFAULT)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["zone_id", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(price__gte=0), name="shipping_method_price_non_negative"),
            models.CheckConstraint(
                condition=models.Q(kind__in=[k.value for k in ShippingKind]), name="shipping_method_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.zone_id})"

    def clean(self) -> None:
        self.bands = clean_bands(self.bands or [])
        if self.kind != ShippingKind.FLAT and not self.bands:
            raise ValidationError({"bands": "A weight or price method needs at least one band."})
        if self.min_days is not None and self.max_days is not None and self.min_days > self.max_days:
            raise ValidationError({"max_days": "max_days is before min_days."})


class TaxRate(models.Model):
    country = CountryField()
    # Blank: the whole country; a region's own rate wins over the country's.
    region = models.CharField(max_length=120, blank=True, default="")
    tax_class = models.SlugField(max_length=32, default=TAX_CLASS_DEFAULT)
    rate = models.DecimalField(
        max_digits=5, decimal_places=2, validators=[MinValueValidator(0)], help_text="Percent, e.g. 20.00."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["country", "region", "tax_class"]
        constraints = [
            models.UniqueConstraint(fields=["country", "region", "tax_class"], name="shipping_taxrate_unique"),
            models.CheckConstraint(condition=models.Q(rate__gte=0, rate__lte=100), name="shipping_taxrate_rate_0_100"),
        ]

    def __str__(self) -> str:
        where = f"{self.country}-{self.region}" if self.region else str(self.country)
        return f"{where} {self.tax_class} {self.rate}%"
