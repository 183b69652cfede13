"""Product types with typed attributes, and variants (parent/child products)."""

from decimal import Decimal

import pytest

from catalog import services
from catalog.errors import DuplicateVariant, InvalidAttribute, InvalidParent, VariantRequired
from catalog.models import AttributeDefinition, Product, ProductStructure, ProductType, StockReason
from core.errors import DomainError
from orders.services import LineRequest, order_place
from tests.catalog.factories import CategoryFactory, ProductFactory
from tests.orders.helpers import ADDRESS

pytestmark = pytest.mark.django_db
URL = "/api/v1/products/"


def make_type(slug="shirt", axis="size"):
    product_type = ProductType.objects.create(slug=slug, name=slug.title())
    for position, (attr, kind, values, is_axis) in enumerate(
        [
            ("size", "choice", ["S", "M", "L"], axis == "size"),
            ("color", "choice", ["red", "blue"], axis == "color"),
            ("weight", "number", [], False),
            ("organic", "boolean", [], False),
            ("fit", "text", [], False),
        ]
    ):
        AttributeDefinition.objects.create(
            product_type=product_type,
            slug=attr,
            name=attr,
            type=kind,
            values=values,
            is_variant_axis=is_axis,
            sort_order=position,
        )
    return product_type


def make_family(stocks=(3, 0, 5), prices=("10.00", "12.00", "15.00"), sizes=("S", "M", "L"), **parent_kwargs):
    product_type = ProductType.objects.filter(slug="shirt").first() or make_type()
    parent = services.product_create(
        sku=parent_kwargs.pop("sku", "TEE"),
        name=parent_kwargs.pop("name", "Tee"),
        price=Decimal("99.00"),
        stock_quantity=0,
        category=parent_kwargs.pop("category", None) or CategoryFactory(),
        product_type=product_type,
        attributes=parent_kwargs.pop("attributes", {"color": "red"}),
    )
    variants = [
        services.product_create(
            sku=f"{parent.sku}-{size}",
            name=f"Tee {size}",
            price=Decimal(price),
            stock_quantity=stock,
            parent=parent,
            attributes={"size": size},
        )
        for size, price, stock in zip(sizes, prices, stocks, strict=True)
    ]
    parent.refresh_from_db()
    return parent, variants


# --- typed attributes ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attributes", "attr"),
    [
        ({"size": "XL"}, "attributes.size"),  # outside the choices
        ({"size": 3}, "attributes.size"),  # a choice is text
        ({"weight": "heavy"}, "attributes.weight"),
        ({"weight": True}, "attributes.weight"),  # a boolean is not a number
        ({"organic": "yes"}, "attributes.organic"),
        ({"fit": 5}, "attributes.fit"),
        ({"colour": "red"}, "attributes.colour"),  # unknown name
    ],
)
def test_typed_attributes_are_checked_on_api_writes(manager_client, attributes, attr):
    product_type = make_type()
    payload = {
        "sku": "T-1",
        "name": "T",
        "price": "1.00",
        "category_id": str(CategoryFactory().id),
        "product_type_id": str(product_type.id),
        "attributes": attributes,
    }
    response = manager_client.post(URL, payload, format="json")
    assert response.status_code == 400, response.json()
    error = response.json()["errors"][0]
    assert (error["code"], error["attr"]) == ("invalid_attribute", attr)
    assert not Product.objects.filter(sku="T-1").exists()


def test_valid_typed_attributes_keep_their_json_type(manager_client):
    product_type = make_type()
    payload = {
        "sku": "T-2",
        "name": "T",
        "price": "1.00",
        "category_id": str(CategoryFactory().id),
        "product_type_id": str(product_type.id),
        "attributes": {"size": "M", "weight": 10.0, "organic": True, "fit": "slim"},
    }
    response = manager_client.post(URL, payload, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["attributes"] == {"size": "M", "weight": 10, "organic": True, "fit": "slim"}
    assert body["product_type"]["slug"] == "shirt" and body["structure"] == "standalone"
    # Changing the type re-checks the stored attributes against the new one.
    other = ProductType.objects.create(slug="bare", name="Bare")
    response = manager_client.patch(f"{URL}{body['id']}/", {"product_type_id": str(other.id)}, format="json")
    assert response.status_code == 400 and response.json()["errors"][0]["code"] == "invalid_attribute"


def test_untyped_products_keep_free_text_attributes(manager_client):
    payload = {"sku": "F-1", "name": "F", "price": "1.00", "category_id": str(CategoryFactory().id)}
    response = manager_client.post(URL, {**payload, "attributes": {"anything": "goes", "n": 5}}, format="json")
    assert response.status_code == 201 and response.json()["attributes"] == {"anything": "goes", "n": "5"}


def test_csv_import_checks_typed_attributes():
    from io import StringIO

    from catalog.csv_io import import_products

    product_type = make_type()
    category = CategoryFactory(slug="tees")
    ProductFactory(sku="CSV-1", category=category, product_type=product_type, attributes={})
    report = import_products(StringIO('sku,name,price,category,attributes\nCSV-1,T,1.00,tees,"{""size"": ""XXL""}"\n'))
    assert report.updated == 0 and report.errors and "XXL" in report.errors[0][1]


def test_product_types_endpoint(api_client, manager_client, customer_client):
    payload = {
        "name": "Shoe",
        "attributes": [
            {"slug": "size", "name": "Size", "type": "choice", "values": ["40", "41"], "is_variant_axis": True},
            {"slug": "waterproof", "type": "boolean"},
        ],
    }
    assert customer_client.post("/api/v1/product-types/", payload, format="json").status_code == 403
    response = manager_client.post("/api/v1/product-types/", payload, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["slug"] == "shoe"
    assert body["attributes"][0] == {
        "slug": "size",
        "name": "Size",
        "type": "choice",
        "values": ["40", "41"],
        "is_variant_axis": True,
    }
    listed = api_client.get("/api/v1/product-types/").json()
    assert listed["count"] == 1 and listed["results"][0]["attributes"][1]["type"] == "boolean"
    bad = {"name": "X", "attributes": [{"slug": "c", "type": "choice", "values": []}]}
    assert manager_client.post("/api/v1/product-types/", bad, format="json").status_code == 400
    # Once products use it, a definition cannot be removed (their attributes rely on it).
    ProductFactory(product_type_id=body["id"], attributes={"size": "40"})
    url = f"/api/v1/product-types/{body['id']}/"
    response = manager_client.patch(url, {"attributes": payload["attributes"][:1]}, format="json")
    assert response.status_code == 409 and response.json()["errors"][0]["code"] == "protected"
    assert manager_client.delete(url).status_code == 409


# --- variants -------------------------------------------------------------------------------


def test_variants_rules():
    parent, (small, medium, large) = make_family()
    assert parent.structure == ProductStructure.PARENT and parent.stock_quantity == 0
    assert parent.price == Decimal("10.00")  # its cheapest active variant
    assert small.structure == ProductStructure.CHILD and small.product_type_id == parent.product_type_id
    assert small.category_id == parent.category_id
    with pytest.raises(DuplicateVariant):
        services.product_create(sku="DUP", name="d", price=1, parent=parent, attributes={"size": "S"})
    with pytest.raises(InvalidAttribute):  # a variant gives its axis
        services.product_create(sku="NOAXIS", name="d", price=1, parent=parent, attributes={})
    with pytest.raises(InvalidParent):  # no nesting
        services.product_create(sku="NEST", name="d", price=1, parent=small, attributes={"size": "S"})
    stocked = ProductFactory(stock_quantity=4, product_type=parent.product_type, attributes={})
    with pytest.raises(InvalidParent):  # a parent holds no stock of its own
        services.product_create(sku="V", name="d", price=1, parent=stocked, attributes={"size": "S"})
    with pytest.raises(VariantRequired):  # and never gets any
        services.stock_move(parent.pk, delta=5, reason=StockReason.ADJUSTMENT)
    # Stock per variant, through the ledger.
    services.stock_move(medium.pk, delta=2, reason=StockReason.ADJUSTMENT)
    medium.refresh_from_db()
    assert medium.stock_quantity == 2 and medium.stock_moves.count() == 1
    # A variant's price change re-prices the parent.
    services.product_update(small, price=Decimal("20.00"))
    parent.refresh_from_db()
    assert parent.price == Decimal("12.00")


def test_api_creates_a_variant_and_rejects_duplicates(manager_client):
    parent, _ = make_family(stocks=(1,), prices=("5.00",), sizes=("S",))
    payload = {"sku": "TEE-M", "name": "Tee M", "price": "6.00", "parent": str(parent.id), "attributes": {"size": "M"}}
    response = manager_client.post(URL, payload, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["parent"] == str(parent.id) and response.json()["structure"] == "child"
    response = manager_client.post(URL, {**payload, "sku": "TEE-M2"}, format="json")
    assert response.status_code == 409 and response.json()["errors"][0]["code"] == "unique"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({}, (650, "zero")),
        ({"weight": 0, "tax_class": "standard"}, (0, "standard")),
        ({"tax_class": "reduced"}, (650, "reduced")),
    ],
)
def test_a_variant_ships_and_is_taxed_as_its_parent_unless_given_its_own(manager_client, given, expected):
    parent, _ = make_family(stocks=(1,), prices=("5.00",), sizes=("S",))
    services.product_update(parent, weight=650, tax_class="zero")
    payload = {"sku": "TEE-M", "name": "Tee M", "price": "6.00", "parent": str(parent.id), "attributes": {"size": "M"}}
    response = manager_client.post(URL, {**payload, **given}, format="json")
    assert response.status_code == 201, response.json()
    assert (response.json()["weight"], response.json()["tax_class"]) == expected
    variant = Product.objects.get(pk=response.json()["id"])
    assert (variant.weight, variant.tax_class) == expected
    # A standalone product not given them keeps the defaults.
    standalone = services.product_create(sku="ALONE", name="Alone", price=1, category=parent.category)
    assert (standalone.weight, standalone.tax_class) == (0, "standard")


def test_lists_show_parents_with_variants_price_range_and_in_stock(api_client):
    parent, variants = make_family(stocks=(0, 0, 4))
    standalone = ProductFactory(stock_quantity=1)
    rows = {r["id"]: r for r in api_client.get(URL).json()["results"]}
    assert set(rows) == {str(parent.id), str(standalone.id)}  # never a variant
    row = rows[str(parent.id)]
    assert [v["id"] for v in row["variants"]] == [str(v.id) for v in variants]
    assert row["price_range"] == {"min": "10.00", "max": "15.00"}
    assert row["in_stock"] is True and row["stock_quantity"] == 4
    assert rows[str(standalone.id)]["variants"] == [] and rows[str(standalone.id)]["price_range"] is None
    # A variant's own detail works.
    detail = api_client.get(f"{URL}{variants[0].id}/").json()
    assert detail["parent"] == str(parent.id) and detail["attributes"] == {"size": "S"}
    # Search lists the parent, not its variants.
    found = [r["id"] for r in api_client.get(URL, {"search": "Tee"}).json()["results"]]
    assert found == [str(parent.id)]


def test_inactive_variants_are_hidden_from_customers(api_client, manager_client):
    parent, (small, medium, large) = make_family(stocks=(0, 0, 4))
    services.product_set_active([large.pk], False)
    row = api_client.get(f"{URL}{parent.id}/").json()
    assert [v["sku"] for v in row["variants"]] == ["TEE-S", "TEE-M"]
    assert row["in_stock"] is False and row["price_range"] == {"min": "10.00", "max": "12.00"}
    assert len(manager_client.get(f"{URL}{parent.id}/").json()["variants"]) == 3
    assert api_client.get(f"{URL}{large.id}/").status_code == 404


@pytest.mark.parametrize(
    ("params", "matches"),
    [
        ({"attributes": "size:M"}, True),
        ({"attributes": "size:XL"}, False),
        ({"attributes": ["size:L", "color:red"]}, True),  # color is the parent's, size a variant's
        ({"attributes": ["size:L", "color:blue"]}, False),
        ({"min_price": "14"}, True),
        ({"min_price": "16"}, False),
        ({"max_price": "10"}, True),
        ({"in_stock": "true"}, True),
        ({"in_stock": "false"}, False),
        ({"in_stock": "true", "attributes": "size:M"}, False),  # M is out of stock: one variant must match all
        ({"in_stock": "true", "attributes": "size:L", "min_price": "15"}, True),
        ({"in_stock": "true", "attributes": "size:S", "max_price": "9"}, False),
    ],
)
def test_filters_match_a_parent_through_one_variant(api_client, params, matches):
    parent, _ = make_family(stocks=(3, 0, 5))
    ids = [r["id"] for r in api_client.get(URL, params).json()["results"]]
    assert ids == ([str(parent.id)] if matches else [])


def test_number_filters_compare_as_numbers(api_client):
    product_type = make_type()
    heavy = ProductFactory(product_type=product_type, attributes={"weight": 10.5})
    ProductFactory(product_type=product_type, attributes={"weight": 2})
    assert [r["id"] for r in api_client.get(URL, {"attributes": "weight:10.50"}).json()["results"]] == [str(heavy.id)]
    assert [r["id"] for r in api_client.get(URL, {"attributes": "organic:true"}).json()["results"]] == []


def test_facets_count_parents_and_list_variant_values(api_client):
    category = CategoryFactory(slug="tees")
    make_family(stocks=(1, 1, 1), category=category)
    ProductFactory(category=category, price=Decimal("3.00"), attributes={"size": "M"})
    facets = api_client.get(f"{URL}facets/", {"category": "tees"}).json()
    assert facets["total"] == 2
    counts = {k: {e["value"]: e["count"] for e in v} for k, v in facets["attributes"].items()}
    assert counts == {"size": {"S": 1, "M": 2, "L": 1}, "color": {"red": 1}}
    assert facets["price"] == {"min": "3.00", "max": "15.00"}
    assert facets["categories"][0]["count"] == 2


def test_cart_and_order_take_variants_not_parents(customer, customer_client):
    parent, (small, medium, large) = make_family(stocks=(3, 0, 5))
    response = customer_client.post("/api/v1/cart/items/", {"product_id": str(parent.id), "quantity": 1})
    assert response.status_code == 400 and response.json()["errors"][0]["code"] == "variant_required"
    response = customer_client.post("/api/v1/cart/items/", {"product_id": str(small.id), "quantity": 2})
    assert response.status_code == 201, response.json()
    with pytest.raises(DomainError) as exc:
        order_place(customer, items=[LineRequest(parent.pk, 1)], shipping_address=ADDRESS)
    assert exc.value.code == "variant_required"
    order = order_place(customer, items=None, shipping_address=ADDRESS)
    assert [(line.product_id, line.quantity) for line in order.lines.all()] == [(small.pk, 2)]
    small.refresh_from_db()
    assert small.stock_quantity == 1


def test_anonymous_cart_refuses_a_parent(api_client):
    parent, _ = make_family()
    response = api_client.post("/api/v1/cart/items/", {"product_id": str(parent.id), "quantity": 1})
    assert response.status_code == 400 and response.json()["errors"][0]["code"] == "variant_required"


# --- the cache and the query budgets ---------------------------------------------------------


def test_a_variant_stock_change_shows_in_its_parent_on_the_next_get(
    api_client, settings, django_capture_on_commit_callbacks
):
    settings.CATALOG_CACHE_ENABLED = True
    parent, (small, medium, large) = make_family(stocks=(0, 0, 0))
    for url in (URL, f"{URL}{parent.id}/"):
        first = api_client.get(url)
        body = first.json()
        row = body["results"][0] if "results" in body else body
        assert row["in_stock"] is False
        assert api_client.get(url)["X-Cache"] == "HIT"
    with django_capture_on_commit_callbacks(execute=True):
        services.stock_move(medium.pk, delta=7, reason=StockReason.ADJUSTMENT)
    for url in (URL, f"{URL}{parent.id}/"):
        response = api_client.get(url)
        assert response["X-Cache"] == "HIT"  # the page stays cached; its stock is merged in
        body = response.json()
        row = body["results"][0] if "results" in body else body
        assert row["in_stock"] is True and row["stock_quantity"] == 7
        assert [v["stock_quantity"] for v in row["variants"]] == [0, 7, 0]
    # And an in_stock-filtered list now finds the parent.
    assert [r["id"] for r in api_client.get(URL, {"in_stock": "true"}).json()["results"]] == [str(parent.id)]


@pytest.mark.parametrize("variants", [2, 6])
@pytest.mark.parametrize("page_size", [1, 30])
def test_query_budgets_do_not_grow_with_variants(
    manager_client, settings, django_assert_max_num_queries, variants, page_size
):
    settings.CATALOG_CACHE_ENABLED = False
    category = CategoryFactory(slug="root")
    sizes = ("S", "M", "L")
    make_type()
    for n in range(4):
        count = min(variants, 3)
        make_family(
            sku=f"P{n}",
            category=category,
            stocks=(1,) * count,
            prices=("1.00",) * count,
            sizes=sizes[:count],
        )
    for _ in range(3):
        ProductFactory(category=category)
    params = {"page_size": page_size, "attributes": "size:S", "min_price": "0"}
    with django_assert_max_num_queries(5):  # user, count, page, images, variants
        assert manager_client.get(URL, params).status_code == 200
    with django_assert_max_num_queries(6):  # ... and the `category` slug resolved to its subtree
        assert manager_client.get(URL, {**params, "category": "root"}).status_code == 200
    parent = Product.objects.filter(structure=ProductStructure.PARENT).first()
    with django_assert_max_num_queries(5):  # user, product, variants, stock moves
        assert manager_client.get(f"{URL}{parent.id}/").status_code == 200
    with django_assert_max_num_queries(4):
        assert manager_client.get("/api/v1/product-types/").status_code == 200
