"""Domain errors of shipping (the pricing pipeline raises them: one class per code)."""

from __future__ import annotations

from core.pricing import InvalidShippingMethod, ShippingUnavailable

__all__ = ["InvalidShippingMethod", "ShippingUnavailable"]
