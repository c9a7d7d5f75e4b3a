"""What every billing service shares: input checks, the invoice row lock, history
and timeline records, event payloads."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _

from billing import calc
from billing.models import (
    Invoice,
    InvoiceEvent,
    InvoiceLine,
)
from orders.models import Client, OrderEvent
from orders.services import record_event
from studio import roles
from studio.errors import Conflict, InvalidInput, NotPermitted
from studio.money import Money, check_currency

MAX_LINES = 500
MAX_QUANTITY = Decimal("99999999.999")
MAX_UNIT_PRICE = Decimal("999999999999.9999")
MAX_AMOUNT = Decimal("999999999999.99")
RECENT_SEND = dt.timedelta(minutes=2)
KEY_PATTERN = re.compile(r"[A-Za-z0-9_-]{8,64}")
FAPIAO_NUMBER = re.compile(r"\d{20}|\d{8}")
FAPIAO_MAX_BYTES = 10 * 1024 * 1024
# The order timeline's kind for billing lines ("invoice" once orders lists it).
ORDER_EVENT_KIND = str(getattr(OrderEvent.Kind, "INVOICE", OrderEvent.Kind.NOTE))
S = Invoice.Status


@dataclass(frozen=True)
class LineInput:
    """A line as a person or a program typed it; tax_rate None means the studio default."""

    description: str
    quantity: Decimal
    unit_price: Decimal
    tax_rate: Decimal | None = None
    unit: str = ""


# --- Helpers ------------------------------------------------------------------------------


def require_business(actor: Any) -> None:
    if not roles.can_manage_business(actor):
        raise NotPermitted(_("Only owners and producers can work with invoices."))


def actor_label(actor: Any) -> str:
    if actor is None or not getattr(actor, "pk", None):
        return ""
    return str(actor.get_full_name() or actor.get_username())[:120]


def record(
    invoice: Invoice, kind: str, *, actor: Any = None, message: str = "", data: dict | None = None
) -> InvoiceEvent:
    """One line of the invoice's own history (call inside the action's transaction)."""
    return InvoiceEvent.objects.create(
        invoice=invoice,
        kind=kind,
        actor=actor if getattr(actor, "pk", None) else None,
        actor_label=actor_label(actor),
        message=message,
        data=data or {},
    )


def order_event(invoice: Invoice, *, actor: Any, message: str, data: dict | None = None) -> None:
    """A line on the order's timeline: internal (the client sees invoices in their own
    section of the page) and without amounts, since artists read the timelines of
    their orders and never see money. The full story is the invoice's own history."""
    if invoice.order is None:
        return
    record_event(
        order=invoice.order,
        kind=ORDER_EVENT_KIND,
        actor=actor,
        message=message,
        public=False,
        data={"invoice": invoice.pk, "number": invoice.number, **(data or {})},
    )


def money_text(amount: Decimal, currency: str) -> str:
    return Money(amount, currency).format()


def invoice_payload(invoice: Invoice) -> dict[str, Any]:
    """The invoice as domain events (and so webhooks) describe it."""
    return {
        "id": invoice.pk,
        "number": invoice.number,
        "kind": invoice.kind,
        "purpose": invoice.purpose,
        "status": invoice.status,
        "client": invoice.client_id,
        "order": invoice.order_id,
        "credited_invoice": invoice.credited_invoice_id,
        "currency": invoice.currency,
        "total": str(invoice.total),
        "amount_paid": str(invoice.amount_paid),
        "amount_credited": str(invoice.amount_credited),
        "amount_due": str(invoice.amount_due),
        "issue_date": invoice.issue_date.isoformat() if invoice.issue_date else None,
        "due_date": invoice.due_date.isoformat() if invoice.due_date else None,
    }


def invalid(field: str, message: str) -> InvalidInput:
    return InvalidInput(message, fields={field: [message]})


def to_decimal(value: Any, field: str) -> Decimal:
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise invalid(field, _("Enter a number.")) from None
    if isinstance(value, float) or not number.is_finite():
        raise invalid(field, _("Enter a number."))
    return number


def decimal_places(number: Decimal) -> int:
    exponent = number.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def currency_code(code: str, field: str = "currency") -> str:
    try:
        return check_currency(code)
    except ValueError:
        raise invalid(
            field, _("“%(code)s” is not a currency ReelDesk bills in.") % {"code": code}
        ) from None


def net_days_value(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 365:
        raise invalid("net_days", _("Payment terms are from 0 to 365 days."))
    return value


def check_lines(
    lines: Sequence[LineInput], *, currency: str, default_rate: Decimal
) -> list[LineInput]:
    """The lines cleaned (defaults filled in), or InvalidInput naming each bad field as
    lines.<index>.<field>."""
    if len(lines) > MAX_LINES:
        raise invalid("lines", _("An invoice has at most %(n)s lines.") % {"n": MAX_LINES})
    errors: dict[str, list[str]] = {}
    cleaned: list[LineInput] = []

    def fail(index: int, field: str, message: str) -> None:
        errors.setdefault(f"lines.{index}.{field}", []).append(message)

    for index, line in enumerate(lines):
        description = " ".join(str(line.description or "").split())
        if not description:
            fail(index, "description", _("Describe what the line is for."))
        elif len(description) > 500:
            fail(index, "description", _("Keep the description under 500 characters."))
        unit = " ".join(str(line.unit or "").split())
        if len(unit) > 20:
            fail(index, "unit", _("Keep the unit under 20 characters."))
        values: dict[str, Decimal] = {}
        for field, raw in (
            ("quantity", line.quantity),
            ("unit_price", line.unit_price),
            ("tax_rate", default_rate if line.tax_rate is None else line.tax_rate),
        ):
            try:
                values[field] = to_decimal(raw, field)
            except InvalidInput as exc:
                fail(index, field, exc.message)
        quantity = values.get("quantity")
        if quantity is not None:
            if quantity <= 0:
                fail(index, "quantity", _("The quantity must be more than zero."))
            elif quantity > MAX_QUANTITY or decimal_places(quantity) > 3:
                fail(
                    index,
                    "quantity",
                    _("Enter a quantity below 100,000,000 with at most 3 decimals."),
                )
        price = values.get("unit_price")
        if price is not None:
            if price < 0:
                fail(index, "unit_price", _("The unit price cannot be negative."))
            elif price > MAX_UNIT_PRICE or decimal_places(price) > 4:
                fail(
                    index, "unit_price", _("Enter a unit price below 10¹² with at most 4 decimals.")
                )
        rate = values.get("tax_rate")
        if rate is not None and (rate < 0 or rate > 100 or decimal_places(rate) > 2):
            fail(index, "tax_rate", _("The tax rate is a percentage from 0 to 100."))
        if not any(key.startswith(f"lines.{index}.") for key in errors):
            cleaned.append(
                LineInput(
                    description=description,
                    quantity=values["quantity"],
                    unit_price=values["unit_price"],
                    tax_rate=values["tax_rate"],
                    unit=unit,
                )
            )
    if errors:
        first = next(iter(errors.values()))[0]
        raise InvalidInput(first, fields=errors)
    amounts = [amounts_of(line, currency=currency, prices_include_tax=False) for line in cleaned]
    amounts += [amounts_of(line, currency=currency, prices_include_tax=True) for line in cleaned]
    if any(a.gross > MAX_AMOUNT for a in amounts) or calc.totals(amounts).total > 2 * MAX_AMOUNT:
        raise invalid("lines", _("The amounts are too large for one invoice."))
    return cleaned


def amounts_of(line: LineInput, *, currency: str, prices_include_tax: bool) -> calc.LineAmounts:
    return calc.line_amounts(
        quantity=line.quantity,
        unit_price=line.unit_price,
        tax_rate=line.tax_rate if line.tax_rate is not None else Decimal(0),
        currency=currency,
        prices_include_tax=prices_include_tax,
    )


def write_lines(invoice: Invoice, lines: Sequence[LineInput]) -> None:
    """Replace the draft's lines and recompute its totals (inside the caller's transaction)."""
    invoice.lines.all().delete()
    rows = []
    for position, line in enumerate(lines, start=1):
        amounts = amounts_of(
            line, currency=invoice.currency, prices_include_tax=invoice.prices_include_tax
        )
        rows.append(
            InvoiceLine(
                invoice=invoice,
                position=position,
                description=line.description,
                quantity=line.quantity,
                unit=line.unit,
                unit_price=line.unit_price,
                tax_rate=line.tax_rate if line.tax_rate is not None else Decimal(0),
                net_amount=amounts.net,
                tax_amount=amounts.tax,
                gross_amount=amounts.gross,
            )
        )
    InvoiceLine.objects.bulk_create(rows)
    sums = calc.totals(
        calc.LineAmounts(net=r.net_amount, tax=r.tax_amount, gross=r.gross_amount) for r in rows
    )
    if sums.total > MAX_AMOUNT:
        raise invalid("lines", _("The amounts are too large for one invoice."))
    invoice.subtotal, invoice.tax_total, invoice.total = sums.subtotal, sums.tax, sums.total


def client_language(client: Client) -> str:
    return client.language if client.language in {"en", "zh-hans"} else "en"


def lock(invoice: Invoice) -> Invoice:
    """The invoice row, locked until the transaction ends (only that row: PostgreSQL
    cannot lock the nullable side of the outer joins that fetch its order)."""
    return (
        Invoice.objects.select_for_update(of=("self",))
        .select_related("client", "order", "credited_invoice")
        .get(pk=invoice.pk)
    )


def require_draft(invoice: Invoice) -> None:
    if invoice.status != S.DRAFT:
        raise Conflict(
            _(
                "%(number)s is issued and can no longer be changed. Void it or correct it "
                "with a credit note."
            )
            % {"number": invoice.number},
            code="invoice_issued",
        )
