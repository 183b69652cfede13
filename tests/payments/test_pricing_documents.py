"""The invoice of a discounted, shipped, taxed order: the PDF (read back with pypdf) prints
the discount, the shipping, the tax per rate and the tax total, the same numbers as the
invoice JSON's `taxes` table and amounts."""

from decimal import Decimal as D

import pytest

from orders.services import LineRequest, order_place
from payments.selectors import invoice_document, invoice_for_order
from tests.orders.factories import ProductFactory
from tests.orders.helpers import ADDRESS
from tests.payments.test_documents import PDF, invoice_url, pdf_text
from tests.payments.test_pay import pay
from tests.promotions import factories as promos
from tests.shipping import factories as ship

pytestmark = pytest.mark.django_db


@pytest.fixture
def priced_order(customer, customer_client):
    zone = ship.zone("UK", ["GB"])
    standard = ship.method(zone, "Standard", price="4.99", free_over=D("40.00"))
    ship.tax_rate("GB", "20.00")
    ship.tax_rate("GB", "5.00", tax_class="reduced")
    promos.voucher("SAVE10", kind="percent", value="10")
    teapot = ProductFactory(name="Blue Teapot", sku="TEA-BLUE", price="10.00", stock_quantity=5)
    book = ProductFactory(name="Tea Book", sku="BOOK-1", price="5.00", stock_quantity=5, tax_class="reduced")
    order = order_place(
        customer,
        items=[LineRequest(teapot.pk, 2), LineRequest(book.pk, 2)],
        shipping_address=ADDRESS,
        shipping_method_id=standard.pk,
        voucher_code="SAVE10",
    )
    assert pay(customer_client, order).status_code == 201
    return order


def test_the_invoice_pdf_prints_discount_shipping_and_tax_per_rate_as_the_json(customer_client, priced_order):
    body = customer_client.get(invoice_url(priced_order)).json()
    # teapots 20.00 - 2.00 (+20%), books 10.00 - 1.00 (+5%), shipping 4.99 (+20%)
    assert body["taxes"] == [
        {"rate": "5.00", "base": "9.00", "tax": "0.45"},
        {"rate": "20.00", "base": "22.99", "tax": "4.60"},
    ]
    assert (body["subtotal"], body["discount_amount"], body["shipping_amount"]) == ("30.00", "3.00", "4.99")
    assert (body["tax_amount"], body["total_amount"]) == ("5.05", "37.04")

    context = invoice_document(invoice_for_order(priced_order))
    assert context["tax_breakdown"] == [
        {"rate": row["rate"], "net": row["base"], "tax": row["tax"]} for row in body["taxes"]
    ]
    assert context["adjustments"] == [
        {"label": "Discount (SAVE10)", "amount": "-3.00"},
        {"label": "Shipping (Standard)", "amount": "4.99"},
    ]
    assert (context["subtotal"], context["tax_amount"], context["total_amount"]) == ("30.00", "5.05", "37.04")
    assert [line["amount"] for line in context["lines"]] == [item["line_total"] for item in body["items"]]

    text = pdf_text(customer_client.get(invoice_url(priced_order), HTTP_ACCEPT=PDF).content)
    for value in ("Discount (SAVE10)", "-3.00", "Shipping (Standard)", "4.99", "Tax", "5.05", "37.04", "30.00"):
        assert value in text, (value, text)
    for row in body["taxes"]:
        assert f"{row['rate']}%" in text and row["base"] in text and row["tax"] in text
    for item in body["items"]:
        assert item["line_total"] in text


def test_gross_prices_print_the_tax_as_included(customer, customer_client, settings):
    settings.PRICES_INCLUDE_TAX = True
    ship.tax_rate("GB", "20.00")
    product = ProductFactory(price="12.00", stock_quantity=5)
    order = order_place(customer, items=[LineRequest(product.pk, 1)], shipping_address=ADDRESS)
    assert pay(customer_client, order).status_code == 201
    context = invoice_document(invoice_for_order(order))
    assert (context["total_amount"], context["tax_amount"], context["prices_include_tax"]) == ("12.00", "2.00", True)
    text = pdf_text(customer_client.get(invoice_url(order), HTTP_ACCEPT=PDF).content)
    assert "Tax included" in text and "2.00" in text
