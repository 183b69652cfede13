"""Writes of payments: charging an order, refunding it (in part or in full), invoices and
credit notes, provider webhooks.

Lock order: the order row, then the payment row, then the invoice or credit note counter
of the year.
The provider is called while the order row is locked (so two payments of one order
cannot both charge) but never while product rows are locked."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from decimal import Decimal
from uuid import UUID

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from core.errors import InvalidInput
from core.jobs import enqueue
from core.metrics import PAYMENTS
from orders.hooks import RefundOutcome
from orders.models import PAID_STATUSES, Order, OrderStatus
from orders.services import RefundLine, order_mark_paid
from payments.errors import (
    AlreadyPaid,
    InvalidWebhookError,
    OrderExpired,
    OrderNotFound,
    OrderNotPayable,
    PaymentDeclined,
    PaymentProviderError,
    RefundExceedsPayment,
    TransactionAlreadyRecorded,
    UnknownProvider,
    WebhookMismatch,
)
from payments.models import (
    CreditNote,
    CreditNoteLine,
    CreditNoteSequence,
    Invoice,
    InvoiceSequence,
    Payment,
    PaymentStatus,
    Refund,
    RefundStatus,
    WebhookEvent,
)
from payments.providers import InvalidWebhook, ProviderError, WebhookEventData, get_provider
from payments.providers.offline import OfflineProvider


def _check_payable(order: Order) -> None:
    if order.status in PAID_STATUSES:
        raise AlreadyPaid()
    if order.status != OrderStatus.PENDING:
        raise OrderNotPayable()
    if order.expires_at and order.expires_at <= timezone.now():
        raise OrderExpired()


def payment_pay(order_id: UUID, *, user, token: str, idempotency_key: str, payment_method: str = "card") -> Payment:
    """Charge the order's total (never an amount from the client) through the configured
    provider and, on success, confirm the order, issue its invoice and email a receipt.

    Paying is the owner's action: `user` must be the order's customer, staff included (an
    order of someone else is OrderNotFound, 404, as for any non-owner; staff record money
    received outside the shop with `payment_record_offline`).

    Locks the order row for the whole operation: a concurrent second payment waits and then
    gets AlreadyPaid (409). The attempt is recorded even when it fails. Raises OrderNotFound
    (404), AlreadyPaid / OrderNotPayable / OrderExpired (409), PaymentDeclined (402, order
    stays pending), PaymentProviderError (502, nothing charged)."""
    provider = get_provider()
    with transaction.atomic():
        order = Order.objects.select_for_update().filter(pk=order_id, user_id=getattr(user, "pk", None)).first()
        if order is None:
            raise OrderNotFound()
        _check_payable(order)
        payment = Payment.objects.create(
            order=order,
            provider=provider.name,
            amount=order.total_amount,
            currency=order.currency,
            status=PaymentStatus.PROCESSING,
            payment_method=payment_method,
            idempotency_key=idempotency_key[:255],
        )
        outcome = "declined"
        try:
            result = provider.charge(
                amount=order.total_amount,
                currency=order.currency,
                token=token,
                # Scoped to the order so one client key can never touch two charges.
                idempotency_key=f"{order.pk}:{idempotency_key}",
                metadata={"order_id": str(order.pk), "order_number": order.number, "payment_id": str(payment.pk)},
            )
        except ProviderError as exc:
            payment.status = PaymentStatus.FAILED
            payment.failure_code = "provider_error"
            payment.raw_response = {"error": str(exc)[:500]}
            payment.save(update_fields=["status", "failure_code", "raw_response", "updated_at"])
            outcome = "error"
        else:
            payment.transaction_id = result.transaction_id
            payment.raw_response = result.raw
            if result.succeeded:
                payment.status = PaymentStatus.SUCCEEDED
                payment.save(update_fields=["status", "transaction_id", "raw_response", "updated_at"])
                _confirm_order(order, payment, by=user)
                outcome = "succeeded"
            else:
                payment.status = PaymentStatus.FAILED
                payment.failure_code = result.decline_code
                payment.save(update_fields=["status", "failure_code", "transaction_id", "raw_response", "updated_at"])
    # Counted once committed (here, or with the Idempotency-Key middleware's transaction).
    transaction.on_commit(PAYMENTS.labels(outcome).inc)
    # Raised after the commit: the failed attempt stays on record.
    if outcome == "error":
        raise PaymentProviderError()
    if outcome == "declined":
        raise PaymentDeclined(errors=[{"decline_code": payment.failure_code, "payment_id": str(payment.pk)}])
    return payment


def payment_record_offline(order_id: UUID, *, by, transaction_id: str = "", note: str = "") -> Payment:
    """Record money that staff `by` received outside the shop (bank transfer, cash) for the
    order's total, and confirm the order exactly as a card payment does: the same checks,
    invoice, receipt email and reviews; the history note says who recorded it.

    `transaction_id` is the outside reference (bank transfer id…); blank generates one.
    Provider `offline`: cancelling the order later records a pending refund for staff to
    pay back. Locks the order row like payment_pay. Raises AlreadyPaid / OrderNotPayable /
    OrderExpired / TransactionAlreadyRecorded (409)."""
    transaction_id = transaction_id.strip()[:128] or f"offline_{uuid.uuid4().hex}"
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        _check_payable(order)
        if Payment.objects.filter(
            provider=OfflineProvider.name,
            transaction_id=transaction_id,
            status__in=[PaymentStatus.SUCCEEDED, PaymentStatus.REFUNDED],
        ).exists():
            raise TransactionAlreadyRecorded(errors=[{"transaction_id": transaction_id}])
        try:
            with transaction.atomic():  # the unique constraint decides a concurrent twin
                payment = Payment.objects.create(
                    order=order,
                    provider=OfflineProvider.name,
                    transaction_id=transaction_id,
                    amount=order.total_amount,
                    currency=order.currency,
                    status=PaymentStatus.SUCCEEDED,
                    payment_method="offline",
                    raw_response={"recorded_by": str(by.pk), "note": note[:500]},
                )
        except IntegrityError:
            raise TransactionAlreadyRecorded(errors=[{"transaction_id": transaction_id}])
        email = getattr(by, "email", "") or "staff"
        _confirm_order(order, payment, by=by, note=f"offline payment recorded by {email} ({transaction_id})")
    transaction.on_commit(PAYMENTS.labels("offline").inc)
    return payment


def _confirm_order(order: Order, payment: Payment, *, by=None, note: str = "") -> None:
    order_mark_paid(order, by=by, note=note or f"payment {payment.transaction_id or payment.pk}")
    invoice_issue(order, payment)
    from payments.tasks import send_payment_receipt

    enqueue(send_payment_receipt, str(payment.pk))


def _next_sequence(counter_model: type[InvoiceSequence] | type[CreditNoteSequence], year: int) -> int:
    """The next number of `year` from a counter row locked until the caller's transaction
    ends (so numbers are unique and gap-free: a rollback gives the number back)."""
    counter = counter_model.objects.select_for_update().filter(year=year).first()
    if counter is None:
        try:
            with transaction.atomic():
                counter_model.objects.create(year=year, last_number=0)
        except IntegrityError:  # created by a concurrent transaction: lock theirs
            pass
        counter = counter_model.objects.select_for_update().get(year=year)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return counter.last_number


def _next_invoice_sequence(year: int) -> int:
    return _next_sequence(InvoiceSequence, year)


def invoice_issue(order: Order, payment: Payment) -> Invoice:
    """Issue the invoice of a paid order: the next number of the year (`INV-YYYY-NNNNNN`)
    from a counter row locked until the payment transaction commits, so numbers are unique
    and gap-free (a rolled-back payment gives its number back)."""
    existing = Invoice.objects.filter(order=order).first()
    if existing:
        return existing
    now = timezone.now()
    sequence = _next_invoice_sequence(now.year)
    return Invoice.objects.create(
        order=order,
        payment=payment,
        number=f"INV-{now.year}-{sequence:06d}",
        year=now.year,
        sequence=sequence,
        issued_at=now,
        subtotal=order.subtotal,
        total_amount=order.total_amount,
        currency=order.currency,
        billing_address=order.shipping_address,
    )


def payment_refund_for_order(
    order: Order, *, reason: str = "", key: str = "", lines: Sequence[RefundLine] = (), amount: Decimal | None = None
) -> RefundOutcome | None:
    """The orders refund hook (orders.hooks.refund_paid_order): refund `amount` (None: all
    that is left) of the order's successful payment with refund_issue. The caller holds the
    order row lock inside its transaction. Returns None when the order has no successful
    payment. Raises what refund_issue raises (a provider failure rolls the caller back)."""
    payment = Payment.objects.filter(order=order, status=PaymentStatus.SUCCEEDED).only("pk").first()
    if payment is None:
        return None
    refund = refund_issue(
        payment.pk,
        amount=amount,
        lines=lines,
        reason=reason,
        key=key or f"order:{order.pk}",
        failure="The payment provider could not refund the order; nothing was changed.",
    )
    if refund is None:
        return None
    return RefundOutcome(amount=refund.amount, document=refund.credit_note.number)


def refund_issue(
    payment_id: UUID,
    *,
    amount: Decimal | None,
    lines: Sequence[RefundLine] = (),
    reason: str = "",
    key: str,
    counts_for_order: bool = True,
    failure: str = "The payment provider could not refund the payment; nothing was changed.",
) -> Refund | None:
    """THE refund service (cancellations, returns, late payments): refund `amount` of a
    payment (None: all that is left of it) through its provider and issue its credit note.

    Locks the payment's order row, then the payment row, and checks under that lock that
    the payment's refunds stay within what it captured (else RefundExceedsPayment, 409,
    nothing refunded); `Payment.refunded_amount` is raised with F(), and a check
    constraint (refunded_amount <= amount) is the database's last word. `key` names the
    cause ("return:<id>", "cancel:<order>"): a second call for a cause already refunded
    returns that refund (nothing is refunded twice; the unique (payment, key) constraint
    holds it too), and the provider gets a key derived from it, so it dedupes a retry.
    The payment becomes `refunded` once nothing is left. With `counts_for_order` (not for
    a late payment, which never paid the order) `Order.refunded_amount` grows by the same
    amount. Returns None when `amount` is None and nothing is left.

    Raises RefundExceedsPayment (409), InvalidInput (400) for a non-positive amount, and
    PaymentProviderError (502, with `failure` as detail; the caller's transaction rolls
    back)."""
    order_id = Payment.objects.filter(pk=payment_id).values_list("order_id", flat=True).get()
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)  # a no-op if the caller holds it
        payment = Payment.objects.select_for_update().get(pk=payment_id)
        existing = Refund.objects.filter(payment=payment, key=key).select_related("credit_note").first()
        if existing is not None:
            return existing
        left = payment.amount - payment.refunded_amount
        if amount is None:
            if left <= 0:
                return None
            amount = left
        if amount <= 0:
            raise InvalidInput("A refund must be of a positive amount.", attr="amount")
        if amount > left:
            raise RefundExceedsPayment(
                errors=[{"payment_id": str(payment.pk), "requested": str(amount), "refundable": str(left)}]
            )
        try:
            result = get_provider(payment.provider).refund(
                transaction_id=payment.transaction_id,
                amount=amount,
                currency=payment.currency,
                idempotency_key=f"refund:{payment.pk}:{key}",
            )
        except ProviderError:
            raise PaymentProviderError(failure)
        refund = Refund.objects.create(
            payment=payment,
            provider_refund_id=result.refund_id,
            amount=amount,
            currency=payment.currency,
            status=RefundStatus.SUCCEEDED if result.succeeded else RefundStatus.PENDING,
            reason=reason[:255],
            key=key[:100],
            raw_response=result.raw,
        )
        fully = amount == left
        changes = {"refunded_amount": F("refunded_amount") + amount, "updated_at": timezone.now()}
        if fully:
            changes["status"] = PaymentStatus.REFUNDED
        Payment.objects.filter(pk=payment.pk).update(**changes)
        payment.refunded_amount += amount
        if fully:
            payment.status = PaymentStatus.REFUNDED
        if counts_for_order:
            Order.objects.filter(pk=order.pk).update(refunded_amount=F("refunded_amount") + amount)
        refund.credit_note = credit_note_issue(order, payment, refund, lines)
    return refund


# Describes the part of a refund that no order line accounts for (a cancelled order's
# shipping, once orders carry it; the whole of a late payment).
OTHER_CHARGES = "Shipping and other charges"


def credit_note_issue(order: Order, payment: Payment, refund: Refund, lines: Sequence[RefundLine]) -> CreditNote:
    """Issue the credit note of `refund`: the next number of the year (`CN-YYYY-NNNNNN`)
    from a counter row locked until the refund's transaction commits (unique, gap-free),
    with its lines copied from `lines` (plus one line for any part of the refund that no
    order line accounts for). Its total is the refund's amount."""
    credited = sum((line.total for line in lines), Decimal("0.00"))
    if credited > refund.amount:
        raise ValueError(f"refund lines ({credited}) exceed the refund ({refund.amount})")
    rows = list(lines)
    if credited < refund.amount:
        rest = refund.amount - credited
        rows.append(RefundLine(None, OTHER_CHARGES, "", 1, rest, rest))
    now = timezone.now()
    sequence = _next_sequence(CreditNoteSequence, now.year)
    invoice = Invoice.objects.filter(order=order, payment=payment).first()
    tax = sum((line.tax_amount for line in rows), Decimal("0.00"))
    note = CreditNote.objects.create(
        order=order,
        invoice=invoice,
        refund=refund,
        number=f"CN-{now.year}-{sequence:06d}",
        year=now.year,
        sequence=sequence,
        issued_at=now,
        reason=refund.reason,
        subtotal=refund.amount - tax,
        tax_amount=tax,
        total_amount=refund.amount,
        currency=refund.currency,
        billing_address=invoice.billing_address if invoice else order.shipping_address,
    )
    CreditNoteLine.objects.bulk_create(
        [
            CreditNoteLine(
                credit_note=note,
                order_line_id=line.order_line_id,
                description=line.description[:255],
                sku=line.sku[:64],
                quantity=line.quantity,
                unit_price=line.unit_price,
                amount=line.total - line.tax_amount,
                tax_amount=line.tax_amount,
                total=line.total,
            )
            for line in rows
        ]
    )
    return note


# --- webhooks ------------------------------------------------------------------------


def webhook_handle(provider_name: str, body: bytes, headers: Mapping[str, str]) -> str:
    """Verify and apply one provider webhook. Returns what happened (also stored on the
    event row as `result`).

    - The provider verifies the signature over the signed timestamp and the raw body and
      refuses a timestamp outside PAYMENT_WEBHOOK_TOLERANCE (InvalidWebhookError, 400
      `invalid_signature`); with no secret configured every webhook is refused.
    - Each (provider, event id) is applied once: the event row (unique) is written in the
      same transaction as its effects, so a concurrent or later duplicate does nothing.
    - A payment event names its payment by the provider's transaction id only (never by
      our payment id, which clients see). `payment.succeeded` must carry the payment's
      amount and currency; it only moves a `processing` payment to `succeeded` (a
      declined, `failed` payment stays failed).
    - A payment event without a transaction id, or a success whose amount or currency
      differ from the payment's, is stored (result `mismatch`), nothing is applied, and
      WebhookMismatch (400 `webhook_mismatch`) is raised after the commit.

    Raises UnknownProvider (404), InvalidWebhookError (400), WebhookMismatch (400), and
    PaymentProviderError (502) when refunding a late payment fails (then nothing is
    stored, so the provider's redelivery retries)."""
    try:
        provider = get_provider(provider_name)
    except KeyError:
        raise UnknownProvider()
    try:
        event = provider.parse_webhook(body, headers)
    except InvalidWebhook as exc:
        raise InvalidWebhookError(exc.detail, code=exc.code)

    mismatch: WebhookMismatch | None = None
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = WebhookEvent.objects.create(
                    provider=provider.name, event_id=event.event_id, event_type=event.event_type, payload=event.payload
                )
        except IntegrityError:
            return "duplicate"
        try:
            result = _apply_event(provider.name, event)
        except WebhookMismatch as exc:
            # Raised before any write of _apply_event: only the event row is kept.
            mismatch, result = exc, "mismatch"
        record.processed_at = timezone.now()
        record.result = result
        record.save(update_fields=["processed_at", "result"])
    if mismatch is not None:
        raise mismatch
    return result


def _check_matches(payment: Payment, event: WebhookEventData) -> None:
    """The success event must be about this charge: same amount, same currency."""
    differences = []
    if event.amount is None or event.amount != payment.amount:
        differences.append({"field": "amount", "expected": str(payment.amount), "received": _shown(event, "amount")})
    if event.currency != payment.currency.upper():
        differences.append({"field": "currency", "expected": payment.currency, "received": _shown(event, "currency")})
    if differences:
        raise WebhookMismatch(
            "The event's amount or currency differs from the payment's; nothing was applied.", errors=differences
        )


def _shown(event: WebhookEventData, key: str) -> str | None:
    value = event.data.get(key)
    return None if value is None else str(value)[:64]


def _apply_event(provider_name: str, event: WebhookEventData) -> str:
    if event.event_type in ("payment.succeeded", "payment.failed"):
        if not event.transaction_id:
            raise WebhookMismatch("A payment event must name the provider's transaction id; nothing was applied.")
        found = Payment.objects.filter(provider=provider_name, transaction_id=event.transaction_id).first()
        if found is None:
            return "unknown_payment"
        # Same lock order as payment_pay: order row, then payment row.
        order = Order.objects.select_for_update().get(pk=found.order_id)
        payment = Payment.objects.select_for_update().get(pk=found.pk)
        if event.event_type == "payment.failed":
            if payment.status != PaymentStatus.PROCESSING:
                return "ignored"
            payment.status = PaymentStatus.FAILED
            payment.failure_code = str(event.data.get("failure_code") or "failed")[:64]
            payment.save(update_fields=["status", "failure_code", "updated_at"])
            return "payment_failed"
        _check_matches(payment, event)
        if payment.status in (PaymentStatus.SUCCEEDED, PaymentStatus.REFUNDED):
            return "already_applied"
        if payment.status != PaymentStatus.PROCESSING:
            # Only processing -> succeeded exists: a declined (failed) payment stays failed;
            # the customer pays again with a new attempt.
            return "ignored_not_processing"
        if order.status == OrderStatus.PENDING:
            payment.status = PaymentStatus.SUCCEEDED
            payment.save(update_fields=["status", "updated_at"])
            _confirm_order(order, payment)
            return "payment_succeeded"
        # Money arrived for an order that is cancelled or already paid by another payment:
        # give it back rather than keep it.
        # A provider failure rolls the event back (not recorded): the redelivery retries.
        refund_issue(
            payment.pk,
            amount=None,
            reason="payment for an order that was no longer payable",
            key=f"late:{payment.pk}",
            lines=[
                RefundLine(
                    None,
                    f"Payment {payment.transaction_id} received after the order could no longer be paid",
                    "",
                    1,
                    payment.amount,
                    payment.amount,
                )
            ],
            counts_for_order=False,
            failure="The payment provider could not refund the late payment; try again.",
        )
        return "refunded_late_payment"
    if event.event_type == "refund.succeeded":
        refund_id = event.data.get("refund_id")
        if not isinstance(refund_id, str) or not refund_id:
            return "unknown_refund"
        updated = Refund.objects.filter(payment__provider=provider_name, provider_refund_id=refund_id).update(
            status=RefundStatus.SUCCEEDED, updated_at=timezone.now()
        )
        return "refund_succeeded" if updated else "unknown_refund"
    return "ignored"
