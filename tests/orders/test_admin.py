import pytest
from django.urls import reverse

from orders.models import Order
from payments.services import payment_pay
from tests.accounts.factories import UserFactory
from tests.orders.factories import ProductFactory
from tests.orders.helpers import new_key

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    admin = UserFactory(role="admin", is_superuser=True)
    client.force_login(admin)
    return client


def test_changelist_and_change_page_render(staff_client, customer, place):
    order = place(customer, (ProductFactory(), 2))
    assert staff_client.get(reverse("admin:orders_order_changelist"), {"q": order.number}).status_code == 200
    assert staff_client.get(reverse("admin:orders_order_changelist"), {"status__exact": "pending"}).status_code == 200
    page = staff_client.get(reverse("admin:orders_order_change", args=[order.pk]))
    assert page.status_code == 200
    assert order.lines.first().product_sku in page.content.decode()
    for name in ("payment", "refund", "invoice", "webhookevent"):
        assert staff_client.get(reverse(f"admin:payments_{name}_changelist")).status_code == 200


def test_actions_call_the_services(staff_client, customer, place):
    product = ProductFactory(stock_quantity=10)
    paid = place(customer, (product, 1))
    payment_pay(paid.pk, user=customer, token="tok_visa", idempotency_key=new_key())
    pending = place(customer, (product, 3))
    url = reverse("admin:orders_order_changelist")

    staff_client.post(url, {"action": "mark_processing", "_selected_action": [paid.pk]})
    staff_client.post(url, {"action": "mark_shipped", "_selected_action": [paid.pk], "tracking_number": "TRK9"})
    staff_client.post(url, {"action": "cancel_orders", "_selected_action": [pending.pk, paid.pk]})

    paid.refresh_from_db()
    assert paid.status == "shipped" and paid.tracking_number == "TRK9"
    assert Order.objects.get(pk=pending.pk).status == "cancelled"  # the shipped one refused
    product.refresh_from_db()
    assert product.stock_quantity == 9
    assert [h.to_status for h in paid.history.all()] == ["pending", "payment_confirmed", "processing", "shipped"]


def test_change_form_is_read_only_so_a_save_cannot_undo_a_payment(staff_client, customer, place):
    # The row is read when the form loads; a Save would write that copy back and undo a
    # payment committed in between. Orders change only through the actions (the services).
    order = place(customer, (ProductFactory(stock_quantity=5), 1))
    url = reverse("admin:orders_order_change", args=[order.pk])
    page = staff_client.get(url)
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    payment_pay(order.pk, user=customer, token="tok_visa", idempotency_key=new_key())
    forms = {f"{p}-{k}": v for p in ("lines", "history") for k, v in (("TOTAL_FORMS", "1"), ("INITIAL_FORMS", "1"))}
    assert staff_client.post(url, {**forms, "_save": "Save"}).status_code == 403
    order.refresh_from_db()
    assert order.status == "payment_confirmed" and order.paid_at is not None
