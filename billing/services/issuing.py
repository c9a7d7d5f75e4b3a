"""Issuing (numbers, dates, frozen details, the PDF job), voiding and credit notes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from billing import calc
from billing.models import (
    BillingSettings,
    Invoice,
    InvoiceEvent,
    InvoicePdfJob,
)
from billing.models.invoices import snapshot_fields, today_in_studio
from billing.numbering import take_number
from billing.services.common import (
    LineInput,
    S,
    check_lines,
    invalid,
    invoice_payload,
    lock,
    money_text,
    order_event,
    record,
    require_business,
    write_lines,
)
from billing.services.drafts import line_input
from orders import portal
from orders.models import Client
from studio import events
from studio.errors import Conflict
from studio.models import StudioProfile

# --- Issue --------------------------------------------------------------------------------


def seller_snapshot() -> dict[str, str]:
    profile = StudioProfile.load()
    data = snapshot_fields(
        profile, ("name", "legal_name", "address", "tax_id", "email", "phone", "wechat_id")
    )
    data["logo"] = profile.logo.name or ""
    return data


def buyer_snapshot(client: Client) -> dict[str, str]:
    return snapshot_fields(
        client,
        ("name", "contact_name", "billing_address", "tax_id", "email", "phone", "country"),
    )


def payment_snapshot() -> dict[str, str]:
    details = BillingSettings.load().payment_details()
    if "other_instructions" not in details:
        extra = StudioProfile.load().payment_instructions.strip()
        if extra:
            details["other_instructions"] = extra
    footer = BillingSettings.load().invoice_footer.strip()
    if footer:
        details["footer"] = footer
    return details


def issue_invoice(*, actor: Any, invoice: Invoice) -> Invoice:
    """Issue a draft: the next number of its series, issue and due dates, frozen seller,
    buyer and payment details, a PDF render queued on commit. Refused (409) unless it is
    a draft; an empty or zero invoice is refused (400).

    An invoice for an order whose client link is off turns the link on: the PDF's QR
    code and the e-mail send the client to their order page to pay (recorded on the
    order's timeline by orders.portal.rotate_link).
    """
    require_business(actor)
    with transaction.atomic():
        locked = lock(invoice)
        if locked.status != S.DRAFT:
            raise Conflict(
                _("%(number)s is already issued.") % {"number": locked.number},
                code="invalid_transition",
            )
        if not locked.lines.exists():
            raise invalid("lines", _("Add at least one line before issuing."))
        if locked.total <= 0:
            raise invalid("lines", _("The total must be more than zero to issue."))
        original: Invoice | None = None
        if locked.is_credit_note:
            assert locked.credited_invoice is not None
            original = lock(locked.credited_invoice)
            if original.status not in Invoice.COUNTING_STATUSES:
                raise Conflict(
                    _("%(number)s is not an issued invoice any more; it cannot be credited.")
                    % {"number": original.label},
                    code="not_creditable",
                )
            _check_credit_fits(locked, original)
        today = today_in_studio()
        number = take_number(series=Invoice.SERIES[locked.kind], year=today.year)
        locked.number = number.text
        locked.series, locked.year, locked.sequence = number.series, number.year, number.sequence
        locked.issue_date = today
        locked.due_date = (
            None if locked.is_credit_note else today + dt.timedelta(days=locked.net_days)
        )
        locked.seller = seller_snapshot()
        locked.buyer = buyer_snapshot(locked.client)
        locked.payment_details = {} if locked.is_credit_note else payment_snapshot()
        locked.status = S.ISSUED
        locked.save()
        if (
            not locked.is_credit_note
            and locked.order is not None
            and portal.active_link(locked.order) is None
        ):
            portal.rotate_link(actor=actor, order=locked.order)
        job = InvoicePdfJob.objects.create(invoice=locked)
        record(locked, InvoiceEvent.Kind.ISSUED, actor=actor, data={"number": locked.number})
        total = money_text(locked.total, locked.currency)
        if original is not None:
            original.amount_credited += locked.total
            settle(original)
            original.save(update_fields=["amount_credited", "status", "updated_at"])
            record(
                original,
                InvoiceEvent.Kind.CREDITED,
                actor=actor,
                message=_("%(number)s credits %(total)s.")
                % {"number": locked.number, "total": total},
                data={"credit_note": locked.pk, "number": locked.number},
            )
            order_event(
                locked,
                actor=actor,
                message=_("Credit note %(number)s issued for %(invoice)s.")
                % {"number": locked.number, "invoice": original.number},
            )
            events.publish(
                "credit_note.issued",
                {"credit_note": invoice_payload(locked), "invoice": invoice_payload(original)},
            )
        else:
            order_event(
                locked,
                actor=actor,
                message=_("Invoice %(number)s issued, due %(due)s.")
                % {"number": locked.number, "due": locked.due_date},
            )
            events.publish("invoice.issued", {"invoice": invoice_payload(locked)})
        _enqueue_pdf_on_commit(job.pk)
    return locked


def _enqueue_pdf_on_commit(job_id: int) -> None:
    from billing import delivery

    transaction.on_commit(lambda: delivery.enqueue_pdf(job_id))


def settle(invoice: Invoice) -> None:
    """Set an issued invoice's status from what was paid and credited."""
    if invoice.status not in Invoice.COUNTING_STATUSES or invoice.is_credit_note:
        return
    settled = invoice.amount_paid + invoice.amount_credited
    if settled >= invoice.total:
        invoice.status = S.PAID if invoice.amount_paid > 0 else S.CREDITED
    elif invoice.amount_paid > 0:
        invoice.status = S.PARTIALLY_PAID
    else:
        invoice.status = S.ISSUED


# --- Void and credit ------------------------------------------------------------------------


def void_invoice(*, actor: Any, invoice: Invoice, reason: str) -> Invoice:
    """Void an issued invoice (or credit note) with a reason; it keeps its number and PDF.

    Refused (409) for drafts (delete them), for invoices with payments or credit notes
    (issue a credit note instead), and for what is already void. Voiding a credit note
    gives its amount back to the invoice it credited.
    """
    require_business(actor)
    reason = " ".join((reason or "").split())
    if not reason:
        raise invalid("reason", _("Say why the invoice is voided; the reason is kept."))
    if len(reason) > 500:
        raise invalid("reason", _("Keep the reason under 500 characters."))
    with transaction.atomic():
        locked = lock(invoice)
        if locked.status == S.DRAFT:
            raise Conflict(
                _("A draft has no number to keep: delete it instead."), code="invalid_transition"
            )
        if locked.status == S.VOID:
            raise Conflict(
                _("%(number)s is already void.") % {"number": locked.number},
                code="invalid_transition",
            )
        if locked.amount_paid > 0:
            raise Conflict(
                _(
                    "%(number)s has payments recorded, so it cannot be voided. Issue a credit "
                    "note to correct it."
                )
                % {"number": locked.number},
                code="has_payments",
            )
        if locked.amount_credited > 0:
            raise Conflict(
                _("%(number)s has credit notes; void those first or credit the rest.")
                % {"number": locked.number},
                code="has_credit_notes",
            )
        original: Invoice | None = None
        if locked.is_credit_note and locked.credited_invoice is not None:
            original = lock(locked.credited_invoice)
            if original.status == S.VOID:
                original = None
        locked.status = S.VOID
        locked.voided_at = timezone.now()
        locked.void_reason = reason
        locked.save(update_fields=["status", "voided_at", "void_reason", "updated_at"])
        record(locked, InvoiceEvent.Kind.VOIDED, actor=actor, message=reason)
        if original is not None:
            original.amount_credited = max(Decimal(0), original.amount_credited - locked.total)
            settle(original)
            original.save(update_fields=["amount_credited", "status", "updated_at"])
            record(
                original,
                InvoiceEvent.Kind.UPDATED,
                actor=actor,
                message=_("Credit note %(number)s was voided.") % {"number": locked.number},
            )
        order_event(
            locked,
            actor=actor,
            message=_("%(number)s voided.") % {"number": locked.number},
        )
        events.publish("invoice.voided", {"invoice": invoice_payload(locked), "reason": reason})
    return locked


def create_credit_note(
    *,
    actor: Any,
    invoice: Invoice,
    lines: Sequence[LineInput] | None = None,
    reason: str = "",
) -> Invoice:
    """A draft credit note for an issued invoice. Without lines it credits everything
    still creditable: the invoice's lines when nothing was credited yet, else one line
    for the rest. Not idempotent."""
    require_business(actor)
    reason = " ".join((reason or "").split())
    with transaction.atomic():
        invoice = lock(invoice)
        _check_creditable(invoice)
        if lines is None:
            lines = _remaining_lines(invoice)
        cleaned = check_lines(
            lines, currency=invoice.currency, default_rate=BillingSettings.load().default_tax_rate
        )
        note = Invoice.objects.create(
            kind=Invoice.Kind.CREDIT_NOTE,
            purpose=Invoice.Purpose.CREDIT,
            client=invoice.client,
            order=invoice.order,
            credited_invoice=invoice,
            currency=invoice.currency,
            language=invoice.language,
            prices_include_tax=invoice.prices_include_tax,
            net_days=0,
            subject=reason[:200],
            notes="",
            created_by=actor if getattr(actor, "pk", None) else None,
        )
        write_lines(note, cleaned)
        _check_credit_fits(note, invoice)
        note.save(update_fields=["subtotal", "tax_total", "total", "updated_at"])
        record(note, InvoiceEvent.Kind.CREATED, actor=actor, data={"credits": invoice.number})
    return note


def _check_credit_fits(note: Invoice, original: Invoice) -> None:
    if note.total > original.creditable:
        raise invalid(
            "lines",
            _(
                "The credit note (%(total)s) is more than what is left to credit on "
                "%(number)s (%(left)s)."
            )
            % {
                "total": money_text(note.total, note.currency),
                "number": original.number,
                "left": money_text(original.creditable, original.currency),
            },
        )


def _check_creditable(invoice: Invoice) -> None:
    if invoice.is_credit_note:
        raise Conflict(_("A credit note cannot itself be credited."), code="not_creditable")
    if invoice.status not in Invoice.COUNTING_STATUSES:
        raise Conflict(
            _("Only issued invoices can be credited; a draft can simply be changed."),
            code="not_creditable",
        )
    if invoice.creditable <= 0:
        raise Conflict(
            _("%(number)s is fully credited already.") % {"number": invoice.number},
            code="fully_credited",
        )


def _remaining_lines(invoice: Invoice) -> list[LineInput]:
    """Everything still creditable: the invoice's own lines when nothing was credited
    yet, else one line for the rest (at the invoice's tax rate when it has one)."""
    original_lines = list(invoice.lines.all())
    if invoice.amount_credited == 0:
        return [line_input(line) for line in original_lines]
    rates = {line.tax_rate for line in original_lines}
    rate = rates.pop() if len(rates) == 1 else Decimal(0)
    with translation.override(invoice.language):
        text = _("Remaining amount of %(number)s") % {"number": invoice.number}
    return [
        LineInput(
            description=text,
            quantity=Decimal(1),
            unit_price=_price_for_gross(invoice.creditable, rate, invoice),
            tax_rate=rate,
        )
    ]


def _price_for_gross(gross: Decimal, rate: Decimal, invoice: Invoice) -> Decimal:
    """A unit price whose line comes to `gross` (as near as rounding allows)."""
    if invoice.prices_include_tax or rate == 0:
        return gross
    price = (gross * calc.HUNDRED / (calc.HUNDRED + rate)).quantize(Decimal("0.0001"))
    # Step down until the rounded line does not exceed what may be credited.
    step = Decimal(1).scaleb(-calc.places(invoice.currency))
    for _attempt in range(5):
        amounts = calc.line_amounts(
            quantity=Decimal(1),
            unit_price=price,
            tax_rate=rate,
            currency=invoice.currency,
            prices_include_tax=False,
        )
        if amounts.gross <= gross:
            break
        price -= step
    return max(price, Decimal(0))


def credit_invoice(
    *, actor: Any, invoice: Invoice, lines: Sequence[LineInput] | None = None, reason: str = ""
) -> Invoice:
    """Create and issue a credit note for invoice in one step (what the API's credit
    action does). Refused like create_credit_note and issue_invoice."""
    with transaction.atomic():
        note = create_credit_note(actor=actor, invoice=invoice, lines=lines, reason=reason)
        return issue_invoice(actor=actor, invoice=note)
