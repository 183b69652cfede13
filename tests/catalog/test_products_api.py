from decimal import Decimal

import pytest

from catalog.models import Product
from catalog.pagination import MAX_WINDOW
from tests.catalog.factories import BrandFactory, CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/products/"


def ids(response):
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["results"]]


@pytest.fixture
def shop():
    """shoes > running; one product per interesting combination."""
    shoes = CategoryFactory(slug="shoes", name="Shoes")
    running = CategoryFactory(slug="running", name="Running", parent=shoes)
    hats = CategoryFactory(slug="hats", name="Hats")
    acme, zeta = BrandFactory(slug="acme", name="Acme"), BrandFactory(slug="zeta", name="Zeta")
    p = {
        "red_runner": ProductFactory(
            name="Red runner",
            category=running,
            brand=acme,
            price=Decimal("50.00"),
            attributes={"color": "red", "size": "M"},
        ),
        "blue_runner": ProductFactory(
            name="Blue runner",
            category=running,
            brand=zeta,
            price=Decimal("80.00"),
            attributes={"color": "blue", "size": "L"},
        ),
        "boot": ProductFactory(
            name="Boot",
            category=shoes,
            brand=acme,
            price=Decimal("120.00"),
            stock_quantity=0,
            attributes={"color": "red"},
        ),
        "cap": ProductFactory(
            name="Cap", category=hats, brand=zeta, price=Decimal("15.00"), attributes={"color": "blue"}
        ),
    }
    return p


def test_product_fields_follow_the_contract(api_client, shop):
    row = api_client.get(f"{URL}{shop['red_runner'].id}/").json()
    assert row["price"] == "50.00" and row["currency"] == "USD"
    assert row["category"]["slug"] == "running" and row["brand"] == {
        "id": str(shop["red_runner"].brand_id),
        "slug": "acme",
        "name": "Acme",
    }
    assert row["attributes"] == {"color": "red", "size": "M"}
    assert row["in_stock"] is True and row["rating_avg"] == "0.00" and row["review_count"] == 0
    assert row["created_at"].endswith("Z")


def test_category_filter_includes_descendants(api_client, shop):
    got = set(ids(api_client.get(URL, {"category": "shoes"})))
    assert got == {str(shop[k].id) for k in ("red_runner", "blue_runner", "boot")}
    assert set(ids(api_client.get(URL, {"category": "running"}))) == {
        str(shop["red_runner"].id),
        str(shop["blue_runner"].id),
    }


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"brand": "acme"}, {"red_runner", "boot"}),
        ({"brand": "acme,zeta"}, {"red_runner", "boot", "blue_runner", "cap"}),
        ({"min_price": "50"}, {"red_runner", "blue_runner", "boot"}),
        ({"max_price": "50"}, {"red_runner", "cap"}),
        ({"min_price": "20", "max_price": "100"}, {"red_runner", "blue_runner"}),
        ({"in_stock": "true"}, {"red_runner", "blue_runner", "cap"}),
        ({"attributes": "color:red"}, {"red_runner", "boot"}),
        ({"attributes": "color:red|blue"}, {"red_runner", "boot", "blue_runner", "cap"}),
        ({"attributes": ["color:red", "size:M"]}, {"red_runner"}),
        ({"search": "runner"}, {"red_runner", "blue_runner"}),
    ],
)
def test_each_filter_alone(api_client, shop, params, expected):
    assert set(ids(api_client.get(URL, params))) == {str(shop[k].id) for k in expected}


def test_filters_combine(api_client, shop):
    got = ids(
        api_client.get(
            URL,
            {"category": "shoes", "brand": "acme", "in_stock": "true", "max_price": "100", "attributes": "color:red"},
        )
    )
    assert got == [str(shop["red_runner"].id)]


@pytest.mark.parametrize(
    ("params", "attr"),
    [
        ({"min_price": "cheap"}, "min_price"),
        ({"max_price": "-1"}, "max_price"),
        ({"in_stock": "maybe"}, "in_stock"),
        ({"category": "no-such-category"}, "category"),
        ({"ordering": "stock_quantity"}, "ordering"),
        ({"attributes": "colour"}, "attributes"),
        ({"attributes": "bad name!:x"}, "attributes"),
        ({"cursor": "not-a-cursor"}, "cursor"),
    ],
)
def test_bad_filter_values_are_400_naming_the_parameter(api_client, shop, params, attr):
    response = api_client.get(URL, params)
    assert response.status_code == 400
    assert response.json()["type"] == "validation_error"
    assert attr in [e["attr"] for e in response.json()["errors"]]


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        ("price", ["cap", "red_runner", "blue_runner", "boot"]),
        ("-price", ["boot", "blue_runner", "red_runner", "cap"]),
        ("name", ["blue_runner", "boot", "cap", "red_runner"]),
        ("-name", ["red_runner", "cap", "boot", "blue_runner"]),
        ("created_at", ["red_runner", "blue_runner", "boot", "cap"]),
        ("-created_at", ["cap", "boot", "blue_runner", "red_runner"]),
    ],
)
def test_ordering(api_client, shop, ordering, expected):
    assert ids(api_client.get(URL, {"ordering": ordering})) == [str(shop[k].id) for k in expected]


def test_default_ordering_is_newest_first_and_rating_ordering(api_client, shop):
    assert ids(api_client.get(URL))[0] == str(shop["cap"].id)
    Product.objects.filter(pk=shop["boot"].pk).update(rating_avg=Decimal("4.50"))
    assert ids(api_client.get(URL, {"ordering": "-rating_avg"}))[0] == str(shop["boot"].id)


def test_page_number_paging_and_clamped_page_size(api_client, shop):
    body = api_client.get(URL, {"page_size": 3}).json()
    assert body["count"] == 4 and body["count_is_exact"] is True and len(body["results"]) == 3
    assert "page=2" in body["next"] and body["previous"] is None
    second = api_client.get(body["next"]).json()
    assert len(second["results"]) == 1 and second["next"] is None and second["previous"]
    assert api_client.get(URL, {"page_size": 1000}).status_code == 200  # clamped, not an error
    assert api_client.get(URL, {"page": 9}).status_code == 404


def test_page_past_the_window_is_page_too_deep(api_client, shop):
    response = api_client.get(URL, {"page": MAX_WINDOW // 20 + 1})
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "page_too_deep"
    assert response.json()["errors"][0]["attr"] == "page"


def test_count_is_a_lower_bound_beyond_the_window(api_client, shop, monkeypatch):
    monkeypatch.setattr("catalog.pagination.MAX_WINDOW", 2)
    body = api_client.get(URL).json()
    assert body["count"] == 2 and body["count_is_exact"] is False


@pytest.mark.parametrize("ordering", ["-created_at", "price", "-price", "name", "-name", "-rating_avg"])
def test_cursor_paging_walks_every_product_once_in_order(api_client, ordering):
    category = CategoryFactory()
    for i in range(7):
        # Equal prices and ratings for some rows: the id tiebreak must keep paging exact.
        ProductFactory(category=category, price=Decimal(10 + i % 3), name=f"Item {i % 4}")
    expected = ids(api_client.get(URL, {"ordering": ordering, "page_size": 100}))
    seen, url, params = [], URL, {"ordering": ordering, "page_size": 3, "cursor": ""}
    while url:
        body = api_client.get(url, params).json()
        seen += [row["id"] for row in body["results"]]
        assert body["previous"] is None and body["count"] == 7
        url, params = body["next"], None
    assert seen == expected


def test_cursor_from_another_ordering_is_rejected(api_client, shop):
    first = api_client.get(URL, {"cursor": "", "page_size": 1}).json()
    cursor = first["next"].split("cursor=")[1]
    response = api_client.get(URL, {"cursor": cursor, "ordering": "price"})
    assert response.status_code == 400 and response.json()["errors"][0]["code"] == "invalid_cursor"


def test_inactive_products_are_404_for_customers_but_visible_to_staff(
    api_client, customer_client, manager_client, shop
):
    Product.objects.filter(pk=shop["cap"].pk).update(is_active=False)
    url = f"{URL}{shop['cap'].id}/"
    assert api_client.get(url).status_code == 404
    assert customer_client.get(url).status_code == 404
    assert str(shop["cap"].id) not in ids(customer_client.get(URL))
    assert manager_client.get(url).status_code == 200
    assert str(shop["cap"].id) in ids(manager_client.get(URL))


def test_customers_and_anonymous_cannot_write(api_client, customer_client, shop):
    payload = {"sku": "X-1", "name": "X", "price": "1.00", "category_id": str(shop["cap"].category_id)}
    assert api_client.post(URL, payload).status_code == 401
    assert customer_client.post(URL, payload).status_code == 403
    assert customer_client.patch(f"{URL}{shop['cap'].id}/", {"price": "0.01"}).status_code == 403
    assert customer_client.delete(f"{URL}{shop['cap'].id}/").status_code == 403
    assert customer_client.get(f"{URL}stats/").status_code == 403


def test_manager_creates_updates_and_deletes_a_product(manager_client, shop):
    category = shop["cap"].category
    response = manager_client.post(
        URL,
        {
            "sku": "NEW-1",
            "name": "Trail Runner 2",
            "price": "99.90",
            "stock_quantity": 3,
            "category_id": str(category.id),
            "attributes": {"color": "green"},
        },
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["slug"] == "trail-runner-2" and body["price"] == "99.90" and body["brand"] is None
    url = f"{URL}{body['id']}/"
    response = manager_client.patch(url, {"price": "89.90", "stock_quantity": 0})
    assert response.status_code == 200 and response.json()["price"] == "89.90"
    assert response.json()["in_stock"] is False
    assert manager_client.delete(url).status_code == 204
    assert not Product.objects.filter(pk=body["id"]).exists()


@pytest.mark.parametrize(
    ("payload", "attr"),
    [
        ({"price": "-1.00"}, "price"),
        ({"stock_quantity": -1}, "stock_quantity"),
        ({"sku": "SKU-TAKEN"}, "sku"),
        ({"attributes": {"bad key!": "x"}}, "attributes"),
        ({"attributes": {"color__regex": "x"}}, "attributes"),
        ({"category_id": "00000000-0000-0000-0000-000000000000"}, "category_id"),
    ],
)
def test_product_validation(manager_client, shop, payload, attr):
    ProductFactory(sku="SKU-TAKEN")
    data = {"sku": "OK-1", "name": "Ok", "price": "1.00", "category_id": str(shop["cap"].category_id), **payload}
    response = manager_client.post(URL, data, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == attr


def test_deleting_an_ordered_product_is_409_protected(manager_client, shop, customer):
    from orders.services import LineRequest, order_place
    from tests.accounts.factories import AddressFactory

    address = AddressFactory(user=customer)
    order_place(customer, items=[LineRequest(shop["cap"].id, 1)], shipping_address_id=address.id)
    response = manager_client.delete(f"{URL}{shop['cap'].id}/")
    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "protected"
    assert Product.objects.filter(pk=shop["cap"].pk).exists()


def test_stats_for_staff(manager_client, shop):
    body = manager_client.get(f"{URL}stats/").json()
    assert body["product_count"] == 4
    assert body["low_stock_count"] == 1 and body["out_of_stock_count"] == 1
    expected_value = sum(p.price * p.stock_quantity for p in shop.values())
    assert Decimal(body["stock_value"]) == expected_value
    assert {c["slug"]: c["count"] for c in body["per_category"]} == {"running": 2, "shoes": 1, "hats": 1}


def test_search_with_a_cursor_walks_every_match_once(api_client):
    """On either database (PostgreSQL: relevance order; SQLite: newest first)."""
    for i in range(5):
        ProductFactory(name=f"Walking lamp {i}")
    ProductFactory(name="Unrelated chair")
    seen, cursor = [], ""
    while cursor is not None:
        body = api_client.get(URL, {"search": "lamp", "cursor": cursor, "page_size": 2}).json()
        seen += [p["name"] for p in body["results"]]
        cursor = body["next"].split("cursor=")[1].split("&")[0] if body["next"] else None
    assert sorted(seen) == [f"Walking lamp {i}" for i in range(5)]
