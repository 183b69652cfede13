"""Shipments: POST orders/{id}/fulfillments/, the status machine, one email per parcel."""

import pytest
from django.core import mail
from django.urls import reverse

from core.models import OutboxMessage
from orders.models import Fulfillment, Order
from orders.services import order_fulfill, order_set_status
from orders.tasks import send_fulfillment_shipped
from tests.orders.aftersales import line_of, processing
from tests.orders.factories import ProductFactory
from tests.orders.helpers import new_key

pytestmark = pytest.mark.django_db


def ship(client, order, lines, tracking="", key=None):
    body = {"lines": [{"line_id": line.pk, "quantity": q} for line, q in lines]}
    if tracking:
        body["tracking_number"] = tracking
    return client.post(
        f"/api/v1/orders/{order.pk}/fulfillments/", body, format="json", HTTP_IDEMPOTENCY_KEY=key or new_key()
    )


@pytest.fixture
def two_line_order(customer, manager, place):
    a, b = ProductFactory(stock_quantity=10), ProductFactory(stock_quantity=10)
    order = processing(place(customer, (a, 3), (b, 1)), customer, manager)
    return order, line_of(order, a), line_of(order, b)


def test_partial_shipment_then_the_rest(
    two_line_order, manager, manager_client, customer_client, django_capture_on_commit_callbacks
):
    order, a, b = two_line_order
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        first = ship(manager_client, order, [(a, 2)], tracking="TRK-1")
    assert first.status_code == 201, first.json()
    assert first.json()["tracking_number"] == "TRK-1" and first.json()["shipped_by"] == str(manager.pk)
    assert first.json()["lines"] == [{"line_id": a.pk, "quantity": 2}]
    assert Order.objects.get(pk=order.pk).status == "partially_shipped"

    with django_capture_on_commit_callbacks(execute=True):
        second = ship(manager_client, order, [(a, 1), (b, 1)], tracking="TRK-2")
    assert second.status_code == 201
    detail = customer_client.get(f"/api/v1/orders/{order.pk}/").json()
    assert detail["status"] == "shipped" and detail["tracking_number"] == "TRK-2"
    assert [f["tracking_number"] for f in detail["fulfillments"]] == ["TRK-1", "TRK-2"]
    assert detail["fulfillments"][1]["lines"] == [{"line_id": a.pk, "quantity": 1}, {"line_id": b.pk, "quantity": 1}]
    moves = [(h["event"], h["from_status"], h["to_status"]) for h in detail["history"]][-2:]
    assert moves == [("fulfilled", "processing", "partially_shipped"), ("fulfilled", "partially_shipped", "shipped")]

    # One shipping email per parcel, each with its own tracking number.
    shipped = [m for m in mail.outbox if "shipped" in m.subject]
    assert len(shipped) == 2
    assert "TRK-1" in shipped[0].body and "TRK-2" not in shipped[0].body
    assert "TRK-2" in shipped[1].body and "TRK-2" in shipped[1].alternatives[0][0]


def test_the_shipping_email_goes_through_the_outbox_once_per_fulfillment(two_line_order, manager):
    order, a, _ = two_line_order
    fulfillment = order_fulfill(order.pk, lines=[(a.pk, 1)], tracking_number="1Z9", by=manager)
    assert OutboxMessage.objects.filter(task=send_fulfillment_shipped.name, args=[str(fulfillment.pk)]).exists()
    mail.outbox.clear()
    assert send_fulfillment_shipped(str(fulfillment.pk)) is True
    assert send_fulfillment_shipped(str(fulfillment.pk)) is False  # a redelivered job sends nothing
    assert len(mail.outbox) == 1 and "1Z9" in mail.outbox[0].body
    assert send_fulfillment_shipped("00000000-0000-0000-0000-000000000000") is False


def test_more_than_is_left_is_over_fulfillment_and_ships_nothing(two_line_order, manager_client):
    order, a, b = two_line_order
    assert ship(manager_client, order, [(a, 2)]).status_code == 201
    response = ship(manager_client, order, [(a, 2), (b, 1)])
    assert response.status_code == 409
    error = response.json()["errors"][0]
    assert (error["code"], error["line_id"], error["requested"], error["remaining"]) == ("over_fulfillment", a.pk, 2, 1)
    assert Fulfillment.objects.filter(order=order).count() == 1


def test_a_line_named_twice_is_summed(two_line_order, manager_client):
    order, a, _ = two_line_order
    response = ship(manager_client, order, [(a, 2), (a, 2)])
    assert response.status_code == 409 and response.json()["errors"][0]["requested"] == 4


def test_a_line_of_another_order_is_invalid_line(two_line_order, customer, place, manager_client):
    order, _, _ = two_line_order
    other = place(customer, (ProductFactory(), 1))
    response = ship(manager_client, order, [(other.lines.get(), 1)])
    assert response.status_code == 400 and response.json()["errors"][0]["code"] == "invalid_line"


def test_only_processing_orders_ship(customer, place, manager_client):
    order = place(customer, (ProductFactory(), 1))
    response = ship(manager_client, order, [(order.lines.get(), 1)])
    assert response.status_code == 409 and response.json()["errors"][0]["code"] == "invalid_transition"


def test_customers_cannot_ship(two_line_order, customer_client):
    order, a, _ = two_line_order
    assert ship(customer_client, order, [(a, 1)]).status_code == 403


def test_shipping_needs_a_key_and_a_retry_ships_once(two_line_order, manager_client):
    order, a, _ = two_line_order
    no_key = manager_client.post(
        f"/api/v1/orders/{order.pk}/fulfillments/", {"lines": [{"line_id": a.pk, "quantity": 1}]}, format="json"
    )
    assert no_key.status_code == 400
    key = new_key()
    assert ship(manager_client, order, [(a, 1)], key=key).status_code == 201
    assert ship(manager_client, order, [(a, 1)], key=key)["Idempotent-Replayed"] == "true"
    assert Fulfillment.objects.filter(order=order).count() == 1


def test_status_shipped_ships_all_that_is_left_in_one_fulfillment(
    two_line_order, manager, django_capture_on_commit_callbacks
):
    order, a, b = two_line_order
    order_fulfill(order.pk, lines=[(a.pk, 1)], by=manager)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        order_set_status(order.pk, "shipped", by=manager, tracking_number="LAST")
    last = Fulfillment.objects.filter(order=order).order_by("shipped_at", "id").last()
    assert sorted(last.lines.values_list("order_line_id", "quantity")) == sorted([(a.pk, 2), (b.pk, 1)])
    assert Order.objects.get(pk=order.pk).status == "shipped"
    assert len(mail.outbox) == 1 and "LAST" in mail.outbox[0].body


def test_partially_shipped_is_not_a_status_form_move(two_line_order, manager_client):
    order, _, _ = two_line_order
    response = manager_client.post(f"/api/v1/orders/{order.pk}/status/", {"status": "partially_shipped"}, format="json")
    assert response.status_code == 409 and response.json()["errors"][0]["code"] == "invalid_transition"


def test_the_admin_ships_chosen_quantities(client, admin_user, two_line_order):
    order, a, b = two_line_order
    client.force_login(admin_user)
    page = client.get(reverse("admin:orders_order_change", args=[order.pk]))
    assert reverse("admin:orders_order_ship", args=[order.pk]) in page.content.decode()
    url = reverse("admin:orders_order_ship", args=[order.pk])
    form = client.get(url)
    assert form.status_code == 200 and "3 of 3 left" in form.content.decode()

    response = client.post(url, {f"line_{a.pk}": 2, f"line_{b.pk}": 0, "tracking_number": "ADM-1"})
    assert response.status_code == 302
    fulfillment = Fulfillment.objects.get(order=order)
    assert fulfillment.tracking_number == "ADM-1" and fulfillment.shipped_by == admin_user
    assert list(fulfillment.lines.values_list("order_line_id", "quantity")) == [(a.pk, 2)]
    assert Order.objects.get(pk=order.pk).status == "partially_shipped"
    # The inline lists it on the order page.
    assert "ADM-1" in client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    # Nothing chosen: an error on the form, nothing shipped.
    again = client.post(url, {f"line_{a.pk}": 0, f"line_{b.pk}": 0})
    assert again.status_code == 200 and Fulfillment.objects.filter(order=order).count() == 1
