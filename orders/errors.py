"""Domain errors of orders (plain exceptions, mapped to HTTP by ecommerce.api.exceptions)."""

from __future__ import annotations

from enum import StrEnum

import accounts.errors
from core.errors import Conflict, InvalidInput


class OrderErrorCode(StrEnum):
    EMAIL_NOT_VERIFIED = "email_not_verified"
    EMPTY_ORDER = "empty_order"
    INVALID_ADDRESS = "invalid_address"
    PRODUCT_UNAVAILABLE = "product_unavailable"
    INSUFFICIENT_STOCK = "insufficient_stock"
    PRICE_CHANGED = "price_changed"
    ORDER_TOO_LARGE = "order_too_large"
    INVALID_TRANSITION = "invalid_transition"
    ORDER_LIMIT = "order_limit"
    VARIANT_REQUIRED = "variant_required"


class EmailNotVerified(accounts.errors.EmailNotVerified):
    """accounts' error (one class per code), with the checkout's wording."""

    code = OrderErrorCode.EMAIL_NOT_VERIFIED
    default_detail = "Verify your email address before placing an order."


class EmptyOrder(InvalidInput):
    code = OrderErrorCode.EMPTY_ORDER
    default_detail = "The order has no items (and the cart is empty)."


class InvalidAddress(InvalidInput):
    code = OrderErrorCode.INVALID_ADDRESS
    default_detail = "Unknown shipping address."


class ProductUnavailable(Conflict):
    code = OrderErrorCode.PRODUCT_UNAVAILABLE
    default_detail = "Some products do not exist or are no longer sold."


class InsufficientStock(Conflict):
    code = OrderErrorCode.INSUFFICIENT_STOCK
    default_detail = "Not enough stock for some lines; nothing was ordered."


class PriceChanged(Conflict):
    code = OrderErrorCode.PRICE_CHANGED
    default_detail = "The price of some products changed; nothing was ordered."


class InvalidTransition(Conflict):
    code = OrderErrorCode.INVALID_TRANSITION
    default_detail = "The order cannot move to that status."


class OrderTooLarge(InvalidInput):
    code = OrderErrorCode.ORDER_TOO_LARGE
    default_detail = "The order total is larger than an order can hold; split it into smaller orders."


class OrderLimitExceeded(Conflict):
    """Checkout would pass ORDER_MAX_UNITS_PER_PRODUCT (each entry names `product_id`,
    `requested`, `limit`) or ORDER_MAX_PENDING_PER_USER (`pending`, `limit`)."""

    code = OrderErrorCode.ORDER_LIMIT
    default_detail = "The order is over a limit of the shop; nothing was ordered."


class VariantRequired(InvalidInput):
    """A line names a parent product, which is not sold itself (each entry names the
    `product_id`): order one of its variants."""

    code = OrderErrorCode.VARIANT_REQUIRED
    default_detail = "Some products have variants; order one of their variants instead."

    def __init__(self, **kwargs) -> None:
        super().__init__(attr="items", **kwargs)
