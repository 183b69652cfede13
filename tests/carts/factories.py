"""Minimal catalog factories for cart tests (the catalog app has fuller ones in
tests/catalog/factories.py; the two are de-duplicated on merge)."""

from decimal import Decimal

import factory

from catalog.models import Category, Product


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category

    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.Sequence(lambda n: f"category-{n}")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    name = factory.Sequence(lambda n: f"Product {n}")
    slug = factory.Sequence(lambda n: f"product-{n}")
    sku = factory.Sequence(lambda n: f"SKU-{n:06d}")
    price = Decimal("19.99")
    stock_quantity = 100
    category = factory.SubFactory(CategoryFactory)
    is_active = True
