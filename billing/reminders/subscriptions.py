"""Reminder kind about tool subscriptions (registered with studio.reminders when the app
is ready).

- subscription.renewal: N days before a plan renews (3 by default), to the owners, only
  for plans that will really renew then (auto-renew on, not cancelled by that date).

The stage key carries the renewal date's start in the studio's time zone, so each
renewal gets reminders of its own (booking it moves next_renewal_on, and with it the
key), and a renewal already past never gets one: a catch-up after downtime sends
nothing stale.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence

from django.db.models import F, Q
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from billing.models import Subscription, SubscriptionQuerySet
from studio.models import Reminder, StudioProfile
from studio.notifications import studio_recipients
from studio.reminders import Due, ReminderKind, register, stages_before, studio_notify

KIND = "subscription.renewal"


def renewal_anchor(day: dt.date, zone: dt.tzinfo) -> dt.datetime:
    """The start of the renewal day in the studio's zone, as an aware datetime."""
    return dt.datetime.combine(day, dt.time(0, 0), tzinfo=zone).astimezone(dt.UTC)


def _renewing(object_ids: Iterable[int] | None) -> SubscriptionQuerySet:
    qs = Subscription.objects.filter(auto_renew=True).filter(
        Q(cancelled_from__isnull=True) | Q(cancelled_from__gt=F("next_renewal_on"))
    )
    if object_ids is not None:
        qs = qs.filter(pk__in=list(object_ids))
    return qs


def renewals_due(
    *, now: dt.datetime, offsets: Sequence[int], object_ids: Iterable[int] | None = None
) -> Iterable[Due]:
    zone = StudioProfile.load().zone
    today = now.astimezone(zone).date()
    horizon = today + dt.timedelta(days=max(offsets) + 1)
    rows = _renewing(object_ids).filter(next_renewal_on__gt=today, next_renewal_on__lte=horizon)
    for pk, day in rows.values_list("pk", "next_renewal_on").iterator(chunk_size=2000):
        stage = stages_before(renewal_anchor(day, zone), offsets, unit="days", now=now)
        if stage is not None:
            yield Due(object_id=pk, stage=stage.key, due_at=stage.fire_at)


def _days_before(reminder: Reminder) -> int:
    match = re.match(r"^(\d+)", reminder.stage)
    return int(match.group(1)) if match else 0


def deliver_renewal(reminder: Reminder) -> None:
    subscription = Subscription.objects.select_related("tool").filter(pk=reminder.object_id).first()
    if subscription is None:
        return
    days = _days_before(reminder)
    date = subscription.next_renewal_on.isoformat()
    amount = subscription.money.format()

    def render() -> tuple[str, str]:
        title = ngettext(
            "%(tool)s renews in %(days)s day",
            "%(tool)s renews in %(days)s days",
            days,
        ) % {"tool": subscription.tool.name, "days": days}
        body = _(
            "Your %(tool)s plan “%(plan)s” renews on %(date)s: %(amount)s (%(period)s). "
            "Cancel it in ReelDesk and with the vendor if you no longer need it."
        ) % {
            "tool": subscription.tool.name,
            "plan": subscription.plan_name,
            "date": date,
            "amount": amount,
            "period": str(subscription.get_period_display()).lower(),
        }
        return title, body

    studio_notify(
        reminder=reminder,
        users=studio_recipients(),
        render=render,
        url=reverse("subscription-detail", args=[subscription.pk]),
    )


def register_kinds() -> None:
    register(
        ReminderKind(
            name=KIND,
            label=gettext_lazy("Subscription renews soon"),
            help=gettext_lazy(
                "Days before a tool subscription renews (and charges you). Goes to the owners."
            ),
            audience="studio",
            unit="days",
            default_offsets=(3,),
            find_due=renewals_due,
            deliver=deliver_renewal,
            max_offset=60,
        )
    )
