"""catalog.filters.ProductFilter is the one definition of the product filters; the
selectors use it without any HTTP layer (admin, commands, tests alike)."""

from decimal import Decimal

import pytest

from catalog import selectors
from tests.catalog.factories import BrandFactory, CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db


def test_selectors_filter_with_the_filterset_alone():
    category = CategoryFactory(slug="root")
    acme, zeta = BrandFactory(slug="acme"), BrandFactory(slug="zeta")
    cheap = ProductFactory(category=category, brand=acme, price=Decimal("5.00"))
    dear = ProductFactory(category=category, brand=zeta, price=Decimal("50.00"))
    ProductFactory(brand=None, price=Decimal("7.00"))

    filterset = selectors.product_filterset(None, {"brand": " acme , zeta,", "ordering": "-price"})
    assert filterset.is_valid()
    assert list(selectors.product_list(filterset)) == [dear, cheap]
    assert selectors.product_facets(filterset)["total"] == 2

    cheap_only = selectors.product_filterset(None, {"category": "root", "max_price": "10"})
    assert cheap_only.is_valid()
    assert list(selectors.product_matches(cheap_only)) == [cheap]


def test_an_unvalidated_or_invalid_filterset_is_refused():
    filterset = selectors.product_filterset(None, {"min_price": "cheap"})
    with pytest.raises(ValueError, match="min_price"):
        selectors.product_list(filterset)
    assert list(filterset.errors) == ["min_price"]


def test_a_validated_parameter_set_is_not_validated_again_and_gives_the_same_list():
    from unittest import mock

    from catalog.filters import ProductFilter, ValidatedForm

    ProductFilter._validated.clear()
    cheap, dear = ProductFactory(price=Decimal("5.00")), ProductFactory(price=Decimal("50.00"))
    params = {"ordering": "price", "max_price": "60", "brand": ""}
    first = selectors.product_filterset(None, params)
    assert first.is_valid() and not isinstance(first.form, ValidatedForm)
    with mock.patch("django.forms.Form.full_clean") as clean:
        again = selectors.product_filterset(None, dict(params))
        assert again.is_valid() and isinstance(again.form, ValidatedForm) and not clean.called
    assert list(selectors.product_list(again)) == list(selectors.product_list(first)) == [cheap, dear]
    # Invalid values are validated every time (their errors name the parameter).
    for _ in range(2):
        bad = selectors.product_filterset(None, {"ordering": "price", "max_price": "lots"})
        assert not bad.is_valid() and list(bad.errors) == ["max_price"]
    # A category is looked up every time (the category may have changed since).
    CategoryFactory(slug="shoes")
    for _ in range(2):
        by_category = selectors.product_filterset(None, {"category": "shoes"})
        assert by_category.is_valid() and not isinstance(by_category.form, ValidatedForm)


# --- security finding 2: attribute names are keys, never ORM lookups ----------------------

LIST, FACETS = "/api/v1/products/", "/api/v1/products/facets/"


@pytest.fixture
def red_and_blue():
    return ProductFactory(attributes={"color": "red"}), ProductFactory(attributes={"color": "blue", "regex": "."})


@pytest.mark.parametrize("url", [LIST, FACETS])
@pytest.mark.parametrize("name", ["regex", "isnull", "range", "contains", "has_key", "iregex", "startswith"])
def test_a_lookup_name_as_attribute_name_is_only_a_key(api_client, red_and_blue, url, name):
    """`regex:.` used to match every product (and `isnull:x`, `range:x` were 500s): a
    name is now a plain key, matching only products that have that key with that value."""
    response = api_client.get(url, {"attributes": f"{name}:."})
    assert response.status_code == 200, response.content
    body = response.json()
    expected = 1 if name == "regex" else 0  # only the blue product has the key "regex", value "."
    assert (body["count"] if url == LIST else body["total"]) == expected


def test_an_attribute_key_named_like_a_lookup_matches_exactly(api_client, red_and_blue):
    _, blue = red_and_blue
    assert ids(api_client.get(LIST, {"attributes": "regex:."})) == [str(blue.id)]
    assert ids(api_client.get(LIST, {"attributes": "regex:x"})) == []


@pytest.mark.parametrize("url", [LIST, FACETS])
@pytest.mark.parametrize(
    "value",
    [
        "color__regex:.",
        "color__contains:r",
        "color__isnull:x",
        "__regex:.",
        "a__b:x",
        "color.x:red",
        "color name:red",
        "cölor:red",
        "color$:red",
    ],
)
def test_a_name_with_a_lookup_separator_or_other_characters_is_400(api_client, red_and_blue, url, value):
    response = api_client.get(url, {"attributes": value})
    assert response.status_code == 400, response.content
    error = response.json()["errors"][0]
    assert (error["code"], error["attr"]) == ("invalid_filter", "attributes")


def test_a_catastrophic_regex_as_a_value_costs_nothing(api_client, red_and_blue):
    import time

    started = time.monotonic()
    response = api_client.get(LIST, {"attributes": "regex:^(.?.?){0,14}zzz"})
    assert response.status_code == 200 and response.json()["count"] == 0
    assert time.monotonic() - started < 2


def ids(response):
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]
