"""Product weight and tax class (API and admin), and the promoted price on product and cart reads."""

from decimal import Decimal as D

import pytest

from catalog.models import Product
from tests.catalog.factories import CategoryFactory, ProductFactory
from tests.promotions import factories as promos

pytestmark = pytest.mark.django_db


def test_weight_and_tax_class_are_written_and_read(manager_client):
    category = CategoryFactory()
    body = {
        "sku": "W-1",
        "name": "Heavy",
        "price": "10.00",
        "category_id": str(category.pk),
        "weight": 2500,
        "tax_class": "reduced",
    }
    response = manager_client.post("/api/v1/products/", body, format="json")
    assert response.status_code == 201, response.json()
    product = Product.objects.get(sku="W-1")
    assert (product.weight, product.tax_class) == (2500, "reduced")
    read = manager_client.get(f"/api/v1/products/{product.pk}/").json()
    assert (read["weight"], read["tax_class"], read["price_undiscounted"]) == (2500, "reduced", "10.00")
    default = manager_client.post("/api/v1/products/", {**body, "sku": "W-2", "weight": None}, format="json")
    assert default.status_code == 400  # null is not a weight
    plain = {k: v for k, v in body.items() if k not in ("weight", "tax_class")}
    assert manager_client.post("/api/v1/products/", {**plain, "sku": "W-3"}, format="json").status_code == 201
    assert Product.objects.get(sku="W-3").tax_class == "standard"
    bad = manager_client.patch(f"/api/v1/products/{product.pk}/", {"weight": -1}, format="json")
    assert bad.status_code == 400 and bad.json()["errors"][0]["attr"] == "weight"


def test_discounted_price_is_not_writable(manager_client):
    product = ProductFactory(price="10.00")
    manager_client.patch(f"/api/v1/products/{product.pk}/", {"discounted_price": "1.00"}, format="json")
    product.refresh_from_db()
    assert product.discounted_price is None


def test_cart_shows_the_promoted_price(customer_client):
    product = ProductFactory(price="30.00")
    promos.promotion("Third off", "percent", "33.33", products=[product])
    customer_client.post("/api/v1/cart/items/", {"product_id": str(product.pk), "quantity": 2}, format="json")
    cart = customer_client.get("/api/v1/cart/").json()
    assert cart["items"][0]["unit_price"] == "20.00" and cart["subtotal"] == "40.00"
    assert Product.objects.get().discounted_price == D("20.00")


def test_admin_product_form_has_weight_and_tax_class(staff_site_client):
    product = ProductFactory()
    page = staff_site_client.get(f"/admin/catalog/product/{product.pk}/change/").content.decode()
    assert 'name="weight"' in page and 'name="tax_class"' in page
