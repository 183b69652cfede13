"""Writes to the catalog. Every write ends by invalidating cached catalog responses."""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from django.db import transaction

from catalog.cache import bump_catalog_generation


def catalog_changed() -> None:
    """Invalidate cached catalog responses once the current transaction commits."""
    transaction.on_commit(bump_catalog_generation)


def product_stock_changed(product_ids: Iterable[UUID]) -> None:
    """Called by checkout, cancellation and restock after stock moved (inside their
    transaction): cached product pages must show the new stock on the next GET."""
    catalog_changed()
