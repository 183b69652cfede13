"""Returns: requested by the owner within the window, approved (refund, credit note,
restock) or rejected by staff; refunded orders; BOLA; query budgets."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from catalog.models import StockMove
from orders.models import Order, OrderStatusChange, ReturnRequest
from orders.services import order_line_refund_share, return_approve, return_request_create
from payments.models import CreditNote, Payment, Refund
from tests.accounts.factories import UserFactory
from tests.catalog.test_stock_ledger import assert_ledger_explains_stock
from tests.conftest import auth_client_for
from tests.orders.aftersales import delivered, line_of
from tests.orders.factories import ProductFactory
from tests.orders.helpers import new_key

pytestmark = pytest.mark.django_db


def ask(client, order, lines, reason="does not fit", key=None):
    return client.post(
        f"/api/v1/orders/{order.pk}/returns/",
        {"lines": [{"line_id": line.pk, "quantity": q} for line, q in lines], "reason": reason},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key or new_key(),
    )


def approve(client, return_id, restock=False):
    return client.post(f"/api/v1/returns/{return_id}/approve/", {"restock": restock}, format="json")


def code(response):
    return response.json()["errors"][0]["code"]


@pytest.fixture
def shop(customer, manager, place):
    a = ProductFactory(price="10.00", stock_quantity=10)
    b = ProductFactory(price="3.33", stock_quantity=10)
    order = delivered(place(customer, (a, 3), (b, 3)), customer, manager)  # 39.99 paid
    return order, a, b


def test_a_return_is_requested_approved_refunded_and_restocked(shop, customer_client, manager_client):
    order, a, b = shop
    response = ask(customer_client, order, [(line_of(order, a), 2)])
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "requested" and body["lines"] == [
        {"line_id": line_of(order, a).pk, "quantity": 2, "refund_amount": "0.00", "tax_amount": "0.00"}
    ]

    approved = approve(manager_client, body["id"], restock=True)
    assert approved.status_code == 200, approved.json()
    assert approved.json()["status"] == "approved" and approved.json()["refund_amount"] == "20.00"
    assert approved.json()["restocked"] is True

    payment = Payment.objects.get(order=order)
    assert payment.refunded_amount == Decimal("20.00") and payment.status == "succeeded"
    refund = Refund.objects.get(payment=payment)
    assert refund.amount == Decimal("20.00") and refund.key == f"return:{body['id']}"
    detail = customer_client.get(f"/api/v1/orders/{order.pk}/").json()
    assert detail["refunded_amount"] == "20.00" and detail["status"] == "delivered"
    assert detail["returns"][0]["status"] == "approved"
    assert [h["event"] for h in detail["history"]][-2:] == ["return_requested", "return_approved"]
    assert "CN-" in detail["history"][-1]["note"]

    a.refresh_from_db()
    assert a.stock_quantity == 9  # 10 - 3 sold + 2 back
    assert_ledger_explains_stock(a, opening=10)
    move = StockMove.objects.filter(product=a).latest("id")
    assert (move.reason, move.delta, move.order_id) == ("return", 2, order.pk)


def test_without_restock_stock_stays(shop, customer, manager):
    order, a, _ = shop
    return_request = return_request_create(order.pk, user=customer, lines=[(line_of(order, a).pk, 1)])
    return_approve(return_request.pk, by=manager, restock=False)
    a.refresh_from_db()
    assert a.stock_quantity == 7 and not StockMove.objects.filter(reason="return").exists()


def test_approving_twice_refunds_once(shop, customer, manager_client):
    order, a, _ = shop
    return_request = return_request_create(order.pk, user=customer, lines=[(line_of(order, a).pk, 1)])
    assert approve(manager_client, return_request.pk, restock=True).status_code == 200
    again = approve(manager_client, return_request.pk, restock=True)
    assert again.status_code == 200 and again.json()["status"] == "approved"
    assert Refund.objects.count() == 1 and CreditNote.objects.count() == 1
    assert StockMove.objects.filter(reason="return").count() == 1
    assert Payment.objects.get(order=order).refunded_amount == Decimal("10.00")


def test_the_last_units_of_a_line_get_what_is_left_of_it(shop, customer, manager):
    """3.33 x 3 = 9.99 returned one unit at a time refunds 3.33 + 3.33 + 3.33 = 9.99 and
    the order, every unit back, becomes refunded."""
    order, a, b = shop
    amounts = []
    for line, quantity in [(b, 1), (b, 1), (b, 1), (a, 3)]:
        return_request = return_request_create(order.pk, user=customer, lines=[(line_of(order, line).pk, quantity)])
        amounts.append(return_approve(return_request.pk, by=manager).refund_amount)
    assert amounts == [Decimal("3.33"), Decimal("3.33"), Decimal("3.33"), Decimal("30.00")]
    order.refresh_from_db()
    assert order.refunded_amount == order.total_amount == Decimal("39.99")
    assert order.status == "refunded"
    payment = Payment.objects.get(order=order)
    assert payment.status == "refunded" and payment.refunded_amount == payment.amount
    assert order.history.filter(from_status="delivered", to_status="refunded").exists()


def test_the_refund_share_rounds_and_the_last_units_take_the_rest(shop):
    order, _, _ = shop
    line = order.lines.get(unit_price=Decimal("3.33"))
    line.unit_price = Decimal("3.35")  # 10.05 for 3: 3.35 each, exactly
    assert order_line_refund_share(line, 2) == (Decimal("6.70"), Decimal("0.00"))
    assert order_line_refund_share(line, 1, returned_before=2, refunded_before=Decimal("6.70")) == (
        Decimal("3.35"),
        Decimal("0.00"),
    )


def test_more_than_delivered_and_not_yet_returned_is_over_return(shop, customer, customer_client):
    order, a, _ = shop
    line = line_of(order, a)
    response = ask(customer_client, order, [(line, 4)])
    assert response.status_code == 409
    error = response.json()["errors"][0]
    assert (error["code"], error["line_id"], error["requested"], error["returnable"]) == ("over_return", line.pk, 4, 3)
    assert ask(customer_client, order, [(line, 2)]).status_code == 201  # requested units count as returned
    assert code(ask(customer_client, order, [(line, 2)])) == "over_return"
    assert ReturnRequest.objects.filter(order=order).count() == 1


def test_a_rejected_return_frees_its_units(shop, customer, customer_client, manager_client):
    order, a, _ = shop
    line = line_of(order, a)
    first = ask(customer_client, order, [(line, 3)]).json()
    rejected = manager_client.post(f"/api/v1/returns/{first['id']}/reject/", {"reason": "worn"}, format="json")
    assert rejected.status_code == 200
    assert rejected.json()["status"] == "rejected" and rejected.json()["rejection_reason"] == "worn"
    assert code(approve(manager_client, first["id"])) == "return_already_decided"
    assert not Refund.objects.exists()
    assert ask(customer_client, order, [(line, 3)]).status_code == 201
    assert OrderStatusChange.objects.filter(order=order, event="return_rejected").exists()


def test_an_approved_return_cannot_be_rejected(shop, customer, manager, manager_client):
    order, a, _ = shop
    return_request = return_request_create(order.pk, user=customer, lines=[(line_of(order, a).pk, 1)])
    return_approve(return_request.pk, by=manager)
    response = manager_client.post(f"/api/v1/returns/{return_request.pk}/reject/", {}, format="json")
    assert response.status_code == 409 and code(response) == "return_already_decided"


def test_outside_the_window_is_return_window_closed(shop, customer_client, settings):
    order, a, _ = shop
    settings.RETURN_WINDOW_DAYS = 30
    Order.objects.filter(pk=order.pk).update(delivered_at=timezone.now() - timedelta(days=31))
    response = ask(customer_client, order, [(line_of(order, a), 1)])
    assert response.status_code == 409 and code(response) == "return_window_closed"
    Order.objects.filter(pk=order.pk).update(delivered_at=timezone.now() - timedelta(days=29))
    assert ask(customer_client, order, [(line_of(order, a), 1)]).status_code == 201


def test_an_order_delivered_before_delivered_at_existed_uses_its_history(shop, customer_client):
    order, a, _ = shop
    Order.objects.filter(pk=order.pk).update(delivered_at=None)
    change = order.history.get(to_status="delivered")
    OrderStatusChange.objects.filter(pk=change.pk).update(created_at=timezone.now() - timedelta(days=40))
    assert code(ask(customer_client, order, [(line_of(order, a), 1)])) == "return_window_closed"
    OrderStatusChange.objects.filter(pk=change.pk).update(created_at=timezone.now() - timedelta(days=2))
    assert ask(customer_client, order, [(line_of(order, a), 1)]).status_code == 201


def test_delivery_records_delivered_at(shop):
    order, _, _ = shop
    assert order.delivered_at and timezone.now() - order.delivered_at < timedelta(minutes=1)


def test_an_order_not_delivered_is_not_returnable(customer, customer_client, place):
    order = place(customer, (ProductFactory(), 1))
    response = ask(customer_client, order, [(order.lines.get(), 1)])
    assert response.status_code == 409 and code(response) == "order_not_returnable"


def test_a_line_of_another_order_is_invalid_line(shop, customer, customer_client, place):
    order, _, _ = shop
    other = place(customer, (ProductFactory(), 1))
    response = ask(customer_client, order, [(other.lines.get(), 1)])
    assert response.status_code == 400 and code(response) == "invalid_line"


def test_returns_are_the_owners_others_get_404(shop, customer, customer_client, manager_client):
    order, a, _ = shop
    stranger = auth_client_for(UserFactory(is_verified=True))
    assert ask(stranger, order, [(line_of(order, a), 1)]).status_code == 404
    assert ask(manager_client, order, [(line_of(order, a), 1)]).status_code == 404  # the owner asks
    mine = ask(customer_client, order, [(line_of(order, a), 1)]).json()

    assert stranger.get(f"/api/v1/returns/{mine['id']}/").status_code == 404
    assert stranger.get("/api/v1/returns/").json()["count"] == 0
    assert customer_client.get(f"/api/v1/returns/{mine['id']}/").json()["id"] == mine["id"]
    assert customer_client.get("/api/v1/returns/").json()["count"] == 1
    assert manager_client.get("/api/v1/returns/", {"status": "requested"}).json()["count"] == 1
    assert manager_client.get("/api/v1/returns/", {"status": "approved"}).json()["count"] == 0
    assert manager_client.get("/api/v1/returns/", {"status": "nope"}).status_code == 400
    # Customers cannot decide returns, not even their own.
    assert approve(customer_client, mine["id"]).status_code == 403
    assert approve(stranger, mine["id"]).status_code == 403
    assert not Refund.objects.exists()


def test_credit_notes_are_listed_for_the_owner_and_staff_only(shop, customer, manager, customer_client, manager_client):
    order, a, b = shop
    for line, quantity in [(a, 1), (b, 2)]:
        return_request = return_request_create(order.pk, user=customer, lines=[(line_of(order, line).pk, quantity)])
        return_approve(return_request.pk, by=manager)
    url = f"/api/v1/orders/{order.pk}/credit-notes/"
    notes = customer_client.get(url).json()
    year = timezone.now().year
    assert [n["number"] for n in notes] == [f"CN-{year}-000001", f"CN-{year}-000002"]
    first, second = notes
    assert first["total_amount"] == "10.00" and first["invoice_number"].startswith("INV-")
    assert first["lines"] == [
        {
            "line_id": line_of(order, a).pk,
            "description": a.name,
            "sku": a.sku,
            "quantity": 1,
            "unit_price": "10.00",
            "amount": "10.00",
            "tax_amount": "0.00",
            "total": "10.00",
        }
    ]
    assert second["total_amount"] == "6.66" and second["lines"][0]["quantity"] == 2
    assert manager_client.get(url).json() == notes
    stranger = auth_client_for(UserFactory(is_verified=True))
    assert stranger.get(url).status_code == 404


def test_order_detail_query_budget_with_fulfillments_and_returns(
    customer, manager, customer_client, place, django_assert_max_num_queries
):
    products = [ProductFactory(stock_quantity=10) for _ in range(6)]
    order = delivered(place(customer, *[(p, 2) for p in products[:3]]), customer, manager)
    for line in order.lines.all():
        return_request_create(order.pk, user=customer, lines=[(line.pk, 1)])
    with django_assert_max_num_queries(9):
        small = customer_client.get(f"/api/v1/orders/{order.pk}/")
    big_order = place(customer, *[(p, 2) for p in products])
    big_order = delivered(big_order, customer, manager)
    for line in big_order.lines.all():
        return_approve(return_request_create(big_order.pk, user=customer, lines=[(line.pk, 1)]).pk, by=manager)
    with django_assert_max_num_queries(9):
        big = customer_client.get(f"/api/v1/orders/{big_order.pk}/")
    assert len(small.json()["returns"]) == 3 and len(big.json()["returns"]) == 6
    assert len(big.json()["fulfillments"]) == 1 and len(big.json()["fulfillments"][0]["lines"]) == 6
    with django_assert_max_num_queries(10):
        listing = customer_client.get("/api/v1/orders/")
    assert listing.json()["count"] == 2


def test_returns_list_and_credit_notes_query_budgets(
    customer, manager, customer_client, manager_client, place, django_assert_max_num_queries
):
    for _ in range(3):
        order = delivered(place(customer, (ProductFactory(stock_quantity=5), 2)), customer, manager)
        return_approve(return_request_create(order.pk, user=customer, lines=[(order.lines.get().pk, 1)]).pk, by=manager)
        return_approve(return_request_create(order.pk, user=customer, lines=[(order.lines.get().pk, 1)]).pk, by=manager)
    with django_assert_max_num_queries(5):
        assert manager_client.get("/api/v1/returns/").json()["count"] == 6
    with django_assert_max_num_queries(5):
        assert customer_client.get("/api/v1/returns/", {"page_size": 50}).json()["count"] == 6
    with django_assert_max_num_queries(6):
        assert len(customer_client.get(f"/api/v1/orders/{order.pk}/credit-notes/").json()) == 2


def test_returns_need_an_idempotency_key(shop, customer_client):
    order, a, _ = shop
    response = customer_client.post(
        f"/api/v1/orders/{order.pk}/returns/",
        {"lines": [{"line_id": line_of(order, a).pk, "quantity": 1}], "reason": "x"},
        format="json",
    )
    assert response.status_code == 400 and code(response) == "idempotency_key_required"
    assert ask(customer_client, order, [], reason="x").status_code == 400


def test_the_admin_approves_and_rejects_returns(client, admin_user, shop, customer):
    order, a, b = shop
    keep = return_request_create(order.pk, user=customer, lines=[(line_of(order, a).pk, 1)])
    refuse = return_request_create(order.pk, user=customer, lines=[(line_of(order, b).pk, 1)])
    client.force_login(admin_user)
    url = reverse("admin:orders_returnrequest_changelist")
    assert "Approve: refund and put the units back in stock" in client.get(url).content.decode()
    client.post(url, {"action": "approve_and_restock", "_selected_action": [keep.pk]})
    client.post(url, {"action": "reject_returns", "_selected_action": [refuse.pk], "reason": "late"})
    keep.refresh_from_db()
    refuse.refresh_from_db()
    assert keep.status == "approved" and keep.restocked and keep.decided_by == admin_user
    assert refuse.status == "rejected" and refuse.rejection_reason == "late"
    assert Refund.objects.count() == 1
    assert client.get(reverse("admin:orders_returnrequest_change", args=[keep.pk])).status_code == 200
    assert client.get(reverse("admin:orders_order_change", args=[order.pk])).status_code == 200
    note = CreditNote.objects.get()
    assert client.get(reverse("admin:payments_creditnote_change", args=[note.pk])).status_code == 200
