"""Domain errors of the catalog (plain exceptions, mapped to HTTP by ecommerce.api.exceptions)."""

from __future__ import annotations

from enum import StrEnum

from core.errors import Conflict, InvalidInput, NotFound


class CatalogErrorCode(StrEnum):
    INSUFFICIENT_STOCK = "insufficient_stock"
    NOT_FOUND = "not_found"
    INVALID_IMAGE = "invalid_image"
    FILE_TOO_LARGE = "file_too_large"


class InsufficientStock(Conflict):
    """A stock move would take a product below zero; nothing moved. `errors` lists each
    short product: `product_id`, `requested` (units to take) and `available`."""

    code = CatalogErrorCode.INSUFFICIENT_STOCK.value
    default_detail = "Not enough stock; nothing was moved."


class StockProductNotFound(NotFound):
    code = CatalogErrorCode.NOT_FOUND.value
    default_detail = "No such product."


class _UploadError(InvalidInput):
    """About the uploaded file: `attr` is the form field, `image`, unless told otherwise."""

    def __init__(self, detail: str | None = None, **kwargs) -> None:
        kwargs.setdefault("attr", "image")
        super().__init__(detail, **kwargs)


class InvalidImage(_UploadError):
    """Not an image, a format other than JPEG/PNG/WebP/GIF, or more than IMAGE_MAX_PIXELS."""

    code = CatalogErrorCode.INVALID_IMAGE.value
    default_detail = "The file is not an accepted image (JPEG, PNG, WebP or GIF)."


class FileTooLarge(_UploadError):
    code = CatalogErrorCode.FILE_TOO_LARGE.value
    default_detail = "The file is too large."
