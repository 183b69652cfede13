"""The order page decides returns: its returns inline carries approve (with or without
restock) and reject buttons that call the services; lines, payments, fulfilments, returns
and history are all on the page, in a number of queries that does not grow with them."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from catalog.models import StockMove
from core.models import OutboxMessage
from orders.models import ReturnRequest
from orders.services import order_fulfill, order_set_status, return_approve, return_reject, return_request_create
from orders.tasks import send_return_approved, send_return_rejected
from payments.models import CreditNote, Refund
from tests.orders.aftersales import delivered, line_of, paid
from tests.orders.factories import ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager_session(client, manager):
    client.force_login(manager)
    return client


@pytest.fixture
def shop(customer, manager, place):
    lamp = ProductFactory(name="Desk Lamp", sku="LAMP-9", price="20.00", stock_quantity=10)
    mug = ProductFactory(name="Mug", sku="MUG-9", price="5.00", stock_quantity=10)
    order = delivered(place(customer, (lamp, 2), (mug, 4)), customer, manager)
    return order, lamp, mug


def page_of(order):
    return reverse("admin:orders_order_change", args=[order.pk])


def decide_url(order):
    return reverse("admin:orders_order_return_decide", args=[order.pk])


def ask(order, customer, product, quantity):
    return return_request_create(order.pk, user=customer, lines=[(line_of(order, product).pk, quantity)], reason="meh")


def test_the_page_lists_returns_with_their_units_and_buttons(manager_session, shop, customer, manager):
    order, lamp, mug = shop
    requested = ask(order, customer, lamp, 1)
    rejected = return_reject(ask(order, customer, mug, 1).pk, by=manager, reason="worn")
    html = manager_session.get(page_of(order)).content.decode()

    assert 'id="return-decisions"' in html and decide_url(order) in html
    assert "1 x LAMP-9" in html and "1 x MUG-9" in html  # each return's units
    for decision in ("approve_restock", "approve", "reject"):
        assert f"value='{requested.pk}:{decision}'" in html
    assert f"name='reason_{requested.pk}'" in html
    # A decided return shows the decision, not the buttons.
    assert f"{rejected.pk}:approve" not in html
    assert f"Rejected by {manager.email}: worn" in html


def test_approve_and_restock_from_the_order_page(manager_session, shop, customer, manager):
    order, lamp, _ = shop
    return_request = ask(order, customer, lamp, 1)
    response = manager_session.post(decide_url(order), {"decide": f"{return_request.pk}:approve_restock"}, follow=True)

    assert response.redirect_chain[-1][0] == page_of(order)
    assert (
        f"Return {str(return_request.pk)[:8]} approved and restocked: refunded 20.00 USD." in response.content.decode()
    )
    return_request.refresh_from_db()
    assert (return_request.status, return_request.restocked, return_request.decided_by) == ("approved", True, manager)
    assert Refund.objects.get(key=f"return:{return_request.pk}").amount == Decimal("20.00")
    assert CreditNote.objects.filter(order=order).count() == 1
    lamp.refresh_from_db()
    assert lamp.stock_quantity == 9  # 10 - 2 sold + 1 back
    assert StockMove.objects.filter(product=lamp, reason="return", delta=1).exists()
    assert OutboxMessage.objects.filter(task=send_return_approved.name, args=[str(return_request.pk)]).exists()


def test_approve_without_restock_from_the_order_page(manager_session, shop, customer):
    order, _, mug = shop
    return_request = ask(order, customer, mug, 2)
    response = manager_session.post(decide_url(order), {"decide": f"{return_request.pk}:approve"}, follow=True)
    assert "approved: refunded 10.00 USD." in response.content.decode()
    return_request.refresh_from_db()
    assert return_request.status == "approved" and not return_request.restocked
    mug.refresh_from_db()
    assert mug.stock_quantity == 6 and not StockMove.objects.filter(product=mug, reason="return").exists()


def test_reject_with_the_reason_from_the_order_page(manager_session, shop, customer):
    order, lamp, _ = shop
    return_request = ask(order, customer, lamp, 1)
    other = ask(order, customer, lamp, 1)
    response = manager_session.post(
        decide_url(order),
        {
            "decide": f"{return_request.pk}:reject",
            f"reason_{return_request.pk}": " Scratched ",
            f"reason_{other.pk}": "x",
        },
        follow=True,
    )
    assert f"Return {str(return_request.pk)[:8]} rejected." in response.content.decode()
    return_request.refresh_from_db()
    assert return_request.status == "rejected" and return_request.rejection_reason == "Scratched"
    assert ReturnRequest.objects.get(pk=other.pk).status == "requested"  # only the button's return
    assert not Refund.objects.exists()
    assert OutboxMessage.objects.filter(task=send_return_rejected.name, args=[str(return_request.pk)]).exists()


def test_a_refused_decision_is_a_message_not_an_error(manager_session, shop, customer, manager):
    order, lamp, _ = shop
    return_request = return_reject(ask(order, customer, lamp, 1).pk, by=manager, reason="no")
    response = manager_session.post(decide_url(order), {"decide": f"{return_request.pk}:approve"}, follow=True)
    assert response.status_code == 200
    assert "already" in response.content.decode().lower()  # ReturnAlreadyDecided's detail
    assert ReturnRequest.objects.get(pk=return_request.pk).status == "rejected" and not Refund.objects.exists()


def test_a_return_of_another_order_or_a_bad_value_changes_nothing(manager_session, shop, customer, manager, place):
    order, lamp, _ = shop
    other_order = delivered(place(customer, (ProductFactory(stock_quantity=3), 1)), customer, manager)
    foreign = return_request_create(other_order.pk, user=customer, lines=[(other_order.lines.get().pk, 1)])
    for value in (f"{foreign.pk}:approve", "not-a-uuid:approve", f"{foreign.pk}:delete", ""):
        response = manager_session.post(decide_url(order), {"decide": value}, follow=True)
        assert "Choose a return of this order and a decision." in response.content.decode(), value
    assert ReturnRequest.objects.get(pk=foreign.pk).status == "requested" and not Refund.objects.exists()


def test_only_staff_decide_and_only_by_post(client, manager_session, shop, customer):
    order, lamp, _ = shop
    return_request = ask(order, customer, lamp, 1)
    assert manager_session.get(decide_url(order)).status_code == 405
    missing = reverse("admin:orders_order_return_decide", args=["00000000-0000-0000-0000-000000000000"])
    assert manager_session.post(missing, {"decide": f"{return_request.pk}:approve"}).status_code == 404

    client.force_login(customer)
    response = client.post(decide_url(order), {"decide": f"{return_request.pk}:approve"})
    assert response.status_code == 302 and reverse("admin:login") in response["Location"]
    assert ReturnRequest.objects.get(pk=return_request.pk).status == "requested"


def _build(customer, manager, place, *, lines: int, parcels: int, returns: int):
    products = [ProductFactory(stock_quantity=50) for _ in range(lines)]
    order = paid(place(customer, *[(p, parcels + 1) for p in products]), customer)
    order_set_status(order.pk, "processing", by=manager)
    for _ in range(parcels):  # one unit of every line per parcel, the rest in the last
        order_fulfill(order.pk, lines=[(line.pk, 1) for line in order.lines.all()], by=manager)
    order_fulfill(order.pk, lines=[(line.pk, 1) for line in order.lines.all()], by=manager, tracking_number="LAST")
    order_set_status(order.pk, "delivered", by=manager)
    made = []
    for i, line in enumerate(order.lines.all()[:returns]):
        made.append(return_request_create(order.pk, user=customer, lines=[(line.pk, 1)]))
        if i % 2:
            return_approve(made[-1].pk, by=manager, restock=True)
    return order


def test_order_page_query_budget_does_not_grow_with_lines_fulfilments_and_returns(
    manager_session, customer, manager, place, django_assert_max_num_queries
):
    def count(order) -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = manager_session.get(page_of(order))
        assert response.status_code == 200
        return len(ctx.captured_queries)

    small = _build(customer, manager, place, lines=1, parcels=1, returns=1)
    big = _build(customer, manager, place, lines=6, parcels=3, returns=5)
    html = manager_session.get(page_of(big)).content.decode()
    # Every row is on the page: 6 lines, 4 parcels, 5 returns (3 still requested).
    assert 'id="lines-5"' in html and 'id="lines-6"' not in html
    assert 'id="fulfillments-3"' in html and 'id="fulfillments-4"' not in html
    assert 'id="returns-4"' in html and html.count("name='reason_") == 3
    assert count(big) == count(small)
    # session, user, 2 x permissions, order, lines, payments + refunds + invoices,
    # fulfilments + their lines, returns + their lines, history, and the admin's content type
    # and the order's customer.
    with django_assert_max_num_queries(15):
        manager_session.get(page_of(big))
