"""The pricing pipeline: one pure function from plain data to the breakdown of an order.

    price_checkout(lines, address=..., shipping=..., shipping_method_id=..., voucher=...,
                   promotions=..., tax_rates=..., settings=...) -> Breakdown

No ORM, no settings module, no clock: everything it needs comes in as the frozen
dataclasses below, so the quote endpoint, checkout, order edits and returns price the same
inputs to the same cents, and the invariants are property-tested (tests/core/test_pricing.py).
The loader that builds the inputs from the database is `orders.pricing` (docs/pricing.md).

The steps, in order:
1. Promotions: per line, the best single running promotion whose scope covers the product
   (the largest discount per unit; ties to the lower id) lowers the unit price. That
   promoted unit price is the line's `unit_price` (what product reads show as `price`).
2. Voucher: checked (window, usage limits, scope, minimum subtotal), then a percent or fixed
   discount of the lines in its scope, allocated over those lines in proportion to their
   amounts (largest remainder, so the line shares sum exactly to the discount); a
   free-shipping voucher zeroes the shipping amount instead.
3. Shipping: the methods of the zones covering the address are priced (flat, weight bands,
   price bands; free over a subtotal); the chosen one must be among those priced.
4. Tax, per line on its discounted amount and on shipping, at the rate of the address's
   country (a region's own rate first) and the line's tax class; with gross prices
   (PRICES_INCLUDE_TAX) the tax is the part of the amount that is tax, with net prices it
   is added. Each amount is rounded half-up to the currency's places per line.

Totals: total = subtotal - discount + shipping (+ tax when prices are net).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from uuid import UUID

from core.errors import Conflict, InvalidInput
from core.money import ZERO, allocate, percent_of, quantize

DEFAULT_TAX_CLASS = "standard"


# --- errors (the apps' errors.py re-export them: one class per code) -----------------------


class PricingErrorCode(StrEnum):
    SHIPPING_UNAVAILABLE = "shipping_unavailable"
    INVALID_SHIPPING_METHOD = "invalid_shipping_method"
    VOUCHER_INVALID = "voucher_invalid"
    VOUCHER_EXHAUSTED = "voucher_exhausted"


class ShippingUnavailable(InvalidInput):
    code = PricingErrorCode.SHIPPING_UNAVAILABLE
    default_detail = "We do not ship to this address."


class InvalidShippingMethod(InvalidInput):
    code = PricingErrorCode.INVALID_SHIPPING_METHOD
    default_detail = "Unknown shipping method, or one not offered for this address."


class VoucherInvalid(InvalidInput):
    code = PricingErrorCode.VOUCHER_INVALID
    default_detail = "This voucher cannot be used."


class VoucherExhausted(Conflict):
    code = PricingErrorCode.VOUCHER_EXHAUSTED
    default_detail = "This voucher has been used up."


# --- inputs ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProductRef:
    """What scopes match a product on: itself, its parent (a variant matches through the
    product it varies), its category with every ancestor, and its brand."""

    product_id: UUID
    category_ids: frozenset[UUID] = frozenset()
    brand_id: UUID | None = None
    parent_id: UUID | None = None


@dataclass(frozen=True)
class Scope:
    """Which products a voucher or promotion covers: all of them, or those named, in the
    categories named (with their descendants) or of the brands named."""

    all_products: bool = False
    product_ids: frozenset[UUID] = frozenset()
    category_ids: frozenset[UUID] = frozenset()
    brand_ids: frozenset[UUID] = frozenset()


def scope_matches(scope: Scope, product: ProductRef) -> bool:
    """The one rule of scope matching (vouchers and promotions alike)."""
    if scope.all_products:
        return True
    if product.product_id in scope.product_ids:
        return True
    if product.parent_id is not None and product.parent_id in scope.product_ids:
        return True
    if scope.category_ids and not scope.category_ids.isdisjoint(product.category_ids):
        return True
    return product.brand_id is not None and product.brand_id in scope.brand_ids


@dataclass(frozen=True)
class PriceLine:
    product: ProductRef
    quantity: int
    unit_price: Decimal  # the list price (before promotions)
    tax_class: str = DEFAULT_TAX_CLASS
    weight: int = 0  # grams per unit


@dataclass(frozen=True)
class PromotionData:
    id: str
    kind: str  # "percent" | "fixed"
    value: Decimal
    scope: Scope
    name: str = ""


@dataclass(frozen=True)
class VoucherData:
    id: str
    code: str
    kind: str  # "percent" | "fixed" | "free_shipping"
    value: Decimal = ZERO
    scope: Scope = Scope(all_products=True)
    min_subtotal: Decimal | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    is_active: bool = True
    usage_limit: int | None = None
    used: int = 0
    per_customer_limit: int | None = None
    used_by_customer: int = 0


@dataclass(frozen=True)
class ShippingBand:
    up_to: Decimal  # grams (weight) or subtotal (price), inclusive
    price: Decimal


@dataclass(frozen=True)
class ShippingMethodData:
    id: str
    name: str
    kind: str  # "flat" | "weight" | "price"
    price: Decimal = ZERO
    bands: tuple[ShippingBand, ...] = ()
    free_over: Decimal | None = None
    min_days: int | None = None
    max_days: int | None = None
    tax_class: str = DEFAULT_TAX_CLASS


@dataclass(frozen=True)
class ShippingOptions:
    """`zones_exist`: the shop has defined any zone (with none, nothing ships for a fee
    and no method is needed). `methods`: the methods of the zones covering the address."""

    zones_exist: bool = False
    covered: bool = False
    methods: tuple[ShippingMethodData, ...] = ()


@dataclass(frozen=True)
class Address:
    country: str
    region: str = ""


# (country, region or "", tax class) -> rate in percent.
TaxTable = Mapping[tuple[str, str, str], Decimal]


@dataclass(frozen=True)
class PricingSettings:
    prices_include_tax: bool = False
    places: int = 2
    currency: str = "USD"
    now: datetime | None = None
    # Checkout needs a method when the address has some; a quote may leave it open.
    require_shipping_method: bool = True


# --- output --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineBreakdown:
    product_id: UUID
    quantity: int
    undiscounted_unit_price: Decimal
    unit_price: Decimal  # after the line's promotion
    promotion_id: str | None
    promotion_discount: Decimal  # (undiscounted - unit price) x quantity
    subtotal: Decimal  # unit_price x quantity
    discount_amount: Decimal  # the line's share of the voucher
    tax_class: str
    tax_rate: Decimal
    tax_amount: Decimal
    total: Decimal  # subtotal - discount (+ tax when net)

    @property
    def taxable_amount(self) -> Decimal:
        return self.subtotal - self.discount_amount


@dataclass(frozen=True)
class TaxLine:
    rate: Decimal
    base: Decimal  # the amounts taxed at `rate` (as priced: gross or net)
    tax: Decimal


@dataclass(frozen=True)
class Breakdown:
    lines: tuple[LineBreakdown, ...]
    subtotal: Decimal
    discount_amount: Decimal
    shipping_methods: tuple[tuple[ShippingMethodData, Decimal], ...]
    shipping_method: ShippingMethodData | None
    shipping_amount: Decimal
    shipping_discount_amount: Decimal
    shipping_tax_rate: Decimal
    shipping_tax_amount: Decimal
    tax_amount: Decimal
    total_amount: Decimal
    currency: str
    prices_include_tax: bool
    voucher: VoucherData | None = None
    taxes: tuple[TaxLine, ...] = field(default=())


# --- the pipeline --------------------------------------------------------------------------------


def promotion_unit_discount(promotion: PromotionData, unit_price: Decimal, places: int = 2) -> Decimal:
    """How much `promotion` takes off one unit priced `unit_price` (never below zero)."""
    if promotion.kind == "percent":
        off = percent_of(unit_price, min(promotion.value, Decimal(100)), places)
    else:
        off = quantize(promotion.value, places)
    return max(ZERO, min(off, unit_price))


def best_promotion(
    promotions: Iterable[PromotionData], product: ProductRef, unit_price: Decimal, places: int = 2
) -> tuple[PromotionData | None, Decimal]:
    """The promotion that takes the most off `product` (ties: the lower id) and that amount
    per unit; (None, 0) when none covers it. Product reads use it for the discounted price."""
    best, best_off = None, ZERO
    for promotion in sorted(promotions, key=lambda p: str(p.id)):
        if not scope_matches(promotion.scope, product):
            continue
        off = promotion_unit_discount(promotion, unit_price, places)
        if off > best_off:
            best, best_off = promotion, off
    return best, best_off


def shipping_method_price(method: ShippingMethodData, *, weight: int, subtotal: Decimal, places: int = 2):
    """The price of `method` for a cart weighing `weight` grams with `subtotal`, or None
    when it does not apply (no band fits)."""
    if method.free_over is not None and subtotal >= method.free_over:
        return ZERO.quantize(Decimal(1).scaleb(-places))
    if method.kind == "flat":
        return quantize(method.price, places)
    measure = Decimal(weight) if method.kind == "weight" else subtotal
    for band in sorted(method.bands, key=lambda b: b.up_to):
        if measure <= band.up_to:
            return quantize(band.price, places)
    return None


def tax_rate_for(table: TaxTable, address: Address, tax_class: str) -> Decimal:
    """The rate (percent) for `tax_class` at `address`: the region's own rate, else the
    country's, else zero."""
    country = address.country.upper()
    if address.region:
        rate = table.get((country, address.region, tax_class))
        if rate is not None:
            return Decimal(rate)
    return Decimal(table.get((country, "", tax_class), ZERO))


def tax_of(amount: Decimal, rate: Decimal, *, included: bool, places: int = 2) -> Decimal:
    """The tax in (gross) or on (net) `amount` at `rate` percent, rounded half-up."""
    if rate <= 0 or amount <= 0:
        return quantize(ZERO, places)
    if included:
        return quantize(amount * rate / (Decimal(100) + rate), places)
    return quantize(amount * rate / 100, places)


def check_voucher(voucher: VoucherData, *, now: datetime | None) -> None:
    """Window and limits (scope and minimum need the lines: price_checkout). Raises
    VoucherInvalid (400) or VoucherExhausted (409)."""
    if not voucher.is_active:
        raise VoucherInvalid("This voucher is not active.", attr="voucher_code")
    if now is not None and voucher.starts_at is not None and now < voucher.starts_at:
        raise VoucherInvalid("This voucher is not valid yet.", attr="voucher_code")
    if now is not None and voucher.ends_at is not None and now >= voucher.ends_at:
        raise VoucherInvalid("This voucher has expired.", attr="voucher_code")
    if voucher.usage_limit is not None and voucher.used >= voucher.usage_limit:
        raise VoucherExhausted("This voucher has been used up.", attr="voucher_code")
    if voucher.per_customer_limit is not None and voucher.used_by_customer >= voucher.per_customer_limit:
        raise VoucherExhausted("You have already used this voucher as often as it allows.", attr="voucher_code")


def price_checkout(
    lines: Sequence[PriceLine],
    *,
    address: Address,
    shipping: ShippingOptions = ShippingOptions(),
    shipping_method_id: str | None = None,
    voucher: VoucherData | None = None,
    promotions: Sequence[PromotionData] = (),
    tax_rates: TaxTable | None = None,
    settings: PricingSettings = PricingSettings(),
) -> Breakdown:
    """Price `lines` for delivery to `address` (see the module docstring for the steps).
    Raises ShippingUnavailable / InvalidShippingMethod / VoucherInvalid (400) and
    VoucherExhausted (409)."""
    places = settings.places
    tax_rates = tax_rates or {}
    zero = quantize(ZERO, places)

    # 1. promotions
    promoted: list[tuple[PriceLine, Decimal, PromotionData | None]] = []
    for line in lines:
        list_price = quantize(line.unit_price, places)
        promotion, off = best_promotion(promotions, line.product, list_price, places)
        promoted.append((line, list_price - off, promotion))
    subtotals = [quantize(unit_price * line.quantity, places) for line, unit_price, _ in promoted]
    subtotal = sum(subtotals, zero)

    # 2. voucher
    shares = [zero] * len(promoted)
    free_shipping = False
    if voucher is not None:
        check_voucher(voucher, now=settings.now)
        eligible = [i for i, (line, _, _) in enumerate(promoted) if scope_matches(voucher.scope, line.product)]
        if not eligible:
            raise VoucherInvalid("This voucher does not apply to any item of the order.", attr="voucher_code")
        if voucher.min_subtotal is not None and subtotal < voucher.min_subtotal:
            raise VoucherInvalid(
                f"This voucher needs a subtotal of at least {quantize(voucher.min_subtotal, places)}.",
                attr="voucher_code",
            )
        eligible_total = sum((subtotals[i] for i in eligible), zero)
        if voucher.kind == "percent":
            discount = percent_of(eligible_total, min(voucher.value, Decimal(100)), places)
        elif voucher.kind == "fixed":
            discount = min(quantize(voucher.value, places), eligible_total)
        else:
            discount, free_shipping = zero, True
        for i, share in zip(eligible, allocate(discount, [subtotals[i] for i in eligible], places), strict=True):
            shares[i] = share
    discount_amount = sum(shares, zero)

    # 3. shipping
    weight = sum(line.weight * line.quantity for line in lines)
    offered: list[tuple[ShippingMethodData, Decimal]] = []
    chosen: ShippingMethodData | None = None
    shipping_amount = zero
    if shipping.zones_exist:
        if not shipping.covered:
            raise ShippingUnavailable(f"We do not ship to {address.country}.", attr="shipping_address")
        for method in shipping.methods:
            price = shipping_method_price(method, weight=weight, subtotal=subtotal, places=places)
            if price is not None:
                offered.append((method, price))
        if not offered:
            raise ShippingUnavailable("No shipping method can deliver this order to this address.")
        offered.sort(key=lambda entry: entry[1])  # cheapest first (stable: ties keep the zones' order)
        if shipping_method_id is not None:
            match = [(m, p) for m, p in offered if str(m.id) == str(shipping_method_id)]
            if not match:
                raise InvalidShippingMethod(attr="shipping_method_id")
            chosen, shipping_amount = match[0]
        elif settings.require_shipping_method:
            raise InvalidShippingMethod("Choose a shipping method for this address.", attr="shipping_method_id")
    elif shipping_method_id is not None:
        raise InvalidShippingMethod(attr="shipping_method_id")
    shipping_discount = zero
    if free_shipping:
        shipping_discount, shipping_amount = shipping_amount, zero

    # 4. tax
    included = settings.prices_include_tax
    breakdown_lines = []
    per_rate: dict[Decimal, list[Decimal]] = {}
    for (line, unit_price, promotion), line_subtotal, share in zip(promoted, subtotals, shares, strict=True):
        rate = tax_rate_for(tax_rates, address, line.tax_class)
        taxable = line_subtotal - share
        tax = tax_of(taxable, rate, included=included, places=places)
        list_price = quantize(line.unit_price, places)
        breakdown_lines.append(
            LineBreakdown(
                product_id=line.product.product_id,
                quantity=line.quantity,
                undiscounted_unit_price=list_price,
                unit_price=unit_price,
                promotion_id=promotion.id if promotion else None,
                promotion_discount=(list_price - unit_price) * line.quantity,
                subtotal=line_subtotal,
                discount_amount=share,
                tax_class=line.tax_class,
                tax_rate=rate,
                tax_amount=tax,
                total=taxable if included else taxable + tax,
            )
        )
        _add_tax(per_rate, rate, taxable, tax)
    shipping_rate = tax_rate_for(tax_rates, address, chosen.tax_class) if chosen else ZERO
    shipping_tax = tax_of(shipping_amount, shipping_rate, included=included, places=places)
    if shipping_amount > 0:
        _add_tax(per_rate, shipping_rate, shipping_amount, shipping_tax)
    tax_amount = sum((line.tax_amount for line in breakdown_lines), zero) + shipping_tax
    total = subtotal - discount_amount + shipping_amount + (zero if included else tax_amount)
    return Breakdown(
        lines=tuple(breakdown_lines),
        subtotal=subtotal,
        discount_amount=discount_amount,
        shipping_methods=tuple(offered),
        shipping_method=chosen,
        shipping_amount=shipping_amount,
        shipping_discount_amount=shipping_discount,
        shipping_tax_rate=shipping_rate,
        shipping_tax_amount=shipping_tax,
        tax_amount=tax_amount,
        total_amount=total,
        currency=settings.currency,
        prices_include_tax=included,
        voucher=voucher,
        taxes=tuple(TaxLine(rate, base, tax) for rate, (base, tax) in sorted(per_rate.items())),
    )


def _add_tax(per_rate: dict[Decimal, list[Decimal]], rate: Decimal, base: Decimal, tax: Decimal) -> None:
    entry = per_rate.setdefault(rate, [ZERO, ZERO])
    entry[0] += base
    entry[1] += tax


def tax_summary(items: Iterable[tuple[Decimal, Decimal, Decimal]]) -> list[TaxLine]:
    """Per-rate totals of (rate, base, tax) triples, lowest rate first: the invoice's tax
    table, from the amounts an order stored."""
    per_rate: dict[Decimal, list[Decimal]] = {}
    for rate, base, tax in items:
        _add_tax(per_rate, Decimal(rate), Decimal(base), Decimal(tax))
    return [TaxLine(rate, base, tax) for rate, (base, tax) in sorted(per_rate.items())]
