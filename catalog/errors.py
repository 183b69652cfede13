"""Domain errors of the catalog (plain exceptions, mapped to HTTP by ecommerce.api.exceptions)."""

from __future__ import annotations

from enum import StrEnum

from core.errors import Conflict, NotFound


class CatalogErrorCode(StrEnum):
    INSUFFICIENT_STOCK = "insufficient_stock"
    NOT_FOUND = "not_found"


class InsufficientStock(Conflict):
    """A stock move would take a product below zero; nothing moved. `errors` lists each
    short product: `product_id`, `requested` (units to take) and `available`."""

    code = CatalogErrorCode.INSUFFICIENT_STOCK.value
    default_detail = "Not enough stock; nothing was moved."


class StockProductNotFound(NotFound):
    code = CatalogErrorCode.NOT_FOUND.value
    default_detail = "No such product."
