"""Payments: full or partial, idempotent per reference."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from billing import calc
from billing.models import (
    Invoice,
    InvoiceEvent,
    Payment,
)
from billing.models.invoices import today_in_studio
from billing.services.common import (
    S,
    invalid,
    invoice_payload,
    lock,
    money_text,
    order_event,
    record,
    require_business,
    to_decimal,
)
from billing.services.issuing import settle
from studio import events
from studio.errors import Conflict

# --- Payments -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PaymentResult:
    payment: Payment
    created: bool  # False when the reference was already recorded for this invoice


def record_payment(
    *,
    actor: Any,
    invoice: Invoice,
    amount: Any,
    method: str,
    paid_on: dt.date | None = None,
    reference: str = "",
    note: str = "",
) -> PaymentResult:
    """Record money received for an issued invoice (full or partial).

    Refused: a draft or void invoice, a credit note, an invoice already paid (409); an
    amount over what is due, not positive or finer than the currency (400). Idempotent
    per reference: the same reference and amount again return the first payment.
    """
    require_business(actor)
    value = to_decimal(amount, "amount")
    if method not in Payment.Method.values:
        raise invalid("method", _("Choose how the client paid."))
    reference = " ".join((reference or "").split())
    if len(reference) > 120:
        raise invalid("reference", _("Keep the reference under 120 characters."))
    note = (note or "").strip()
    if len(note) > 500:
        raise invalid("note", _("Keep the note under 500 characters."))
    today = today_in_studio()
    paid_on = paid_on or today
    if paid_on > today:
        raise invalid("paid_on", _("A payment date cannot be in the future."))
    with transaction.atomic():
        locked = lock(invoice)
        if reference:
            previous = locked.payments.filter(reference=reference).first()
            if previous is not None:
                if previous.amount == value:
                    return PaymentResult(payment=previous, created=False)
                raise Conflict(
                    _(
                        "A payment with the reference “%(reference)s” (%(amount)s) is already "
                        "recorded on %(number)s."
                    )
                    % {
                        "reference": reference,
                        "amount": previous.money.format(),
                        "number": locked.number,
                    },
                    code="duplicate_reference",
                )
        _check_payable(locked)
        if value <= 0:
            raise invalid("amount", _("The amount must be more than zero."))
        if not calc.fits_currency(value, locked.currency):
            raise invalid(
                "amount",
                _("A %(currency)s amount has at most %(places)s decimal places.")
                % {"currency": locked.currency, "places": calc.places(locked.currency)},
            )
        due = locked.amount_due
        if value > due:
            raise invalid(
                "amount",
                _("The payment (%(amount)s) is more than the amount due (%(due)s).")
                % {
                    "amount": money_text(value, locked.currency),
                    "due": money_text(due, locked.currency),
                },
            )
        payment = Payment.objects.create(
            invoice=locked,
            amount=value,
            currency=locked.currency,
            method=method,
            paid_on=paid_on,
            reference=reference,
            note=note,
            recorded_by=actor if getattr(actor, "pk", None) else None,
        )
        locked.amount_paid += value
        before = locked.status
        settle(locked)
        locked.save(update_fields=["amount_paid", "status", "updated_at"])
        amount_text = money_text(value, locked.currency)
        record(
            locked,
            InvoiceEvent.Kind.PAYMENT,
            actor=actor,
            message=_("%(amount)s by %(method)s")
            % {
                "amount": amount_text,
                "method": payment.get_method_display(),
            },
            data={"payment": payment.pk, "reference": reference},
        )
        order_event(
            locked,
            actor=actor,
            message=_("Payment recorded on %(number)s.") % {"number": locked.number},
        )
        events.publish(
            "payment.recorded",
            {
                "invoice": invoice_payload(locked),
                "payment": {
                    "id": payment.pk,
                    "amount": str(payment.amount),
                    "currency": payment.currency,
                    "method": payment.method,
                    "paid_on": payment.paid_on.isoformat(),
                    "reference": payment.reference,
                },
            },
        )
        if locked.status == S.PAID and before != S.PAID:
            events.publish("invoice.paid", {"invoice": invoice_payload(locked)})
    return PaymentResult(payment=payment, created=True)


def _check_payable(invoice: Invoice) -> None:
    if invoice.is_credit_note:
        raise Conflict(_("A credit note is not paid."), code="not_payable")
    if invoice.status == S.DRAFT:
        raise Conflict(_("Issue the invoice before recording payments on it."), code="not_payable")
    if invoice.status == S.VOID:
        raise Conflict(
            _("%(number)s is void and takes no payments.") % {"number": invoice.number},
            code="not_payable",
        )
    if invoice.status in {S.PAID, S.CREDITED}:
        raise Conflict(
            _("%(number)s is settled; nothing is due.") % {"number": invoice.number},
            code="not_payable",
        )
