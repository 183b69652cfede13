"""The admin of product types and variants: typed attribute fields, variants inline, and
"create variants" for the cross product of chosen axis values."""

import pytest
from django.urls import reverse

from catalog.models import Product, ProductStructure
from tests.accounts.factories import UserFactory
from tests.catalog.factories import CategoryFactory, ProductFactory
from tests.catalog.test_variants import make_family, make_type

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(role="admin", is_superuser=True))
    return client


def _post_data(page) -> dict:
    """The change form's own data, as a browser would send it back."""
    form = page.context["adminform"].form
    data = {}
    for name in form.fields:
        value = form[name].value()
        if value is None or value is False:
            continue
        data[name] = value.pk if hasattr(value, "pk") else value
    for inline in page.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        for name in management.fields:
            data[f"{management.prefix}-{name}"] = management[name].value()
        for i, inline_form in enumerate(inline.formset.forms):
            for name in inline_form.fields:
                value = inline_form[name].value()
                if value not in (None, False):
                    data[f"{inline.formset.prefix}-{i}-{name}"] = value.pk if hasattr(value, "pk") else value
    return data


def test_typed_product_form_has_a_field_per_attribute_and_saves_them(staff_client):
    product = ProductFactory(product_type=make_type(), attributes={"size": "M"})
    url = reverse("admin:catalog_product_change", args=[product.pk])
    page = staff_client.get(url)
    html = page.content.decode()
    assert page.status_code == 200
    assert '<select name="attr_size"' in html and 'name="attr_weight"' in html and 'type="number"' in html
    assert 'name="attr_organic"' in html and 'name="attributes"' not in html  # no JSON box
    data = _post_data(page)
    data.update({"attr_size": "L", "attr_weight": "2.5", "attr_organic": "true"})
    response = staff_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    product.refresh_from_db()
    assert product.attributes == {"size": "L", "weight": 2.5, "organic": True}
    # A value outside the choices is a form error, nothing saved.
    response = staff_client.post(url, {**data, "attr_size": "XXL"})
    assert response.status_code == 200
    product.refresh_from_db()
    assert product.attributes["size"] == "L"


def test_untyped_products_keep_the_json_box(staff_client):
    product = ProductFactory(attributes={"color": "red"})
    html = staff_client.get(reverse("admin:catalog_product_change", args=[product.pk])).content.decode()
    assert 'name="attributes"' in html and "attr_" not in html


def test_parent_lists_its_variants_inline_with_read_only_stock(staff_client):
    parent, variants = make_family(stocks=(3, 0, 5))
    page = staff_client.get(reverse("admin:catalog_product_change", args=[parent.pk]))
    html = page.content.decode()
    assert all(v.sku in html for v in variants)
    assert 'name="variants-0-stock_quantity"' not in html  # stock moves only through "Adjust stock"


def test_create_variants_makes_the_cross_product_of_chosen_values(staff_client):
    product_type = make_type()
    parent = ProductFactory(
        sku="HOOD",
        stock_quantity=0,
        product_type=product_type,
        category=CategoryFactory(),
        weight=650,
        tax_class="zero",
    )
    changelist = reverse("admin:catalog_product_changelist")
    response = staff_client.post(changelist, {"action": "create_variants", "_selected_action": [parent.pk]})
    assert response.status_code == 302
    url = reverse("admin:catalog_product_create_variants", args=[parent.pk])
    assert response["Location"] == url
    assert staff_client.get(url).status_code == 200
    response = staff_client.post(url, {"attr_size": ["S", "M"], "price": "20.00"})
    assert response.status_code == 302
    variants = Product.objects.filter(parent=parent).order_by("sku")
    assert [(v.sku, v.attributes, str(v.price), v.weight, v.tax_class) for v in variants] == [
        ("HOOD-m", {"size": "M"}, "20.00", 650, "zero"),  # weighed and taxed as the parent
        ("HOOD-s", {"size": "S"}, "20.00", 650, "zero"),
    ]
    parent.refresh_from_db()
    assert parent.structure == ProductStructure.PARENT
    # Again with one more value: only the new combination is added.
    staff_client.post(url, {"attr_size": ["S", "M", "L"]})
    assert Product.objects.filter(parent=parent).count() == 3


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({}, (650, "zero")),
        ({"weight": "0", "tax_class": "standard"}, (0, "standard")),
        ({"weight": "90"}, (90, "zero")),
    ],
)
def test_a_variant_added_in_the_admin_takes_its_parents_weight_and_tax_class_unless_given(
    staff_client, given, expected
):
    parent, _ = make_family(stocks=(1,), prices=("5.00",), sizes=("S",))
    Product.objects.filter(pk=parent.pk).update(weight=650, tax_class="zero")
    data = {"sku": "TEE-M", "slug": "tee-m", "name": "Tee M", "price": "6.00", "stock_quantity": "0", "category": parent.category_id,
            "parent": parent.pk, "attributes": '{"size": "M"}', "is_active": "on", **given}  # fmt: skip
    response = staff_client.post(reverse("admin:catalog_product_add"), {**data, **_empty_inlines(staff_client)})
    assert response.status_code == 302, response.context["adminform"].form.errors
    variant = Product.objects.get(sku="TEE-M")
    assert variant.parent_id == parent.pk and (variant.weight, variant.tax_class) == expected


def test_a_variant_added_in_the_admin_is_checked_against_its_parents_type(staff_client):
    parent, _ = make_family(stocks=(1,), prices=("5.00",), sizes=("S",))
    data = {"sku": "TEE-X", "slug": "tee-x", "name": "Tee X", "price": "6.00", "stock_quantity": "0",
            "category": parent.category_id, "parent": parent.pk, "is_active": "on"}  # fmt: skip
    for attributes in ('{"fit": "loose"}', '{"size": "XXL"}'):  # no axis value; a value outside its choices
        response = staff_client.post(
            reverse("admin:catalog_product_add"), {**data, "attributes": attributes, **_empty_inlines(staff_client)}
        )
        assert response.status_code == 200  # the form again, with the attributes' error: not a 500
        assert "attributes" in response.context["adminform"].form.errors
    assert not Product.objects.filter(sku="TEE-X").exists()


def _empty_inlines(client) -> dict:
    """The add form's inline management data, nothing in the inlines."""
    page = client.get(reverse("admin:catalog_product_add"))
    data = {}
    for inline in page.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        for name in management.fields:
            data[f"{management.prefix}-{name}"] = management[name].value()
    return data


def test_product_type_admin_pages_render(staff_client):
    product_type = make_type()
    assert staff_client.get(reverse("admin:catalog_producttype_changelist")).status_code == 200
    page = staff_client.get(reverse("admin:catalog_producttype_change", args=[product_type.pk]))
    assert page.status_code == 200 and "is_variant_axis" in page.content.decode()
