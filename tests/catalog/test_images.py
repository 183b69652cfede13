"""Product images: upload checks, metadata stripping, thumbnails job, file removal, cache."""

import io
import os
from pathlib import Path
from unittest import mock

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from PIL import Image

from catalog import images, tasks
from catalog.models import ProductImage
from catalog.services import product_image_add
from core.models import OutboxMessage
from tests.catalog.factories import ProductFactory


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.IMAGE_THUMBNAIL_SIZES = {"small": 16, "medium": 32, "large": 48}
    return Path(settings.MEDIA_ROOT)


def files_under(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def picture(fmt="JPEG", size=(64, 48), color="red", mode="RGB", **save) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, color).save(buffer, format=fmt, **save)
    return buffer.getvalue()


def upload(client, product, content: bytes, name="photo.jpg", **fields):
    return client.post(
        f"/api/v1/products/{product.id}/images/",
        {"image": SimpleUploadedFile(name, content), **fields},
        format="multipart",
    )


def codes(response):
    return [e["code"] for e in response.json()["errors"]]


# --- upload checks -----------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fmt", "ext"), [("JPEG", "jpg"), ("PNG", "png"), ("WEBP", "webp"), ("GIF", "gif")], ids=str.lower
)
def test_a_good_image_is_stored_under_its_content_hash(manager_client, media_root, fmt, ext):
    product = ProductFactory()
    response = upload(manager_client, product, picture(fmt), name=f"x.{ext}", alt_text="Front", position=3)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["alt_text"] == "Front" and body["position"] == 3
    assert (body["width"], body["height"]) == (64, 48)
    image = ProductImage.objects.get(pk=body["id"])
    assert image.image.startswith("products/") and image.image.endswith(f".{ext}")
    assert body["url"] == f"/media/{image.image}"
    with default_storage.open(image.image) as fh:
        assert Image.open(fh).format == fmt
    assert (media_root / image.image).is_file()


@pytest.mark.django_db
def test_a_camera_mpo_is_stored_as_its_primary_jpeg(manager_client):
    buffer = io.BytesIO()
    first, second = Image.new("RGB", (64, 48), "red"), Image.new("RGB", (64, 48), "blue")
    first.save(buffer, format="MPO", save_all=True, append_images=[second])
    assert Image.open(io.BytesIO(buffer.getvalue())).format == "MPO"
    response = upload(manager_client, ProductFactory(), buffer.getvalue())
    assert response.status_code == 201, response.json()
    with default_storage.open(ProductImage.objects.get().image) as fh:
        stored = Image.open(fh)
        assert stored.format == "JPEG" and getattr(stored, "n_frames", 1) == 1
        assert stored.getpixel((10, 10))[0] > 200  # the red primary picture


@pytest.mark.django_db
def test_an_equal_upload_shares_the_file(manager_client, media_root):
    content = picture()
    first = upload(manager_client, ProductFactory(), content).json()
    second = upload(manager_client, ProductFactory(), content).json()
    assert first["url"] == second["url"] and first["id"] != second["id"]
    assert len([f for f in files_under(media_root) if f.endswith(".jpg")]) == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("content", "name"),
    [
        (b"definitely not an image", "notes.jpg"),
        (b"", "empty.png"),
        (picture("BMP"), "old.bmp"),
        (picture("TIFF"), "scan.tiff"),
        (picture("JPEG", size=(400, 400))[:300], "truncated.jpg"),
    ],
    ids=["text", "empty", "bmp", "tiff", "truncated"],
)
def test_not_an_accepted_image_is_400_invalid_image(manager_client, content, name):
    product = ProductFactory()
    response = upload(manager_client, product, content, name=name)
    assert response.status_code == 400, response.content
    assert codes(response) in (["invalid_image"], ["empty"])  # DRF names an empty file itself
    if content:
        assert codes(response) == ["invalid_image"] and response.json()["errors"][0]["attr"] == "image"
    assert not ProductImage.objects.exists()


@pytest.mark.django_db
def test_more_pixels_than_the_limit_is_invalid_image(manager_client, settings):
    settings.IMAGE_MAX_PIXELS = 1000
    response = upload(manager_client, ProductFactory(), picture(size=(50, 50)))
    assert response.status_code == 400 and codes(response) == ["invalid_image"]
    assert "pixels" in response.json()["errors"][0]["detail"]


@pytest.mark.django_db
def test_frames_of_an_animated_gif_count_towards_the_pixels(manager_client, settings):
    settings.IMAGE_MAX_PIXELS = 64 * 48 * 2
    frames = [Image.new("RGB", (64, 48), color) for color in ("red", "green", "blue")]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], duration=50)
    response = upload(manager_client, ProductFactory(), buffer.getvalue(), name="anim.gif")
    assert response.status_code == 400 and codes(response) == ["invalid_image"]


@pytest.mark.django_db
@pytest.mark.parametrize("pillow_limit", [1000, 2000])  # over twice Pillow's limit: its error; over it: its warning
def test_pillows_own_decompression_bomb_check_is_our_400(manager_client, monkeypatch, pillow_limit):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", pillow_limit)
    response = upload(manager_client, ProductFactory(), picture(size=(60, 50)))
    assert response.status_code == 400 and codes(response) == ["invalid_image"]


@pytest.mark.django_db
def test_a_file_over_the_byte_limit_is_file_too_large_and_not_kept(manager_client, settings, media_root):
    settings.IMAGE_MAX_BYTES = 1000
    noise = Image.frombytes("RGB", (64, 64), os.urandom(64 * 64 * 3))
    buffer = io.BytesIO()
    noise.save(buffer, format="PNG")
    assert len(buffer.getvalue()) > 1000
    response = upload(manager_client, ProductFactory(), buffer.getvalue(), name="big.png")
    assert response.status_code == 400 and codes(response) == ["file_too_large"]
    assert response.json()["errors"][0]["attr"] == "image"
    assert files_under(media_root) == set() and not ProductImage.objects.exists()


@pytest.mark.django_db
def test_an_oversized_body_is_refused_from_its_length_before_it_is_parsed(manager_client, settings):
    settings.IMAGE_MAX_BYTES = 1000
    with mock.patch("catalog.views.ProductImageUploadSerializer") as serializer:
        response = upload(manager_client, ProductFactory(), b"x" * 200_000)
    assert response.status_code == 400 and codes(response) == ["file_too_large"]
    serializer.assert_not_called()  # the multipart body was never parsed


@pytest.mark.django_db
def test_the_upload_handler_skips_a_file_past_the_limit(manager_client, settings):
    # Under the Content-Length allowance, so the size is found while parsing.
    settings.IMAGE_MAX_BYTES = 5000
    with mock.patch("catalog.services.product_image_add") as add:
        response = upload(manager_client, ProductFactory(), b"x" * 20_000)
    assert response.status_code == 400 and codes(response) == ["file_too_large"]
    add.assert_not_called()


@pytest.mark.django_db
def test_exif_and_other_metadata_are_stripped_with_the_orientation_applied(manager_client):
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display
    exif[0x010F] = "SecretCamMaker"  # Make
    exif[0x8825] = {2: (51.0, 30.0, 0.0)}  # GPSInfo: latitude
    source = picture("JPEG", size=(60, 40), exif=exif.tobytes(), comment=b"private note")
    assert b"SecretCamMaker" in source
    response = upload(manager_client, ProductFactory(), source)
    assert response.status_code == 201, response.json()
    assert (response.json()["width"], response.json()["height"]) == (40, 60)  # turned upright
    name = ProductImage.objects.get().image
    with default_storage.open(name) as fh:
        stored = fh.read()
    assert b"SecretCamMaker" not in stored and b"private note" not in stored
    image = Image.open(io.BytesIO(stored))
    assert image.size == (40, 60)
    assert len(image.getexif()) == 0 and "exif" not in image.info and "comment" not in image.info


@pytest.mark.django_db
def test_png_text_chunks_are_stripped_and_transparency_kept(manager_client):
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Jane Private")
    source = picture("PNG", mode="RGBA", color=(255, 0, 0, 0), pnginfo=info)
    assert upload(manager_client, ProductFactory(), source, name="a.png").status_code == 201
    with default_storage.open(ProductImage.objects.get().image) as fh:
        stored = fh.read()
    assert b"Jane Private" not in stored
    image = Image.open(io.BytesIO(stored))
    assert image.mode == "RGBA" and image.getpixel((0, 0))[3] == 0


@pytest.mark.django_db
def test_only_managers_upload_and_unknown_products_are_404(api_client, customer_client, manager_client):
    product = ProductFactory()
    assert upload(api_client, product, picture()).status_code == 401
    assert upload(customer_client, product, picture()).status_code == 403
    missing = f"/api/v1/products/{ProductFactory.build().id}/images/"
    response = manager_client.post(missing, {"image": SimpleUploadedFile("a.jpg", picture())}, format="multipart")
    assert response.status_code == 404


@pytest.mark.django_db
def test_missing_file_is_400_required(manager_client):
    response = manager_client.post(f"/api/v1/products/{ProductFactory().id}/images/", {}, format="multipart")
    assert response.status_code == 400 and codes(response) == ["required"]


# --- reads, order, edits -------------------------------------------------------------------


@pytest.mark.django_db
def test_products_show_images_in_position_order_and_thumbnails_are_null_until_made(manager_client, api_client):
    product = ProductFactory()
    late = upload(manager_client, product, picture(color="blue"), position=5).json()
    early = upload(manager_client, product, picture(color="green"), position=1).json()
    appended = upload(manager_client, product, picture(color="white")).json()
    assert appended["position"] == 6
    # Not a transactional test: the jobs are in the outbox, not run.
    assert OutboxMessage.objects.filter(task="catalog.make_product_image_thumbnails").count() == 3
    detail = api_client.get(f"/api/v1/products/{product.id}/").json()
    assert [i["id"] for i in detail["images"]] == [early["id"], late["id"], appended["id"]]
    assert detail["images"][0]["thumbnails"] == {"small": None, "medium": None, "large": None}
    listed = api_client.get("/api/v1/products/").json()["results"][0]
    assert [i["id"] for i in listed["images"]] == [early["id"], late["id"], appended["id"]]


@pytest.mark.django_db
def test_patch_changes_alt_text_and_position(manager_client, customer_client):
    product = ProductFactory()
    image = upload(manager_client, product, picture()).json()
    url = f"/api/v1/products/{product.id}/images/{image['id']}/"
    assert customer_client.patch(url, {"alt_text": "x"}, format="json").status_code == 403
    response = manager_client.patch(url, {"alt_text": "Side view", "position": 7}, format="json")
    assert response.status_code == 200 and response.json()["alt_text"] == "Side view"
    assert response.json()["position"] == 7
    assert manager_client.patch(url, {"position": -1}, format="json").status_code == 400
    other = f"/api/v1/products/{ProductFactory().id}/images/{image['id']}/"
    assert manager_client.patch(other, {"alt_text": "y"}, format="json").status_code == 404


# --- thumbnails ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_job_makes_webp_thumbnails_and_is_idempotent(manager_client, media_root):
    product = ProductFactory()
    body = upload(manager_client, product, picture(size=(200, 100))).json()
    assert tasks.make_product_image_thumbnails(body["id"]) is True
    image = ProductImage.objects.get(pk=body["id"])
    assert set(image.thumbnails) == {"small", "medium", "large"}
    for size, side in {"small": 16, "medium": 32, "large": 48}.items():
        with default_storage.open(image.thumbnails[size]) as fh:
            thumb = Image.open(fh)
            assert thumb.format == "WEBP" and max(thumb.size) == side
    made = files_under(media_root)
    assert len(made) == 4  # the image and three thumbnails

    assert tasks.make_product_image_thumbnails(body["id"]) is False  # run again: nothing to do
    ProductImage.objects.filter(pk=body["id"]).update(thumbnails={})  # even when the record is lost
    assert tasks.make_product_image_thumbnails(body["id"]) is True
    assert files_under(media_root) == made  # the same files, no second set
    detail = manager_client.get(f"/api/v1/products/{product.id}/").json()
    assert detail["images"][0]["thumbnails"]["small"] == f"/media/{image.thumbnails['small']}"


@pytest.mark.django_db
def test_the_job_for_a_deleted_image_does_nothing(manager_client):
    body = upload(manager_client, ProductFactory(), picture()).json()
    ProductImage.objects.filter(pk=body["id"]).delete()
    assert tasks.make_product_image_thumbnails(body["id"]) is False


@pytest.mark.django_db(transaction=True)
def test_after_commit_the_job_runs_and_the_next_get_shows_the_thumbnails(manager_client, api_client):
    product = ProductFactory()
    url = f"/api/v1/products/{product.id}/"
    assert api_client.get(url)["X-Cache"] == "MISS"
    assert api_client.get(url)["X-Cache"] == "HIT"
    assert upload(manager_client, product, picture()).status_code == 201  # eager Celery: job ran on commit
    response = api_client.get(url)
    assert response["X-Cache"] == "MISS"
    thumbnails = response.json()["images"][0]["thumbnails"]
    assert all(thumbnails[size] and thumbnails[size].endswith(".webp") for size in ("small", "medium", "large"))
    assert OutboxMessage.objects.get(task="catalog.make_product_image_thumbnails").published_at is not None


@pytest.mark.django_db(transaction=True)
def test_a_finished_thumbnail_is_visible_on_the_next_cached_get(manager_client, api_client):
    product = ProductFactory()
    with mock.patch("core.jobs.publish"):  # broker down: the job waits in the outbox
        body = upload(manager_client, product, picture()).json()
    url = f"/api/v1/products/{product.id}/"
    assert api_client.get(url).json()["images"][0]["thumbnails"]["small"] is None
    assert api_client.get(url)["X-Cache"] == "HIT"
    tasks.make_product_image_thumbnails(body["id"])  # the worker gets it later
    response = api_client.get(url)
    assert response["X-Cache"] == "MISS" and response.json()["images"][0]["thumbnails"]["small"]
    listed = api_client.get("/api/v1/products/").json()["results"][0]
    assert listed["images"][0]["thumbnails"]["small"]


# --- deletion and the cache ---------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_new_changed_and_deleted_images_show_on_the_next_get(manager_client, api_client, media_root):
    product = ProductFactory()
    url = f"/api/v1/products/{product.id}/"
    api_client.get(url), api_client.get("/api/v1/products/")
    body = upload(manager_client, product, picture()).json()
    assert [i["id"] for i in api_client.get(url).json()["images"]] == [body["id"]]
    assert api_client.get("/api/v1/products/").json()["results"][0]["images"][0]["id"] == body["id"]
    image_url = f"/api/v1/products/{product.id}/images/{body['id']}/"
    manager_client.patch(image_url, {"alt_text": "Back"}, format="json")
    assert api_client.get(url).json()["images"][0]["alt_text"] == "Back"
    assert files_under(media_root)  # the image and its thumbnails
    assert manager_client.delete(image_url).status_code == 204
    assert api_client.get(url).json()["images"] == []
    assert api_client.get("/api/v1/products/").json()["results"][0]["images"] == []
    assert files_under(media_root) == set()  # file and thumbnails removed after commit
    assert manager_client.delete(image_url).status_code == 404


@pytest.mark.django_db(transaction=True)
def test_deleting_a_product_deletes_its_image_files_but_not_shared_ones(manager_client, media_root):
    shared, own = picture(color="red"), picture(color="blue")
    first, second = ProductFactory(), ProductFactory()
    upload(manager_client, first, shared), upload(manager_client, first, own)
    upload(manager_client, second, shared)
    assert len(files_under(media_root)) == 8  # two images, three thumbnails each
    assert manager_client.delete(f"/api/v1/products/{first.id}/").status_code == 204
    remaining = files_under(media_root)
    assert len(remaining) == 4 and ProductImage.objects.get().image in remaining
    assert manager_client.delete(f"/api/v1/products/{second.id}/").status_code == 204
    assert files_under(media_root) == set()


@pytest.mark.django_db(transaction=True)
def test_admin_inline_uploads_through_the_same_checks_and_deletes_the_files(manager, media_root, api_client):
    product = ProductFactory()
    browser = Client()
    browser.force_login(manager)
    change_url = reverse("admin:catalog_product_change", args=[product.pk])
    form = {
        "name": product.name,
        "slug": product.slug,
        "sku": product.sku,
        "description": product.description,
        "price": f"{product.price:.2f}",
        "category": str(product.category_id),
        "brand": str(product.brand_id),
        "attributes": "{}",
        "is_active": "on",
        "images-TOTAL_FORMS": "1",
        "images-INITIAL_FORMS": "0",
        "reviews-TOTAL_FORMS": "0",
        "reviews-INITIAL_FORMS": "0",
        "stock_moves-TOTAL_FORMS": "0",
        "stock_moves-INITIAL_FORMS": "0",
    }
    bad = browser.post(change_url, {**form, "images-0-upload": SimpleUploadedFile("x.jpg", b"nope")})
    assert bad.status_code == 200 and b"not an image" in bad.content and not ProductImage.objects.exists()
    good = {**form, "images-0-upload": SimpleUploadedFile("x.jpg", picture()), "images-0-alt_text": "Admin"}
    assert browser.post(change_url, good).status_code == 302
    image = ProductImage.objects.get()
    assert image.alt_text == "Admin" and image.thumbnails  # the job ran on commit
    assert api_client.get(f"/api/v1/products/{product.id}/").json()["images"][0]["alt_text"] == "Admin"
    assert len(files_under(media_root)) == 4
    delete = {
        **form,
        "images-INITIAL_FORMS": "1",
        "images-0-id": str(image.pk),
        "images-0-product": str(product.pk),
        "images-0-alt_text": "Admin",
        "images-0-position": "0",
        "images-0-DELETE": "on",
    }
    response = browser.post(change_url, delete)
    assert response.status_code == 302, response.content[:3000]
    assert not ProductImage.objects.exists() and files_under(media_root) == set()
    assert api_client.get(f"/api/v1/products/{product.id}/").json()["images"] == []


@pytest.mark.django_db(transaction=True)
def test_the_product_form_links_no_image_that_is_not_there(manager, media_root):
    """The empty form for a new image drew <img src="None">: the browser fetched
    change/None, which the admin redirected to its index with a "doesn't exist" warning,
    and that page took the messages meant for the next one ("was changed successfully")."""
    product = ProductFactory()
    browser = Client()
    browser.force_login(manager)
    change_url = reverse("admin:catalog_product_change", args=[product.pk])
    page = browser.get(change_url).content.decode()
    assert 'src="None"' not in page and 'href="None"' not in page
    assert "field-preview" in page  # the inline is there, its preview a dash

    image = product_image_add(product, upload=SimpleUploadedFile("x.jpg", picture()), alt_text="Front")
    page = browser.get(change_url).content.decode()
    assert 'src="None"' not in page and 'href="None"' not in page
    assert f'href="{images.url(ProductImage.objects.get(pk=image.pk).image)}"' in page


@pytest.mark.django_db(transaction=True)
def test_a_new_image_form_ticked_delete_deletes_nothing(manager, media_root):
    """A new image's form has a pk before it is saved (a UUID default): ticked "delete" and
    left empty, it was taken for a stored image: "deleted" (no row), logged as deleted,
    and the whole catalog's cache generation bumped for it."""
    from django.contrib.admin.models import LogEntry

    from tests.catalog.test_variant_admin import _post_data

    product = ProductFactory()
    browser = Client()
    browser.force_login(manager)
    change_url = reverse("admin:catalog_product_change", args=[product.pk])
    data = _post_data(browser.get(change_url))
    with mock.patch("catalog.services.product_image_delete") as image_delete:
        response = browser.post(change_url, {**data, "images-0-DELETE": "on"})
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert not image_delete.called  # (it bumped the catalog's cache generation)
    assert "deleted" not in LogEntry.objects.get().change_message


# --- query budgets ---------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["api_client", "manager_client"])
def test_images_do_not_grow_the_queries(request, settings, django_assert_max_num_queries, who):
    settings.CATALOG_CACHE_ENABLED = False
    client = request.getfixturevalue(who)
    products = [ProductFactory() for _ in range(6)]
    for product in products:
        for i in range(3):
            ProductImage.objects.create(product=product, image=f"products/x/{i}.jpg", width=1, height=1, position=i)
    with django_assert_max_num_queries(5):
        response = client.get("/api/v1/products/", {"page_size": 30})
    assert response.status_code == 200 and all(len(p["images"]) == 3 for p in response.json()["results"])
    with django_assert_max_num_queries(5):
        response = client.get(f"/api/v1/products/{products[0].id}/")
    assert response.status_code == 200 and len(response.json()["images"]) == 3


# --- generated catalogs ----------------------------------------------------------------------


@pytest.mark.django_db
def test_seed_catalog_gives_every_product_one_to_three_images_of_a_few_files(media_root, api_client):
    from django.core.management import call_command
    from django.db.models import Count

    from catalog.models import Product

    out = io.StringIO()
    call_command("seed_catalog", products=40, categories=6, brands=3, seed=3, stdout=out, verbosity=0)
    counts = Product.objects.annotate(n=Count("images")).values_list("n", flat=True)
    assert len(counts) == 40 and set(counts) <= {1, 2, 3} and len(set(counts)) > 1
    names = set(ProductImage.objects.values_list("image", flat=True))
    assert 1 < len(names) <= 8 and all((media_root / name).is_file() for name in names)
    image = ProductImage.objects.first()
    assert all((media_root / t).is_file() for t in image.thumbnails.values()) and len(image.thumbnails) == 3
    product = Product.objects.filter(is_active=True).first()
    shown = api_client.get(f"/api/v1/products/{product.id}/").json()["images"]
    assert (
        shown
        and shown[0]["thumbnails"]["small"]
        and [i["position"] for i in shown] == sorted(i["position"] for i in shown)
    )
    made = files_under(media_root)
    call_command("seed_catalog", products=40, categories=6, brands=3, seed=3, stdout=out, verbosity=0)
    assert files_under(media_root) == made  # the same files again, not a second set


@pytest.mark.django_db
def test_the_demo_catalog_has_pictures_drawn_locally(media_root):
    from catalog import demo
    from catalog.models import Product

    demo.load(io.StringIO())
    assert not Product.objects.filter(parent__isnull=True, images__isnull=True).exists()  # every listed product
    assert ProductImage.objects.values("image").distinct().count() == 12
    assert ProductImage.objects.exclude(alt_text="").exists()


@pytest.mark.django_db
def test_the_demo_catalog_sells_garments_as_variants_in_sizes_and_colours(media_root, api_client):
    """`make run`'s catalog shows what variants are: a garment type with size and colour as
    axes, parents with a price range, variants with their own SKU and stock from the ledger."""
    from catalog import demo
    from catalog.models import Product, ProductStructure, StockMove

    demo.load(io.StringIO())
    parents = Product.objects.filter(structure=ProductStructure.PARENT, product_type__slug="demo-garment")
    assert parents.count() == len(demo.GARMENTS)
    variants = Product.objects.filter(parent__in=parents)
    assert variants.count() == sum(len(sizes) * len(colours) for _, _, sizes, colours in demo.GARMENTS)
    assert len(set(variants.values_list("sku", flat=True))) == variants.count()
    assert all(set(attrs) == {"size", "color"} for attrs in variants.values_list("attributes", flat=True))
    # Their stock came through the ledger: every level is the last move's.
    for variant in variants.exclude(stock_quantity=0):
        assert StockMove.objects.filter(product=variant).latest("id").quantity_after == variant.stock_quantity
    listed = api_client.get("/api/v1/products/", {"search": "merino"}).json()["results"]
    [sweater] = [p for p in listed if p["structure"] == "parent"]
    assert len(sweater["variants"]) == 6 and sweater["price_range"] == {"min": "79.00", "max": "79.00"}
    assert sweater["images"] and sweater["stock_quantity"] == sum(v["stock_quantity"] for v in sweater["variants"])
    demo.load(io.StringIO())  # idempotent
    assert Product.objects.filter(parent__in=parents).count() == variants.count()


@pytest.mark.django_db
def test_a_demo_loaded_before_it_had_garments_gets_them_once(media_root):
    from catalog import demo
    from catalog.models import Product, ProductStructure

    demo.load(io.StringIO())
    garments = Product.objects.filter(sku__startswith="DEMO-G")
    Product.objects.filter(parent__in=garments.filter(structure=ProductStructure.PARENT)).delete()
    garments.delete()  # as the demo was before it had garments (their type stays)
    out = io.StringIO()
    demo.load(out)
    assert "added 4 garments in 33 variants" in out.getvalue()
    assert Product.objects.filter(sku__startswith="DEMO-G", structure=ProductStructure.PARENT).count() == 4
    assert Product.objects.filter(sku__startswith="DEMO-G", parent__isnull=False).count() == 33
    demo.load(io.StringIO())
    assert Product.objects.filter(sku__startswith="DEMO-G").count() == 37
