"""The product list and facets document every filter parameter (drf-spectacular reads
them from catalog.filters.ProductFilter, the one definition of each)."""

import pytest

pytestmark = pytest.mark.django_db

FILTERS = {"search", "category", "brand", "min_price", "max_price", "in_stock", "attributes", "ordering"}


@pytest.mark.parametrize("path", ["/api/v1/products/", "/api/v1/products/facets/"])
def test_product_filters_are_documented(client, path):
    schema = client.get("/api/schema/?format=json").json()
    params = {p["name"]: p for p in schema["paths"][path]["get"]["parameters"]}
    assert set(params) >= FILTERS
    assert params["in_stock"]["schema"] == {"type": "boolean"}
    assert params["min_price"]["schema"]["type"] == "number"
    assert params["attributes"]["schema"] == {"type": "array", "items": {"type": "string"}}
    assert params["attributes"]["explode"] is True
    assert set(params["ordering"]["schema"]["enum"]) == {
        "price",
        "-price",
        "created_at",
        "-created_at",
        "name",
        "-name",
        "-rating_avg",
    }
    assert "400" in schema["paths"][path]["get"]["responses"]
