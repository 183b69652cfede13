"""Domain errors of payments."""

from __future__ import annotations

from enum import StrEnum

from core.errors import Conflict, InvalidInput, NotFound, PaymentRequired, UpstreamError


class PaymentErrorCode(StrEnum):
    PAYMENT_DECLINED = "payment_declined"
    PROVIDER_ERROR = "payment_provider_error"
    ALREADY_PAID = "already_paid"
    ORDER_NOT_PAYABLE = "order_not_payable"
    ORDER_EXPIRED = "order_expired"
    INVALID_SIGNATURE = "invalid_signature"
    WEBHOOK_MISMATCH = "webhook_mismatch"
    TRANSACTION_ALREADY_RECORDED = "transaction_already_recorded"
    UNKNOWN_PROVIDER = "unknown_provider"
    REFUND_EXCEEDS_PAYMENT = "refund_exceeds_payment"


class PaymentDeclined(PaymentRequired):
    code = PaymentErrorCode.PAYMENT_DECLINED
    default_detail = "The payment was declined; the order is still awaiting payment."


class PaymentProviderError(UpstreamError):
    code = PaymentErrorCode.PROVIDER_ERROR
    default_detail = "The payment provider is unavailable; nothing was charged. Please retry."


class AlreadyPaid(Conflict):
    code = PaymentErrorCode.ALREADY_PAID
    default_detail = "This order is already paid."


class OrderNotPayable(Conflict):
    code = PaymentErrorCode.ORDER_NOT_PAYABLE
    default_detail = "This order cannot be paid (it is cancelled)."


class OrderExpired(Conflict):
    code = PaymentErrorCode.ORDER_EXPIRED
    default_detail = "The time to pay this order has run out; it is being cancelled."


class InvalidWebhookError(InvalidInput):
    code = PaymentErrorCode.INVALID_SIGNATURE


class UnknownProvider(NotFound):
    default_detail = "Unknown payment provider."


class WebhookMismatch(InvalidInput):
    """A correctly signed payment event that does not match the payment it names (no
    transaction id, another amount or currency). It is stored, and nothing is applied."""

    code = PaymentErrorCode.WEBHOOK_MISMATCH
    default_detail = "The event does not match the payment it names; nothing was applied."


class OrderNotFound(NotFound):
    """Not an order the caller may pay (it does not exist or belongs to someone else)."""

    default_detail = "No such order."


class TransactionAlreadyRecorded(Conflict):
    code = PaymentErrorCode.TRANSACTION_ALREADY_RECORDED
    default_detail = "A payment with this transaction id is already recorded."


class RefundExceedsPayment(Conflict):
    """The refunds of a payment would sum to more than it captured (entry: `payment_id`,
    `requested`, `refundable`); nothing was refunded."""

    code = PaymentErrorCode.REFUND_EXCEEDS_PAYMENT
    default_detail = "The refunds would exceed the amount paid; nothing was refunded."
