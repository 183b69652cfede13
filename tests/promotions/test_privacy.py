"""Voucher redemptions are personal data: exported with the account, detached on erasure
(the use still counts against the voucher's limit)."""

from decimal import Decimal

import pytest

from accounts.privacy import user_data_export, user_erase
from orders.services import LineRequest, order_place
from promotions.models import Voucher, VoucherRedemption
from tests.accounts.factories import UserFactory
from tests.orders.aftersales import paid
from tests.orders.factories import ProductFactory
from tests.orders.helpers import ADDRESS
from tests.promotions import factories as promos

pytestmark = pytest.mark.django_db


def test_redemptions_are_exported_and_detached_on_erasure(customer, manager):
    promos.voucher("SAVE10", kind="percent", value="10", usage_limit=5)
    product = ProductFactory(price="10.00", stock_quantity=5)
    order = order_place(customer, items=[LineRequest(product.pk, 2)], shipping_address=ADDRESS, voucher_code="SAVE10")
    paid(order, customer)
    other = UserFactory(is_verified=True)
    order_place(other, items=[LineRequest(product.pk, 1)], shipping_address=ADDRESS, voucher_code="SAVE10")

    exported = user_data_export(user=customer)["voucher_redemptions"]
    assert [(r["voucher_code"], r["order_id"], r["amount"]) for r in exported] == [("SAVE10", str(order.pk), "2.00")]

    assert user_erase(user=customer, by=manager)
    redemption = VoucherRedemption.objects.get(order_id=order.pk)
    assert redemption.user_id is None and redemption.amount == Decimal("2.00")
    assert VoucherRedemption.objects.get(user=other).order_id != order.pk  # others untouched
    assert Voucher.objects.get(code="SAVE10").used_count == 2
    assert user_data_export(user=customer)["voucher_redemptions"] == []
