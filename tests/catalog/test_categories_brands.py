import pytest

from catalog.models import Category
from catalog.services import category_update
from core.errors import InvalidInput
from tests.catalog.factories import BrandFactory, CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db


def test_detail_shows_breadcrumbs_and_children(api_client):
    a = CategoryFactory(name="A")
    b = CategoryFactory(name="B", parent=a)
    c = CategoryFactory(name="C", parent=b)
    body = api_client.get(f"/api/v1/categories/{c.id}/").json()
    assert [x["name"] for x in body["ancestors"]] == ["A", "B"] and body["children"] == []
    body = api_client.get(f"/api/v1/categories/{a.id}/").json()
    assert body["ancestors"] == [] and [x["name"] for x in body["children"]] == ["B"]


def test_tree_is_nested(api_client):
    a = CategoryFactory(name="A")
    CategoryFactory(name="A1", parent=a)
    CategoryFactory(name="Z")
    tree = api_client.get("/api/v1/categories/tree/").json()
    assert [(n["name"], [c["name"] for c in n["children"]]) for n in tree] == [("A", ["A1"]), ("Z", [])]


def test_moving_a_subtree_rewrites_descendant_paths_and_refuses_cycles():
    a, b = CategoryFactory(), CategoryFactory()
    a1 = CategoryFactory(parent=a)
    a11 = CategoryFactory(parent=a1)
    category_update(a1, parent=b)
    a11.refresh_from_db()
    assert a11.path == f"{b.id.hex}/{a1.id.hex}/{a11.id.hex}/" and a11.depth == 2
    with pytest.raises(InvalidInput):
        category_update(b, parent=a11)


def test_manager_crud_and_protected_delete(manager_client, customer_client):
    assert customer_client.post("/api/v1/categories/", {"name": "X"}).status_code == 403
    parent = manager_client.post("/api/v1/categories/", {"name": "Garden Tools"}).json()
    assert parent["slug"] == "garden-tools" and parent["depth"] == 0
    child = manager_client.post("/api/v1/categories/", {"name": "Rakes", "parent": parent["id"]}).json()
    assert child["ancestors"][0]["id"] == parent["id"]
    response = manager_client.delete(f"/api/v1/categories/{parent['id']}/")
    assert response.status_code == 409 and response.json()["errors"][0]["code"] == "protected"
    ProductFactory(category=Category.objects.get(pk=child["id"]))
    assert manager_client.delete(f"/api/v1/categories/{child['id']}/").status_code == 409
    empty = manager_client.post("/api/v1/categories/", {"name": "Empty"}).json()
    assert manager_client.delete(f"/api/v1/categories/{empty['id']}/").status_code == 204


def test_moving_under_own_descendant_is_400(manager_client):
    a = CategoryFactory()
    b = CategoryFactory(parent=a)
    response = manager_client.patch(f"/api/v1/categories/{a.id}/", {"parent": str(b.id)})
    assert response.status_code == 400 and response.json()["errors"][0]["attr"] == "parent"


def test_brands_crud_and_protected_delete(api_client, manager_client):
    brand = BrandFactory(name="Acme")
    assert api_client.get("/api/v1/brands/").json()["count"] == 1
    assert api_client.post("/api/v1/brands/", {"name": "X"}).status_code == 401
    created = manager_client.post("/api/v1/brands/", {"name": "Nova Labs"}).json()
    assert created["slug"] == "nova-labs"
    assert manager_client.post("/api/v1/brands/", {"name": "Y", "slug": "nova-labs"}).status_code == 400
    ProductFactory(brand=brand)
    response = manager_client.delete(f"/api/v1/brands/{brand.id}/")
    assert response.status_code == 409 and response.json()["errors"][0]["code"] == "protected"
    assert manager_client.delete(f"/api/v1/brands/{created['id']}/").status_code == 204


def test_a_category_saved_directly_still_gets_a_path(api_client):
    root = Category.objects.create(name="Root", slug="root-direct")
    child = Category.objects.create(name="Child", slug="child-direct", parent=root)
    assert child.path == f"{root.id.hex}/{child.id.hex}/" and child.depth == 1
    ProductFactory(category=child)
    ProductFactory()
    assert api_client.get("/api/v1/products/", {"category": "root-direct"}).json()["count"] == 1
