"""Orders tests buy at a round default price; everything else is the catalog's factory."""

from decimal import Decimal

from tests.accounts.factories import AddressFactory  # noqa: F401 (re-exported for the orders tests)
from tests.catalog.factories import ProductFactory as CatalogProductFactory


class ProductFactory(CatalogProductFactory):
    price = Decimal("10.00")
    brand = None
