"""Invoice reminders (registered with studio.reminders from BillingConfig.ready).

- ``invoice.due_soon``: N days before the due date (3 by default), to the client;
- ``invoice.overdue``: N days after the due date (1, 7 and 14 by default), to the client,
  a firmer text with the days overdue and the amount still due;
- ``invoice.overdue_studio``: the same stages told to the owners in the notification
  centre (the bell, e-mailed to those who want it).

Only open invoices are reminded: issued or partially paid (not void, paid or credited),
an amount still due, a due date. Client e-mails go to the client's current address in
the invoice's language (the language it was issued in), skipped when the client has no
address. They reuse the invoice e-mail's building (billing.delivery.invoice_message):
the same context, reply-to, portal link and PDF.

Days are calendar days in the studio's time zone. The anchor is the *start* of the
due date there: "due in 3 days" fires at 00:00 three days before the due date, "1 day
overdue" at 00:00 the day after it (the moment Invoice.is_overdue turns true), "7 days
overdue" a week after the due date. An invoice issued on day 0 with net 7 days (due
day 7) is reminded on day 4, 8, 14 and 21. Stages are computed on local dates, not by
adding hours, so neither a DST change in the studio's zone nor the client's zone moves
them; the stage key carries the due date (``3d-before@20260608``), so a new due date
gets reminders of its own and a change of the studio's zone does not repeat one.

Catch-up after downtime sends only what is still current: no "due soon" once the due
date has come, only the latest overdue stage reached, the last one not later than a
week after its day (studio.reminders.CATCH_UP). A "due soon" stage whose day was on or
before the issue date is never sent (the client has just received the invoice). The
engine asks again just before sending, so a payment or a void in between skips it.

Why the studio is told by a kind of its own
-------------------------------------------
The engine supports one audience per kind. Notifying the owners from the client kind's
``build_email`` would run again on every retry of a failed send (the e-mail is sent
after build_email returns, outside any transaction), so it could not be exactly once.
A studio kind has its own ``Reminder`` row per (invoice, stage) and the engine writes
its notifications in the transaction that marks that row sent: exactly once, and
independent of the client's e-mail (a client without an address is still chased by the
studio). The owner turns it on or off and sets its days on the reminder settings page
like any other kind (by default the same days as the client's).

The PDF
-------
The stored PDF is attached. If it is not rendered yet (its job still waiting or
failed), the reminder is sent anyway, without rendering inline (a render can take
seconds and fail; the PDF job has its own retries and a failed one shows on the
dashboard): the text then points to the order page, where the PDF can be downloaded
once ready, or asks the client to reply for a copy when there is no order page.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterable, Sequence
from typing import Any

from django.core.mail import EmailMessage
from django.db.models import F, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from billing.models import Invoice
from studio.models import Reminder, StudioProfile
from studio.notifications import studio_recipients
from studio.reminders import CATCH_UP, Due, ReminderKind, register, studio_notify

log = logging.getLogger(__name__)

DUE_SOON = "invoice.due_soon"
OVERDUE = "invoice.overdue"
OVERDUE_STUDIO = "invoice.overdue_studio"
MAX_DAYS = 365


# --- Days in the studio's zone ------------------------------------------------------------


def _zone() -> Any:
    return StudioProfile.load().zone


def _start_of(day: dt.date, zone: Any) -> dt.datetime:
    """00:00 of `day` in the studio's zone, as an aware moment."""
    return dt.datetime.combine(day, dt.time(), tzinfo=zone)


def _key(offset: int, direction: str, due_date: dt.date) -> str:
    return f"{offset}d-{direction}@{due_date:%Y%m%d}"


def due_soon_stage(
    *, due_date: dt.date, issue_date: dt.date | None, offsets: Sequence[int], today: dt.date
) -> tuple[int, dt.date] | None:
    """(offset, day) of the current "N days before" stage, or None: the latest stage day
    reached before the due date, and after the issue date."""
    if today >= due_date:
        return None
    current: tuple[int, dt.date] | None = None
    for offset in sorted(offsets, reverse=True):
        day = due_date - dt.timedelta(days=offset)
        if day <= today:
            current = (offset, day)
    if current is not None and issue_date is not None and current[1] <= issue_date:
        return None
    return current


def overdue_stage(
    *, due_date: dt.date, offsets: Sequence[int], today: dt.date
) -> tuple[int, dt.date] | None:
    """(offset, day) of the current "N days after" stage, or None; the last stage goes
    stale CATCH_UP after its day."""
    ordered = sorted(offsets)
    current: tuple[int, dt.date] | None = None
    for offset in ordered:
        day = due_date + dt.timedelta(days=offset)
        if day <= today:
            current = (offset, day)
    if current is not None and current[0] == ordered[-1] and today - current[1] > CATCH_UP:
        return None
    return current


# --- What is due ---------------------------------------------------------------------------


def open_invoices(object_ids: Iterable[int] | None = None) -> QuerySet[Invoice]:
    """Invoices that can still be chased: open, something due, a due date."""
    qs = (
        Invoice.objects.unpaid()
        .filter(due_date__isnull=False)
        .filter(total__gt=F("amount_paid") + F("amount_credited"))
    )
    if object_ids is not None:
        qs = qs.filter(pk__in=list(object_ids))
    return qs


def _with_address(qs: QuerySet[Invoice]) -> QuerySet[Invoice]:
    return qs.exclude(client__email="")


def invoices_due_soon(
    *, now: dt.datetime, offsets: Sequence[int], object_ids: Iterable[int] | None = None
) -> Iterable[Due]:
    zone = _zone()
    today = now.astimezone(zone).date()
    rows = _with_address(open_invoices(object_ids)).filter(
        due_date__gt=today, due_date__lte=today + dt.timedelta(days=max(offsets))
    )
    for pk, due_date, issue_date in rows.values_list("pk", "due_date", "issue_date").iterator(
        chunk_size=2000
    ):
        if due_date is None:  # excluded by the query; for the type checker
            continue
        stage = due_soon_stage(
            due_date=due_date, issue_date=issue_date, offsets=offsets, today=today
        )
        if stage is not None:
            offset, day = stage
            yield Due(
                object_id=pk, stage=_key(offset, "before", due_date), due_at=_start_of(day, zone)
            )


def _overdue(qs: QuerySet[Invoice], *, now: dt.datetime, offsets: Sequence[int]) -> Iterable[Due]:
    zone = _zone()
    today = now.astimezone(zone).date()
    newest = today - dt.timedelta(days=min(offsets))
    oldest = today - dt.timedelta(days=max(offsets)) - CATCH_UP
    rows = qs.filter(due_date__lte=newest, due_date__gte=oldest)
    for pk, due_date in rows.values_list("pk", "due_date").iterator(chunk_size=2000):
        if due_date is None:  # excluded by the query; for the type checker
            continue
        stage = overdue_stage(due_date=due_date, offsets=offsets, today=today)
        if stage is not None:
            offset, day = stage
            yield Due(
                object_id=pk, stage=_key(offset, "after", due_date), due_at=_start_of(day, zone)
            )


def invoices_overdue(
    *, now: dt.datetime, offsets: Sequence[int], object_ids: Iterable[int] | None = None
) -> Iterable[Due]:
    return _overdue(_with_address(open_invoices(object_ids)), now=now, offsets=offsets)


def invoices_overdue_for_studio(
    *, now: dt.datetime, offsets: Sequence[int], object_ids: Iterable[int] | None = None
) -> Iterable[Due]:
    return _overdue(open_invoices(object_ids), now=now, offsets=offsets)


# --- The client's e-mail -------------------------------------------------------------------


def _invoice(reminder: Reminder) -> Invoice | None:
    return (
        Invoice.objects.select_related("client", "order", "credited_invoice")
        .filter(pk=reminder.object_id)
        .first()
    )


def _stored_pdf(invoice: Invoice) -> bytes | None:
    """The stored PDF's bytes, or None when there is none yet (never rendered here)."""
    if not invoice.pdf_ready:
        return None
    try:
        with invoice.pdf.open("rb") as handle:
            return handle.read()
    except OSError:
        log.warning("the PDF of invoice %s could not be read", invoice.pk, exc_info=True)
        return None


def _today() -> dt.date:
    return timezone.now().astimezone(_zone()).date()


def reminder_email(invoice: Invoice, *, overdue: bool) -> EmailMessage | None:
    """The reminder to the client in the invoice's language, or None when there is
    nothing to remind (nothing due, not open, no address)."""
    from billing import delivery
    from billing.pdf import format_money

    to = (invoice.client.email or "").strip()
    if not to or invoice.due_date is None or invoice.amount_due <= 0:
        return None
    today = _today()
    message = delivery.invoice_message(
        invoice,
        to=to,
        template="invoice_reminder",
        pdf_bytes=_stored_pdf(invoice),
        extra={
            "overdue": overdue,
            "days_left": max(0, (invoice.due_date - today).days),
            "days_overdue": max(0, (today - invoice.due_date).days),
            "balance_due": format_money(invoice.amount_due, invoice.currency),
            "partly_paid": invoice.amount_paid > 0 or invoice.amount_credited > 0,
        },
    )
    message.extra_headers["Auto-Submitted"] = "auto-generated"
    return message


def build_due_soon_email(reminder: Reminder) -> EmailMessage | None:
    invoice = _invoice(reminder)
    return None if invoice is None else reminder_email(invoice, overdue=False)


def build_overdue_email(reminder: Reminder) -> EmailMessage | None:
    invoice = _invoice(reminder)
    return None if invoice is None else reminder_email(invoice, overdue=True)


# --- The studio's notification ------------------------------------------------------------


def _offset_of(reminder: Reminder) -> int:
    match = re.match(r"^(\d+)", reminder.stage)
    return int(match.group(1)) if match else 0


def deliver_overdue_to_studio(reminder: Reminder) -> None:
    from billing.pdf import format_money

    invoice = _invoice(reminder)
    if invoice is None or invoice.due_date is None:
        return
    days = max(_offset_of(reminder), (_today() - invoice.due_date).days)
    owed = format_money(invoice.amount_due, invoice.currency)
    has_address = bool((invoice.client.email or "").strip())

    def render() -> tuple[str, str]:
        title = ngettext(
            "Invoice %(number)s is %(days)s day overdue",
            "Invoice %(number)s is %(days)s days overdue",
            days,
        ) % {"number": invoice.number, "days": days}
        body = _("%(client)s still owes %(amount)s on it; it was due on %(due)s.") % {
            "client": invoice.client.name,
            "amount": owed,
            "due": invoice.due_date.isoformat() if invoice.due_date else "",
        }
        if not has_address:
            body += " " + _("The client has no e-mail address, so ReelDesk cannot remind them.")
        return title, body

    studio_notify(
        reminder=reminder,
        users=studio_recipients(),
        render=render,
        url=reverse("invoice-detail", args=[invoice.pk]),
    )


def register_kinds() -> None:
    register(
        ReminderKind(
            name=DUE_SOON,
            label=gettext_lazy("Invoice due soon"),
            help=gettext_lazy(
                "Days before the due date, while the invoice is unpaid. E-mailed to the "
                "client in their language, with the link to their order page and the PDF."
            ),
            audience="client",
            unit="days",
            default_offsets=(3,),
            find_due=invoices_due_soon,
            build_email=build_due_soon_email,
            max_offset=MAX_DAYS,
        )
    )
    register(
        ReminderKind(
            name=OVERDUE,
            label=gettext_lazy("Invoice overdue"),
            help=gettext_lazy(
                "Days after the due date, while the invoice is unpaid. E-mailed to the "
                "client in their language, with the amount still due."
            ),
            audience="client",
            unit="days",
            default_offsets=(1, 7, 14),
            find_due=invoices_overdue,
            build_email=build_overdue_email,
            max_offset=MAX_DAYS,
        )
    )
    register(
        ReminderKind(
            name=OVERDUE_STUDIO,
            label=gettext_lazy("Invoice overdue (tell the studio)"),
            help=gettext_lazy(
                "Days after the due date, while the invoice is unpaid. Goes to the owners' "
                "notifications, also when the client has no e-mail address."
            ),
            audience="studio",
            unit="days",
            default_offsets=(1, 7, 14),
            find_due=invoices_overdue_for_studio,
            deliver=deliver_overdue_to_studio,
            max_offset=MAX_DAYS,
        )
    )
