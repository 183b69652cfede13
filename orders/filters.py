"""Filters of GET orders/. Every value is either honoured or a 400 validation error naming
the parameter (`attr`); none reaches the database in a form it may refuse (a 500)."""

from datetime import UTC

import django_filters
from django import forms
from django_filters.fields import IsoDateTimeField

from orders.models import Order, OrderStatus


class UTCDateTimeField(IsoDateTimeField):
    """An ISO 8601 date-time (a naive one is UTC), converted to UTC before it is used.

    Python accepts any offset under ±24 h, PostgreSQL only ±15:59 ("time zone displacement
    out of range", found by schemathesis as a 500 with `-17:06`): the database only ever
    sees UTC. A value with no UTC equivalent inside years 1–9999 (`0001-01-01T00:00+01:00`,
    `9999-12-31T23:59:59-01:00`; SQLite's adapter overflowed on them) is invalid."""

    default_error_messages = {
        "out_of_range": "Enter a date and time that exists in UTC between years 1 and 9999.",
    }

    def to_python(self, value):
        parsed = super().to_python(value)
        if parsed is None:
            return None
        try:
            return parsed.astimezone(UTC)
        except OverflowError:
            raise forms.ValidationError(self.error_messages["out_of_range"], code="out_of_range")


class UTCDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UTCDateTimeField


class OrderFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=OrderStatus.choices)
    user = django_filters.UUIDFilter(field_name="user_id", help_text="Staff: orders of one customer.")
    created_after = UTCDateTimeFilter(
        field_name="created_at", lookup_expr="gte", help_text="ISO 8601 with offset (naive = UTC); inclusive."
    )
    created_before = UTCDateTimeFilter(
        field_name="created_at", lookup_expr="lt", help_text="ISO 8601 with offset (naive = UTC); exclusive."
    )

    class Meta:
        model = Order
        fields = ["status", "user", "created_after", "created_before"]
