from decimal import Decimal

import pytest

from catalog.models import Product, Review
from tests.accounts.factories import UserFactory
from tests.catalog.factories import ProductFactory
from tests.conftest import auth_client_for

pytestmark = pytest.mark.django_db


def url(product):
    return f"/api/v1/products/{product.id}/reviews/"


def test_customer_reviews_once_and_rating_is_denormalised(customer_client, customer):
    product = ProductFactory()
    response = customer_client.post(url(product), {"rating": 4, "title": "Good", "body": "Nice"})
    assert response.status_code == 201, response.json()
    assert response.json()["verified_purchase"] is False
    second = customer_client.post(url(product), {"rating": 5})
    assert second.status_code == 409 and second.json()["errors"][0]["code"] == "already_reviewed"
    auth_client_for(UserFactory()).post(url(product), {"rating": 1})
    product.refresh_from_db()
    assert product.review_count == 2 and product.rating_avg == Decimal("2.50")
    listing = customer_client.get(url(product)).json()
    assert listing["count"] == 2


@pytest.mark.parametrize("rating", [0, 6, "x", None])
def test_rating_bounds(customer_client, rating):
    response = customer_client.post(url(ProductFactory()), {"rating": rating}, format="json")
    assert response.status_code == 400 and response.json()["errors"][0]["attr"] == "rating"


def test_anonymous_reads_but_cannot_write(api_client):
    product = ProductFactory()
    assert api_client.get(url(product)).status_code == 200
    assert api_client.post(url(product), {"rating": 5}).status_code == 401


def test_inactive_or_unknown_product_is_404(customer_client):
    product = ProductFactory(is_active=False)
    assert customer_client.post(url(product), {"rating": 5}).status_code == 404
    assert customer_client.get("/api/v1/products/00000000-0000-0000-0000-000000000000/reviews/").status_code == 404


def _buy(user, product, *, pay: bool):
    from orders.services import LineRequest, order_place
    from payments.services import payment_pay
    from tests.accounts.factories import AddressFactory

    order = order_place(user, items=[LineRequest(product.id, 1)], shipping_address_id=AddressFactory(user=user).id)
    if pay:
        payment_pay(order.id, user=user, token="tok_visa", idempotency_key=f"pay-{order.id}")
    return order


def test_review_of_a_paid_purchase_is_verified(customer_client, customer):
    product = ProductFactory()
    _buy(customer, product, pay=True)
    body = customer_client.post(url(product), {"rating": 5}).json()
    assert body["verified_purchase"] is True


def test_unpaid_order_does_not_verify_and_paying_later_does(customer_client, customer):
    product = ProductFactory()
    order = _buy(customer, product, pay=False)
    body = customer_client.post(url(product), {"rating": 3}).json()
    assert body["verified_purchase"] is False

    from payments.services import payment_pay

    payment_pay(order.id, user=customer, token="tok_visa", idempotency_key="pay-later")
    assert Review.objects.get(pk=body["id"]).verified_purchase is True


def test_unapproved_reviews_are_hidden_and_not_counted(customer_client):
    from catalog.services import review_moderate

    product = ProductFactory()
    customer_client.post(url(product), {"rating": 1})
    review_moderate(Review.objects.get(), approved=False)
    assert customer_client.get(url(product)).json()["count"] == 0
    assert Product.objects.get(pk=product.pk).review_count == 0


def test_verified_purchase_asks_the_registered_checker(customer_client, customer, monkeypatch):
    """The catalog cannot import orders: it asks the checker orders registered at startup
    (catalog.hooks), and without one nobody has bought anything."""
    from catalog import hooks

    bought, not_bought = ProductFactory(), ProductFactory()
    monkeypatch.setattr(hooks, "_purchase_checker", hooks._purchase_checker)  # restored after the test
    hooks.register_purchase_checker(lambda user, product_id: user == customer and product_id == bought.pk)
    assert customer_client.post(url(bought), {"rating": 5}).json()["verified_purchase"] is True
    assert customer_client.post(url(not_bought), {"rating": 5}).json()["verified_purchase"] is False
    monkeypatch.setattr(hooks, "_purchase_checker", None)
    assert hooks.user_has_purchased(customer, bought.pk) is False


def test_orders_registers_its_purchase_checker():
    from catalog import hooks
    from orders.selectors import user_has_purchased

    assert hooks._purchase_checker is user_has_purchased


def test_review_set_verified_purchase_changes_only_that_users_reviews_of_those_products(customer):
    from catalog.services import review_set_verified_purchase
    from tests.catalog.factories import ReviewFactory

    bought, other = ProductFactory(), ProductFactory()
    mine = ReviewFactory(user=customer, product=bought)
    mine_other = ReviewFactory(user=customer, product=other)
    theirs = ReviewFactory(product=bought)

    assert review_set_verified_purchase(customer.pk, [bought.pk], verified=True) == 1
    assert review_set_verified_purchase(customer.pk, [bought.pk], verified=True) == 0  # already verified
    verified = set(Review.objects.filter(verified_purchase=True).values_list("pk", flat=True))
    assert verified == {mine.pk}
    assert review_set_verified_purchase(customer.pk, [bought.pk, other.pk], verified=False) == 1
    assert not Review.objects.filter(pk__in=[mine.pk, mine_other.pk, theirs.pk], verified_purchase=True).exists()


# --- security finding 11: who may post, and moderation before publication ----------------


def test_an_unverified_user_cannot_post_a_review():
    product = ProductFactory()
    response = auth_client_for(UserFactory(is_verified=False)).post(url(product), {"rating": 5})
    assert response.status_code == 403
    assert response.json()["errors"][0]["code"] == "email_not_verified"
    assert not Review.objects.exists()
    assert Product.objects.get(pk=product.pk).review_count == 0


def test_by_default_a_verified_users_review_is_published_at_once(customer_client):
    product = ProductFactory()
    body = customer_client.post(url(product), {"rating": 4}).json()
    assert body["is_approved"] is True
    assert customer_client.get(url(product)).json()["count"] == 1


def test_with_approval_required_a_review_waits_for_moderation(customer_client, settings):
    from catalog.services import review_moderate

    settings.REVIEWS_REQUIRE_APPROVAL = True
    product = ProductFactory()
    response = customer_client.post(url(product), {"rating": 1, "title": "Spam"})
    assert response.status_code == 201 and response.json()["is_approved"] is False
    product.refresh_from_db()
    assert (product.review_count, product.rating_avg) == (0, Decimal("0.00"))
    assert customer_client.get(url(product)).json()["count"] == 0
    assert customer_client.get(f"/api/v1/products/{product.id}/").json()["review_count"] == 0

    review_moderate(Review.objects.get(pk=response.json()["id"]), approved=True)
    product.refresh_from_db()
    assert (product.review_count, product.rating_avg) == (1, Decimal("1.00"))
    assert customer_client.get(url(product)).json()["count"] == 1
