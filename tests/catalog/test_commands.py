import io

import pytest
from django.core.management import call_command

from catalog.models import Brand, Category, Product
from tests.catalog.factories import BrandFactory, CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db


def test_import_upserts_by_sku_and_skips_a_bad_row_with_its_line(tmp_path):
    CategoryFactory(slug="tools")
    BrandFactory(slug="acme")
    ProductFactory(sku="OLD-1", name="Old", price="1.00")
    path = tmp_path / "products.csv"
    path.write_text(
        "sku,name,price,stock_quantity,category,brand,attributes\n"
        'NEW-1,Hammer,9.99,5,tools,acme,"{""color"": ""red""}"\n'
        "BAD-1,Saw,-3,5,tools,acme,{}\n"
        "OLD-1,Old renamed,2.50,1,tools,,{}\n"
        "BAD-2,Drill,10,1,no-such-category,,{}\n"
    )
    out, err = io.StringIO(), io.StringIO()
    call_command("import_products", str(path), stdout=out, stderr=err, verbosity=0)
    assert "created 1, updated 1, skipped 2" in out.getvalue()
    assert "line 3: price '-3'" in err.getvalue() and "line 5: unknown category" in err.getvalue()
    hammer = Product.objects.get(sku="NEW-1")
    assert hammer.attributes == {"color": "red"} and hammer.brand.slug == "acme" and hammer.slug == "hammer"
    assert Product.objects.get(sku="OLD-1").name == "Old renamed"
    assert not Product.objects.filter(sku__startswith="BAD").exists()


def test_export_then_import_round_trips(tmp_path):
    ProductFactory(sku="A-1", attributes={"size": "M"}, price="12.30")
    path = tmp_path / "out.csv"
    call_command("export_products", str(path), stdout=io.StringIO())
    Product.objects.filter(sku="A-1").update(name="changed", price="1.00")
    call_command("import_products", str(path), stdout=io.StringIO(), stderr=io.StringIO(), verbosity=0)
    product = Product.objects.get(sku="A-1")
    assert product.name != "changed" and str(product.price) == "12.30" and product.attributes == {"size": "M"}


def test_seed_catalog_is_repeatable_with_a_seed():
    call_command("seed_catalog", products=60, categories=12, brands=5, seed=7, stdout=io.StringIO(), verbosity=0)
    first = sorted(Product.objects.values_list("sku", "name", "price"))
    assert len(first) == 60 and Category.objects.count() == 12 and Brand.objects.count() == 5
    assert Category.objects.filter(depth__gt=0).exists()
    assert Product.objects.exclude(attributes={}).exists()
    call_command("seed_catalog", products=60, categories=12, brands=5, seed=7, stdout=io.StringIO(), verbosity=0)
    assert sorted(Product.objects.values_list("sku", "name", "price")) == first


def test_rebuild_search_index_runs():
    ProductFactory()
    call_command("rebuild_search_index", stdout=io.StringIO(), verbosity=0)


def test_demo_catalog_is_idempotent():
    from catalog import demo

    demo.load(io.StringIO())
    n = Product.objects.count()
    assert 200 <= n <= 1000
    demo.load(io.StringIO())
    assert Product.objects.count() == n
