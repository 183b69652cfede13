"""SKU generation, created_by/updated_by, staff-only detail fields, SEO fields, and review
editing and moderation."""

import io
import re
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from catalog import services
from catalog.csv_io import import_products
from catalog.models import Category, Product, Review
from tests.accounts.factories import UserFactory
from tests.catalog.factories import CategoryFactory, ProductFactory, ReviewFactory
from tests.conftest import auth_client_for

pytestmark = pytest.mark.django_db
URL = "/api/v1/products/"
STAFF_KEYS = {"stock_moves", "created_by", "updated_by"}


def new_product(client, **fields):
    category = CategoryFactory()
    return client.post(
        URL, {"name": "Lightweight cotton shoe", "price": "9.99", "category_id": str(category.id), **fields}
    )


# --- sku ------------------------------------------------------------------------------------


def test_a_product_created_without_sku_gets_a_readable_unique_one(manager_client):
    first, second = new_product(manager_client), new_product(manager_client)
    assert first.status_code == second.status_code == 201, first.json()
    skus = {first.json()["sku"], second.json()["sku"]}
    assert len(skus) == 2
    assert all(re.fullmatch(r"LCS-[2-9A-HJKMNP-Z]{6}", sku) for sku in skus), skus
    assert Product.objects.filter(sku__in=skus).count() == 2


def test_a_given_sku_is_kept_and_a_taken_one_is_409_or_400(manager_client):
    assert new_product(manager_client, sku="MINE-1").json()["sku"] == "MINE-1"
    again = new_product(manager_client, sku="MINE-1")
    assert again.status_code == 400 and again.json()["errors"][0]["code"] == "unique"


def test_the_service_generates_one_for_a_name_without_letters():
    product = services.product_create(name="!!!", slug="x", price=1, category=CategoryFactory())
    assert re.fullmatch(r"P-[2-9A-HJKMNP-Z]{6}", product.sku)


# --- created_by / updated_by -------------------------------------------------------------


def test_api_writes_record_who_created_and_who_last_edited(manager_client, manager, admin_client_api, admin_user):
    body = new_product(manager_client).json()
    product = Product.objects.get(pk=body["id"])
    assert product.created_by == manager and product.updated_by == manager
    assert admin_client_api.patch(f"{URL}{product.id}/", {"price": "5.00"}).status_code == 200
    product.refresh_from_db()
    assert product.created_by == manager and product.updated_by == admin_user
    # A PATCH that changes nothing of the product (only stock, through the ledger) is not an edit.
    manager_client.patch(f"{URL}{product.id}/", {"stock_quantity": 4})
    product.refresh_from_db()
    assert product.updated_by == admin_user and product.stock_quantity == 4


def test_csv_import_records_the_importing_user(manager):
    category = CategoryFactory(slug="shoes")
    existing = ProductFactory(sku="OLD-1", category=category)
    rows = "sku,name,price,category\nNEW-1,New,1.00,shoes\nOLD-1,Renamed,2.00,shoes\n"
    report = import_products(io.StringIO(rows), by=manager)
    assert (report.created, report.updated) == (1, 1), report.errors
    assert Product.objects.get(sku="NEW-1").created_by == manager
    existing.refresh_from_db()
    assert existing.updated_by == manager and existing.created_by is None


def test_admin_saves_and_bulk_actions_record_the_user(manager):
    product = ProductFactory()
    browser = Client()
    browser.force_login(manager)
    url = reverse("admin:catalog_product_change", args=[product.pk])
    form = {
        "name": "Renamed",
        "slug": product.slug,
        "sku": product.sku,
        "price": "3.00",
        "category": str(product.category_id),
        "attributes": "{}",
        "is_active": "on",
        "meta_title": "Buy the renamed thing",
        "images-TOTAL_FORMS": "0",
        "images-INITIAL_FORMS": "0",
        "reviews-TOTAL_FORMS": "0",
        "reviews-INITIAL_FORMS": "0",
        "stock_moves-TOTAL_FORMS": "0",
        "stock_moves-INITIAL_FORMS": "0",
    }
    assert browser.post(url, form).status_code == 302
    product.refresh_from_db()
    assert product.updated_by == manager and product.meta_title == "Buy the renamed thing"
    other = UserFactory(role="manager", is_verified=True)
    services.product_set_active([product.pk], False, by=other)
    product.refresh_from_db()
    assert product.updated_by == other and not product.is_active


# --- staff-only fields, and the cache never mixing audiences -------------------------------


@pytest.mark.django_db(transaction=True)
def test_staff_fields_are_shown_to_staff_only_and_cached_apart(manager_client, manager, customer_client, api_client):
    body = new_product(manager_client, stock_quantity=5).json()
    manager_client.patch(f"{URL}{body['id']}/", {"stock_quantity": 7})
    url = f"{URL}{body['id']}/"
    for _ in range(2):  # a miss, then a hit: the same answers
        staff = manager_client.get(url)
        assert set(staff.json()) >= STAFF_KEYS
        assert staff.json()["created_by"] == {"id": str(manager.pk), "email": manager.email}
        assert staff.json()["updated_by"]["email"] == manager.email
        assert staff.json()["stock_moves"][0]["delta"] == 2
        for client in (api_client, customer_client):
            public = client.get(url)
            assert public.status_code == 200 and not STAFF_KEYS & set(public.json())
            assert manager.email.encode() not in public.content
    assert api_client.get(url)["X-Cache"] == "HIT" and customer_client.get(url)["X-Cache"] == "HIT"
    listed = manager_client.get(URL).json()["results"][0]
    assert not STAFF_KEYS & set(listed)  # lists never carry them


# --- SEO fields ---------------------------------------------------------------------------------


def test_seo_fields_on_products_and_categories(manager_client, api_client):
    body = new_product(manager_client, meta_title="Shoe | Shop", meta_description="The lightest shoe.").json()
    assert body["meta_title"] == "Shoe | Shop"
    detail = api_client.get(f"{URL}{body['id']}/").json()
    assert (detail["meta_title"], detail["meta_description"]) == ("Shoe | Shop", "The lightest shoe.")
    category = manager_client.post(
        "/api/v1/categories/", {"name": "Boots", "meta_title": "Boots", "meta_description": "All boots."}
    )
    assert category.status_code == 201 and category.json()["meta_description"] == "All boots."
    assert Category.objects.get(pk=category.json()["id"]).meta_title == "Boots"
    too_long = manager_client.patch(f"{URL}{body['id']}/", {"meta_title": "x" * 256})
    assert too_long.status_code == 400 and too_long.json()["errors"][0]["attr"] == "meta_title"


# --- reviews ---------------------------------------------------------------------------------


def review_url(review):
    return f"/api/v1/products/{review.product_id}/reviews/{review.id}/"


@pytest.fixture
def review(customer):
    review = ReviewFactory(user=customer, rating=2)
    services.product_rating_refresh(review.product)
    return review


def test_the_author_edits_and_the_rating_follows(customer_client, review):
    response = customer_client.patch(review_url(review), {"rating": 5, "title": "Changed my mind"}, format="json")
    assert response.status_code == 200 and response.json()["rating"] == 5
    review.product.refresh_from_db()
    assert review.product.rating_avg == Decimal("5.00")
    bad = customer_client.patch(review_url(review), {"rating": 9}, format="json")
    assert bad.status_code == 400 and bad.json()["errors"][0]["attr"] == "rating"


def test_someone_elses_review_is_404_to_a_customer(review):
    stranger = auth_client_for(UserFactory(is_verified=True))
    assert stranger.patch(review_url(review), {"rating": 1}, format="json").status_code == 404
    assert stranger.delete(review_url(review)).status_code == 404
    assert Review.objects.get(pk=review.pk).rating == 2


def test_anonymous_cannot_edit(api_client, review):
    assert api_client.patch(review_url(review), {"rating": 1}, format="json").status_code == 401


def test_only_staff_moderate_and_staff_do_not_rewrite_reviews(customer_client, manager_client, review):
    own = customer_client.patch(review_url(review), {"is_approved": False}, format="json")
    assert own.status_code == 403 and own.json()["errors"][0]["code"] == "permission_denied"
    rewrite = manager_client.patch(review_url(review), {"rating": 5}, format="json")
    assert rewrite.status_code == 403


def test_staff_hide_a_review_and_it_leaves_the_list_and_the_rating(manager_client, api_client, review):
    ReviewFactory(product=review.product, rating=4)
    services.product_rating_refresh(review.product)
    response = manager_client.patch(review_url(review), {"is_approved": False}, format="json")
    assert response.status_code == 200 and response.json()["is_approved"] is False
    review.product.refresh_from_db()
    assert review.product.review_count == 1 and review.product.rating_avg == Decimal("4.00")
    listing = api_client.get(f"/api/v1/products/{review.product_id}/reviews/").json()
    assert [r["id"] for r in listing["results"]] != [] and str(review.id) not in {r["id"] for r in listing["results"]}
    product = api_client.get(f"{URL}{review.product_id}/").json()
    assert product["review_count"] == 1 and product["rating_avg"] == "4.00"
    manager_client.patch(review_url(review), {"is_approved": True}, format="json")
    review.product.refresh_from_db()
    assert review.product.review_count == 2


def test_the_author_still_reaches_a_hidden_review(customer_client, review):
    services.review_moderate(review, approved=False)
    assert customer_client.patch(review_url(review), {"body": "Fixed"}, format="json").status_code == 200


def test_with_approval_required_an_edit_goes_back_to_moderation(settings, customer_client, review):
    settings.REVIEWS_REQUIRE_APPROVAL = True
    response = customer_client.patch(review_url(review), {"body": "Now with a link"}, format="json")
    assert response.status_code == 200 and response.json()["is_approved"] is False
    review.product.refresh_from_db()
    assert review.product.review_count == 0


def test_author_and_staff_delete(customer_client, manager_client, review):
    other = ReviewFactory(product=review.product, rating=5)
    assert customer_client.delete(review_url(review)).status_code == 204
    assert manager_client.delete(review_url(other)).status_code == 204
    assert not Review.objects.exists()
    review.product.refresh_from_db()
    assert review.product.review_count == 0 and review.product.rating_avg == 0


def test_admin_moderation_goes_through_the_services(manager, review):
    browser = Client()
    browser.force_login(manager)
    url = reverse("admin:catalog_review_change", args=[review.pk])
    form = {
        "product": str(review.product_id),
        "user": str(review.user_id),
        "rating": "2",
        "title": review.title,
        "body": review.body,
    }  # is_approved unticked
    assert browser.post(url, form).status_code == 302
    review.refresh_from_db()
    review.product.refresh_from_db()
    assert review.is_approved is False and review.product.review_count == 0


def test_review_detail_budget(customer_client, review, django_assert_max_num_queries):
    # user, product, review, product lock, review update, rating update and read, 2 savepoints
    with django_assert_max_num_queries(11):
        assert customer_client.patch(review_url(review), {"rating": 3}, format="json").status_code == 200


def test_the_admin_add_form_generates_a_sku_and_records_the_creator(manager):
    category = CategoryFactory()
    browser = Client()
    browser.force_login(manager)
    form = {
        "name": "Wool scarf",
        "slug": "wool-scarf",
        "sku": "",
        "price": "3.00",
        "stock_quantity": "1",
        "category": str(category.pk),
        "attributes": "{}",
        "is_active": "on",
        "images-TOTAL_FORMS": "0",
        "images-INITIAL_FORMS": "0",
        "reviews-TOTAL_FORMS": "0",
        "reviews-INITIAL_FORMS": "0",
        "stock_moves-TOTAL_FORMS": "0",
        "stock_moves-INITIAL_FORMS": "0",
    }
    assert browser.post(reverse("admin:catalog_product_add"), form).status_code == 302
    product = Product.objects.get(slug="wool-scarf")
    assert re.fullmatch(r"WS-[2-9A-HJKMNP-Z]{6}", product.sku)
    assert product.created_by == manager and product.updated_by == manager
