"""Expenses: what the studio spent, on an order (a direct cost) or on the studio
(overhead), with an optional receipt file. Every change leaves a CostEvent.

Expenses booked by a subscription (subscription + renewal_on, set only by the
subscription booking) keep their link: people may correct the amount, the note and
the receipt, nothing else, and may not delete them (the renewal would be booked again).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

import filetype
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from billing import calc
from billing.models import CostEvent, Expense
from billing.models.invoices import today_in_studio
from billing.services.common import (
    MAX_AMOUNT,
    actor_label,
    currency_code,
    invalid,
    money_text,
    to_decimal,
)
from orders.models import Order
from orders.uploads import ALLOWED, clean_original_name
from studio import roles
from studio.errors import Conflict, NotPermitted
from studio.models import AITool

RECEIPT_MAX_BYTES: Final = 10 * 1024 * 1024
# Types a receipt may be, read from the file's content (the name does not matter).
RECEIPT_KINDS: Final = ("pdf", "png", "jpg")
EARLIEST_DAY: Final = dt.date(2000, 1, 1)
MAX_VENDOR: Final = 120
MAX_NOTE: Final = 2000
# Fields a subscription's booked expense lets people change.
BOOKED_EDITABLE: Final = frozenset({"amount", "note"})


class _Keep:
    """Marks an argument of update_expense that was not given (None means "clear")."""

    def __repr__(self) -> str:
        return "KEEP"


KEEP: Final = _Keep()


# --- Shared checks ------------------------------------------------------------------------


def require_cost_manager(actor: Any) -> None:
    if not roles.can_manage_business(actor):
        raise NotPermitted(_("Only owners and producers can work with costs."))


def check_day(day: Any, field: str, *, today: dt.date | None = None) -> dt.date:
    """A date from 2000 up to a year from today (a typo such as 2062 is caught)."""
    if not isinstance(day, dt.date) or isinstance(day, dt.datetime):
        raise invalid(field, _("Enter a date."))
    today = today or today_in_studio()
    latest = today + dt.timedelta(days=366)
    if day < EARLIEST_DAY or day > latest:
        raise invalid(
            field,
            _("Enter a date between %(first)s and %(last)s.")
            % {"first": EARLIEST_DAY.isoformat(), "last": latest.isoformat()},
        )
    return day


def check_amount(value: Any, currency: str, field: str = "amount") -> Decimal:
    """More than zero, within the column, and no finer than the currency's minor unit."""
    amount = to_decimal(value, field)
    if amount <= 0:
        raise invalid(field, _("The amount must be more than zero."))
    if amount > MAX_AMOUNT:
        raise invalid(field, _("The amount is too large."))
    if not calc.fits_currency(amount, currency):
        raise invalid(
            field,
            _("A %(currency)s amount has at most %(places)s decimal places.")
            % {"currency": currency, "places": calc.places(currency)},
        )
    # Stored with two decimals whatever the currency: "120.5" is "120.50".
    return amount.quantize(Decimal("0.01"))


def record_cost_event(
    subject: str,
    object_id: int,
    kind: str,
    *,
    actor: Any,
    message: str = "",
    data: dict[str, Any] | None = None,
) -> CostEvent:
    """One line of the cost side's history (call inside the action's transaction)."""
    return CostEvent.objects.create(
        subject=subject,
        object_id=object_id,
        kind=kind,
        actor=actor if getattr(actor, "pk", None) else None,
        actor_label=actor_label(actor),
        message=message,
        data=data or {},
    )


def _text(value: Any, field: str, limit: int, *, single_line: bool) -> str:
    text = str(value or "")
    text = " ".join(text.split()) if single_line else text.strip()
    if "\x00" in text:
        raise invalid(field, _("The text contains a character that cannot be stored."))
    if len(text) > limit:
        raise invalid(field, _("Keep this under %(n)s characters.") % {"n": limit})
    return text


def _category(value: Any) -> str:
    if value not in Expense.Category.values:
        raise invalid("category", _("Choose a category."))
    return str(value)


def _order(order: Any) -> Order | None:
    # Orders of any status take costs: credits spent before a client cancelled are
    # still what that order cost the studio.
    if order is None:
        return None
    if not isinstance(order, Order) or not Order.objects.filter(pk=order.pk).exists():
        raise invalid("order", _("Choose an existing order, or none for overhead."))
    return order


def _tool(tool: Any) -> AITool | None:
    if tool is None:
        return None
    if not isinstance(tool, AITool) or not AITool.objects.filter(pk=tool.pk).exists():
        raise invalid("tool", _("Choose a tool from the catalog."))
    return tool


# --- Receipts -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckedReceipt:
    extension: str
    content_type: str
    original_name: str


def check_receipt(upload: UploadedFile) -> CheckedReceipt:
    """A PDF, PNG or JPEG of at most 10 MB, its type read from the content: a PNG named
    .pdf is taken as the PNG it is, a text file named .pdf is refused."""
    size = upload.size or 0
    if size == 0:
        raise invalid("receipt", _("The file is empty."))
    if size > RECEIPT_MAX_BYTES:
        raise invalid(
            "receipt",
            _("The file is %(size)s; the limit is %(limit)s.")
            % {"size": filesizeformat(size), "limit": filesizeformat(RECEIPT_MAX_BYTES)},
        )
    upload.seek(0)
    head = upload.read(8192)
    upload.seek(0)
    kind = filetype.guess(head)
    detected = kind.extension if kind else None
    if detected not in RECEIPT_KINDS:
        raise invalid("receipt", _("Upload the receipt as a PDF, JPEG or PNG file."))
    extension, content_type, _names = ALLOWED[detected]
    return CheckedReceipt(
        extension=extension,
        content_type=content_type,
        original_name=clean_original_name(upload.name or f"receipt.{extension}"),
    )


def _store_receipt(expense: Expense, upload: UploadedFile, checked: CheckedReceipt) -> str:
    """Save the file under a random name (the model's upload_to); returns the old name."""
    old = expense.receipt.name or ""
    expense.receipt.save(f"receipt.{checked.extension}", upload, save=False)
    expense.receipt_content_type = checked.content_type
    expense.receipt_original_name = checked.original_name
    return old


def _forget_file(name: str) -> None:
    if name:
        transaction.on_commit(lambda: default_storage.delete(name))


# --- Expenses -----------------------------------------------------------------------------


def _describe(expense: Expense) -> str:
    return f"{money_text(expense.amount, expense.currency)} · {expense.get_category_display()}"


def create_expense(
    *,
    actor: Any,
    spent_on: dt.date,
    amount: Any,
    currency: str,
    category: str,
    vendor: str = "",
    tool: AITool | None = None,
    order: Order | None = None,
    note: str = "",
    receipt: UploadedFile | None = None,
) -> Expense:
    """Record an expense (with order: a direct cost; without: overhead). Not idempotent:
    each call records one more (the API's Idempotency-Key guards retries)."""
    require_cost_manager(actor)
    currency = currency_code(currency)
    fields = {
        "spent_on": check_day(spent_on, "spent_on"),
        "amount": check_amount(amount, currency),
        "currency": currency,
        "category": _category(category),
        "vendor": _text(vendor, "vendor", MAX_VENDOR, single_line=True),
        "tool": _tool(tool),
        "order": _order(order),
        "note": _text(note, "note", MAX_NOTE, single_line=False),
    }
    checked = check_receipt(receipt) if receipt is not None else None
    with transaction.atomic():
        expense = Expense(created_by=actor if getattr(actor, "pk", None) else None, **fields)
        if receipt is not None and checked is not None:
            _store_receipt(expense, receipt, checked)
        expense.save()
        record_cost_event(
            CostEvent.Subject.EXPENSE,
            expense.pk,
            CostEvent.Kind.CREATED,
            actor=actor,
            message=_describe(expense),
            data={"receipt": bool(expense.receipt.name), **_snapshot(expense)},
        )
    return expense


def _snapshot(expense: Expense) -> dict[str, Any]:
    return {
        "spent_on": expense.spent_on.isoformat(),
        "amount": str(expense.amount),
        "currency": expense.currency,
        "category": expense.category,
        "vendor": expense.vendor,
        "tool": expense.tool_id,
        "order": expense.order_id,
        "note": expense.note,
    }


def update_expense(
    *,
    actor: Any,
    expense: Expense,
    spent_on: dt.date | _Keep = KEEP,
    amount: Any = KEEP,
    currency: str | _Keep = KEEP,
    category: str | _Keep = KEEP,
    vendor: str | _Keep = KEEP,
    tool: AITool | _Keep | None = KEEP,
    order: Order | _Keep | None = KEEP,
    note: str | _Keep = KEEP,
    receipt: UploadedFile | None = None,
    remove_receipt: bool = False,
) -> Expense:
    """Change the given fields (the rest stay). A subscription's booked expense takes
    only amount, note and receipt (409 otherwise). Idempotent: the same values again
    change nothing and write no event."""
    require_cost_manager(actor)
    given = {
        name: value
        for name, value in {
            "spent_on": spent_on,
            "amount": amount,
            "currency": currency,
            "category": category,
            "vendor": vendor,
            "tool": tool,
            "order": order,
            "note": note,
        }.items()
        if value is not KEEP
    }
    with transaction.atomic():
        locked = Expense.objects.select_for_update(of=("self",)).get(pk=expense.pk)
        before = _snapshot(locked)
        values = _clean_changes(locked, given)
        if locked.subscription_id is not None:
            refused = sorted(
                name
                for name, value in values.items()
                if name not in BOOKED_EDITABLE and _snapshot_value(value) != before[name]
            )
            if refused:
                raise Conflict(
                    _(
                        "This expense was booked by a subscription: only its amount, note "
                        "and receipt can change here. Change the subscription for the rest."
                    ),
                    code="booked_by_subscription",
                )
        checked = check_receipt(receipt) if receipt is not None else None
        for name, value in values.items():
            setattr(locked, name, value)
        old_file = ""
        receipt_change = ""
        if receipt is not None and checked is not None:
            old_file = _store_receipt(locked, receipt, checked)
            receipt_change = "attached"
        elif remove_receipt and locked.receipt.name:
            old_file = locked.receipt.name
            locked.receipt.name = ""
            locked.receipt_content_type = ""
            locked.receipt_original_name = ""
            receipt_change = "removed"
        after = _snapshot(locked)
        changes = {key: [before[key], after[key]] for key in after if before[key] != after[key]}
        if not changes and not receipt_change:
            return locked
        locked.save()
        data: dict[str, Any] = {"changes": changes}
        if receipt_change:
            data["receipt"] = receipt_change
        record_cost_event(
            CostEvent.Subject.EXPENSE,
            locked.pk,
            CostEvent.Kind.UPDATED,
            actor=actor,
            message=_change_message(changes, receipt_change),
            data=data,
        )
        _forget_file(old_file)
    return locked


def _snapshot_value(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "pk"):
        return value.pk
    return value


def _clean_changes(expense: Expense, given: dict[str, Any]) -> dict[str, Any]:
    currency = currency_code(given["currency"]) if "currency" in given else expense.currency
    values: dict[str, Any] = {}
    if "currency" in given:
        values["currency"] = currency
    if "spent_on" in given:
        values["spent_on"] = check_day(given["spent_on"], "spent_on")
    if "amount" in given or "currency" in given:
        # A new currency re-checks the amount's decimals (JPY has none).
        values["amount"] = check_amount(given.get("amount", expense.amount), currency)
        if "amount" not in given and values["amount"] == expense.amount:
            values.pop("amount")
    if "category" in given:
        values["category"] = _category(given["category"])
    if "vendor" in given:
        values["vendor"] = _text(given["vendor"], "vendor", MAX_VENDOR, single_line=True)
    if "tool" in given:
        values["tool"] = _tool(given["tool"])
    if "order" in given:
        values["order"] = _order(given["order"])
    if "note" in given:
        values["note"] = _text(given["note"], "note", MAX_NOTE, single_line=False)
    return values


def _change_message(changes: dict[str, list[Any]], receipt_change: str) -> str:
    labels = {
        "spent_on": _("date"),
        "amount": _("amount"),
        "currency": _("currency"),
        "category": _("category"),
        "vendor": _("vendor"),
        "tool": _("tool"),
        "order": _("order"),
        "note": _("note"),
    }
    parts = [str(labels[key]) for key in changes]
    if receipt_change == "attached":
        parts.append(_("receipt attached"))
    elif receipt_change == "removed":
        parts.append(_("receipt removed"))
    return _("Changed: %(what)s") % {"what": ", ".join(parts)}


def attach_receipt(*, actor: Any, expense: Expense, upload: UploadedFile) -> Expense:
    """Attach (or replace) the expense's receipt: PDF, JPEG or PNG up to 10 MB."""
    return update_expense(actor=actor, expense=expense, receipt=upload)


def remove_receipt(*, actor: Any, expense: Expense) -> Expense:
    """Remove the expense's receipt. Idempotent: without one, nothing happens."""
    return update_expense(actor=actor, expense=expense, remove_receipt=True)


def delete_expense(*, actor: Any, expense: Expense) -> None:
    """Delete an expense and its receipt file. Refused (409) for an expense booked by a
    subscription, which the booking would otherwise book again."""
    require_cost_manager(actor)
    with transaction.atomic():
        locked = Expense.objects.select_for_update(of=("self",)).filter(pk=expense.pk).first()
        if locked is None:
            return
        if locked.subscription_id is not None:
            raise Conflict(
                _(
                    "This expense was booked by a subscription and cannot be deleted. Correct "
                    "its amount, or cancel the subscription from that date."
                ),
                code="booked_by_subscription",
            )
        file_name = locked.receipt.name or ""
        record_cost_event(
            CostEvent.Subject.EXPENSE,
            locked.pk,
            CostEvent.Kind.DELETED,
            actor=actor,
            message=_describe(locked),
            data=_snapshot(locked),
        )
        locked.delete()
        _forget_file(file_name)
