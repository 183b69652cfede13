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
