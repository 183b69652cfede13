"""Vouchers and promotions: staff CRUD, admin, product reads showing promoted prices, and a
promotion's start or end visible on the next (cached) GET without relying on a TTL."""

import time
from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.utils import timezone

from catalog.models import Product
from core.models import OutboxMessage
from promotions.models import Promotion, Voucher
from promotions.services import promotion_prices_refresh
from tests.catalog.factories import BrandFactory, CategoryFactory, ProductFactory
from tests.promotions import factories as promos

pytestmark = pytest.mark.django_db


def test_voucher_crud(manager_client):
    product, brand = ProductFactory(), BrandFactory()
    body = {
        "code": "spring-25", "kind": "percent", "value": "25", "min_subtotal": "30.00", "usage_limit": 100,
        "per_customer_limit": 1, "products": [str(product.pk)], "brands": [str(brand.pk)],
        "starts_at": "2026-03-01T00:00:00Z", "ends_at": "2026-04-01T00:00:00Z",
    }  # fmt: skip
    response = manager_client.post("/api/v1/vouchers/", body, format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["code"] == "SPRING-25" and data["used_count"] == 0
    assert data["products"] == [str(product.pk)] and data["brands"] == [str(brand.pk)] and data["categories"] == []
    taken = manager_client.post("/api/v1/vouchers/", {**body, "code": "Spring-25"}, format="json")
    assert taken.status_code == 409 and taken.json()["errors"][0]["code"] == "unique"
    patched = manager_client.patch(f"/api/v1/vouchers/{data['id']}/", {"products": [], "value": "20"}, format="json")
    assert patched.json()["products"] == [] and patched.json()["value"] == "20.00"
    assert patched.json()["brands"] == [str(brand.pk)]
    assert manager_client.delete(f"/api/v1/vouchers/{data['id']}/").status_code == 204


@pytest.mark.parametrize(
    "change, attr",
    [
        ({"kind": "percent", "value": "120"}, "value"),
        ({"kind": "bogus"}, "kind"),
        ({"starts_at": "2026-04-01T00:00:00Z", "ends_at": "2026-03-01T00:00:00Z"}, "ends_at"),
        ({"code": "no spaces"}, "code"),
        ({"products": ["not-a-uuid"]}, "products"),
        ({"usage_limit": 0}, "usage_limit"),
    ],
)
def test_bad_vouchers_are_400(manager_client, change, attr):
    body = {"code": "OK1", "kind": "fixed", "value": "5", **change}
    response = manager_client.post("/api/v1/vouchers/", body, format="json")
    assert response.status_code == 400, response.json()
    assert response.json()["errors"][0]["attr"].startswith(attr)


def test_a_used_voucher_cannot_be_deleted(manager_client, customer):
    from orders.services import LineRequest, order_place
    from tests.orders.helpers import ADDRESS

    voucher = promos.voucher("USED5", "fixed", "5")
    order_place(
        customer, items=[LineRequest(ProductFactory(price="20").pk, 1)], shipping_address=ADDRESS, voucher_code="USED5"
    )
    response = manager_client.delete(f"/api/v1/vouchers/{voucher.pk}/")
    assert response.status_code == 409 and response.json()["errors"][0]["code"] == "protected"


def test_only_staff(customer_client, api_client):
    for client, status in ((customer_client, 403), (api_client, 401)):
        assert client.get("/api/v1/vouchers/").status_code == status
        assert client.get("/api/v1/promotions/").status_code == status


def test_list_query_budgets(manager_client, django_assert_max_num_queries):
    for i in range(5):
        promos.voucher(f"CODE{i}", products=[ProductFactory()], categories=[CategoryFactory()])
        promos.promotion(f"P{i}", brands=[BrandFactory()])
    # session, user, count, rows, three scope relations
    with django_assert_max_num_queries(7):
        assert manager_client.get("/api/v1/vouchers/").json()["count"] == 5
    with django_assert_max_num_queries(7):
        assert manager_client.get("/api/v1/promotions/").json()["count"] == 5
    with django_assert_max_num_queries(6):
        assert manager_client.get(f"/api/v1/vouchers/{Voucher.objects.first().pk}/").status_code == 200


def test_promotion_crud_reprices_products(manager_client, api_client, django_capture_on_commit_callbacks):
    product = ProductFactory(price="80.00")
    with django_capture_on_commit_callbacks(execute=True):
        response = manager_client.post(
            "/api/v1/promotions/",
            {
                "name": "Week",
                "kind": "fixed",
                "value": "15",
                "products": [str(product.pk)],
                "starts_at": "2026-01-01T00:00:00Z",
            },
            format="json",
        )
    assert response.status_code == 201, response.json()
    assert response.json()["is_running"] is True
    body = api_client.get(f"/api/v1/products/{product.pk}/").json()
    assert (body["price"], body["price_undiscounted"]) == ("65.00", "80.00")
    with django_capture_on_commit_callbacks(execute=True):
        manager_client.patch(f"/api/v1/promotions/{response.json()['id']}/", {"is_active": False}, format="json")
    body = api_client.get(f"/api/v1/products/{product.pk}/").json()
    assert (body["price"], body["price_undiscounted"]) == ("80.00", "80.00")


def test_best_single_promotion_on_product_reads_and_scopes():
    root = CategoryFactory()
    leaf = CategoryFactory(parent=root)
    brand = BrandFactory()
    a = ProductFactory(price="100.00", category=leaf, brand=brand)
    b = ProductFactory(price="10.00", category=leaf)
    c = ProductFactory(price="10.00")
    promos.promotion("Category 10%", "percent", "10", categories=[root])
    promos.promotion("Brand 15 off", "fixed", "15", brands=[brand])
    prices = dict(Product.objects.values_list("pk", "discounted_price"))
    assert prices[a.pk] == D("85.00")  # 15 off beats 10%
    assert prices[b.pk] == D("9.00")  # only the category's
    assert prices[c.pk] is None


@pytest.mark.django_db(transaction=True)  # commits happen: the new prices bump the cache generation on commit
def test_a_promotion_start_and_end_show_on_the_next_cached_get(settings, api_client):
    """Without a TTL and before the scheduled job runs: the cached page is stale once the
    stored boundary has passed, and the read applies it first."""
    settings.CATALOG_CACHE_ENABLED = True
    product = ProductFactory(price="40.00")
    now = timezone.now()
    promos.promotion(
        "Flash",
        "percent",
        "50",
        starts_at=now + timedelta(seconds=1),
        ends_at=now + timedelta(seconds=2),
        products=[product],
    )
    url = f"/api/v1/products/{product.pk}/"
    assert api_client.get(url).json()["price"] == "40.00"
    assert api_client.get(url)["X-Cache"] == "HIT"
    list_url = "/api/v1/products/"
    assert api_client.get(list_url).json()["results"][0]["price"] == "40.00"
    time.sleep(max(0, (now + timedelta(seconds=1.05) - timezone.now()).total_seconds()))
    body = api_client.get(url).json()
    assert (body["price"], body["price_undiscounted"]) == ("20.00", "40.00")
    assert api_client.get(list_url).json()["results"][0]["price"] == "20.00"
    time.sleep(max(0, (now + timedelta(seconds=2.05) - timezone.now()).total_seconds()))
    assert api_client.get(url).json()["price"] == "40.00"
    assert Promotion.objects.get().applied is False


def test_boundaries_are_scheduled_through_the_outbox():
    now = timezone.now()
    promos.promotion("Later", starts_at=now + timedelta(days=1), ends_at=now + timedelta(days=2))
    jobs = OutboxMessage.objects.filter(task="promotions.refresh_promotion_prices").order_by("available_at")
    assert [job.available_at for job in jobs] == [now + timedelta(days=1), now + timedelta(days=2)]
    assert all(job.published_at is None for job in jobs)
    from core.jobs import outbox_depth

    assert outbox_depth()["depth"] == 0  # deferred jobs are not a backlog
    from promotions.tasks import refresh_promotion_prices

    assert refresh_promotion_prices() == (now + timedelta(days=1)).timestamp()  # idempotent, nothing due


def test_promotion_windows_apply_and_expire():
    product = ProductFactory(price="20.00")
    now = timezone.now()
    promo = promos.promotion(
        "Window", "fixed", "5", starts_at=now + timedelta(hours=1), ends_at=now + timedelta(hours=2), products=[product]
    )
    product.refresh_from_db()
    assert product.discounted_price is None and not Promotion.objects.get().applied
    promotion_prices_refresh(now=now + timedelta(hours=1))
    product.refresh_from_db()
    assert product.discounted_price == D("15.00")
    promo.refresh_from_db()
    assert promo.applied
    promotion_prices_refresh(now=now + timedelta(hours=2))
    product.refresh_from_db()
    assert product.discounted_price is None


def test_admin_pages(staff_site_client, customer):
    from orders.services import LineRequest, order_place
    from tests.orders.helpers import ADDRESS

    voucher = promos.voucher("ADMIN10")
    order = order_place(
        customer,
        items=[LineRequest(ProductFactory(price="20").pk, 1)],
        shipping_address=ADDRESS,
        voucher_code="ADMIN10",
    )
    promotion = promos.promotion("Admin sale")
    page = staff_site_client.get(f"/admin/promotions/voucher/{voucher.pk}/change/")
    assert page.status_code == 200 and str(order.pk) in page.content.decode()  # its redemptions
    assert staff_site_client.get("/admin/promotions/voucher/").status_code == 200
    listing = staff_site_client.get("/admin/promotions/promotion/")
    assert listing.status_code == 200 and "running now" in listing.content.decode().lower()
    assert staff_site_client.get(f"/admin/promotions/promotion/{promotion.pk}/change/").status_code == 200
    product = ProductFactory(price="30.00")
    response = staff_site_client.post(
        "/admin/promotions/promotion/add/",
        {"name": "Admin made", "kind": "percent", "value": "10", "is_active": "on", "products": [str(product.pk)],
         "starts_at_0": "2026-01-01", "starts_at_1": "00:00:00"},
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:2000]
    product.refresh_from_db()
    assert product.discounted_price == D("27.00")
