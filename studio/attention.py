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
RECENT days are counted. Query budget: one query per line, at most five, whatever the
data size.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Exists, Max, Min, OuterRef, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import ngettext

from studio import roles

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


def _failed_webhooks() -> Attention | None:
    from studio.models import WebhookDelivery

    row = WebhookDelivery.objects.filter(state=WebhookDelivery.State.FAILED).aggregate(
        n=Count("pk"), first=Min("endpoint_id"), last=Max("endpoint_id")
    )
    n = row["n"]
    if not n:
        return None
    if row["first"] == row["last"]:
        url = reverse("webhook-detail", args=[row["first"]]) + "?state=failed"
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


def _failed_pdfs(now: dt.datetime) -> Attention | None:
    from billing.models import Invoice, InvoiceEvent, InvoicePdfJob

    issued_a_while_ago = InvoiceEvent.objects.filter(
        invoice=OuterRef("pk"),
        kind=InvoiceEvent.Kind.ISSUED,
        created_at__lt=now - PDF_LATE,
        created_at__gte=now - PDF_RECENT,
    )
    row = (
        Invoice.objects.exclude(status=Invoice.Status.DRAFT)
        .filter(pdf_sha256="", issue_date__gte=(now - PDF_RECENT).date())
        .filter(Q(pdf_job__state=InvoicePdfJob.State.FAILED) | Exists(issued_a_while_ago))
        .aggregate(n=Count("pk", distinct=True), first=Min("pk"))
    )
    n = row["n"]
    if not n:
        return None
    text = ngettext(
        "%(n)s invoice PDF is missing (its render failed or is late)",
        "%(n)s invoice PDFs are missing (their render failed or is late)",
        n,
    ) % {"n": n}
    return Attention("pdfs", n, text, _invoice_url(n, row["first"]))


def _failed_invoice_emails() -> Attention | None:
    from billing.models import Invoice, InvoiceEmail

    sent_later = InvoiceEmail.objects.filter(
        invoice=OuterRef("invoice"),
        state=InvoiceEmail.State.SENT,
        created_at__gt=OuterRef("created_at"),
    )
    row = (
        InvoiceEmail.objects.filter(state=InvoiceEmail.State.FAILED)
        .exclude(invoice__status=Invoice.Status.VOID)
        .exclude(Exists(sent_later))
        .aggregate(n=Count("invoice", distinct=True), first=Min("invoice"))
    )
    n = row["n"]
    if not n:
        return None
    text = ngettext(
        "%(n)s invoice could not be e-mailed",
        "%(n)s invoices could not be e-mailed",
        n,
    ) % {"n": n}
    return Attention("invoice_emails", n, text, _invoice_url(n, row["first"]))


def _failed_reminders(now: dt.datetime, *, owner: bool) -> Attention | None:
    from studio.models import Reminder

    money = Q()
    for prefix in MONEY_REMINDER_PREFIXES:
        money |= Q(kind__startswith=prefix)
    qs = Reminder.objects.filter(state=Reminder.State.FAILED, created_at__gte=now - RECENT)
    if not owner:
        qs = qs.filter(money)
    n = qs.count()
    if not n:
        return None
    text = ngettext(
        "%(n)s reminder could not be sent in the last 7 days",
        "%(n)s reminders could not be sent in the last 7 days",
        n,
    ) % {"n": n}
    url = reverse("reminder-settings") if owner else reverse("invoice-list")
    return Attention("reminders", n, text, url)


def _failed_notification_emails(now: dt.datetime) -> Attention | None:
    from studio.models import Notification

    n = Notification.objects.filter(
        email_state=Notification.EmailState.FAILED, created_at__gte=now - RECENT
    ).count()
    if not n:
        return None
    text = ngettext(
        "%(n)s notification e-mail to the team failed in the last 7 days",
        "%(n)s notification e-mails to the team failed in the last 7 days",
        n,
    ) % {"n": n}
    return Attention("notification_emails", n, text, reverse("team"))


def needs_attention(user: Any, *, now: dt.datetime | None = None) -> list[Attention]:
    """What failed and who may act on it sees (see the module docstring)."""
    now = now or timezone.now()
    owner = roles.is_owner(user)
    if not roles.can_manage_business(user):
        return []
    found: list[Attention | None] = []
    if owner:
        found.append(_failed_webhooks())
    found += [
        _failed_pdfs(now),
        _failed_invoice_emails(),
        _failed_reminders(now, owner=owner),
    ]
    if owner:
        found.append(_failed_notification_emails(now))
    return [item for item in found if item is not None]
