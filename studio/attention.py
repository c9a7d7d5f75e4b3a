"""The dashboard's "Needs attention" panel: background work that failed for good.

A read for the dashboard (the top layer, which may read billing). Each line is a count
and a link to where it can be dealt with, shown only to who may act on it:

- owners: everything below;
- producers: the money side only (invoice PDFs, invoice e-mails, invoice and
  subscription reminders);
- artists: nothing.

What clears by itself once dealt with is counted whatever its age (a webhook delivery
sent again, a PDF rendered on retry, an invoice e-mail sent again successfully);
failed reminders and notification e-mails cannot be redone, so only those of the last
RECENT days are counted. Query budget: one query for the whole panel, whatever the data
size (each line's figures are scalar subqueries of one SELECT: studio.sql.one_row).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import ngettext

from studio import roles
from studio.sql import one_row, whole

RECENT = dt.timedelta(days=7)
# An issued invoice without its PDF after this long lost its render (see billing.delivery).
PDF_LATE = dt.timedelta(minutes=10)
# ...and only those issued in the last PDF_RECENT count: older invoices without a PDF
# (imported ones, data loaded in bulk) are not a render that just failed, and counting
# them all made the panel scan every issued invoice.
PDF_RECENT = dt.timedelta(days=30)
MONEY_REMINDER_PREFIXES = ("invoice.", "subscription.")


@dataclass(frozen=True)
class Attention:
    key: str
    count: int
    text: str
    url: str


def _webhook_queries(now: dt.datetime, owner: bool) -> dict[str, QuerySet]:
    from studio.models import WebhookDelivery

    failed = WebhookDelivery.objects.filter(state=WebhookDelivery.State.FAILED).order_by()
    return {
        "webhooks_n": failed.annotate(v=whole("COUNT", "pk")).values("v"),
        "webhooks_first": failed.annotate(v=whole("MIN", "endpoint_id")).values("v"),
        "webhooks_last": failed.annotate(v=whole("MAX", "endpoint_id")).values("v"),
    }


def _webhooks(found: dict[str, Any], owner: bool) -> Attention | None:
    n = found["webhooks_n"]
    if not n:
        return None
    if found["webhooks_first"] == found["webhooks_last"]:
        url = reverse("webhook-detail", args=[found["webhooks_first"]]) + "?state=failed"
    else:
        url = reverse("webhook-list")
    text = ngettext("%(n)s webhook delivery failed", "%(n)s webhook deliveries failed", n) % {
        "n": n
    }
    return Attention("webhooks", n, text, url)


def _invoice_url(n: int, first: int | None) -> str:
    if n == 1 and first is not None:
        return reverse("invoice-detail", args=[first])
    return reverse("invoice-list")


def _pdf_queries(now: dt.datetime, owner: bool) -> dict[str, QuerySet]:
    from billing.models import Invoice, InvoiceEvent, InvoicePdfJob

    issued_a_while_ago = InvoiceEvent.objects.filter(
        invoice=OuterRef("pk"),
        kind=InvoiceEvent.Kind.ISSUED,
        created_at__lt=now - PDF_LATE,
        created_at__gte=now - PDF_RECENT,
    )
    missing = (
        Invoice.objects.exclude(status=Invoice.Status.DRAFT)
        .filter(pdf_sha256="", issue_date__gte=(now - PDF_RECENT).date())
        .filter(Q(pdf_job__state=InvoicePdfJob.State.FAILED) | Exists(issued_a_while_ago))
        .order_by()
    )
    return {
        "pdfs_n": missing.annotate(v=whole("COUNT", "pk", distinct=True)).values("v"),
        "pdfs_first": missing.annotate(v=whole("MIN", "pk")).values("v"),
    }


def _pdfs(found: dict[str, Any], owner: bool) -> Attention | None:
    n = found["pdfs_n"]
    if not n:
        return None
    text = ngettext(
        "%(n)s invoice PDF is missing (its render failed or is late)",
        "%(n)s invoice PDFs are missing (their render failed or is late)",
        n,
    ) % {"n": n}
    return Attention("pdfs", n, text, _invoice_url(n, found["pdfs_first"]))


def _invoice_email_queries(now: dt.datetime, owner: bool) -> dict[str, QuerySet]:
    from billing.models import Invoice, InvoiceEmail

    sent_later = InvoiceEmail.objects.filter(
        invoice=OuterRef("invoice"),
        state=InvoiceEmail.State.SENT,
        created_at__gt=OuterRef("created_at"),
    )
    failed = (
        InvoiceEmail.objects.filter(state=InvoiceEmail.State.FAILED)
        .exclude(invoice__status=Invoice.Status.VOID)
        .exclude(Exists(sent_later))
        .order_by()
    )
    return {
        "emails_n": failed.annotate(v=whole("COUNT", "invoice_id", distinct=True)).values("v"),
        "emails_first": failed.annotate(v=whole("MIN", "invoice_id")).values("v"),
    }


def _invoice_emails(found: dict[str, Any], owner: bool) -> Attention | None:
    n = found["emails_n"]
    if not n:
        return None
    text = ngettext(
        "%(n)s invoice could not be e-mailed",
        "%(n)s invoices could not be e-mailed",
        n,
    ) % {"n": n}
    return Attention("invoice_emails", n, text, _invoice_url(n, found["emails_first"]))


def _reminder_queries(now: dt.datetime, owner: bool) -> dict[str, QuerySet]:
    from studio.models import Reminder

    qs = Reminder.objects.filter(state=Reminder.State.FAILED, created_at__gte=now - RECENT)
    if not owner:
        money = Q()
        for prefix in MONEY_REMINDER_PREFIXES:
            money |= Q(kind__startswith=prefix)
        qs = qs.filter(money)
    return {"reminders_n": qs.order_by().annotate(v=whole("COUNT", "pk")).values("v")}


def _reminders(found: dict[str, Any], owner: bool) -> Attention | None:
    n = found["reminders_n"]
    if not n:
        return None
    text = ngettext(
        "%(n)s reminder could not be sent in the last 7 days",
        "%(n)s reminders could not be sent in the last 7 days",
        n,
    ) % {"n": n}
    url = reverse("reminder-settings") if owner else reverse("invoice-list")
    return Attention("reminders", n, text, url)


def _notification_email_queries(now: dt.datetime, owner: bool) -> dict[str, QuerySet]:
    from studio.models import Notification

    failed = Notification.objects.filter(
        email_state=Notification.EmailState.FAILED, created_at__gte=now - RECENT
    ).order_by()
    return {"notification_emails_n": failed.annotate(v=whole("COUNT", "pk")).values("v")}


def _notification_emails(found: dict[str, Any], owner: bool) -> Attention | None:
    n = found["notification_emails_n"]
    if not n:
        return None
    text = ngettext(
        "%(n)s notification e-mail to the team failed in the last 7 days",
        "%(n)s notification e-mails to the team failed in the last 7 days",
        n,
    ) % {"n": n}
    return Attention("notification_emails", n, text, reverse("team"))


# (queries, line, owners only), in the order the panel shows them.
_LINES: list[tuple[Callable[..., dict[str, QuerySet]], Callable[..., Attention | None], bool]] = [
    (_webhook_queries, _webhooks, True),
    (_pdf_queries, _pdfs, False),
    (_invoice_email_queries, _invoice_emails, False),
    (_reminder_queries, _reminders, False),
    (_notification_email_queries, _notification_emails, True),
]


def needs_attention(user: Any, *, now: dt.datetime | None = None) -> list[Attention]:
    """What failed and who may act on it sees (see the module docstring). One query."""
    now = now or timezone.now()
    owner = roles.is_owner(user)
    if not roles.can_manage_business(user):
        return []
    lines = [(q, line) for q, line, owners_only in _LINES if owner or not owners_only]
    wanted: dict[str, QuerySet] = {}
    for queries, _line in lines:
        wanted.update(queries(now, owner))
    found = one_row(**wanted)
    return [item for _queries, line in lines if (item := line(found, owner)) is not None]
