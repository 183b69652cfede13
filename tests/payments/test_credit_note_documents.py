"""Credit-note PDFs: GET orders/{id}/credit-notes/{credit_note_id}/ (JSON, or PDF by
`Accept`) and `….pdf`, read back with pypdf: the number, lines and totals printed are the
JSON's; owner or staff only; rate-limited like the invoice; the admin links each note to it."""

from decimal import Decimal

import pytest
from django.urls import reverse

from orders.services import return_approve, return_request_create
from payments.documents import credit_note_pdf_of
from payments.models import CreditNote
from payments.selectors import credit_note_document, credit_note_of_order
from tests.accounts.factories import UserFactory
from tests.conftest import auth_client_for
from tests.orders.aftersales import delivered, line_of
from tests.orders.factories import ProductFactory
from tests.payments.test_documents import PDF, pdf_text

pytestmark = pytest.mark.django_db


@pytest.fixture
def refunded(customer, manager, place):
    """A delivered order (2 teapots at 12.50, 3 mugs at 4.25) with two approved returns:
    1 teapot, then 2 mugs, so two credit notes."""
    teapot = ProductFactory(name="Blue Teapot", sku="TEA-BLUE", price="12.50", stock_quantity=5)
    mug = ProductFactory(name="Green Mug", sku="MUG-GRN", price="4.25", stock_quantity=5)
    order = delivered(place(customer, (teapot, 2), (mug, 3)), customer, manager)
    for product, quantity in [(teapot, 1), (mug, 2)]:
        ret = return_request_create(order.pk, user=customer, lines=[(line_of(order, product).pk, quantity)])
        return_approve(ret.pk, by=manager)
    return order


def note_url(order, note_id, suffix="/"):
    return f"/api/v1/orders/{order.pk}/credit-notes/{note_id}{suffix}"


def assert_pdf_matches_json(text: str, note: dict) -> None:
    for value in (note["number"], note["order_number"], note["invoice_number"], note["total_amount"]):
        assert value in text, (value, text)
    assert f"{note['total_amount']} {note['currency']}" in text  # the total credited
    for line in note["lines"]:
        for value in (line["description"], line["sku"], line["unit_price"], line["amount"]):
            assert value in text, (value, text)
        assert f"{line['sku']} {line['quantity']} {line['unit_price']} {line['amount']}" in text  # one row
    assert note["billing_address"]["full_name"] in text
    assert note["issued_at"][:10] in text


def test_each_credit_note_pdf_prints_the_numbers_of_its_json(customer_client, refunded):
    notes = customer_client.get(f"/api/v1/orders/{refunded.pk}/credit-notes/").json()
    assert [n["total_amount"] for n in notes] == ["12.50", "8.50"]

    for note in notes:
        detail = customer_client.get(note_url(refunded, note["id"]))
        assert detail.status_code == 200 and detail.json() == note  # the JSON of one note

        response = customer_client.get(note_url(refunded, note["id"]), HTTP_ACCEPT=PDF)
        assert response.status_code == 200
        assert response["Content-Type"] == PDF and "Accept" in response["Vary"]
        assert response["Content-Disposition"] == f'inline; filename="{note["number"]}.pdf"'
        text = pdf_text(response.content)
        assert_pdf_matches_json(text, note)
    # Each document prints its own lines only.
    first, second = (pdf_text(customer_client.get(note_url(refunded, n["id"], ".pdf")).content) for n in notes)
    assert "Blue Teapot" in first and "Green Mug" not in first
    assert "Green Mug" in second and "Blue Teapot" not in second


def test_the_pdf_path_and_the_format_parameter_answer_the_same_document(customer_client, refunded):
    note = CreditNote.objects.filter(order=refunded).order_by("sequence").first()
    negotiated = pdf_text(customer_client.get(note_url(refunded, note.pk), HTTP_ACCEPT=PDF).content)
    for response in (
        customer_client.get(note_url(refunded, note.pk, ".pdf")),
        customer_client.get(note_url(refunded, note.pk) + "?format=pdf"),
    ):
        assert response.status_code == 200 and response["Content-Type"] == PDF
        assert pdf_text(response.content) == negotiated


def test_staff_read_a_customers_credit_note_pdf(manager_client, refunded):
    note = CreditNote.objects.filter(order=refunded).first()
    response = manager_client.get(note_url(refunded, note.pk, ".pdf"))
    assert response.status_code == 200 and note.number in pdf_text(response.content)


@pytest.mark.parametrize("suffix", ["/", ".pdf"])
def test_another_customers_credit_note_is_404_in_json(refunded, customer, place, suffix):
    note = CreditNote.objects.filter(order=refunded).first()
    stranger = auth_client_for(UserFactory(is_verified=True))
    response = stranger.get(note_url(refunded, note.pk, suffix), HTTP_ACCEPT=PDF)
    assert response.status_code == 404 and response["Content-Type"] == "application/json"
    assert response.json()["errors"][0]["code"] == "not_found"

    # The owner's own other order does not reach this note either.
    other = place(customer, (ProductFactory(stock_quantity=2), 1))
    owner = auth_client_for(customer)
    response = owner.get(note_url(other, note.pk, suffix), HTTP_ACCEPT=PDF)
    assert response.status_code == 404 and response["Content-Type"] == "application/json"
    missing = owner.get(note_url(refunded, "00000000-0000-0000-0000-000000000000", suffix), HTTP_ACCEPT=PDF)
    assert missing.status_code == 404


@pytest.mark.parametrize("suffix", ["/", ".pdf"])
def test_anonymous_callers_get_a_json_401(api_client, refunded, suffix):
    note = CreditNote.objects.filter(order=refunded).first()
    response = api_client.get(note_url(refunded, note.pk, suffix), HTTP_ACCEPT=PDF)
    assert response.status_code == 401 and response["Content-Type"] == "application/json"


def test_a_malformed_note_id_is_404(customer_client, refunded):
    assert customer_client.get(note_url(refunded, "not-a-uuid")).status_code == 404


@pytest.mark.parametrize("suffix", ["/", ".pdf"])
def test_credit_note_query_budget(customer_client, refunded, suffix, django_assert_max_num_queries):
    note = CreditNote.objects.filter(order=refunded).first()
    # session check, user, order, note + order + invoice + refund, its lines
    with django_assert_max_num_queries(6):
        response = customer_client.get(note_url(refunded, note.pk, suffix), HTTP_ACCEPT=PDF)
    assert response.status_code == 200


def test_credit_note_pdfs_are_rate_limited_with_the_invoice(customer_client, refunded, rate_limits_on, settings):
    settings.RATELIMIT_DOCUMENTS = "2/h"
    note = CreditNote.objects.filter(order=refunded).first()
    assert customer_client.get(note_url(refunded, note.pk, ".pdf")).status_code == 200
    assert customer_client.get(f"/api/v1/orders/{refunded.pk}/invoice.pdf").status_code == 200
    limited = customer_client.get(note_url(refunded, note.pk), HTTP_ACCEPT=PDF)
    assert limited.status_code == 429 and limited["Content-Type"] == "application/json"
    assert limited.json()["errors"][0]["code"] == "throttled" and limited["Retry-After"]
    # The JSON of a note is not a document render: not limited.
    assert customer_client.get(note_url(refunded, note.pk)).status_code == 200


def test_the_document_prints_the_tax_credited(refunded):
    # Orders record no tax yet; a note that credited tax prints subtotal and tax (the
    # numbers of its JSON) above the total.
    note = CreditNote.objects.filter(order=refunded).order_by("sequence").first()
    CreditNote.objects.filter(pk=note.pk).update(subtotal=Decimal("10.42"), tax_amount=Decimal("2.08"))
    note = credit_note_of_order(refunded, note.pk)
    context = credit_note_document(note)
    assert (context["subtotal"], context["tax_amount"], context["total"]) == ("10.42", "2.08", "12.50")
    text = pdf_text(credit_note_pdf_of(note))
    assert "Subtotal 10.42 USD" in text and "Tax 2.08 USD" in text and "Total credited 12.50 USD" in text


def test_the_schema_describes_both_answers(client):
    paths = client.get("/api/schema/?format=json").json()["paths"]
    negotiated = paths["/api/v1/orders/{id}/credit-notes/{credit_note_id}/"]["get"]
    assert set(negotiated["responses"]["200"]["content"]) == {"application/json", PDF}
    assert set(negotiated["responses"]["404"]["content"]) == {"application/json"}
    assert {p["name"]: p["schema"].get("format") for p in negotiated["parameters"]}["credit_note_id"] == "uuid"
    pdf_only = paths["/api/v1/orders/{id}/credit-notes/{credit_note_id}.pdf"]["get"]["responses"]
    assert set(pdf_only["200"]["content"]) == {PDF}
    assert set(pdf_only["404"]["content"]) == {"application/json"}


def test_staff_download_the_credit_note_pdf_from_the_admin(client, refunded):
    note = CreditNote.objects.filter(order=refunded).first()
    url = reverse("admin:payments_creditnote_pdf", args=[note.pk])
    client.force_login(UserFactory(role="manager"))

    listing = client.get(reverse("admin:payments_creditnote_changelist"))
    assert listing.status_code == 200 and url in listing.content.decode()
    assert url in client.get(reverse("admin:payments_creditnote_change", args=[note.pk])).content.decode()
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == PDF
    assert note.number in pdf_text(response.content)
    missing = reverse("admin:payments_creditnote_pdf", args=["00000000-0000-0000-0000-000000000000"])
    assert client.get(missing).status_code == 404

    client.force_login(UserFactory(role="customer"))
    assert client.get(url).status_code == 302  # to the admin's sign-in: not staff
