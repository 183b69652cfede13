"""Invoice and credit-note PDFs (WeasyPrint), read back with pypdf: the numbers printed are
the JSON's; content negotiation and the `.pdf` path; scoping; the receipt attachment."""

import io
from datetime import UTC, datetime

import pytest
from django.core import mail
from pypdf import PdfReader

from core.documents import render_pdf
from payments.documents import INVOICE_TEMPLATE, credit_note_pdf, invoice_pdf
from payments.models import Invoice
from payments.selectors import invoice_document, invoice_for_order
from tests.accounts.factories import UserFactory
from tests.conftest import auth_client_for
from tests.orders.factories import ProductFactory
from tests.payments.test_pay import pay

pytestmark = pytest.mark.django_db

PDF = "application/pdf"


def pdf_text(content: bytes) -> str:
    assert content.startswith(b"%PDF-"), content[:40]
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def invoice_url(order, suffix="invoice/"):
    return f"/api/v1/orders/{order.pk}/{suffix}"


@pytest.fixture
def paid_order(customer, customer_client, place):
    order = place(
        customer,
        (ProductFactory(name="Blue Teapot", sku="TEA-BLUE", price="12.50", stock_quantity=5), 2),
        (ProductFactory(name="Green Mug", sku="MUG-GRN", price="4.25", stock_quantity=5), 3),
    )
    assert pay(customer_client, order).status_code == 201
    return order


def assert_pdf_matches_json(text: str, body: dict) -> None:
    for value in (body["number"], body["order_number"], body["subtotal"], body["total_amount"], body["currency"]):
        assert value in text, (value, text)
    for item in body["items"]:
        for value in (item["name"], item["sku"], item["unit_price"], item["line_total"]):
            assert value in text, (value, text)
    assert body["billing_address"]["full_name"] in text
    assert body["issued_at"][:10] in text


def test_accept_pdf_answers_the_invoice_with_the_numbers_of_the_json(customer_client, paid_order):
    body = customer_client.get(invoice_url(paid_order)).json()
    assert body["subtotal"] == "37.75" and body["total_amount"] == "37.75"

    response = customer_client.get(invoice_url(paid_order), HTTP_ACCEPT=PDF)

    assert response.status_code == 200
    assert response["Content-Type"] == PDF
    assert "Accept" in response["Vary"]
    assert response["Content-Disposition"] == f'inline; filename="{body["number"]}.pdf"'
    text = pdf_text(response.content)
    assert_pdf_matches_json(text, body)
    assert "25.00" in text and "12.75" in text  # the line amounts: 2 x 12.50, 3 x 4.25


def test_the_pdf_path_and_the_format_parameter_answer_the_same_document(customer_client, paid_order):
    negotiated = pdf_text(customer_client.get(invoice_url(paid_order), HTTP_ACCEPT=PDF).content)

    by_path = customer_client.get(invoice_url(paid_order, "invoice.pdf"))
    by_format = customer_client.get(invoice_url(paid_order) + "?format=pdf")

    for response in (by_path, by_format):
        assert response.status_code == 200 and response["Content-Type"] == PDF
        assert pdf_text(response.content) == negotiated


def test_json_stays_the_default(customer_client, paid_order):
    for accept in (None, "*/*", "application/json"):
        extra = {"HTTP_ACCEPT": accept} if accept else {}
        response = customer_client.get(invoice_url(paid_order), **extra)
        assert response.status_code == 200 and response["Content-Type"] == "application/json"


def test_staff_read_a_customers_invoice_pdf(manager_client, paid_order):
    response = manager_client.get(invoice_url(paid_order, "invoice.pdf"))
    assert response.status_code == 200
    assert Invoice.objects.get(order=paid_order).number in pdf_text(response.content)


@pytest.mark.parametrize("suffix", ["invoice/", "invoice.pdf"])
def test_another_customers_invoice_pdf_is_404_in_json(paid_order, suffix):
    stranger = auth_client_for(UserFactory())
    response = stranger.get(invoice_url(paid_order, suffix), HTTP_ACCEPT=PDF)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["type"] == "client_error"


@pytest.mark.parametrize("suffix", ["invoice/", "invoice.pdf"])
def test_unpaid_and_anonymous_answer_json_errors(customer, customer_client, place, api_client, suffix):
    unpaid = place(customer, (ProductFactory(), 1))
    response = customer_client.get(invoice_url(unpaid, suffix), HTTP_ACCEPT=PDF)
    assert response.status_code == 404 and response.json()["errors"][0]["code"] == "not_found"

    anonymous = api_client.get(invoice_url(unpaid, suffix), HTTP_ACCEPT=PDF)
    assert anonymous.status_code == 401 and anonymous["Content-Type"] == "application/json"


def test_invoice_pdf_query_budget(customer_client, paid_order, django_assert_max_num_queries):
    # session check, user, order, invoice + order + payment, lines, refunds
    with django_assert_max_num_queries(7):
        response = customer_client.get(invoice_url(paid_order, "invoice.pdf"))
    assert response.status_code == 200


def test_pdf_renders_are_rate_limited_per_user(customer_client, paid_order, rate_limits_on, settings):
    settings.RATELIMIT_DOCUMENTS = "2/h"
    assert customer_client.get(invoice_url(paid_order, "invoice.pdf")).status_code == 200
    assert customer_client.get(invoice_url(paid_order), HTTP_ACCEPT=PDF).status_code == 200
    limited = customer_client.get(invoice_url(paid_order, "invoice.pdf"))
    assert limited.status_code == 429 and limited["Content-Type"] == "application/json"
    assert limited.json()["errors"][0]["code"] == "throttled" and limited["Retry-After"]
    # JSON reads are not documents: not counted, not limited.
    assert customer_client.get(invoice_url(paid_order)).status_code == 200


def test_the_seller_comes_from_settings(settings, paid_order):
    settings.SHOP_NAME = "Teapots & Co"
    settings.SHOP_ADDRESS = ["12 Rue des Théières", "75011 Paris, France"]
    settings.SHOP_TAX_ID = "FR12345678901"
    text = pdf_text(invoice_pdf(invoice_for_order(paid_order)))
    for value in ("Teapots & Co", "12 Rue des Théières", "75011 Paris, France", "FR12345678901"):
        assert value in text


def test_the_invoice_template_prints_a_tax_breakdown_and_adjustments(paid_order):
    # Orders record no tax yet (invoice_document's breakdown is empty); the template prints
    # whatever rows the context carries once pricing fills them.
    context = invoice_document(invoice_for_order(paid_order))
    assert context["tax_breakdown"] == []
    context |= {
        "tax_breakdown": [
            {"rate": "5.50", "net": "10.00", "tax": "0.55"},
            {"rate": "20.00", "net": "27.75", "tax": "5.55"},
        ],
        "adjustments": [{"label": "Shipping", "amount": "4.90"}],
        "tax_amount": "6.10",
    }
    text = pdf_text(render_pdf(INVOICE_TEMPLATE, context))
    for value in ("5.50%", "0.55", "20.00%", "27.75", "5.55", "Shipping", "4.90", "6.10"):
        assert value in text


def test_a_refunded_invoice_pdf_says_so(customer_client, paid_order):
    from orders.services import order_cancel

    order_cancel(paid_order.pk, note="changed my mind")
    text = pdf_text(customer_client.get(invoice_url(paid_order, "invoice.pdf")).content)
    assert "Refunded" in text and "37.75" in text


def test_the_receipt_email_attaches_the_invoice_pdf(
    customer, customer_client, place, django_capture_on_commit_callbacks
):
    order = place(customer, (ProductFactory(name="Red Kettle", sku="KET-RED", price="30.00", stock_quantity=3), 1))
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert pay(customer_client, order).status_code == 201

    receipts = [m for m in mail.outbox if m.subject.startswith("Payment receipt")]
    assert len(receipts) == 1
    invoice = Invoice.objects.get(order=order)
    assert [(name, mimetype) for name, _, mimetype in receipts[0].attachments] == [(f"{invoice.number}.pdf", PDF)]
    text = pdf_text(receipts[0].attachments[0][1])
    body = customer_client.get(invoice_url(order)).json()
    assert_pdf_matches_json(text, body)
    assert "Red Kettle" in text
    assert f"Invoice {invoice.number} is attached." in receipts[0].body


CREDIT_NOTE = {
    "number": "CN-2026-000001",
    "issued_at": datetime(2026, 3, 4, 10, 30, tzinfo=UTC),
    "invoice_number": "INV-2026-000042",
    "order_number": "ORD-20260301-ABCDEF",
    "currency": "EUR",
    "billing_address": {
        "full_name": "Ada Lovelace",
        "line1": "1 Main St",
        "city": "London",
        "postal_code": "N1",
        "country": "GB",
    },
    "lines": [
        {"name": "Blue Teapot", "sku": "TEA-BLUE", "quantity": 1, "unit_price": "12.50", "amount": "12.50"},
        {"name": "Green Mug", "sku": "MUG-GRN", "quantity": 2, "unit_price": "4.25", "amount": "8.50"},
    ],
    "tax_breakdown": [{"rate": "20.00", "net": "17.50", "tax": "3.50"}],
    "total": "21.00",
    "reason": "Arrived chipped",
}


def test_a_credit_note_renders_from_a_plain_dict():
    text = pdf_text(credit_note_pdf(CREDIT_NOTE))
    for value in ("CN-2026-000001", "2026-03-04", "INV-2026-000042", "ORD-20260301-ABCDEF", "Ada Lovelace"):
        assert value in text
    for value in ("Blue Teapot", "TEA-BLUE", "12.50", "Green Mug", "8.50", "20.00%", "17.50", "3.50", "21.00 EUR"):
        assert value in text
    assert "Arrived chipped" in text


def test_document_values_are_escaped_not_markup():
    # A product name is data: it prints as text and never becomes markup (no fetch either).
    context = {**CREDIT_NOTE, "lines": [{**CREDIT_NOTE["lines"][0], "name": '<img src="http://127.0.0.1:9/x">Pot'}]}
    text = pdf_text(credit_note_pdf(context))
    assert '<img src="http://127.0.0.1:9/x">Pot' in text


def test_the_schema_describes_both_pdf_answers(client):
    paths = client.get("/api/schema/?format=json").json()["paths"]
    negotiated = paths["/api/v1/orders/{id}/invoice/"]["get"]["responses"]
    assert set(negotiated["200"]["content"]) == {"application/json", PDF}
    assert negotiated["200"]["content"][PDF]["schema"] == {"type": "string", "format": "binary"}
    assert set(negotiated["404"]["content"]) == {"application/json"}
    pdf_only = paths["/api/v1/orders/{id}/invoice.pdf"]["get"]["responses"]
    assert set(pdf_only["200"]["content"]) == {PDF}
    assert set(pdf_only["404"]["content"]) == {"application/json"}


def test_staff_download_the_invoice_pdf_from_the_admin(client, paid_order):
    from django.urls import reverse

    invoice = Invoice.objects.get(order=paid_order)
    url = reverse("admin:payments_invoice_pdf", args=[invoice.pk])
    client.force_login(UserFactory(role="manager"))  # managers view payments

    listing = client.get(reverse("admin:payments_invoice_changelist"))
    assert listing.status_code == 200 and url in listing.content.decode()
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == PDF
    assert invoice.number in pdf_text(response.content)

    client.force_login(UserFactory(role="customer"))
    assert client.get(url).status_code == 302  # to the admin's sign-in: not staff
