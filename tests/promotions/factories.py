"""Vouchers and promotions, written through promotions.services (prices, caches, jobs)."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from promotions import services


def voucher(code="WELCOME10", kind="percent", value="10", **extra):
    return services.voucher_create(code=code, kind=kind, value=Decimal(value), **extra)


def promotion(name="Sale", kind="percent", value="10", starts_at=None, **extra):
    starts_at = starts_at if starts_at is not None else timezone.now() - timedelta(hours=1)
    return services.promotion_create(name=name, kind=kind, value=Decimal(value), starts_at=starts_at, **extra)
