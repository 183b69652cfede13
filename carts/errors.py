"""Domain errors of carts (plain exceptions; `ecommerce.api.exceptions` maps them to HTTP)."""

from __future__ import annotations

from enum import StrEnum

from core.errors import Conflict, InvalidInput, NotFound, Unavailable


class CartErrorCode(StrEnum):
    INSUFFICIENT_STOCK = "insufficient_stock"
    NOT_FOUND = "not_found"
    MAX_VALUE = "max_value"
    SERVICE_UNAVAILABLE = "service_unavailable"
    VARIANT_REQUIRED = "variant_required"


class ProductNotFound(NotFound):
    """Unknown or inactive product: both answer 404 so inactive products leak nothing."""

    code = CartErrorCode.NOT_FOUND.value
    default_detail = "No such product."


class VariantRequired(InvalidInput):
    """A parent product is not sold itself: the cart takes one of its variants."""

    code = CartErrorCode.VARIANT_REQUIRED.value
    default_detail = "This product has variants; add one of them (its id) instead."

    def __init__(self, product_id) -> None:
        super().__init__(attr="product_id", errors=[{"product_id": str(product_id)}])


class CartLineNotFound(NotFound):
    code = CartErrorCode.NOT_FOUND.value
    default_detail = "This product is not in the cart."


class InsufficientStock(Conflict):
    code = CartErrorCode.INSUFFICIENT_STOCK.value
    default_detail = "Not enough stock for the requested quantity."

    def __init__(self, *, product_id, requested: int, available: int) -> None:
        super().__init__(
            attr="quantity",
            errors=[{"product_id": str(product_id), "requested": requested, "available": available}],
        )


class QuantityTooLarge(InvalidInput):
    """The line would exceed CART_MAX_QUANTITY (a per-line bound, whatever the stock)."""

    code = CartErrorCode.MAX_VALUE.value

    def __init__(self, limit: int) -> None:
        super().__init__(f"A cart line holds at most {limit} units.", attr="quantity")


class CartStoreUnavailable(Unavailable):
    """The anonymous cart store (Redis) cannot be reached: 503, and nothing was changed."""

    code = CartErrorCode.SERVICE_UNAVAILABLE.value
    default_detail = "Anonymous carts are temporarily unavailable; please retry."
