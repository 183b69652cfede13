"""Typed product attributes: the checks every product write runs (the API, the admin and
the CSV import all save through catalog.services.product_save, which calls these).

A product without a type keeps free attributes: names as ATTRIBUTE_NAME_RE allows, values
text (numbers are written as their text, as before types existed). A product with a type
may carry only the type's attributes, each a JSON value of the definition's type:

| type    | stored as   | accepted                                           |
|---------|-------------|----------------------------------------------------|
| text    | string      | a string (at most 200 characters)                  |
| choice  | string      | one of the definition's `values`                   |
| number  | number      | a JSON number (not a boolean, not a numeric string) |
| boolean | true/false  | a JSON boolean                                     |

Anything else is InvalidAttribute (400 `invalid_attribute`, `attr` = `attributes.<name>`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from catalog.errors import InvalidAttribute
from catalog.models import ATTRIBUTE_NAME_RE, AttributeDefinition, AttributeType

MAX_ATTRIBUTES = 50
MAX_TEXT = 200


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    if isinstance(value, float | Decimal):
        return math.isfinite(value)
    return False


def normalise_number(value: int | float | Decimal) -> int | float:
    """A number as JSON stores it: integral values as int (10.0 -> 10), others as float."""
    if isinstance(value, int):
        return value
    number = Decimal(value)
    return int(number) if number == number.to_integral_value() else float(number)


def clean_value(definition: AttributeDefinition, value: Any) -> str | int | float | bool:
    """`value` checked against one definition, in the JSON type the definition stores.
    Raises InvalidAttribute."""
    name = definition.slug
    if definition.type == AttributeType.NUMBER:
        if not _is_number(value):
            raise InvalidAttribute(name, f"'{name}' must be a number.")
        return normalise_number(value)
    if definition.type == AttributeType.BOOLEAN:
        if not isinstance(value, bool):
            raise InvalidAttribute(name, f"'{name}' must be true or false.")
        return value
    if not isinstance(value, str):
        raise InvalidAttribute(name, f"'{name}' must be text.")
    if len(value) > MAX_TEXT or "\x00" in value:
        raise InvalidAttribute(name, f"'{name}' must be at most {MAX_TEXT} characters of text.")
    if definition.type == AttributeType.CHOICE and value not in (definition.values or []):
        allowed = ", ".join(str(v) for v in definition.values or [])
        raise InvalidAttribute(name, f"'{value[:64]}' is not a choice of '{name}' (one of: {allowed}).")
    return value


def _check_shape(attributes: Any) -> Mapping[str, Any]:
    if not isinstance(attributes, Mapping):
        raise InvalidAttribute("", "Attributes must be an object of name -> value.")
    if len(attributes) > MAX_ATTRIBUTES:
        raise InvalidAttribute("", f"At most {MAX_ATTRIBUTES} attributes.")
    for key in attributes:
        if not isinstance(key, str) or not ATTRIBUTE_NAME_RE.match(key):
            raise InvalidAttribute(
                str(key)[:64], f"Attribute name '{str(key)[:64]}' must be 1-64 letters, digits, '_' or '-' (not '__')."
            )
    return attributes


def clean_attributes(
    attributes: Any, definitions: Iterable[AttributeDefinition] | None, *, variant: bool = False
) -> dict[str, Any]:
    """The attributes to store for a product whose type has `definitions` (None: no type,
    free text attributes). With `variant`, every variant axis of the type must be given
    (the axes are what tells the parent's variants apart). Raises InvalidAttribute."""
    attributes = _check_shape(attributes)
    if definitions is None:
        cleaned: dict[str, Any] = {}
        for key, value in attributes.items():
            if _is_number(value):
                value = str(normalise_number(value))
            if not isinstance(value, str):
                raise InvalidAttribute(key, f"'{key}' must be text (this product has no type).")
            if len(value) > MAX_TEXT or "\x00" in value:
                raise InvalidAttribute(key, f"'{key}' must be at most {MAX_TEXT} characters of text.")
            cleaned[key] = value
        return cleaned
    by_slug = {d.slug: d for d in definitions}
    cleaned = {}
    for key, value in attributes.items():
        definition = by_slug.get(key)
        if definition is None:
            known = ", ".join(sorted(by_slug)) or "none"
            raise InvalidAttribute(key, f"'{key}' is not an attribute of this product type (known: {known}).")
        cleaned[key] = clean_value(definition, value)
    if variant:
        for definition in by_slug.values():
            if definition.is_variant_axis and definition.slug not in cleaned:
                raise InvalidAttribute(definition.slug, f"A variant must give its '{definition.slug}'.")
    return cleaned


def axis_values(attributes: Mapping[str, Any], definitions: Iterable[AttributeDefinition]) -> tuple:
    """The variant-axis values of a variant's attributes, in definition order: what must be
    unique among a parent's variants."""
    return tuple(attributes.get(d.slug) for d in definitions if d.is_variant_axis)


def clean_choice_values(attribute_type: str, values: Any) -> list[str]:
    """The `values` of a definition: a non-empty list of distinct strings for a choice,
    empty for the other types. Raises ValueError with the reason."""
    if attribute_type != AttributeType.CHOICE:
        if values:
            raise ValueError("Only a choice attribute lists values.")
        return []
    if not isinstance(values, list) or not values:
        raise ValueError("A choice attribute needs a list of values.")
    if not all(isinstance(v, str) and 0 < len(v) <= MAX_TEXT for v in values):
        raise ValueError(f"Each value must be text of 1-{MAX_TEXT} characters.")
    if len(set(values)) != len(values):
        raise ValueError("The values must be distinct.")
    return list(values)
