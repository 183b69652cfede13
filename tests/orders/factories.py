"""Minimal catalog factories for the orders/payments tests (the lead de-duplicates them
with the catalog's own factories later)."""

from decimal import Decimal

import factory

from accounts.models import Address
from catalog.models import Category, Product
from tests.accounts.factories import UserFactory


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category

    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.Sequence(lambda n: f"orders-category-{n}")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    name = factory.Sequence(lambda n: f"Product {n}")
    slug = factory.Sequence(lambda n: f"orders-product-{n}")
    sku = factory.Sequence(lambda n: f"ORD-SKU-{n:06d}")
    price = Decimal("10.00")
    stock_quantity = 10
    category = factory.SubFactory(CategoryFactory)
    is_active = True


class AddressFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Address

    user = factory.SubFactory(UserFactory)
    full_name = "Ada Lovelace"
    line1 = "1 Analytical Engine St"
    city = "London"
    postal_code = "N1 7AA"
    country = "GB"
