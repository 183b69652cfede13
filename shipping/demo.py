"""Demo shipping for `make run`: a zone (the demo users' countries) with two methods, and a
tax rate. Idempotent: created once, identified by the zone's name."""

from __future__ import annotations

from decimal import Decimal

from shipping.models import ShippingZone, TaxRate
from shipping.services import shipping_zone_create, tax_rate_create

ZONE = "Demo: Europe and North America"


def load(stdout) -> list[str]:
    if not ShippingZone.objects.filter(name=ZONE).exists():
        shipping_zone_create(
            name=ZONE,
            countries=["GB", "DE", "FR", "NO", "US", "CA"],
            methods=[
                {"name": "Standard", "kind": "flat", "price": Decimal("4.99"), "free_over": Decimal("75.00"),
                 "min_days": 3, "max_days": 5},
                {"name": "Express", "kind": "weight", "bands": [{"up_to": "2000", "price": "9.90"},
                 {"up_to": "20000", "price": "19.90"}], "min_days": 1, "max_days": 2},
            ],
        )  # fmt: skip
        stdout.write(f"Demo shipping: zone '{ZONE}' with Standard and Express.")
    if not TaxRate.objects.filter(country="GB", region="", tax_class="standard").exists():
        tax_rate_create(country="GB", rate=Decimal("20.00"))
    return ["Shipping: Standard 4.99 (free over 75.00), Express by weight; tax: GB 20% (standard)"]
