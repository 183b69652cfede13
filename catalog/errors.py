"""Domain errors of the catalog (plain exceptions, mapped to HTTP by ecommerce.api.exceptions)."""

from __future__ import annotations

from enum import StrEnum

from core.errors import Conflict, InvalidInput, NotFound


class CatalogErrorCode(StrEnum):
    INSUFFICIENT_STOCK = "insufficient_stock"
    NOT_FOUND = "not_found"
    INVALID_IMAGE = "invalid_image"
    FILE_TOO_LARGE = "file_too_large"
    INVALID_ATTRIBUTE = "invalid_attribute"
    INVALID_PARENT = "invalid_parent"
    VARIANT_REQUIRED = "variant_required"
    UNIQUE = "unique"


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


class InvalidAttribute(InvalidInput):
    """An attribute does not fit the product's type: unknown name, wrong type, a value
    outside the choices, or a variant missing a variant axis. `attr` is
    `attributes.<name>`."""

    code = CatalogErrorCode.INVALID_ATTRIBUTE.value
    default_detail = "This attribute does not fit the product type."

    def __init__(self, name: str, detail: str) -> None:
        super().__init__(detail, attr=f"attributes.{name}" if name else "attributes")


class InvalidParent(InvalidInput):
    """A variant's parent cannot have variants (it is a variant itself, holds stock, or its
    type has no variant axis), or a variant's parent or type was changed."""

    code = CatalogErrorCode.INVALID_PARENT.value
    default_detail = "This product cannot be the parent of variants."


class VariantRequired(InvalidInput):
    """A parent is not sold and holds no stock: name one of its variants."""

    code = CatalogErrorCode.VARIANT_REQUIRED.value
    default_detail = "This product has variants; choose one of them."


class DuplicateVariant(Conflict):
    """Another variant of the same parent has the same variant-axis values."""

    code = CatalogErrorCode.UNIQUE.value
    default_detail = "A variant with these values already exists."
