"""Reads of shipping: the zones, methods and tax rates as plain data for the pricing
pipeline, cached under a generation token (replaced on commit by every write through
shipping.services), so checkout reads them in one cache round trip."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import QuerySet

from core.caching import generation_cached
from core.pricing import ShippingBand, ShippingMethodData, ShippingOptions, TaxTable
from shipping.models import ShippingMethod, ShippingZone, TaxRate

GENERATION_KEY = "shipping:generation"
CONFIG_TIMEOUT = 24 * 3600  # a bound on memory only: a write replaces the token anyway


@dataclass(frozen=True)
class PricingConfig:
    """Every zone (its countries and methods) and every tax rate."""

    zones: tuple[tuple[frozenset[str], tuple[ShippingMethodData, ...]], ...]
    rates: dict[tuple[str, str, str], Decimal]

    def shipping_for(self, country: str) -> ShippingOptions:
        country = country.upper()
        methods = [m for countries, zone_methods in self.zones if country in countries for m in zone_methods]
        covered = any(country in countries for countries, _ in self.zones)
        return ShippingOptions(zones_exist=bool(self.zones), covered=covered, methods=tuple(methods))

    def tax_table_for(self, country: str) -> TaxTable:
        country = country.upper()
        return {key: rate for key, rate in self.rates.items() if key[0] == country}


def method_data(method: ShippingMethod) -> ShippingMethodData:
    return ShippingMethodData(
        id=str(method.pk),
        name=method.name,
        kind=method.kind,
        price=method.price,
        bands=tuple(ShippingBand(Decimal(b["up_to"]), Decimal(b["price"])) for b in method.bands or ()),
        free_over=method.free_over,
        min_days=method.min_days,
        max_days=method.max_days,
        tax_class=method.tax_class,
    )


def _load() -> PricingConfig:
    zones = ShippingZone.objects.prefetch_related("methods")
    return PricingConfig(
        zones=tuple(
            (frozenset(str(c) for c in zone.countries), tuple(method_data(m) for m in zone.methods.all()))
            for zone in zones
        ),
        rates={
            (str(country), region, tax_class): rate
            for country, region, tax_class, rate in TaxRate.objects.values_list(
                "country", "region", "tax_class", "rate"
            )
        },
    )


def pricing_config() -> PricingConfig:
    """Zones, methods and tax rates, from the cache when its generation is current (one
    round trip), else from the database (three queries), then stored. The token is read
    before the database, so a write committing meanwhile replaces it and the value stored
    under the old token is never read."""
    return generation_cached(
        GENERATION_KEY, "shipping:config", _load, valid=lambda v: isinstance(v, PricingConfig), timeout=CONFIG_TIMEOUT
    )


def shipping_zone_list() -> QuerySet[ShippingZone]:
    return ShippingZone.objects.prefetch_related("methods")


def shipping_method_list() -> QuerySet[ShippingMethod]:
    return ShippingMethod.objects.all()


def tax_rate_list() -> QuerySet[TaxRate]:
    return TaxRate.objects.all()
