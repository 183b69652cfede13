"""core.addresses: the one definition of address fields and checks, as saved addresses
(accounts) and order snapshots (orders) both apply it."""

import pytest

from core.addresses import ADDRESS_FIELDS, InvalidAddressFields, validate_address

VALID = {"full_name": "Ada Lovelace", "line1": "1 Main St", "city": "London", "postal_code": "N1", "country": "gb"}


def problems(data, **kwargs):
    with pytest.raises(InvalidAddressFields) as excinfo:
        validate_address(data, **kwargs)
    return [(e["code"], e["attr"]) for e in excinfo.value.as_errors()]


def test_a_valid_address_is_normalised_and_complete():
    cleaned = validate_address({**VALID, "city": "  London ", "phone": " +44 20 7946 0000 ", "extra": "ignored"})
    assert tuple(cleaned) == ADDRESS_FIELDS
    assert cleaned["country"] == "GB" and cleaned["city"] == "London" and cleaned["phone"] == "+44 20 7946 0000"
    assert cleaned["line2"] == cleaned["region"] == ""


@pytest.mark.parametrize("country", ["XX", "UK", "FRA", "1", "Narnia", ""])
def test_country_must_be_iso_3166_alpha_2(country):
    assert [attr for _, attr in problems({**VALID, "country": country})] == ["country"]


def test_every_bad_field_is_reported_with_its_attr():
    bad = {"line1": "", "city": "x" * 121, "postal_code": "1", "country": "XX", "phone": "call me"}
    assert problems(bad, attr_prefix="shipping_address.") == [
        ("required", "shipping_address.full_name"),
        ("blank", "shipping_address.line1"),
        ("max_length", "shipping_address.city"),
        ("invalid", "shipping_address.country"),
        ("invalid", "shipping_address.phone"),
    ]


def test_partial_checks_only_what_is_sent():
    assert validate_address({"country": "fr"}, partial=True) == {"country": "FR"}
    assert problems({"city": ""}, partial=True) == [("blank", "city")]


# --- orders use the same rules for an address given at checkout ---------------------------


@pytest.mark.django_db
def test_checkout_address_is_checked_and_normalised_like_a_saved_one(customer_client):
    from tests.orders.factories import ProductFactory
    from tests.orders.helpers import item, post_order

    response = post_order(customer_client, [item(ProductFactory())], address={**VALID, "country": "XX"})
    assert response.status_code == 400
    assert [e["attr"] for e in response.json()["errors"]] == ["shipping_address.country"]

    response = post_order(customer_client, [item(ProductFactory())], address={**VALID, "phone": "call me"})
    assert [e["attr"] for e in response.json()["errors"]] == ["shipping_address.phone"]

    response = post_order(customer_client, [item(ProductFactory())], address=VALID)
    assert response.status_code == 201, response.content
    assert response.json()["shipping_address"]["country"] == "GB"


@pytest.mark.django_db
def test_order_service_checks_an_inline_address_too(customer):
    from orders.services import LineRequest, order_place
    from tests.orders.factories import ProductFactory

    with pytest.raises(InvalidAddressFields) as excinfo:
        order_place(customer, items=[LineRequest(ProductFactory().pk, 1)], shipping_address={**VALID, "country": "ZZ"})
    assert excinfo.value.attr == "shipping_address.country"
