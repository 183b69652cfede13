"""Postal addresses: the one definition of their fields, limits and validation, shared by
customers' saved addresses (`accounts.Address`) and the address snapshot an order keeps
(`orders`).

- `ADDRESS_FIELDS`, `REQUIRED_FIELDS`, `MAX_LENGTHS`: the shape (models and serializers
  take their lengths from here).
- `clean_country(value)`, `clean_phone(value)`: one field each, normalised (the country
  upper-cased, ISO 3166-1 alpha-2 per django-countries; the phone a loose international
  format); they raise Django's `ValidationError`, so model `clean()` methods, forms and DRF
  serializers (`validate_<field>`) can use them as they are.
- `validate_address(mapping)`: a whole address, normalised to a dict of strings; raises
  `InvalidAddressFields` (400, one error entry per bad field, each with its `attr`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django_countries import countries

from core.errors import InvalidInput

ADDRESS_FIELDS = ("full_name", "line1", "line2", "city", "region", "postal_code", "country", "phone")
REQUIRED_FIELDS = ("full_name", "line1", "city", "postal_code", "country")
MAX_LENGTHS = {
    "full_name": 200,
    "line1": 255,
    "line2": 255,
    "city": 120,
    "region": 120,
    "postal_code": 20,
    "country": 2,
    "phone": 32,
}
PHONE_RE = re.compile(r"^\+?[0-9][0-9 ()./-]{3,30}$")


class InvalidAddressFields(InvalidInput):
    """Some fields of an address are missing or invalid; one error entry per field."""

    code = "invalid"
    default_detail = "This address is not valid."

    def __init__(self, problems: list[dict[str, str]]) -> None:
        first = problems[0]
        super().__init__(first["detail"], code=first["code"], attr=first["attr"], errors=problems)


def clean_country(value: str) -> str:
    """An ISO 3166-1 alpha-2 code (any case on input, upper-cased on output)."""
    code = (value or "").strip().upper()
    if code not in countries:
        raise ValidationError("Not an ISO 3166-1 alpha-2 country code.", code="invalid")
    return code


def clean_phone(value: str) -> str:
    """Optional; when given, digits with the usual separators and an optional leading +."""
    phone = (value or "").strip()
    if phone and not PHONE_RE.match(phone):
        raise ValidationError("Enter a valid phone number.", code="invalid")
    return phone


FIELD_CLEANERS: dict[str, Callable[[str], str]] = {"country": clean_country, "phone": clean_phone}


def validate_address(data: Mapping[str, Any], *, partial: bool = False, attr_prefix: str = "") -> dict[str, str]:
    """The address fields of `data`, stripped and normalised; other keys are ignored.

    Without `partial` every field is returned (missing optional ones as "") and the
    required ones must be there; with it only the fields present are checked and returned
    (a PATCH). Error attrs are `attr_prefix` + field name (e.g. "shipping_address.country").
    Raises InvalidAddressFields with codes `required`, `blank`, `max_length`, `invalid`."""
    cleaned: dict[str, str] = {}
    problems: list[dict[str, str]] = []

    def problem(name: str, code: str, detail: str) -> None:
        problems.append({"code": code, "detail": detail, "attr": f"{attr_prefix}{name}"})

    for name in ADDRESS_FIELDS:
        if data.get(name) is None:
            if partial:
                continue
            if name in REQUIRED_FIELDS:
                problem(name, "required", "This field is required.")
                continue
        value = str(data.get(name) or "").strip()
        if not value and name in REQUIRED_FIELDS:
            problem(name, "blank", "This field may not be blank.")
            continue
        if len(value) > MAX_LENGTHS[name]:
            problem(name, "max_length", f"Ensure this field has no more than {MAX_LENGTHS[name]} characters.")
            continue
        if name in FIELD_CLEANERS:
            try:
                value = FIELD_CLEANERS[name](value)
            except ValidationError as exc:
                problem(name, exc.code or "invalid", exc.messages[0])
                continue
        cleaned[name] = value
    if problems:
        raise InvalidAddressFields(problems)
    return cleaned
