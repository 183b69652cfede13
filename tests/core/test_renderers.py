"""The API's JSON renderer (ecommerce.api.renderers.JSONRenderer): DRF's bytes, orjson's speed."""

import dataclasses
import datetime as dt
import json
import math
import uuid
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import models
from django.utils.translation import gettext_lazy
from rest_framework import renderers
from rest_framework.exceptions import ErrorDetail
from rest_framework.settings import api_settings

from ecommerce.api.renderers import JSONRenderer
from tests.catalog.factories import CategoryFactory, ProductFactory


class Colour(models.TextChoices):
    RED = "red", "Red"


class Size(models.IntegerChoices):
    SMALL = 1, "Small"


@dataclasses.dataclass
class Point:
    x: int
    y: int

    def __getitem__(self, key):  # what DRF's encoder then makes of it: a dict of its fields
        return dataclasses.asdict(self)[key]

    def keys(self):
        return ["x", "y"]


PAYLOAD = {
    "text": 'plain, "quoted", back\\slash, tab\t, newline\n, control \x01',
    "unicode": "é ü 中文 🛒",
    "separators": "line\u2028paragraph\u2029end",
    "numbers": [0, -1, 2**63 - 1, -(2**63), 1.5, 0.1, 123456789.125, 1e15, True, False, None],
    "utc": dt.datetime(2026, 12, 1, 19, 46, 42, 123456, tzinfo=dt.UTC),
    "utc_whole_second": dt.datetime(2026, 12, 1, 19, 46, 42, tzinfo=dt.UTC),
    "paris": dt.datetime(2026, 6, 1, 8, 0, tzinfo=ZoneInfo("Europe/Paris")),
    "naive": dt.datetime(2026, 1, 2, 3, 4, 5),
    "date": dt.date(2026, 2, 28),
    "time": dt.time(13, 30, 15, 500),
    "duration": dt.timedelta(hours=1, seconds=1.5),
    "decimal": Decimal("12.50"),
    "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "lazy": gettext_lazy("This field is required."),
    "error": ErrorDetail("Bad value.", code="invalid"),
    "choices": [Colour.RED, Size.SMALL],
    "keys": {1: "int key", None: "none key", False: "bool key", 2.5: "float key"},
    "tuple": ("a", 1),
    "set": {"only"},
    "bytes": b"raw",
    "dataclass": Point(1, 2),
    "nested": {"empty_list": [], "empty_dict": {}, "deep": [[{"a": [1, {"b": None}]}]]},
}


def test_the_bytes_are_drfs():
    assert JSONRenderer().render(PAYLOAD) == renderers.JSONRenderer().render(PAYLOAD)


def test_floats_in_exponent_form_are_the_same_numbers():
    # Spellings that differ below 1e-4: the standard library writes 1e-07 and 5e-05.
    data = {"small": 1e-7, "large": 1e16, "negative": -2.5e-12, "tolerance": 0.00005}
    assert JSONRenderer().render(data) == b'{"small":1e-7,"large":1e+16,"negative":-2.5e-12,"tolerance":0.00005}'
    assert json.loads(JSONRenderer().render(data)) == json.loads(renderers.JSONRenderer().render(data)) == data


def test_line_and_paragraph_separators_are_escaped_as_drf_escapes_them():
    content = JSONRenderer().render({"a": "x\u2028y\u2029z"})
    assert content == b'{"a":"x\\u2028y\\u2029z"}'


@pytest.mark.parametrize("media_type", ["application/json; indent=4", "application/json; indent=2"])
def test_an_indented_answer_is_drfs(media_type):
    assert JSONRenderer().render(PAYLOAD, media_type) == renderers.JSONRenderer().render(PAYLOAD, media_type)
    assert b"\n" in JSONRenderer().render(PAYLOAD, media_type)


@pytest.mark.parametrize("setting", [{"compact": False}, {"ensure_ascii": True}, {"strict": False}])
def test_drfs_other_json_settings_are_drfs_own_render(setting):
    ours = type("Ours", (JSONRenderer,), setting)()
    drfs = type("Drfs", (renderers.JSONRenderer,), setting)()
    data = {**PAYLOAD, "nan": math.nan} if setting.get("strict") is False else PAYLOAD
    assert ours.render(data) == drfs.render(data)
    assert ours.render(data) != JSONRenderer().render(PAYLOAD)  # the setting shows in the bytes


def test_what_orjson_refuses_goes_through_drf():
    data = {"huge": 2**70, "negative": -(2**64)}  # beyond 64 bits
    assert (
        JSONRenderer().render(data)
        == renderers.JSONRenderer().render(data)
        == b'{"huge":1180591620717411303424,"negative":-18446744073709551616}'
    )


def test_none_renders_nothing():
    assert JSONRenderer().render(None) == b""


def test_nan_is_null_where_drf_refuses_it():
    with pytest.raises(ValueError):
        renderers.JSONRenderer().render({"x": math.nan})
    assert JSONRenderer().render({"x": math.nan, "y": math.inf}) == b'{"x":null,"y":null}'


def test_the_api_renders_with_it_by_default():
    assert api_settings.DEFAULT_RENDERER_CLASSES[0] is JSONRenderer


@pytest.mark.django_db
def test_api_answers_are_drfs_bytes(api_client, settings):
    settings.CATALOG_CACHE_ENABLED = False  # the view's own render, not stored bytes
    category = CategoryFactory(name="Café")
    product = ProductFactory(category=category, name="Tasse \u2028 ☕", attributes={"colour": "noir", "size": 3})
    paths = [f"/api/v1/products/{product.pk}/", "/api/v1/categories/", "/api/v1/products/?page=x"]
    for path in paths:  # the last one is a 404 in the error envelope
        response = api_client.get(path)
        assert response["Content-Type"] == "application/json"
        assert response.content == renderers.JSONRenderer().render(response.data), path
    assert b"\\u2028" in api_client.get(f"/api/v1/products/{product.pk}/").content
    # The list's items may be JSON the database wrote (catalog.selectors.PageJSON): the same
    # data as the page built in Python (an indented answer is), the same escapes.
    listed = api_client.get("/api/v1/products/")
    indented = api_client.get("/api/v1/products/", HTTP_ACCEPT="application/json; indent=2")
    assert listed["Content-Type"] == "application/json" and b"\n" not in listed.content
    assert json.loads(listed.content) == json.loads(indented.content)
    assert b"\\u2028" in listed.content and "\u2028".encode() not in listed.content
