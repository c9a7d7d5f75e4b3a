"""Reminder kinds about orders (registered with studio.reminders when the app is ready).

- order.due_soon: N hours before the due date (48 and 24 by default), to the assignee and
  the owners;
- order.overdue: N days after the due date (1 by default) while it is not delivered;
- quote.unanswered: N days after the quote was sent (3 by default) while the client has
  neither accepted nor declined it, to the owners.

Each stage key carries the moment it counts from (the due date, the quote's time), so a
new due date or a new quote gets reminders of its own, and an old one never again.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence

from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from orders.models import Order
from studio.models import Reminder, StudioProfile
from studio.notifications import studio_recipients
from studio.reminders import (
    CATCH_UP,
    Due,
    ReminderKind,
    register,
    stages_after,
    stages_before,
    studio_notify,
)

S = Order.Status
# Orders whose due date is being tracked: open, not delivered, not paused.
TRACKED_EXCLUDED = [S.DELIVERED, S.ON_HOLD, S.COMPLETED, S.CANCELLED]


def _offset_of(reminder: Reminder) -> int:
    match = re.match(r"^(\d+)", reminder.stage)
    return int(match.group(1)) if match else 0


def _tracked(object_ids: Iterable[int] | None) -> QuerySet[Order]:
    qs = Order.objects.exclude(status__in=TRACKED_EXCLUDED).filter(due_at__isnull=False)
    if object_ids is not None:
        qs = qs.filter(pk__in=list(object_ids))
    return qs


def _local(moment: dt.datetime | None) -> str:
    if moment is None:
        return "—"
    zone = StudioProfile.load().zone
    return timezone.localtime(moment, zone).strftime("%Y-%m-%d %H:%M")


def _order(reminder: Reminder) -> Order | None:
    return (
        Order.objects.select_related("client", "assignee", "assignee__membership")
        .filter(pk=reminder.object_id)
        .first()
    )


# --- Due soon -----------------------------------------------------------------------------


def orders_due_soon(
    *, now: dt.datetime, offsets: Sequence[int], object_ids: Iterable[int] | None = None
) -> Iterable[Due]:
    horizon = now + dt.timedelta(hours=max(offsets))
    rows = _tracked(object_ids).filter(due_at__gt=now, due_at__lte=horizon)
    for pk, due_at in rows.values_list("pk", "due_at").iterator(chunk_size=2000):
        if due_at is None:  # excluded by the query; for the type checker
            continue
        stage = stages_before(due_at, offsets, unit="hours", now=now)
        if stage is not None:
            yield Due(object_id=pk, stage=stage.key, due_at=stage.fire_at)


def deliver_due_soon(reminder: Reminder) -> None:
    order = _order(reminder)
    if order is None:
        return
    hours = _offset_of(reminder)
    due = _local(order.due_at)

    def render() -> tuple[str, str]:
        title = ngettext(
            "%(ref)s is due in %(hours)s hour",
            "%(ref)s is due in %(hours)s hours",
            hours,
        ) % {"ref": order.reference, "hours": hours}
        body = _("“%(title)s” for %(client)s is due on %(due)s. Current status: %(status)s.") % {
            "title": order.title,
            "client": order.client.name,
            "due": due,
            "status": order.get_status_display(),
        }
        return title, body

    studio_notify(
        reminder=reminder,
        users=studio_recipients(extra=[order.assignee]),
        render=render,
        url=reverse("order-detail", args=[order.pk]),
    )


# --- Overdue ------------------------------------------------------------------------------


def orders_overdue(
    *, now: dt.datetime, offsets: Sequence[int], object_ids: Iterable[int] | None = None
) -> Iterable[Due]:
    newest = now - dt.timedelta(days=min(offsets))
    oldest = now - dt.timedelta(days=max(offsets)) - CATCH_UP
    rows = _tracked(object_ids).filter(due_at__lte=newest, due_at__gte=oldest)
    for pk, due_at in rows.values_list("pk", "due_at").iterator(chunk_size=2000):
        if due_at is None:  # excluded by the query; for the type checker
            continue
        stage = stages_after(due_at, offsets, unit="days", now=now)
        if stage is not None:
            yield Due(object_id=pk, stage=stage.key, due_at=stage.fire_at)


def deliver_overdue(reminder: Reminder) -> None:
    order = _order(reminder)
    if order is None:
        return
    due = _local(order.due_at)

    def render() -> tuple[str, str]:
        title = _("%(ref)s is overdue") % {"ref": order.reference}
        body = _(
            "“%(title)s” for %(client)s was due on %(due)s and is not delivered yet. "
            "Current status: %(status)s."
        ) % {
            "title": order.title,
            "client": order.client.name,
            "due": due,
            "status": order.get_status_display(),
        }
        return title, body

    studio_notify(
        reminder=reminder,
        users=studio_recipients(extra=[order.assignee]),
        render=render,
        url=reverse("order-detail", args=[order.pk]),
    )


# --- Quote not answered -------------------------------------------------------------------


def quotes_unanswered(
    *, now: dt.datetime, offsets: Sequence[int], object_ids: Iterable[int] | None = None
) -> Iterable[Due]:
    newest = now - dt.timedelta(days=min(offsets))
    oldest = now - dt.timedelta(days=max(offsets)) - CATCH_UP
    rows = Order.objects.filter(
        status=S.QUOTED, status_changed_at__lte=newest, status_changed_at__gte=oldest
    )
    if object_ids is not None:
        rows = rows.filter(pk__in=list(object_ids))
    for pk, quoted_at in rows.values_list("pk", "status_changed_at").iterator(chunk_size=2000):
        stage = stages_after(quoted_at, offsets, unit="days", now=now)
        if stage is not None:
            yield Due(object_id=pk, stage=stage.key, due_at=stage.fire_at)


def deliver_quote_unanswered(reminder: Reminder) -> None:
    order = _order(reminder)
    if order is None:
        return
    days = _offset_of(reminder)

    def render() -> tuple[str, str]:
        title = _("%(ref)s: quote not answered") % {"ref": order.reference}
        body = ngettext(
            "%(client)s has not answered the quote for “%(title)s” sent %(days)s day ago. "
            "Time to follow up?",
            "%(client)s has not answered the quote for “%(title)s” sent %(days)s days ago. "
            "Time to follow up?",
            days,
        ) % {"client": order.client.name, "title": order.title, "days": days}
        return title, body

    studio_notify(
        reminder=reminder,
        users=studio_recipients(),
        render=render,
        url=reverse("order-detail", args=[order.pk]),
    )


def register_kinds() -> None:
    register(
        ReminderKind(
            name="order.due_soon",
            label=gettext_lazy("Order due soon"),
            help=gettext_lazy("Hours before the due date. Goes to the assignee and the owners."),
            audience="studio",
            unit="hours",
            default_offsets=(24, 48),
            find_due=orders_due_soon,
            deliver=deliver_due_soon,
        )
    )
    register(
        ReminderKind(
            name="order.overdue",
            label=gettext_lazy("Order overdue"),
            help=gettext_lazy(
                "Days after the due date, while it is not delivered. Goes to the assignee "
                "and the owners."
            ),
            audience="studio",
            unit="days",
            default_offsets=(1,),
            find_due=orders_overdue,
            deliver=deliver_overdue,
        )
    )
    register(
        ReminderKind(
            name="quote.unanswered",
            label=gettext_lazy("Quote not answered"),
            help=gettext_lazy(
                "Days after a quote was sent without an answer from the client. Goes to the "
                "owners, to follow up."
            ),
            audience="studio",
            unit="days",
            default_offsets=(3,),
            find_due=quotes_unanswered,
            deliver=deliver_quote_unanswered,
        )
    )
