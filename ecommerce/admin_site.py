"""The shop's admin site: titled with SHOP_NAME, and a dashboard for staff on its index.

This module is the admin's presentation layer over several domains, as `ecommerce.api` is the
HTTP one: it reads the domain selectors (orders, catalog, core) and owns no rule. It is
therefore not one of the wiring modules of the `wiring-imports-no-domain` contract, and, as
admin code, it is in `domain-without-drf`. Settings name it by dotted path only
(`ecommerce.apps.ShopAdminConfig.default_site`).

Every number on the dashboard comes from one selector call; the page's queries are budgeted
in tests/core/test_admin_dashboard.py and do not grow with the data."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib import admin
from django.urls import reverse
from django.utils.formats import number_format

from accounts.models import Role
from accounts.roles import role_of
from catalog.cache import cache_stats
from catalog.selectors import product_low_stock
from core.jobs import outbox_depth
from ecommerce.charts import bar_chart
from orders.selectors import order_daily_totals, order_latest, order_status_counts

DASHBOARD_DAYS = 30
DASHBOARD_LIST_LENGTH = 10


def _money(value) -> str:
    return f"{number_format(Decimal(value).quantize(Decimal('0.01')), 2, force_grouping=True)} {settings.CURRENCY}"


def _count(value) -> str:
    return number_format(int(value), force_grouping=True)


def _day_link(changelist: str, day) -> str:
    # The order list's date hierarchy, drilled down to that day.
    return f"{changelist}?created_at__day={day.day}&created_at__month={day.month}&created_at__year={day.year}"


def orders_panels() -> dict:
    """The order numbers: per day (two charts and their table), by status, the latest."""
    changelist = reverse("admin:orders_order_changelist")
    daily = order_daily_totals(days=DASHBOARD_DAYS)
    points_orders, points_sales = [], []
    for row in daily:
        label, href = row["day"].strftime("%b %d"), _day_link(changelist, row["day"])
        points_orders.append((label, row["orders"], f"{label}: {_count(row['orders'])} orders", href))
        points_sales.append((label, row["sales"], f"{label}: {_money(row['sales'])}", href))
    return {
        "daily": daily,
        "daily_totals": {
            "orders": sum(row["orders"] for row in daily),
            "sales": sum((row["sales"] for row in daily), Decimal("0.00")),
        },
        "orders_chart": bar_chart(
            points_orders, title=f"Orders per day, last {DASHBOARD_DAYS} days", format_value=_count
        ),
        "sales_chart": bar_chart(points_sales, title=f"Sales per day, last {DASHBOARD_DAYS} days", format_value=_money),
        "status_counts": [
            {"status": status, "label": label, "count": count, "href": f"{changelist}?status__exact={status}"}
            for status, label, count in order_status_counts()
        ],
        "latest_orders": order_latest(limit=DASHBOARD_LIST_LENGTH),
    }


def catalog_panels() -> dict:
    return {
        "low_stock": product_low_stock(limit=DASHBOARD_LIST_LENGTH),
        "low_stock_threshold": settings.CATALOG_LOW_STOCK_THRESHOLD,
        "low_stock_all_href": f"{reverse('admin:catalog_product_changelist')}?in_stock=low&is_active__exact=1",
    }


def operations_panels() -> dict:
    """For admins only: how the machinery is doing (cache hit ratio, jobs waiting)."""
    stats = cache_stats()
    return {"cache": {**stats, "hit_percent": round(stats["hit_ratio"] * 100, 1)}, "outbox": outbox_depth()}


def dashboard_context(request) -> dict:
    """The panels `request.user` may see: orders and catalog for staff with view rights on
    them (managers, admins), operations for admins only."""
    user = request.user
    context: dict = {"dashboard_days": DASHBOARD_DAYS, "currency": settings.CURRENCY}
    if user.has_perm("orders.view_order"):
        context["orders"] = orders_panels()
    if user.has_perm("catalog.view_product"):
        context["catalog"] = catalog_panels()
    if role_of(user) == Role.ADMIN:
        context["operations"] = operations_panels()
    return context


class ShopAdminSite(admin.AdminSite):
    index_template = "admin/dashboard.html"

    # Read at every request, so the name follows the setting (and tests overriding it).
    @property
    def site_header(self) -> str:
        return settings.SHOP_NAME

    @property
    def site_title(self) -> str:
        return f"{settings.SHOP_NAME} admin"

    @property
    def index_title(self) -> str:
        return "Dashboard"

    def index(self, request, extra_context=None):
        return super().index(request, extra_context={"dashboard": dashboard_context(request), **(extra_context or {})})
