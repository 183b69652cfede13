"""Text forms shared by every app's output (no DRF: services, caches and serializers alike)."""

from __future__ import annotations

from datetime import UTC, datetime


def iso_utc(value: datetime) -> str:
    """ISO 8601 in UTC with a `Z`, as the API writes every timestamp."""
    text = value.astimezone(UTC).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text
