"""seed_catalog makes variant families (PostgreSQL COPY path)."""

import io
from collections import Counter

import pytest
from django.core.management import call_command
from django.db.models import Min

from catalog import services
from catalog.attributes import clean_attributes
from catalog.models import AttributeDefinition, Product, ProductStructure

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def test_about_30_percent_of_listed_products_are_parents_with_2_to_6_variants(api_client):
    call_command("seed_catalog", products=2000, categories=12, brands=5, seed=3, stdout=io.StringIO(), verbosity=0)
    assert Product.objects.count() == 2000
    structures = Counter(Product.objects.values_list("structure", flat=True))
    listed = structures[ProductStructure.STANDALONE] + structures[ProductStructure.PARENT]
    assert 0.22 < structures[ProductStructure.PARENT] / listed < 0.38, structures
    per_parent = Counter(Product.objects.filter(parent__isnull=False).values_list("parent_id", flat=True))
    assert set(per_parent.values()) <= set(range(2, 7)) and len(per_parent) == structures[ProductStructure.PARENT]
    # Every seeded row is valid by the rules every write checks.
    definitions = {}
    for product in Product.objects.exclude(product_type=None).only("attributes", "product_type_id", "structure"):
        if product.product_type_id not in definitions:
            definitions[product.product_type_id] = list(
                AttributeDefinition.objects.filter(product_type_id=product.product_type_id)
            )
        variant = product.structure == ProductStructure.CHILD
        assert clean_attributes(product.attributes, definitions[product.product_type_id], variant=variant)
    # Each parent's price range is what the service keeps it at (its active variants').
    seeded = dict(Product.objects.filter(structure=ProductStructure.PARENT).values_list("pk", "variant_price_max"))
    assert sum(high is not None for high in seeded.values()) > 0.9 * len(seeded)
    prices = dict(Product.objects.filter(structure=ProductStructure.PARENT).values_list("pk", "price"))
    services.product_refresh_parent_prices(list(seeded))
    assert (
        dict(Product.objects.filter(structure=ProductStructure.PARENT).values_list("pk", "variant_price_max")) == seeded
    )
    assert dict(Product.objects.filter(structure=ProductStructure.PARENT).values_list("pk", "price")) == prices
    parent = Product.objects.filter(structure=ProductStructure.PARENT, is_active=True).first()
    cheapest = Product.objects.filter(parent=parent).aggregate(low=Min("price"))["low"]
    assert parent.price == cheapest and parent.stock_quantity == 0
    body = api_client.get(f"/api/v1/products/{parent.id}/").json()
    assert len(body["variants"]) == per_parent[parent.id] and body["price_range"]["min"] == f"{cheapest:.2f}"
