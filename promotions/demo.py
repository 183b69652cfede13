"""Demo vouchers for `make run`: WELCOME10 (10% off, once per customer). Idempotent."""

from __future__ import annotations

from decimal import Decimal

from promotions.models import Voucher
from promotions.services import voucher_create

CODE = "WELCOME10"


def load(stdout) -> list[str]:
    if not Voucher.objects.filter(code=CODE).exists():
        voucher_create(code=CODE, name="Welcome", kind="percent", value=Decimal("10"), per_customer_limit=1)
        stdout.write(f"Demo voucher: {CODE}.")
    return [f"Voucher: {CODE} (10% off, once per customer)"]
