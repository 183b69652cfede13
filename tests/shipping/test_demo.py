import io

import pytest
from django.core.management import call_command

from promotions.models import Voucher
from shipping.models import ShippingZone, TaxRate


@pytest.mark.django_db
def test_demo_data_has_a_zone_with_two_methods_a_tax_rate_and_welcome10():
    for _ in range(2):  # idempotent
        out = io.StringIO()
        call_command("load_demo", stdout=out)
    zone = ShippingZone.objects.get()
    assert zone.methods.count() == 2
    assert TaxRate.objects.filter(country="GB").count() == 1
    assert Voucher.objects.get().code == "WELCOME10"
    assert "WELCOME10" in out.getvalue() and "Shipping:" in out.getvalue()
