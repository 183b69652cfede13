"""Domain errors of vouchers (the pricing pipeline raises them: one class per code)."""

from __future__ import annotations

from core.pricing import VoucherExhausted, VoucherInvalid

__all__ = ["VoucherExhausted", "VoucherInvalid"]
