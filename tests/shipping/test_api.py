"""Staff CRUD of shipping zones (methods nested or under the zone) and tax rates, in the API
and the admin; the pricing config follows every write."""

import pytest

from shipping.models import ShippingMethod, ShippingZone, TaxRate
from tests.orders.factories import ProductFactory
from tests.orders.helpers import ADDRESS, item
from tests.shipping import factories as ship

pytestmark = pytest.mark.django_db

ZONE = {
    "name": "Europe",
    "countries": ["de", "FR"],
    "methods": [
        {"name": "Standard", "kind": "flat", "price": "5.00", "min_days": 2, "max_days": 5},
        {
            "name": "Parcel",
            "kind": "weight",
            "bands": [{"up_to": "5000", "price": "9.00"}, {"up_to": "1000", "price": "4.00"}],
        },
    ],
}


def test_zone_crud_with_nested_methods(manager_client):
    response = manager_client.post("/api/v1/shipping-zones/", ZONE, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["countries"] == ["DE", "FR"]
    parcel = body["methods"][1]
    assert parcel["bands"] == [{"up_to": "1000", "price": "4.00"}, {"up_to": "5000", "price": "9.00"}]  # sorted
    assert parcel["tax_class"] == "standard" and parcel["free_over"] is None
    zone_id = body["id"]

    keep = {"id": body["methods"][0]["id"], "name": "Standard+", "kind": "flat", "price": "6.00"}
    response = manager_client.patch(f"/api/v1/shipping-zones/{zone_id}/", {"methods": [keep]}, format="json")
    assert response.status_code == 200, response.json()
    assert [(m["id"], m["name"], m["price"]) for m in response.json()["methods"]] == [(keep["id"], "Standard+", "6.00")]
    assert ShippingMethod.objects.count() == 1

    response = manager_client.patch(f"/api/v1/shipping-zones/{zone_id}/", {"name": "EU"}, format="json")
    assert response.json()["name"] == "EU" and len(response.json()["methods"]) == 1
    assert manager_client.delete(f"/api/v1/shipping-zones/{zone_id}/").status_code == 204
    assert not ShippingZone.objects.exists() and not ShippingMethod.objects.exists()


def test_methods_under_their_zone(manager_client):
    zone = ship.zone("UK", ["GB"])
    other = ship.zone("US", ["US"])
    url = f"/api/v1/shipping-zones/{zone.pk}/methods/"
    response = manager_client.post(url, {"name": "Express", "price": "12.00", "free_over": "200.00"}, format="json")
    assert response.status_code == 201, response.json()
    method_id = response.json()["id"]
    assert manager_client.get(url).json()["count"] == 1
    assert manager_client.patch(f"{url}{method_id}/", {"price": "11.00"}, format="json").json()["price"] == "11.00"
    assert manager_client.get(f"/api/v1/shipping-zones/{other.pk}/methods/{method_id}/").status_code == 404
    assert manager_client.get("/api/v1/shipping-zones/999999/methods/").status_code == 404
    assert manager_client.delete(f"{url}{method_id}/").status_code == 204


@pytest.mark.parametrize(
    "method, attr",
    [
        ({"name": "W", "kind": "weight"}, "bands"),
        ({"name": "W", "kind": "weight", "bands": [{"up_to": "-1", "price": "1"}]}, "bands"),
        (
            {"name": "W", "kind": "price", "bands": [{"up_to": "5", "price": "1"}, {"up_to": "5", "price": "2"}]},
            "bands",
        ),
        ({"name": "F", "kind": "teleport"}, "kind"),
        ({"name": "F", "price": "-1"}, "price"),
        ({"name": "F", "min_days": 5, "max_days": 2}, "max_days"),
    ],
)
def test_bad_methods_are_400(manager_client, method, attr):
    zone = ship.zone()
    response = manager_client.post(f"/api/v1/shipping-zones/{zone.pk}/methods/", method, format="json")
    assert response.status_code == 400, response.json()
    assert response.json()["errors"][0]["attr"].startswith(attr)


def test_bad_zone_countries_are_400(manager_client):
    response = manager_client.post("/api/v1/shipping-zones/", {"name": "X", "countries": ["ZZ"]}, format="json")
    assert response.status_code == 400 and response.json()["errors"][0]["attr"].startswith("countries")
    response = manager_client.post("/api/v1/shipping-zones/", {"name": "X", "countries": []}, format="json")
    assert response.status_code == 400


def test_tax_rates_crud_and_uniqueness(manager_client):
    response = manager_client.post("/api/v1/tax-rates/", {"country": "gb", "rate": "20.00"}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["country"] == "GB" and response.json()["tax_class"] == "standard"
    twin = manager_client.post("/api/v1/tax-rates/", {"country": "GB", "rate": "5.00"}, format="json")
    assert twin.status_code == 409 and twin.json()["errors"][0]["code"] == "unique"
    region = manager_client.post("/api/v1/tax-rates/", {"country": "US", "region": "CA", "rate": "7.25"}, format="json")
    assert region.status_code == 201
    assert manager_client.post("/api/v1/tax-rates/", {"country": "GB", "rate": "101"}, format="json").status_code == 400
    rate_id = response.json()["id"]
    assert (
        manager_client.patch(f"/api/v1/tax-rates/{rate_id}/", {"rate": "17.50"}, format="json").json()["rate"]
        == "17.50"
    )
    assert manager_client.delete(f"/api/v1/tax-rates/{rate_id}/").status_code == 204
    assert TaxRate.objects.count() == 1


def test_only_staff(customer_client, api_client):
    for client, status in ((customer_client, 403), (api_client, 401)):
        assert client.get("/api/v1/shipping-zones/").status_code == status
        assert client.post("/api/v1/tax-rates/", {"country": "GB", "rate": "1"}, format="json").status_code == status


def test_list_query_budgets(manager_client, django_assert_max_num_queries):
    for i in range(5):
        zone = ship.zone(f"Z{i}", ["GB"])
        ship.method(zone, "A")
        ship.method(zone, "B")
        ship.tax_rate(country=["GB", "FR", "DE", "IT", "ES"][i])
    with django_assert_max_num_queries(5):  # session, user, count, zones, methods
        assert manager_client.get("/api/v1/shipping-zones/").json()["count"] == 5
    with django_assert_max_num_queries(4):
        assert manager_client.get("/api/v1/tax-rates/").json()["count"] == 5
    with django_assert_max_num_queries(4):
        assert manager_client.get(f"/api/v1/shipping-zones/{zone.pk}/").status_code == 200
    with django_assert_max_num_queries(5):
        assert manager_client.get(f"/api/v1/shipping-zones/{zone.pk}/methods/").json()["count"] == 2


def test_a_write_is_priced_on_the_next_quote(manager_client, customer_client, django_capture_on_commit_callbacks):
    product = ProductFactory(price="10.00")
    body = {"shipping_address": ADDRESS, "items": [item(product)]}

    def quoted():
        return customer_client.post("/api/v1/checkout/quote/", body, format="json").json()

    def write(method, url, data=None):
        with django_capture_on_commit_callbacks(execute=True):  # the cached config's token is replaced on commit
            return getattr(manager_client, method)(url, data, format="json").json()

    assert quoted()["shipping_methods"] == []
    zone = write("post", "/api/v1/shipping-zones/", {**ZONE, "countries": ["GB"]})
    # Cheapest first: the parcel's first band takes a 0 g product.
    assert [(m["name"], m["price"]) for m in quoted()["shipping_methods"]] == [("Parcel", "4.00"), ("Standard", "5.00")]
    write("patch", f"/api/v1/shipping-zones/{zone['id']}/methods/{zone['methods'][0]['id']}/", {"price": "3.50"})
    assert quoted()["shipping_methods"][0] == {**quoted()["shipping_methods"][0], "name": "Standard", "price": "3.50"}
    write("post", "/api/v1/tax-rates/", {"country": "GB", "rate": "10.00"})
    assert quoted()["tax_amount"] == "1.00"


def test_admin_pages(staff_site_client):
    admin_client = staff_site_client
    zone = ship.zone()
    ship.method(zone)
    rate = ship.tax_rate()
    for url in (
        "/admin/shipping/shippingzone/",
        f"/admin/shipping/shippingzone/{zone.pk}/change/",
        "/admin/shipping/shippingzone/add/",
        "/admin/shipping/taxrate/",
        f"/admin/shipping/taxrate/{rate.pk}/change/",
    ):
        assert admin_client.get(url).status_code == 200, url
    response = admin_client.post(
        "/admin/shipping/taxrate/add/", {"country": "FR", "region": "", "tax_class": "standard", "rate": "20.00"}
    )
    assert response.status_code == 302 and TaxRate.objects.filter(country="FR").exists()
