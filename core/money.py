"""Money arithmetic: `Decimal` only, rounded half-up to the currency's places, and the
largest-remainder allocation that splits an amount over lines so the shares sum exactly.

Everything that computes an amount (the pricing pipeline `core.pricing`, the promotions'
denormalised prices, refunds of returned lines) rounds through `quantize` here, so the
same inputs give the same cents everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from django.conf import settings

ZERO = Decimal("0")

# ISO 4217 minor units of the currencies that do not have two (the rest have two).
_PLACES = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
    "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}  # fmt: skip


def currency_places(currency: str | None = None) -> int:
    """Decimal places of `currency` (default: settings.CURRENCY). Amounts are stored with
    two places (the order columns), so a currency with three is rounded to two."""
    code = (currency or settings.CURRENCY).upper()
    return min(_PLACES.get(code, 2), 2)


def unit(places: int) -> Decimal:
    """The smallest amount with `places` decimals: 0.01 for 2, 1 for 0."""
    return Decimal(1).scaleb(-places)


def quantize(amount: Decimal, places: int = 2) -> Decimal:
    """`amount` rounded half-up to `places` decimals (0.005 → 0.01, -0.005 → -0.01)."""
    return Decimal(amount).quantize(unit(places), rounding=ROUND_HALF_UP)


def percent_of(amount: Decimal, percent: Decimal, places: int = 2) -> Decimal:
    """`percent` % of `amount`, rounded half-up."""
    return quantize(Decimal(amount) * Decimal(percent) / 100, places)


def allocate(total: Decimal, weights: Sequence[Decimal], places: int = 2) -> list[Decimal]:
    """Split `total` (already rounded to `places`) over `weights` in proportion, each share
    rounded to `places`, the shares summing exactly to `total` (largest remainder: every
    share is first rounded down, then the units left over go one each to the shares with
    the largest remainders, ties to the earlier one). All-zero weights split evenly.
    `total` must be non-negative; weights must be non-negative."""
    n = len(weights)
    if n == 0:
        return []
    step = unit(places)
    total = Decimal(total)
    weights = [Decimal(w) for w in weights]
    weight_sum = sum(weights, ZERO)
    if weight_sum <= 0:
        weights, weight_sum = [Decimal(1)] * n, Decimal(n)
    exact = [total * w / weight_sum for w in weights]
    shares = [e.quantize(step, rounding=ROUND_DOWN) for e in exact]
    left = int(((total - sum(shares, ZERO)) / step).to_integral_value(rounding=ROUND_HALF_UP))
    by_remainder = sorted(range(n), key=lambda i: (-(exact[i] - shares[i]), i))
    for i in by_remainder[:left]:
        shares[i] += step
    return shares
