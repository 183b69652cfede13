"""Shipping zones, methods and tax rates, written through shipping.services (so the cached
pricing config is invalidated as in production)."""

from decimal import Decimal

from shipping import services


def zone(name="UK", countries=("GB",), methods=()):
    return services.shipping_zone_create(name=name, countries=list(countries), methods=[dict(m) for m in methods])


def method(zone, name="Standard", kind="flat", price="4.99", **extra):
    return services.shipping_method_create(zone=zone, name=name, kind=kind, price=Decimal(price), **extra)


def tax_rate(country="GB", rate="20.00", tax_class="standard", region=""):
    return services.tax_rate_create(country=country, rate=Decimal(rate), tax_class=tax_class, region=region)
