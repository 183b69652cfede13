"""Writes of shipping zones, methods and tax rates (API and admin alike). Each write
replaces the pricing-config generation on commit, so the next quote or checkout prices
with it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from core.caching import bump_generation_on_commit
from core.errors import Conflict, InvalidInput
from shipping.models import ShippingMethod, ShippingZone, TaxRate
from shipping.selectors import GENERATION_KEY


def shipping_changed() -> None:
    """Invalidate the cached pricing config once the current transaction commits."""
    bump_generation_on_commit(GENERATION_KEY)


def _full_clean(obj, exclude: Iterable[str] = ()) -> None:
    try:
        obj.full_clean(exclude=list(exclude), validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise InvalidInput(messages[0], code="invalid", attr=None if field == "__all__" else field)


def _apply(obj, data: Mapping[str, Any]) -> list[str]:
    for key, value in data.items():
        setattr(obj, key, value)
    return list(data)


@transaction.atomic
def shipping_zone_save(
    zone: ShippingZone, *, fields: Iterable[str] | None = None, methods: list[dict] | None = None
) -> ShippingZone:
    """Create `zone`, or save `fields` of it; with `methods`, its methods become exactly
    those (each dict a method's fields; one with an `id` of the zone updates that method)."""
    adding = zone._state.adding
    zone.save(update_fields=None if adding or fields is None else [*fields, "updated_at"])
    if methods is not None:
        keep = []
        existing = {m.pk: m for m in zone.methods.all()}
        for data in methods:
            data = dict(data)
            method = existing.get(data.pop("id", None)) or ShippingMethod(zone=zone)
            _apply(method, data)
            shipping_method_save(method)
            keep.append(method.pk)
        zone.methods.exclude(pk__in=keep).delete()
    shipping_changed()
    return zone


def shipping_zone_create(*, methods: list[dict] | None = None, **data: Any) -> ShippingZone:
    return shipping_zone_save(ShippingZone(**data), methods=methods)


def shipping_zone_update(zone: ShippingZone, *, methods: list[dict] | None = None, **data: Any) -> ShippingZone:
    return shipping_zone_save(zone, fields=_apply(zone, data), methods=methods)


@transaction.atomic
def shipping_zone_delete(zone: ShippingZone) -> None:
    """Delete a zone and its methods (orders keep the method's name; their link is cleared)."""
    zone.delete()
    shipping_changed()


@transaction.atomic
def shipping_method_save(method: ShippingMethod, *, fields: Iterable[str] | None = None) -> ShippingMethod:
    """Check (bands, days) and save a method. Raises InvalidInput (400)."""
    _full_clean(method, exclude=["zone"])
    update = None if method._state.adding or fields is None else [*fields, "bands", "updated_at"]
    method.save(update_fields=update)
    shipping_changed()
    return method


def shipping_method_create(**data: Any) -> ShippingMethod:
    return shipping_method_save(ShippingMethod(**data))


def shipping_method_update(method: ShippingMethod, **data: Any) -> ShippingMethod:
    return shipping_method_save(method, fields=_apply(method, data))


@transaction.atomic
def shipping_method_delete(method: ShippingMethod) -> None:
    method.delete()
    shipping_changed()


@transaction.atomic
def tax_rate_save(rate: TaxRate, *, fields: Iterable[str] | None = None) -> TaxRate:
    """Save a tax rate. One per (country, region, tax class): Conflict `unique` (409)."""
    try:
        with transaction.atomic():
            rate.save(update_fields=None if rate._state.adding or fields is None else [*fields, "updated_at"])
    except IntegrityError:
        raise Conflict("A rate for this country, region and tax class already exists.", code="unique")
    shipping_changed()
    return rate


def tax_rate_create(**data: Any) -> TaxRate:
    return tax_rate_save(TaxRate(**data))


def tax_rate_update(rate: TaxRate, /, **data: Any) -> TaxRate:
    return tax_rate_save(rate, fields=_apply(rate, data))


@transaction.atomic
def tax_rate_delete(rate: TaxRate) -> None:
    rate.delete()
    shipping_changed()
