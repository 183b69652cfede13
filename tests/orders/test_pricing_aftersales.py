"""The pricing pipeline after checkout: order edits re-price tax, shipping and the voucher
(order_reprice, the checkout's pipeline), and returns refund each line's share of what was
charged (its discount share and tax included, shipping never), with tax on credit notes."""

from decimal import Decimal as D

import pytest

from orders.models import Order, OrderEvent
from orders.services import (
    LineRequest,
    checkout_quote,
    order_line_add,
    order_line_refund_share,
    order_line_set_quantity,
    order_place,
    return_approve,
    return_request_create,
)
from payments.documents import credit_note_pdf
from payments.models import CreditNote, CreditNoteLine
from payments.selectors import credit_note_document, credit_note_of_order
from promotions.models import Voucher, VoucherRedemption
from tests.orders.aftersales import delivered, line_of
from tests.orders.factories import ProductFactory
from tests.orders.helpers import ADDRESS
from tests.payments.test_documents import pdf_text
from tests.promotions import factories as promos
from tests.shipping import factories as ship

pytestmark = pytest.mark.django_db


@pytest.fixture
def uk(db):
    """Standard shipping 4.99, free from 40.00; 20% VAT on goods and shipping (net prices)."""
    zone = ship.zone("UK", ["GB"])
    standard = ship.method(zone, "Standard", price="4.99", free_over=D("40.00"))
    ship.tax_rate("GB", "20.00")
    return standard


def place(user, *lines, method, code=None):
    return order_place(
        user,
        items=[LineRequest(p.pk, q) for p, q in lines],
        shipping_address=ADDRESS,
        shipping_method_id=method.pk,
        voucher_code=code,
    )


def quoted(user, *lines, method, code=None):
    return checkout_quote(
        user,
        items=[LineRequest(p.pk, q) for p, q in lines],
        shipping_address=ADDRESS,
        shipping_method_id=method.pk,
        voucher_code=code,
    )


def totals(order):
    return (order.subtotal, order.discount_amount, order.shipping_amount, order.tax_amount, order.total_amount)


# --- edits --------------------------------------------------------------------------------


def test_an_edit_reprices_tax_shipping_and_the_discount(customer, uk):
    promos.voucher("SAVE10", kind="percent", value="10")
    a = ProductFactory(price="10.00", stock_quantity=10)
    b = ProductFactory(price="30.00", stock_quantity=10)
    order = place(customer, (a, 2), method=uk, code="SAVE10")
    # 20.00 - 2.00 + 4.99 shipping + 20% of 18.00 and of 4.99
    assert totals(order) == (D("20.00"), D("2.00"), D("4.99"), D("4.60"), D("27.59"))

    order_line_add(order.pk, product_id=b.pk, quantity=1, by=customer)

    order = Order.objects.get(pk=order.pk)
    # 50.00 - 5.00, shipping free from 40.00, 20% of 45.00: what checkout charges for it
    assert totals(order) == (D("50.00"), D("5.00"), D("0.00"), D("9.00"), D("54.00"))
    quote = quoted(customer, (a, 2), (b, 1), method=uk, code="SAVE10")
    assert (quote.subtotal, quote.discount_amount, quote.shipping_amount, quote.tax_amount, quote.total_amount) == (
        totals(order)
    )
    line_a, line_b = line_of(order, a), line_of(order, b)
    assert (line_a.discount_amount, line_a.tax_rate, line_a.tax_amount) == (D("2.00"), D("20.00"), D("3.60"))
    assert (line_b.discount_amount, line_b.tax_amount, line_b.undiscounted_unit_price) == (
        D("3.00"),
        D("5.40"),
        D("30.00"),
    )
    assert order.voucher_code == "SAVE10"
    assert VoucherRedemption.objects.get(order_id=order.pk).amount == D("5.00")
    edit = order.history.get(event=OrderEvent.LINE_ADDED)
    assert edit.details["total_before"] == "27.59" and edit.details["total_after"] == "54.00"
    assert edit.details["tax_after"] == "9.00" and edit.details["shipping_after"] == "0.00"
    assert not order.history.filter(event=OrderEvent.REPRICED).exists()


def test_a_voucher_below_its_minimum_after_an_edit_is_dropped_and_released(customer, uk):
    promos.voucher("BIG5", kind="fixed", value="5", min_subtotal=D("35.00"))
    a = ProductFactory(price="10.00", stock_quantity=10)
    order = place(customer, (a, 5), method=uk, code="BIG5")
    assert (order.discount_amount, order.total_amount) == (D("5.00"), D("54.00"))  # 45.00 + 20%, free shipping
    assert Voucher.objects.get(code="BIG5").used_count == 1

    order_line_set_quantity(order.pk, line_of(order, a).pk, quantity=3, by=customer)

    order = Order.objects.get(pk=order.pk)
    # 30.00, no discount, 4.99 shipping, 20% of 30.00 and of 4.99
    assert totals(order) == (D("30.00"), D("0.00"), D("4.99"), D("7.00"), D("41.99"))
    assert order.voucher_id is None and order.voucher_code == ""
    assert line_of(order, a).discount_amount == D("0.00")
    note = order.history.get(event=OrderEvent.REPRICED)
    assert "voucher BIG5 no longer applies" in note.note and note.note.endswith("removed")
    assert VoucherRedemption.objects.get(order_id=order.pk).released_at is not None
    assert Voucher.objects.get(code="BIG5").used_count == 0

    # Back above the minimum: the dropped voucher stays dropped (the customer re-applies).
    order_line_set_quantity(order.pk, line_of(order, a).pk, quantity=5, by=customer)
    order = Order.objects.get(pk=order.pk)
    assert (order.discount_amount, order.voucher_code) == (D("0.00"), "")


def test_a_limited_voucher_counts_the_orders_own_use_once(customer, uk):
    promos.voucher("ONCE", kind="percent", value="10", usage_limit=1, per_customer_limit=1)
    a = ProductFactory(price="10.00", stock_quantity=10)
    order = place(customer, (a, 1), method=uk, code="ONCE")
    order_line_set_quantity(order.pk, line_of(order, a).pk, quantity=3, by=customer)
    order = Order.objects.get(pk=order.pk)
    assert (order.voucher_code, order.discount_amount) == ("ONCE", D("3.00"))
    assert Voucher.objects.get(code="ONCE").used_count == 1


def test_other_lines_keep_their_price_when_one_is_edited(customer, uk):
    a = ProductFactory(price="10.00", stock_quantity=10)
    b = ProductFactory(price="5.00", stock_quantity=10)
    order = place(customer, (a, 1), (b, 1), method=uk)
    type(a).objects.filter(pk__in=[a.pk, b.pk]).update(price=D("12.00"))
    order_line_set_quantity(order.pk, line_of(order, b).pk, quantity=2, by=customer)
    order = Order.objects.get(pk=order.pk)
    assert line_of(order, a).unit_price == D("10.00")  # untouched: its price
    assert line_of(order, b).unit_price == D("12.00")  # edited: today's
    assert order.subtotal == D("34.00")


# --- returns ------------------------------------------------------------------------------


@pytest.fixture
def discounted(customer, manager, uk):
    """A delivered order, 10% off, 20% VAT on net prices, shipping 4.99 (+20%)."""
    promos.voucher("SAVE10", kind="percent", value="10")
    a = ProductFactory(price="10.00", stock_quantity=10)
    b = ProductFactory(price="3.33", stock_quantity=10)
    order = place(customer, (a, 3), (b, 1), method=uk, code="SAVE10")
    return delivered(order, customer, manager), a, b


def test_partial_returns_refund_the_lines_discounted_taxed_share(discounted, customer, manager):
    order, a, b = discounted
    line_a, line_b = line_of(order, a), line_of(order, b)
    # A: 30.00 - 3.00 = 27.00 + 5.40 tax; B: 3.33 - 0.33 = 3.00 + 0.60 tax; shipping 4.99 + 1.00
    assert (line_a.discount_amount, line_a.tax_amount, line_a.line_total) == (D("3.00"), D("5.40"), D("32.40"))
    assert (line_b.discount_amount, line_b.tax_amount, line_b.line_total) == (D("0.33"), D("0.60"), D("3.60"))
    assert (order.shipping_amount, order.shipping_tax_amount, order.total_amount) == (D("4.99"), D("1.00"), D("41.99"))
    assert order_line_refund_share(line_a, 1) == (D("10.80"), D("1.80"))

    first = return_request_create(order.pk, user=customer, lines=[(line_a.pk, 1)])
    assert return_approve(first.pk, by=manager).refund_amount == D("10.80")
    note = CreditNote.objects.get(order=order)
    assert (note.total_amount, note.tax_amount, note.subtotal) == (D("10.80"), D("1.80"), D("9.00"))
    credited = CreditNoteLine.objects.get(credit_note=note)
    assert (credited.amount, credited.tax_amount, credited.total) == (D("9.00"), D("1.80"), D("10.80"))
    document = credit_note_document(credit_note_of_order(order, note.pk))
    assert document["tax_breakdown"] == [{"rate": "20.00", "net": "9.00", "tax": "1.80"}]
    assert (document["subtotal"], document["tax_amount"], document["total"]) == ("9.00", "1.80", "10.80")
    text = pdf_text(credit_note_pdf(document))
    for value in ("20.00%", "9.00", "1.80", "10.80"):
        assert value in text, (value, text)

    rest = return_request_create(order.pk, user=customer, lines=[(line_a.pk, 2), (line_b.pk, 1)])
    assert return_approve(rest.pk, by=manager).refund_amount == D("21.60") + D("3.60")

    order.refresh_from_db()
    # Every unit back: the goods' total, discount and tax included, shipping (and its tax) kept.
    assert order.refunded_amount == order.total_amount - order.shipping_amount - order.shipping_tax_amount
    assert order.refunded_amount == D("36.00")
    assert order.status == "refunded"
    taxes = CreditNoteLine.objects.filter(credit_note__order=order).values_list("tax_amount", flat=True)
    assert sum(taxes) == line_a.tax_amount + line_b.tax_amount


def test_unit_by_unit_returns_sum_to_the_line_exactly(customer, manager, uk):
    promos.voucher("THIRD", kind="fixed", value="1.00")
    a = ProductFactory(price="3.33", stock_quantity=10)
    order = delivered(place(customer, (a, 3), method=uk, code="THIRD"), customer, manager)
    line = line_of(order, a)
    refunds = []
    for _ in range(3):
        request = return_request_create(order.pk, user=customer, lines=[(line.pk, 1)])
        refunds.append(return_approve(request.pk, by=manager).refund_amount)
    assert sum(refunds) == line.line_total
    assert max(refunds) - min(refunds) <= D("0.01")
