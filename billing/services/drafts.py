"""Draft invoices: free, deposit and final; changing and deleting drafts."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import translation
from django.utils.translation import gettext as _

from billing.models import (
    BillingSettings,
    Invoice,
    InvoiceEvent,
    InvoiceLine,
)
from billing.services.common import (
    LineInput,
    S,
    check_lines,
    client_language,
    currency_code,
    invalid,
    lock,
    money_text,
    net_days_value,
    record,
    require_business,
    require_draft,
    write_lines,
)
from orders.models import Client, Order
from studio.errors import Conflict
from studio.models import StudioProfile

# --- Drafts -------------------------------------------------------------------------------


def create_invoice(
    *,
    actor: Any,
    client: Client,
    order: Order | None = None,
    lines: Sequence[LineInput] = (),
    purpose: str = Invoice.Purpose.STANDARD,
    currency: str | None = None,
    net_days: int | None = None,
    subject: str = "",
    notes: str = "",
) -> Invoice:
    """Create a draft invoice for client (and optionally one of its orders).

    The currency is the order's (or the client's, or the studio's default); lines
    without a tax rate get the studio's default rate; prices are tax-inclusive or not
    as the billing settings say at creation. Not idempotent.
    """
    require_business(actor)
    if order is not None and order.client_id != client.pk:
        raise invalid("order", _("The order belongs to another client."))
    if client.is_archived:
        raise invalid("client", _("This client is archived; restore it before invoicing."))
    if purpose not in {Invoice.Purpose.STANDARD, Invoice.Purpose.DEPOSIT, Invoice.Purpose.FINAL}:
        raise invalid("purpose", _("Choose a standard, deposit or final invoice."))
    if order is not None:
        if currency and currency.strip().upper() != order.currency:
            raise invalid(
                "currency",
                _("An invoice for %(ref)s is in the order's currency, %(currency)s.")
                % {"ref": order.reference, "currency": order.currency},
            )
        code = order.currency
    else:
        code = currency or client.currency or StudioProfile.load().default_currency
    code = currency_code(code)
    prefs = BillingSettings.load()
    days = prefs.net_days if net_days is None else net_days_value(net_days)
    cleaned = check_lines(lines, currency=code, default_rate=prefs.default_tax_rate)
    subject = (subject or "").strip()
    if len(subject) > 200:
        raise invalid("subject", _("Keep the subject under 200 characters."))
    notes = (notes or "").strip()
    if len(notes) > 4000:
        raise invalid("notes", _("Keep the note under 4,000 characters."))
    with transaction.atomic():
        invoice = Invoice.objects.create(
            kind=Invoice.Kind.INVOICE,
            purpose=purpose,
            client=client,
            order=order,
            currency=code,
            language=client_language(client),
            prices_include_tax=prefs.prices_include_tax,
            net_days=days,
            subject=subject,
            notes=notes,
            created_by=actor if getattr(actor, "pk", None) else None,
        )
        write_lines(invoice, cleaned)
        invoice.save(update_fields=["subtotal", "tax_total", "total", "updated_at"])
        record(invoice, InvoiceEvent.Kind.CREATED, actor=actor)
    return invoice


def invoiced_for_order(order: Order) -> Decimal:
    """What the order's issued invoices have billed, less their credit notes, in the
    terms of the order's price (net when prices exclude tax, gross when they include it)."""
    total = Decimal(0)
    documents = Invoice.objects.issued().filter(
        Q(order=order, kind=Invoice.Kind.INVOICE)
        | Q(credited_invoice__order=order, kind=Invoice.Kind.CREDIT_NOTE)
    )
    for doc in documents.only("kind", "subtotal", "total", "prices_include_tax"):
        basis = doc.total if doc.prices_include_tax else doc.subtotal
        total += -basis if doc.is_credit_note else basis
    return total


def _check_order_billable(order: Order) -> None:
    if order.status == Order.Status.CANCELLED:
        raise Conflict(_("This order is cancelled; there is nothing to invoice."))


def create_deposit_invoice(*, actor: Any, order: Order) -> Invoice:
    """A draft for the order's deposit (price x deposit %). Refused while another deposit
    invoice of the order is a draft or issued."""
    require_business(actor)
    _check_order_billable(order)
    if order.deposit_percent <= 0:
        raise Conflict(_("This order asks for no deposit."), code="no_deposit")
    existing = (
        Invoice.objects.filter(order=order, purpose=Invoice.Purpose.DEPOSIT)
        .exclude(status=S.VOID)
        .first()
    )
    if existing is not None:
        raise Conflict(
            _("This order already has a deposit invoice (%(label)s).") % {"label": existing.label},
            code="deposit_exists",
        )
    with translation.override(client_language(order.client)):
        description = _("Deposit (%(percent)s%%) for %(ref)s “%(title)s”") % {
            "percent": format(order.deposit_percent.normalize(), "f"),
            "ref": order.reference,
            "title": order.title,
        }
    line = LineInput(description=description, quantity=Decimal(1), unit_price=order.deposit.amount)
    return create_invoice(
        actor=actor,
        client=order.client,
        order=order,
        lines=[line],
        purpose=Invoice.Purpose.DEPOSIT,
    )


def create_final_invoice(*, actor: Any, order: Order) -> Invoice:
    """A draft for what is left of the order's price after its issued invoices (less
    credit notes). Refused when nothing is left or a final invoice is already a draft."""
    require_business(actor)
    _check_order_billable(order)
    draft = Invoice.objects.filter(
        order=order, purpose=Invoice.Purpose.FINAL, status=S.DRAFT
    ).first()
    if draft is not None:
        raise Conflict(
            _("This order already has a draft final invoice; finish that one."),
            code="final_draft_exists",
        )
    invoiced = invoiced_for_order(order)
    remaining = order.price - invoiced
    if remaining <= 0:
        raise Conflict(
            _("The whole price of %(ref)s has been invoiced already.") % {"ref": order.reference},
            code="fully_invoiced",
        )
    with translation.override(client_language(order.client)):
        if invoiced > 0:
            description = _(
                "%(ref)s “%(title)s”: balance of the price (%(price)s less %(invoiced)s "
                "invoiced before)"
            ) % {
                "ref": order.reference,
                "title": order.title,
                "price": money_text(order.price, order.currency),
                "invoiced": money_text(invoiced, order.currency),
            }
        else:
            description = _("%(ref)s “%(title)s”") % {
                "ref": order.reference,
                "title": order.title,
            }
    line = LineInput(description=description, quantity=Decimal(1), unit_price=remaining)
    return create_invoice(
        actor=actor,
        client=order.client,
        order=order,
        lines=[line],
        purpose=Invoice.Purpose.FINAL,
    )


def update_draft(
    *,
    actor: Any,
    invoice: Invoice,
    lines: Sequence[LineInput] | None = None,
    subject: str | None = None,
    notes: str | None = None,
    net_days: int | None = None,
    currency: str | None = None,
) -> Invoice:
    """Change a draft: its lines (replaced as a whole), subject, note, terms or currency.
    Refused (409) once issued."""
    require_business(actor)
    with transaction.atomic():
        locked = lock(invoice)
        require_draft(locked)
        changed: list[str] = []
        if currency is not None and currency_code(currency) != locked.currency:
            if locked.order_id is not None or locked.is_credit_note:
                raise invalid(
                    "currency",
                    _("This document is in the currency of its order or invoice, %(currency)s.")
                    % {"currency": locked.currency},
                )
            locked.currency = currency_code(currency)
            changed.append("currency")
            if lines is None:
                lines = [line_input(line) for line in locked.lines.all()]
        if subject is not None and subject.strip() != locked.subject:
            if len(subject.strip()) > 200:
                raise invalid("subject", _("Keep the subject under 200 characters."))
            locked.subject = subject.strip()
            changed.append("subject")
        if notes is not None and notes.strip() != locked.notes:
            if len(notes.strip()) > 4000:
                raise invalid("notes", _("Keep the note under 4,000 characters."))
            locked.notes = notes.strip()
            changed.append("notes")
        if net_days is not None and net_days != locked.net_days:
            locked.net_days = net_days_value(net_days)
            changed.append("net_days")
        if lines is not None:
            cleaned = check_lines(
                lines,
                currency=locked.currency,
                default_rate=BillingSettings.load().default_tax_rate,
            )
            before = [line_input(line) for line in locked.lines.all()]
            if cleaned != before or "currency" in changed:
                write_lines(locked, cleaned)
                changed.append("lines")
        if changed:
            locked.save()
            record(locked, InvoiceEvent.Kind.UPDATED, actor=actor, data={"fields": changed})
    return locked


def line_input(line: InvoiceLine) -> LineInput:
    return LineInput(
        description=line.description,
        quantity=line.quantity,
        unit_price=line.unit_price,
        tax_rate=line.tax_rate,
        unit=line.unit,
    )


def delete_draft(*, actor: Any, invoice: Invoice) -> None:
    """Delete a draft (it never had a number). Refused (409) once issued."""
    require_business(actor)
    with transaction.atomic():
        locked = lock(invoice)
        require_draft(locked)
        locked.delete()
