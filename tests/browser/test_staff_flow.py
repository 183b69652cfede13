"""In a real browser: a manager signs in to the admin, reads the dashboard, edits a price,
adjusts stock through the action and ships an order in two parcels ("Ship items…")
and decides its returns on the order page; a visitor opens the API docs, served
without any CDN. Each step checks what the page shows and what the database holds."""

from decimal import Decimal

import pytest

from catalog.models import Product, StockMove
from orders.models import Order
from orders.services import LineRequest, order_place, return_request_create
from payments.services import payment_pay
from tests.accounts.factories import DEFAULT_PASSWORD, UserFactory
from tests.orders.factories import ProductFactory
from tests.orders.helpers import ADDRESS, new_key

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOP = "Playwright Hardware"


@pytest.fixture
def shop(settings):
    settings.SHOP_NAME = SHOP
    settings.CATALOG_LOW_STOCK_THRESHOLD = 5
    manager = UserFactory(role="manager", email="manager@example.com")
    customer = UserFactory(role="customer")
    lamp = ProductFactory(name="Desk Lamp", sku="LAMP-1", price=Decimal("25.00"), stock_quantity=3)
    chair = ProductFactory(name="Office Chair", sku="CHAIR-1", stock_quantity=50)
    shelf = ProductFactory(name="Bookshelf", sku="SHELF-1", stock_quantity=20)
    order = order_place(customer, items=[LineRequest(chair.pk, 2), LineRequest(shelf.pk, 1)], shipping_address=ADDRESS)
    payment_pay(order.pk, user=customer, token="tok_visa", idempotency_key=new_key())
    return {"manager": manager, "lamp": lamp, "order": Order.objects.get(pk=order.pk)}


def test_manager_runs_the_shop_from_the_admin(page, shop, screenshot):
    from playwright.sync_api import expect

    lamp, order = shop["lamp"], shop["order"]

    # Sign in.
    page.goto("/admin/")
    expect(page).to_have_title(f"Log in | {SHOP} admin")
    page.fill("#id_username", shop["manager"].email)
    page.fill("#id_password", DEFAULT_PASSWORD)
    page.click("input[type=submit]")

    # The dashboard: charts drawn on the server, the numbers, no operations panel.
    expect(page).to_have_title(f"Dashboard | {SHOP} admin")
    expect(page.locator("#site-name")).to_contain_text(SHOP)
    expect(page.locator("#chart-sales svg rect.bar")).to_have_count(30)
    expect(page.locator("#chart-orders svg rect.bar")).to_have_count(30)
    expect(page.locator("#dashboard-orders-total")).to_have_text("1")
    expect(page.locator("#dashboard-sales-total")).to_have_text(f"{order.total_amount} USD")
    expect(page.locator('#dashboard-status tr[data-status="payment_confirmed"] td')).to_have_text("1")
    expect(page.locator("#dashboard-latest")).to_contain_text(order.number)
    expect(page.locator("#dashboard-low-stock")).to_contain_text("Desk Lamp")
    expect(page.locator("#dashboard-operations")).to_have_count(0)
    bar = page.locator("#chart-orders svg rect.bar").last.bounding_box()
    assert bar and bar["height"] > 10  # today's bar is drawn, at full height
    screenshot(page, "1-dashboard")

    # Edit the price, from the low-stock link.
    page.click("#dashboard-low-stock >> text=Desk Lamp")
    expect(page.locator("#id_price")).to_have_value("25.00")
    page.fill("#id_price", "19.90")
    page.click("input[name=_save]")
    expect(page.locator("ul.messagelist")).to_contain_text("was changed successfully")
    assert Product.objects.get(pk=lamp.pk).price == Decimal("19.90")
    screenshot(page, "2-price-saved")

    # Adjust stock through the action (the stock ledger records it).
    page.goto(f"/admin/catalog/product/?q={lamp.sku}")
    page.check(f'input[name=_selected_action][value="{lamp.pk}"]')
    page.select_option("select[name=action]", "adjust_stock")
    page.fill("input[name=stock_delta]", "7")
    page.fill("input[name=stock_note]", "Delivery from the supplier")
    page.click("button[name=index]")
    expect(page.locator("ul.messagelist")).to_contain_text("Stock adjusted for 1 product(s).")
    assert Product.objects.get(pk=lamp.pk).stock_quantity == 10
    move = StockMove.objects.filter(product=lamp).latest("id")
    assert (move.delta, move.note, move.by_id) == (7, "Delivery from the supplier", shop["manager"].pk)
    screenshot(page, "3-stock-adjusted")

    # Ship the order from its page: processing by the actions panel, then the parcels with
    # "Ship items…" (order_fulfill): one chair first, then the rest.
    page.goto("/admin/")
    page.click(f"#dashboard-latest >> text={order.number}")
    expect(page.locator("#order-actions")).to_contain_text(order.number)
    expect(page.locator(".inline-group").first).to_contain_text("CHAIR-1")  # the lines
    page.select_option("#order-actions select[name=action]", "mark_processing")
    page.click("#order-actions input[name=run]")
    expect(page.locator("ul.messagelist")).to_contain_text("Processing: 1 order(s).")
    chair_line, shelf_line = (order.lines.get(product_sku=sku) for sku in ("CHAIR-1", "SHELF-1"))

    page.click("text=Ship items…")
    expect(page.locator(f"#id_line_{chair_line.pk}")).to_have_value("2")  # all that is left, by default
    page.fill(f"#id_line_{chair_line.pk}", "1")
    page.fill(f"#id_line_{shelf_line.pk}", "0")
    page.fill("#id_tracking_number", "TRK-PW-1")
    page.click("input[type=submit][value=Ship]")
    expect(page.locator("ul.messagelist")).to_contain_text(f"Shipment recorded for order {order.number}.")
    expect(page.locator("#order-actions h2")).to_contain_text("Partially shipped")
    expect(page.locator("#fulfillments-0")).to_contain_text("TRK-PW-1")
    expect(page.locator("#fulfillments-0")).to_contain_text("1 x CHAIR-1")
    assert Order.objects.get(pk=order.pk).status == "partially_shipped"
    screenshot(page, "4-order-partially-shipped")

    page.click("text=Ship items…")
    expect(page.locator(f"#id_line_{chair_line.pk}")).to_have_value("1")  # what the first parcel left
    expect(page.locator(f"#id_line_{shelf_line.pk}")).to_have_value("1")
    page.fill("#id_tracking_number", "TRK-PW-2")
    page.click("input[type=submit][value=Ship]")
    expect(page.locator("ul.messagelist")).to_contain_text(f"Shipment recorded for order {order.number}.")
    expect(page.locator("#order-actions h2")).to_contain_text("Shipped")
    expect(page.locator("#fulfillments-1")).to_contain_text("TRK-PW-2")
    expect(page.locator("#fulfillments-1")).to_contain_text("1 x CHAIR-1, 1 x SHELF-1")
    expect(page.locator("text=Ship items…")).to_have_count(0)  # nothing is left to ship
    order.refresh_from_db()
    assert order.status == "shipped"
    shipped = [
        (f.tracking_number, sorted((fl.order_line.product_sku, fl.quantity) for fl in f.lines.all()))
        for f in order.fulfillments.order_by("shipped_at", "pk").prefetch_related("lines__order_line")
    ]
    assert shipped == [("TRK-PW-1", [("CHAIR-1", 1)]), ("TRK-PW-2", [("CHAIR-1", 1), ("SHELF-1", 1)])]
    screenshot(page, "5-order-shipped")

    # Returns are decided on the order page: its buttons post a form outside the page's own
    # (they join it by their `form` attribute, which only a browser resolves).
    page.select_option("#order-actions select[name=action]", "mark_delivered")
    page.click("#order-actions input[name=run]")
    expect(page.locator("ul.messagelist")).to_contain_text("Delivered: 1 order(s).")
    keep = return_request_create(order.pk, user=order.user, lines=[(chair_line.pk, 1)], reason="wobbly")
    refuse = return_request_create(order.pk, user=order.user, lines=[(shelf_line.pk, 1)], reason="scratched")
    page.reload()
    screenshot(page, "6-returns-to-decide")
    page.fill(f"input[name=reason_{refuse.pk}]", "Damaged by the customer")
    page.click(f"button[value='{refuse.pk}:reject']")
    expect(page.locator("ul.messagelist")).to_contain_text(f"Return {str(refuse.pk)[:8]} rejected.")
    page.click(f"button[value='{keep.pk}:approve_restock']")
    expect(page.locator("ul.messagelist")).to_contain_text("approved and restocked: refunded 10.00 USD.")
    expect(page.locator("#returns-group")).to_contain_text("Rejected by manager@example.com: Damaged by the customer")
    expect(page.locator("#returns-group button")).to_have_count(0)  # both decided
    keep.refresh_from_db()
    refuse.refresh_from_db()
    assert (keep.status, keep.restocked, keep.refund_amount) == ("approved", True, Decimal("10.00"))
    assert (refuse.status, refuse.rejection_reason) == ("rejected", "Damaged by the customer")
    screenshot(page, "7-returns-decided")

    assert page.recorder.foreign_requests() == []
    assert page.recorder.console_errors == []


def test_api_docs_render_without_a_cdn(page, screenshot):
    from playwright.sync_api import expect

    page.goto("/api/docs/")
    operations = page.locator(".opblock")
    # The UI fetches /api/schema/, which drf-spectacular builds on first use (about a
    # second on a loaded 2-core machine, more with the suite's other worker busy).
    expect(operations.first).to_be_visible(timeout=30_000)
    assert operations.count() > 20
    expect(page.locator(".swagger-ui")).to_contain_text("/api/v1/products/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("E-commerce API")
    screenshot(page, "api-docs")
    # Everything, scripts, styles, the schema, came from the app itself.
    assert page.recorder.requests and page.recorder.foreign_requests() == []
    assert any("/static/drf_spectacular_sidecar/swagger-ui-dist/" in url for url in page.recorder.requests)
    assert page.recorder.console_errors == []


def test_a_request_to_another_host_is_seen_and_aborted(page):
    # The checks above can fail: a page that loads anything from elsewhere is caught. (A
    # blank page, without the app's Content-Security-Policy, which would block these first.)
    page.set_content('<img src="https://cdn.example.com/logo.png"><link rel="stylesheet" href="http://10.1.2.3/x.css">')
    page.wait_for_timeout(200)
    assert sorted(page.recorder.foreign_requests()) == ["http://10.1.2.3/x.css", "https://cdn.example.com/logo.png"]
