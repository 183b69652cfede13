"""Cart tests use a fixed price and ample stock; everything else is the catalog's factory."""

from decimal import Decimal

from tests.catalog.factories import ProductFactory as CatalogProductFactory


class ProductFactory(CatalogProductFactory):
    price = Decimal("19.99")
    stock_quantity = 100
    brand = None
