"""The pricing pipeline (core.pricing) and money helpers (core.money): examples for each rule,
and hypothesis properties for the invariants (totals add up, no negative line, discount ≤
subtotal, shares sum exactly, gross and net agree)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from uuid import UUID, uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.money import allocate, currency_places, percent_of, quantize
from core.pricing import (
    Address,
    InvalidShippingMethod,
    PriceLine,
    PricingSettings,
    ProductRef,
    PromotionData,
    Scope,
    ShippingBand,
    ShippingMethodData,
    ShippingOptions,
    ShippingUnavailable,
    VoucherData,
    VoucherExhausted,
    VoucherInvalid,
    best_promotion,
    price_checkout,
    scope_matches,
    shipping_method_price,
    tax_of,
)

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
GB = Address("GB")


def line(price, quantity=1, **kw):
    ref = kw.pop("product", None) or ProductRef(uuid4())
    return PriceLine(product=ref, quantity=quantity, unit_price=D(price), **kw)


def flat(id="1", price="5.00", **kw):
    return ShippingMethodData(id=id, name=f"m{id}", kind="flat", price=D(price), **kw)


def options(*methods, covered=True):
    return ShippingOptions(zones_exist=True, covered=covered, methods=tuple(methods))


# --- money ------------------------------------------------------------------------------------


def test_quantize_rounds_half_up():
    assert quantize(D("0.005")) == D("0.01")
    assert quantize(D("0.0049")) == D("0.00")
    assert quantize(D("2.5"), 0) == D("3")
    assert percent_of(D("19.99"), D("15")) == D("3.00")  # 2.9985


def test_currency_places():
    assert currency_places("USD") == 2
    assert currency_places("JPY") == 0
    assert currency_places("KWD") == 2  # stored with two places


def test_allocate_largest_remainder():
    assert allocate(D("10.00"), [D(1), D(1), D(1)]) == [D("3.34"), D("3.33"), D("3.33")]
    assert allocate(D("0.02"), [D(1), D(1), D(1)]) == [D("0.01"), D("0.01"), D("0.00")]
    assert allocate(D("1.00"), [D(0), D(0)]) == [D("0.50"), D("0.50")]
    assert allocate(D("5"), [D(3), D(1)], 0) == [D("4"), D("1")]


@given(
    total=st.decimals(min_value=0, max_value=10**6, places=2),
    weights=st.lists(st.decimals(min_value=0, max_value=10**5, places=2), min_size=1, max_size=12),
)
def test_allocation_sums_exactly_and_never_goes_negative(total, weights):
    shares = allocate(total, weights)
    assert sum(shares) == total
    assert all(s >= 0 for s in shares)
    weight_sum = sum(weights)
    if weight_sum > 0:  # each share is within one cent of its exact proportion
        for share, weight in zip(shares, weights, strict=True):
            assert abs(share - total * weight / weight_sum) < D("0.01")


# --- scope and promotions -----------------------------------------------------------------------


def test_scope_matches_products_variants_categories_brands():
    parent, cat, root, brand = uuid4(), uuid4(), uuid4(), uuid4()
    variant = ProductRef(uuid4(), category_ids=frozenset({cat, root}), brand_id=brand, parent_id=parent)
    assert scope_matches(Scope(all_products=True), variant)
    assert scope_matches(Scope(product_ids=frozenset({variant.product_id})), variant)
    assert scope_matches(Scope(product_ids=frozenset({parent})), variant)  # through its parent
    assert scope_matches(Scope(category_ids=frozenset({root})), variant)  # an ancestor category
    assert scope_matches(Scope(brand_ids=frozenset({brand})), variant)
    assert not scope_matches(Scope(product_ids=frozenset({uuid4()})), variant)
    assert not scope_matches(Scope(), variant)


def test_best_single_promotion_per_line():
    product = ProductRef(uuid4())
    ten_pct = PromotionData("1", "percent", D("10"), Scope(all_products=True))
    three_off = PromotionData("2", "fixed", D("3"), Scope(product_ids=frozenset({product.product_id})))
    other = PromotionData("3", "percent", D("90"), Scope(product_ids=frozenset({uuid4()})))
    assert best_promotion([ten_pct, three_off, other], product, D("20.00")) == (three_off, D("3.00"))
    assert best_promotion([ten_pct, three_off], product, D("50.00")) == (ten_pct, D("5.00"))
    # A fixed amount larger than the price takes it to zero, never below.
    big = PromotionData("4", "fixed", D("99"), Scope(all_products=True))
    assert best_promotion([big], product, D("20.00")) == (big, D("20.00"))
    result = price_checkout([line("20.00", 2, product=product)], address=GB, promotions=[ten_pct, three_off])
    assert result.lines[0].unit_price == D("17.00")
    assert result.lines[0].promotion_discount == D("6.00")
    assert result.subtotal == D("34.00")


# --- shipping -------------------------------------------------------------------------------------


def test_shipping_kinds_and_free_over():
    weight = ShippingMethodData(
        "w", "w", "weight", bands=(ShippingBand(D(1000), D("4.00")), ShippingBand(D(5000), D("9.00")))
    )
    by_price = ShippingMethodData(
        "p", "p", "price", bands=(ShippingBand(D(50), D("6.00")), ShippingBand(D(200), D("3.00")))
    )
    assert shipping_method_price(flat(price="5.00"), weight=0, subtotal=D(1)) == D("5.00")
    assert shipping_method_price(weight, weight=1000, subtotal=D(1)) == D("4.00")  # inclusive
    assert shipping_method_price(weight, weight=1001, subtotal=D(1)) == D("9.00")
    assert shipping_method_price(weight, weight=5001, subtotal=D(1)) is None  # no band fits
    assert shipping_method_price(by_price, weight=0, subtotal=D("49.99")) == D("6.00")
    assert shipping_method_price(by_price, weight=0, subtotal=D("150")) == D("3.00")
    assert shipping_method_price(by_price, weight=0, subtotal=D("201")) is None
    free = flat(price="5.00", free_over=D("100"))
    assert shipping_method_price(free, weight=0, subtotal=D("99.99")) == D("5.00")
    assert shipping_method_price(free, weight=0, subtotal=D("100.00")) == D("0.00")


def test_shipping_errors():
    lines = [line("10.00", weight=2000)]
    # No zone at all: ships free, no method needed.
    assert price_checkout(lines, address=GB).shipping_amount == D("0.00")
    with pytest.raises(InvalidShippingMethod):  # a method named while none exists
        price_checkout(lines, address=GB, shipping_method_id="1")
    with pytest.raises(ShippingUnavailable):  # zones exist, none covers the country
        price_checkout(lines, address=GB, shipping=options(flat(), covered=False), shipping_method_id="1")
    heavy_only = ShippingMethodData("w", "w", "weight", bands=(ShippingBand(D(1000), D(4)),))
    with pytest.raises(ShippingUnavailable):  # covered, but no method can take 2 kg
        price_checkout(lines, address=GB, shipping=options(heavy_only), shipping_method_id="w")
    with pytest.raises(InvalidShippingMethod):  # unknown method
        price_checkout(lines, address=GB, shipping=options(flat("1")), shipping_method_id="9")
    with pytest.raises(InvalidShippingMethod):  # a method that exists but cannot take this cart
        price_checkout(lines, address=GB, shipping=options(flat("1"), heavy_only), shipping_method_id="w")
    with pytest.raises(InvalidShippingMethod):  # checkout needs one
        price_checkout(lines, address=GB, shipping=options(flat("1")))
    quote = price_checkout(
        lines, address=GB, shipping=options(flat("1")), settings=PricingSettings(require_shipping_method=False)
    )
    assert quote.shipping_method is None and [m.id for m, _ in quote.shipping_methods] == ["1"]


# --- tax -----------------------------------------------------------------------------------------------


def test_tax_net_and_gross_per_line_on_the_discounted_amount():
    rates = {("GB", "", "standard"): D("20"), ("GB", "", "reduced"): D("5")}
    lines = [line("10.00", 3), line("4.99", 1, tax_class="reduced")]
    voucher = VoucherData("v", "TEN", "fixed", D("3.00"))
    net = price_checkout(lines, address=GB, voucher=voucher, tax_rates=rates)
    # 30.00 and 4.99 share 3.00 in proportion: 2.572 and 0.428 → 2.57 and 0.43
    assert [entry.discount_amount for entry in net.lines] == [D("2.57"), D("0.43")]
    assert [entry.tax_amount for entry in net.lines] == [D("5.49"), D("0.23")]  # 20% of 27.43, 5% of 4.56
    assert net.tax_amount == D("5.72")
    assert net.total_amount == D("34.99") - D("3.00") + D("5.72")
    gross = price_checkout(
        lines, address=GB, voucher=voucher, tax_rates=rates, settings=PricingSettings(prices_include_tax=True)
    )
    assert [entry.tax_amount for entry in gross.lines] == [D("4.57"), D("0.22")]  # 27.43/6, 4.56*5/105
    assert gross.total_amount == D("31.99")  # tax inside
    assert [(t.rate, t.base, t.tax) for t in gross.taxes] == [
        (D(5), D("4.56"), D("0.22")),
        (D(20), D("27.43"), D("4.57")),
    ]


def test_region_rate_wins_and_shipping_is_taxed_by_its_class():
    rates = {("US", "", "standard"): D("5"), ("US", "CA", "standard"): D("7.25"), ("US", "", "shipping"): D("10")}
    method = flat("1", "10.00", tax_class="shipping")
    result = price_checkout(
        [line("100.00")],
        address=Address("US", "CA"),
        shipping=options(method),
        shipping_method_id="1",
        tax_rates=rates,
    )
    assert result.lines[0].tax_rate == D("7.25") and result.lines[0].tax_amount == D("7.25")
    assert result.shipping_tax_rate == D("10") and result.shipping_tax_amount == D("1.00")
    assert result.total_amount == D("118.25")
    other_state = price_checkout([line("100.00")], address=Address("US", "NY"), tax_rates=rates)
    assert other_state.lines[0].tax_rate == D("5")
    assert tax_of(D("120.00"), D("20"), included=True) == D("20.00")


# --- vouchers ----------------------------------------------------------------------------------------


def test_voucher_kinds():
    lines = [line("40.00"), line("10.00")]
    percent = price_checkout(lines, address=GB, voucher=VoucherData("v", "P", "percent", D("15")))
    assert percent.discount_amount == D("7.50") and [e.discount_amount for e in percent.lines] == [D("6.00"), D("1.50")]
    fixed = price_checkout(lines, address=GB, voucher=VoucherData("v", "F", "fixed", D("80")))
    assert fixed.discount_amount == D("50.00") and fixed.total_amount == D("0.00")  # never below zero
    free = price_checkout(
        lines, address=GB, shipping=options(flat("1", "6.00")), shipping_method_id="1",
        voucher=VoucherData("v", "S", "free_shipping"),
    )  # fmt: skip
    assert free.shipping_amount == D("0.00") and free.shipping_discount_amount == D("6.00")
    assert free.discount_amount == D("0.00") and free.total_amount == D("50.00")


def test_voucher_scope_minimum_window_and_limits():
    brand = uuid4()
    in_scope = line("30.00", product=ProductRef(uuid4(), brand_id=brand))
    lines = [in_scope, line("70.00")]
    scoped = VoucherData("v", "B", "percent", D("10"), scope=Scope(brand_ids=frozenset({brand})))
    result = price_checkout(lines, address=GB, voucher=scoped)
    assert [e.discount_amount for e in result.lines] == [D("3.00"), D("0.00")]  # only the brand's line

    def fails(error, voucher, lines=lines, now=NOW):
        with pytest.raises(error) as exc:
            price_checkout(lines, address=GB, voucher=voucher, settings=PricingSettings(now=now))
        return exc.value.detail

    assert "does not apply" in fails(VoucherInvalid, scoped, lines=[line("70.00")])
    assert "at least" in fails(VoucherInvalid, VoucherData("v", "M", "fixed", D(5), min_subtotal=D("100.01")))
    price_checkout(lines, address=GB, voucher=VoucherData("v", "M", "fixed", D(5), min_subtotal=D("100.00")))
    assert "not valid yet" in fails(VoucherInvalid, VoucherData("v", "W", "fixed", D(5), starts_at=NOW + timedelta(1)))
    assert "expired" in fails(VoucherInvalid, VoucherData("v", "W", "fixed", D(5), ends_at=NOW))
    assert "not active" in fails(VoucherInvalid, VoucherData("v", "W", "fixed", D(5), is_active=False))
    fails(VoucherExhausted, VoucherData("v", "L", "fixed", D(5), usage_limit=10, used=10))
    fails(VoucherExhausted, VoucherData("v", "C", "fixed", D(5), per_customer_limit=1, used_by_customer=1))
    price_checkout(lines, address=GB, voucher=VoucherData("v", "L", "fixed", D(5), usage_limit=10, used=9))


# --- properties ----------------------------------------------------------------------------------------

money = st.decimals(min_value=0, max_value=5000, places=2)
rates = st.sampled_from([D(0), D(5), D("7.25"), D(20), D(25)])


@st.composite
def checkouts(draw):
    lines = [
        line(draw(money), draw(st.integers(1, 20)), tax_class=draw(st.sampled_from(["standard", "reduced"])))
        for _ in range(draw(st.integers(1, 6)))
    ]
    refs = [entry.product.product_id for entry in lines]
    promotions = [
        PromotionData(
            str(i),
            draw(st.sampled_from(["percent", "fixed"])),
            draw(st.decimals(min_value=0, max_value=100, places=2)),
            Scope(product_ids=frozenset(draw(st.lists(st.sampled_from(refs), max_size=3)))),
        )
        for i in range(draw(st.integers(0, 3)))
    ]
    voucher = draw(
        st.none()
        | st.builds(
            VoucherData,
            id=st.just("v"),
            code=st.just("V"),
            kind=st.sampled_from(["percent", "fixed", "free_shipping"]),
            value=st.decimals(min_value=0, max_value=200, places=2),
        )
    )
    table = {("GB", "", "standard"): draw(rates), ("GB", "", "reduced"): draw(rates)}
    shipping = options(flat("1", draw(money), tax_class="standard"))
    return lines, promotions, voucher, table, shipping


@settings(max_examples=200, deadline=None)
@given(checkouts(), st.booleans())
def test_invariants_totals_add_up_no_negative_line_discount_within_subtotal(case, gross):
    lines, promotions, voucher, table, shipping = case
    result = price_checkout(
        lines,
        address=GB,
        shipping=shipping,
        shipping_method_id="1",
        voucher=voucher,
        promotions=promotions,
        tax_rates=table,
        settings=PricingSettings(prices_include_tax=gross),
    )
    assert result.subtotal == sum(entry.subtotal for entry in result.lines)
    assert result.discount_amount == sum(entry.discount_amount for entry in result.lines)
    assert D(0) <= result.discount_amount <= result.subtotal
    assert result.tax_amount == sum(entry.tax_amount for entry in result.lines) + result.shipping_tax_amount
    tax_added = D(0) if gross else result.tax_amount
    assert result.total_amount == result.subtotal - result.discount_amount + result.shipping_amount + tax_added
    assert (
        sum(entry.total for entry in result.lines)
        + result.shipping_amount
        + (D(0) if gross else result.shipping_tax_amount)
        == result.total_amount
    )
    for entry in result.lines:
        assert entry.unit_price >= 0 and entry.subtotal >= 0 and entry.discount_amount >= 0
        assert entry.discount_amount <= entry.subtotal and entry.tax_amount >= 0 and entry.total >= 0
        assert entry.unit_price <= entry.undiscounted_unit_price
    assert sum(t.tax for t in result.taxes) == result.tax_amount
    for value in (result.subtotal, result.total_amount, result.tax_amount):
        assert value == value.quantize(D("0.01"))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(money, st.integers(1, 10)), min_size=1, max_size=6),
    rates,
    st.decimals(min_value=0, max_value=50, places=2),
)
def test_gross_and_net_settings_agree(items, rate, percent_off):
    """The same goods priced net, and gross at net + tax, charge the same total and the
    same tax to within a cent of rounding per line (each mode rounds once per line)."""
    table = {("GB", "", "standard"): rate}
    net_lines = [line(price, q, product=ProductRef(UUID(int=i))) for i, (price, q) in enumerate(items)]
    gross_lines = [
        line(quantize(price * (100 + rate) / 100), q, product=ProductRef(UUID(int=i)))
        for i, (price, q) in enumerate(items)
    ]
    voucher = VoucherData("v", "P", "percent", percent_off)
    net = price_checkout(net_lines, address=GB, tax_rates=table, voucher=voucher)
    gross = price_checkout(
        gross_lines, address=GB, tax_rates=table, voucher=voucher, settings=PricingSettings(prices_include_tax=True)
    )
    tolerance = D("0.01") * sum(q + 2 for _, q in items)
    assert abs(net.total_amount - gross.total_amount) <= tolerance
    assert abs(net.tax_amount - gross.tax_amount) <= tolerance
    # In each mode the goods' value before tax is total - tax (gross) or total - tax (net) alike.
    assert abs((net.total_amount - net.tax_amount) - (gross.total_amount - gross.tax_amount)) <= tolerance
