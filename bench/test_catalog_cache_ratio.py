"""Hit ratio of the catalog response cache under a steady flow of orders.

Not part of the test suite (testpaths = tests); run it on demand:

    .venv/bin/python -m pytest -q -s -p no:randomly bench/test_catalog_cache_ratio.py

1,200 anonymous reads (60 % product lists and facets over 8 URLs, 40 % details of 40
products) with one checkout of one of those products after every five reads. It counts
`X-Cache` headers, so it measures any version of the cache the same way.
"""

import random

import pytest
from rest_framework.test import APIClient

from tests.accounts.factories import UserFactory
from tests.catalog.factories import BrandFactory, CategoryFactory, ProductFactory
from tests.conftest import auth_client_for

pytestmark = pytest.mark.django_db(transaction=True)  # invalidation runs on commit
ADDRESS = {"full_name": "B", "line1": "1 St", "city": "Oslo", "postal_code": "1", "country": "NO"}


def test_hit_ratio_under_orders(settings):
    settings.RATELIMIT_ENABLE = False
    rng = random.Random(7)
    reader, buyer = APIClient(), auth_client_for(UserFactory(is_verified=True))
    categories = [CategoryFactory(slug=f"c{i}") for i in range(4)]
    brands = [BrandFactory(slug=f"b{i}") for i in range(3)]
    products = [
        ProductFactory(category=categories[i % 4], brand=brands[i % 3], stock_quantity=rng.randint(0, 30))
        for i in range(120)
    ]
    lists = ["/api/v1/products/", "/api/v1/products/?ordering=price", "/api/v1/products/?in_stock=true"]
    lists += [f"/api/v1/products/?category=c{i}" for i in range(4)] + ["/api/v1/products/facets/"]
    details = [f"/api/v1/products/{p.id}/" for p in products[:40]]
    counts, orders = {"HIT": 0, "MISS": 0}, 0
    for step in range(1200):
        url = rng.choice(lists) if rng.random() < 0.6 else rng.choice(details)
        counts[reader.get(url)["X-Cache"]] += 1
        if step % 5 == 4:
            placed = buyer.post(
                "/api/v1/orders/",
                {
                    "items": [{"product_id": str(rng.choice(products[:40]).id), "quantity": 1}],
                    "shipping_address": ADDRESS,
                },
                format="json",
                HTTP_IDEMPOTENCY_KEY=f"ratio-{step}",
            )
            orders += placed.status_code == 201
    reads = counts["HIT"] + counts["MISS"]
    print(
        f"\nreads={reads} orders={orders} hits={counts['HIT']} misses={counts['MISS']} ratio={counts['HIT'] / reads:.3f}"
    )
