import factory
from factory import fuzzy

from catalog import services
from catalog.models import Brand, Category, Product, Review
from tests.accounts.factories import UserFactory


class CategoryFactory(factory.django.DjangoModelFactory):
    """Goes through catalog.services.category_save so the materialised path is right."""

    class Meta:
        model = Category

    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.Sequence(lambda n: f"category-{n}")
    parent = None

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return services.category_save(model_class(*args, **kwargs))


class BrandFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Brand

    name = factory.Sequence(lambda n: f"Brand {n}")
    slug = factory.Sequence(lambda n: f"brand-{n}")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    name = factory.Sequence(lambda n: f"Product {n}")
    slug = factory.Sequence(lambda n: f"product-{n}")
    sku = factory.Sequence(lambda n: f"SKU-{n:06d}")
    description = "A fine product."
    price = fuzzy.FuzzyDecimal(1, 500)
    stock_quantity = 10
    category = factory.SubFactory(CategoryFactory)
    brand = factory.SubFactory(BrandFactory)
    attributes = factory.LazyFunction(dict)
    is_active = True


class ReviewFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Review

    product = factory.SubFactory(ProductFactory)
    user = factory.SubFactory(UserFactory)
    rating = 4
