"""Domain errors of orders (plain exceptions, mapped to HTTP by ecommerce.api.exceptions)."""

from __future__ import annotations

from enum import StrEnum

import accounts.errors
from core.errors import Conflict, InvalidInput, NotFound


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
    ORDER_NOT_EDITABLE = "order_not_editable"
    ORDER_EMPTY = "order_empty"
    INVALID_LINE = "invalid_line"
    OVER_FULFILLMENT = "over_fulfillment"
    OVER_RETURN = "over_return"
    RETURN_WINDOW_CLOSED = "return_window_closed"
    ORDER_NOT_RETURNABLE = "order_not_returnable"
    RETURN_ALREADY_DECIDED = "return_already_decided"
    NOTHING_TO_REFUND = "nothing_to_refund"
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


class OrderNotEditable(Conflict):
    code = OrderErrorCode.ORDER_NOT_EDITABLE
    default_detail = "Only a pending order (not yet paid, not expired) can be edited."


class OrderWouldBeEmpty(Conflict):
    code = OrderErrorCode.ORDER_EMPTY
    default_detail = "This is the order's last line; cancel the order instead."


class LineNotFound(NotFound):
    default_detail = "No such line on this order."


class InvalidLine(InvalidInput):
    """A shipment or return names a line that is not on the order (each entry: `line_id`)."""

    code = OrderErrorCode.INVALID_LINE
    default_detail = "Some lines are not lines of this order."


class OverFulfillment(Conflict):
    """Each entry: `line_id`, `requested`, `remaining` (units left to ship)."""

    code = OrderErrorCode.OVER_FULFILLMENT
    default_detail = "More units than are left to ship; nothing was shipped."


class OverReturn(Conflict):
    """Each entry: `line_id`, `requested`, `returnable` (delivered and not yet returned)."""

    code = OrderErrorCode.OVER_RETURN
    default_detail = "More units than were delivered and not yet returned; nothing was requested."


class ReturnWindowClosed(Conflict):
    code = OrderErrorCode.RETURN_WINDOW_CLOSED
    default_detail = "The time to return items of this order has run out."


class OrderNotReturnable(Conflict):
    code = OrderErrorCode.ORDER_NOT_RETURNABLE
    default_detail = "Only a delivered order can have items returned."


class ReturnAlreadyDecided(Conflict):
    code = OrderErrorCode.RETURN_ALREADY_DECIDED
    default_detail = "This return was already decided."


class NothingToRefund(Conflict):
    code = OrderErrorCode.NOTHING_TO_REFUND
    default_detail = "The order has no payment left to refund."


class ReturnNotFound(NotFound):
    default_detail = "No such return."


class VariantRequired(InvalidInput):
    """A line names a parent product, which is not sold itself (each entry names the
    `product_id`): order one of its variants."""

    code = OrderErrorCode.VARIANT_REQUIRED
    default_detail = "Some products have variants; order one of their variants instead."

    def __init__(self, **kwargs) -> None:
        super().__init__(attr="items", **kwargs)
