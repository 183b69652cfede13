"""Stale database carts are purged by the periodic job and `manage.py purge_carts`; the admin
shows carts read-only."""

from datetime import timedelta
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.utils import timezone

from carts.models import Cart, CartItem
from carts.tasks import purge_stale_carts
from tests.accounts.factories import UserFactory
from tests.carts.factories import ProductFactory

pytestmark = pytest.mark.django_db


def cart_last_written(days_ago: int) -> Cart:
    cart = Cart.objects.create(user=UserFactory())
    CartItem.objects.create(cart=cart, product=ProductFactory(), quantity=1)
    Cart.objects.filter(pk=cart.pk).update(updated_at=timezone.now() - timedelta(days=days_ago))
    return cart


def test_purge_command_deletes_carts_older_than_the_given_days():
    old, recent = cart_last_written(40), cart_last_written(5)
    out = StringIO()
    call_command("purge_carts", "--older-than", "30", stdout=out)
    assert list(Cart.objects.all()) == [recent]
    assert not CartItem.objects.filter(cart_id=old.pk).exists()
    assert "Deleted 1 cart(s)" in out.getvalue()


def test_purge_command_rejects_negative_days():
    with pytest.raises(CommandError):
        call_command("purge_carts", "--older-than", "-1")


def test_periodic_job_uses_the_setting_and_is_idempotent():
    cart_last_written(settings.CART_STALE_DAYS + 1)
    keep = cart_last_written(settings.CART_STALE_DAYS - 1)
    assert purge_stale_carts.delay().get() == 1
    assert purge_stale_carts() == 0
    assert list(Cart.objects.all()) == [keep]


def test_purge_job_is_scheduled():
    entry = settings.CELERY_BEAT_SCHEDULE["carts-purge"]
    assert entry["task"] == purge_stale_carts.name


def test_purge_works_through_batches():
    from carts.services import cart_purge_stale

    for _ in range(5):
        cart_last_written(100)
    assert cart_purge_stale(older_than_days=30, batch_size=2) == 5
    assert not Cart.objects.exists()


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(role="admin", is_superuser=True))
    return client


def test_admin_lists_carts_filterable_by_update_date(staff_client):
    cart, fresh = cart_last_written(10), cart_last_written(0)
    response = staff_client.get(
        "/admin/carts/cart/", {"updated_at__lt": (timezone.now() - timedelta(days=7)).isoformat()}
    )
    assert response.status_code == 200
    assert cart.user.email in response.content.decode()
    assert fresh.user.email not in response.content.decode()


def test_admin_cart_page_shows_items_and_is_read_only(staff_client):
    cart = cart_last_written(1)
    item = cart.items.get()
    page = staff_client.get(f"/admin/carts/cart/{cart.pk}/change/")
    assert page.status_code == 200
    assert item.product.name in page.content.decode()
    assert staff_client.get("/admin/carts/cart/add/").status_code == 403
    staff_client.post(f"/admin/carts/cart/{cart.pk}/delete/", {"post": "yes"})
    assert Cart.objects.filter(pk=cart.pk).exists()
