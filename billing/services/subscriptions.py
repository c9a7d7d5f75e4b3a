"""Tool subscriptions: create, change, cancel, resume, delete, and book their renewals.

A renewal is booked as one Expense (subscription + renewal_on is unique), so whoever
books it (the hourly task, two workers at once, a catch-up after downtime) books it
once. Every change leaves a CostEvent on the subscription's history.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from billing.fx import RateTable
from billing.models import CostEvent, Expense, Subscription, SubscriptionQuerySet
from billing.models.invoices import today_in_studio
from billing.services.common import (
    MAX_AMOUNT,
    actor_label,
    currency_code,
    decimal_places,
    invalid,
    require_business,
    to_decimal,
)
from studio.errors import Conflict, InvalidInput
from studio.models import AITool, StudioProfile
from studio.money import MINOR_UNITS, Money, quantize

__all__ = [
    "BurnRow",
    "active_subscriptions",
    "book_due_renewals",
    "book_renewals_of",
    "burn_rows",
    "cancel_subscription",
    "create_subscription",
    "delete_subscription",
    "first_renewal_from",
    "resume_subscription",
    "subscription_status",
    "update_subscription",
]

# Dates a plan may carry: renewals are computed months ahead, so keep far from year 9999.
EARLIEST = dt.date(2000, 1, 1)
LATEST = dt.date(2099, 12, 31)
# A catch-up books at most this many renewals of one plan per run (ten years monthly).
MAX_RENEWALS_PER_RUN = 120
SUBJECT = CostEvent.Subject.SUBSCRIPTION
EDITABLE = (
    "tool",
    "plan_name",
    "amount",
    "currency",
    "period",
    "started_on",
    "next_renewal_on",
    "auto_renew",
    "included_units",
    "included_unit",
    "notes",
)


# --- Checks -------------------------------------------------------------------------------


def _event(
    subscription: Subscription,
    kind: str,
    *,
    actor: Any = None,
    message: str = "",
    data: dict | None = None,
) -> CostEvent:
    """One line of the subscription's history (inside the action's transaction)."""
    return CostEvent.objects.create(
        subject=SUBJECT,
        object_id=subscription.pk,
        kind=kind,
        actor=actor if getattr(actor, "pk", None) else None,
        actor_label=actor_label(actor),
        message=message,
        data=data or {},
    )


def _check_date(value: Any, field: str) -> dt.date:
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        raise invalid(field, _("Enter a date."))
    if not EARLIEST <= value <= LATEST:
        raise invalid(field, _("Enter a date between 2000 and 2099."))
    return value


def _check_amount(value: Any, currency: str) -> Decimal:
    amount = to_decimal(value, "amount")
    if amount < 0:
        raise invalid("amount", _("The amount cannot be negative."))
    if amount > MAX_AMOUNT:
        raise invalid("amount", _("The amount is too large."))
    places = MINOR_UNITS[currency]
    if decimal_places(amount.normalize()) > places:
        raise invalid(
            "amount",
            _("%(currency)s amounts have at most %(places)s decimals.")
            % {"currency": currency, "places": places},
        )
    return quantize(amount, currency)


def _check_units(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    units = to_decimal(value, "included_units")
    if units < 0 or units >= Decimal("10000000000") or decimal_places(units.normalize()) > 2:
        raise invalid(
            "included_units",
            _("Enter a number of credits from 0 to 9,999,999,999 with at most 2 decimals."),
        )
    return units


def _text(value: Any, field: str, limit: int, *, required: bool = False) -> str:
    text = " ".join(str(value or "").split()) if field != "notes" else str(value or "").strip()
    if required and not text:
        raise invalid(field, _("This field is required."))
    if len(text) > limit:
        raise invalid(field, _("Keep this under %(limit)s characters.") % {"limit": f"{limit:,}"})
    return text


def _check_tool(tool: Any) -> AITool:
    if not isinstance(tool, AITool) or tool.pk is None:
        raise invalid("tool", _("Choose a tool from the catalogue."))
    if not AITool.objects.filter(pk=tool.pk).exists():
        raise invalid("tool", _("This tool no longer exists."))
    return tool


def _check_period(period: Any) -> str:
    if period not in Subscription.Period.values:
        raise invalid("period", _("Choose monthly, quarterly or yearly."))
    return str(period)


def first_renewal_from(subscription: Subscription, day: dt.date) -> dt.date:
    """The first renewal on the plan's schedule after its start that falls on or after day."""
    renewal = subscription.renewal_after(subscription.started_on)
    while renewal < day:
        renewal = subscription.renewal_after(renewal)
    return renewal


def _check_schedule(subscription: Subscription, *, book_first_payment: bool = False) -> None:
    if subscription.next_renewal_on < subscription.started_on:
        raise invalid("next_renewal_on", _("The next renewal cannot be before the start date."))
    if book_first_payment and subscription.next_renewal_on <= subscription.started_on:
        raise invalid(
            "next_renewal_on",
            _(
                "The first payment is booked on the start date, so the next renewal must "
                "come after it."
            ),
        )
    cancelled = subscription.cancelled_from
    if cancelled is not None and cancelled < subscription.started_on:
        raise invalid("cancelled_from", _("A plan cannot be cancelled before it starts."))


RENEWAL_NOTE = gettext_noop("%(tool)s · %(plan)s, %(period)s renewal of %(date)s")
# The note as booked (always in English, whatever language the booking process runs in):
# the reader's language is applied when it is shown (renewal_note_for_display).
_BOOKED_NOTE = re.compile(
    r"^(?P<tool>.+?) · (?P<plan>.+), (?P<period>monthly|quarterly|yearly) renewal of "
    r"(?P<date>\d{4}-\d{2}-\d{2})$"
)


def _renewal_note(*, tool: str, plan: str, period: str, day: str) -> str:
    """The renewal note in the active language (period: a Subscription.Period value)."""
    return _(RENEWAL_NOTE) % {
        "tool": tool,
        "plan": plan,
        "period": str(Subscription.Period(period).label).lower(),
        "date": day,
    }


def _expense_note(subscription: Subscription, day: dt.date) -> str:
    with translation.override("en"):
        return _renewal_note(
            tool=subscription.tool.name,
            plan=subscription.plan_name,
            period=subscription.period,
            day=day.isoformat(),
        )


def renewal_note_for_display(note: str) -> str:
    """An expense note in the reader's language: a renewal's booked note (English, see
    _expense_note) is written again in the active language; any other note, or one a
    person edited, is shown as it is."""
    found = _BOOKED_NOTE.match(note or "")
    if found is None:
        return note
    return _renewal_note(
        tool=found["tool"], plan=found["plan"], period=found["period"], day=found["date"]
    )


def _book(subscription: Subscription, day: dt.date, *, actor: Any = None) -> Expense | None:
    """The Expense for the renewal on day, or None when it was booked already (a savepoint,
    so the caller's transaction goes on). Call inside a transaction."""
    try:
        with transaction.atomic():
            return Expense.objects.create(
                spent_on=day,
                amount=subscription.amount,
                currency=subscription.currency,
                category=Expense.Category.SUBSCRIPTION,
                vendor=(subscription.tool.vendor or "")[:120],
                tool=subscription.tool,
                subscription=subscription,
                renewal_on=day,
                note=_expense_note(subscription, day),
                created_by=actor if getattr(actor, "pk", None) else None,
            )
    except IntegrityError:
        return None


def _snapshot(subscription: Subscription) -> dict[str, Any]:
    return {
        "tool": subscription.tool_id,
        "plan_name": subscription.plan_name,
        "amount": str(subscription.amount),
        "currency": subscription.currency,
        "period": subscription.period,
        "started_on": subscription.started_on.isoformat(),
        "next_renewal_on": subscription.next_renewal_on.isoformat(),
        "auto_renew": subscription.auto_renew,
        "cancelled_from": subscription.cancelled_from.isoformat()
        if subscription.cancelled_from
        else None,
        "included_units": None
        if subscription.included_units is None
        else str(subscription.included_units),
        "included_unit": subscription.included_unit,
        "notes": subscription.notes,
    }


def _lock(subscription: Subscription) -> Subscription:
    return (
        Subscription.objects.select_for_update(of=("self",))
        .select_related("tool")
        .get(pk=subscription.pk)
    )


# --- Changes ------------------------------------------------------------------------------


def create_subscription(
    *,
    actor: Any,
    tool: AITool,
    plan_name: str,
    amount: Decimal,
    currency: str,
    period: str = Subscription.Period.MONTHLY,
    started_on: dt.date,
    next_renewal_on: dt.date | None = None,
    auto_renew: bool = True,
    included_units: Decimal | None = None,
    included_unit: str = "",
    notes: str = "",
    book_first_payment: bool = False,
) -> Subscription:
    """Add a plan. With book_first_payment the charge on the start date is booked as an
    expense now (the next renewal must then come after the start). Without a next
    renewal date, it is the first one on the schedule on or after today. Not idempotent."""
    require_business(actor)
    code = currency_code(currency)
    subscription = Subscription(
        tool=_check_tool(tool),
        plan_name=_text(plan_name, "plan_name", 120, required=True),
        amount=_check_amount(amount, code),
        currency=code,
        period=_check_period(period),
        started_on=_check_date(started_on, "started_on"),
        auto_renew=bool(auto_renew),
        included_units=_check_units(included_units),
        included_unit=_text(included_unit, "included_unit", 20),
        notes=_text(notes, "notes", 4000),
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    if next_renewal_on is None:
        today = today_in_studio()
        if book_first_payment or subscription.started_on < today:
            subscription.next_renewal_on = first_renewal_from(subscription, today)
        else:
            subscription.next_renewal_on = subscription.started_on
    else:
        subscription.next_renewal_on = _check_date(next_renewal_on, "next_renewal_on")
    _check_schedule(subscription, book_first_payment=book_first_payment)
    with transaction.atomic():
        subscription.save()
        _event(subscription, CostEvent.Kind.CREATED, actor=actor, data=_snapshot(subscription))
        if book_first_payment and subscription.amount > 0:
            expense = _book(subscription, subscription.started_on, actor=actor)
            _event(
                subscription,
                CostEvent.Kind.RENEWAL_BOOKED,
                actor=actor,
                message=_("First payment of %(amount)s on %(date)s booked.")
                % {
                    "amount": subscription.money.format(),
                    "date": subscription.started_on.isoformat(),
                },
                data={
                    "renewal_on": subscription.started_on.isoformat(),
                    "expense": expense.pk if expense else None,
                },
            )
    return subscription


def update_subscription(*, actor: Any, subscription: Subscription, **fields: Any) -> Subscription:
    """Change any of the plan's fields (EDITABLE); renewals booked so far keep their
    amounts. Turning auto-renew back on moves a past next renewal to the first one from
    today (missed ones were not paid). Idempotent: the same values change nothing."""
    require_business(actor)
    unknown = set(fields) - set(EDITABLE)
    if unknown:
        raise InvalidInput(_("These fields cannot be changed: %(f)s") % {"f": ", ".join(unknown)})
    with transaction.atomic():
        locked = _lock(subscription)
        before = _snapshot(locked)
        was_renewing = locked.auto_renew
        code = currency_code(fields["currency"]) if "currency" in fields else locked.currency
        if "tool" in fields:
            locked.tool = _check_tool(fields["tool"])
        if "plan_name" in fields:
            locked.plan_name = _text(fields["plan_name"], "plan_name", 120, required=True)
        locked.currency = code
        if "amount" in fields or "currency" in fields:
            locked.amount = _check_amount(fields.get("amount", locked.amount), code)
        if "period" in fields:
            locked.period = _check_period(fields["period"])
        if "started_on" in fields:
            locked.started_on = _check_date(fields["started_on"], "started_on")
        if fields.get("next_renewal_on") is not None:
            locked.next_renewal_on = _check_date(fields["next_renewal_on"], "next_renewal_on")
        if "auto_renew" in fields:
            locked.auto_renew = bool(fields["auto_renew"])
        if "included_units" in fields:
            locked.included_units = _check_units(fields["included_units"])
        if "included_unit" in fields:
            locked.included_unit = _text(fields["included_unit"], "included_unit", 20)
        if "notes" in fields:
            locked.notes = _text(fields["notes"], "notes", 4000)
        today = today_in_studio()
        if (
            locked.auto_renew
            and not was_renewing
            and fields.get("next_renewal_on") is None
            and locked.next_renewal_on < today
        ):
            locked.next_renewal_on = first_renewal_from(locked, today)
        _check_schedule(locked)
        after = _snapshot(locked)
        changed = sorted(key for key in after if after[key] != before[key])
        if changed:
            locked.save()
            _event(
                locked,
                CostEvent.Kind.UPDATED,
                actor=actor,
                data={"fields": changed, "before": {k: before[k] for k in changed}},
            )
    return locked


def cancel_subscription(
    *, actor: Any, subscription: Subscription, from_date: dt.date
) -> Subscription:
    """Stop the plan from from_date on: renewals on or after it are not booked. Refused
    before the start or when a renewal on or after that date is already booked (delete
    that expense first). Idempotent for the same date; another date moves it."""
    require_business(actor)
    day = _check_date(from_date, "cancelled_from")
    with transaction.atomic():
        locked = _lock(subscription)
        if locked.cancelled_from == day:
            return locked
        if day < locked.started_on:
            raise invalid("cancelled_from", _("A plan cannot be cancelled before it starts."))
        booked = locked.expenses.filter(renewal_on__gte=day).order_by("renewal_on").first()
        if booked is not None and booked.renewal_on is not None:
            raise Conflict(
                _(
                    "The renewal of %(date)s is already booked. Cancel from a later date, or "
                    "delete that expense first."
                )
                % {"date": booked.renewal_on.isoformat()},
                code="renewal_booked",
            )
        previous = locked.cancelled_from
        locked.cancelled_from = day
        locked.save(update_fields=["cancelled_from", "updated_at"])
        _event(
            locked,
            CostEvent.Kind.CANCELLED,
            actor=actor,
            message=_("Cancelled from %(date)s.") % {"date": day.isoformat()},
            data={
                "cancelled_from": day.isoformat(),
                "before": previous.isoformat() if previous else None,
            },
        )
    return locked


def resume_subscription(*, actor: Any, subscription: Subscription) -> Subscription:
    """Undo a cancellation. A next renewal already past moves to the first one from today
    (the renewals missed while cancelled were not paid). Refused (409) unless cancelled."""
    require_business(actor)
    with transaction.atomic():
        locked = _lock(subscription)
        if locked.cancelled_from is None:
            raise Conflict(_("This plan is not cancelled."), code="not_cancelled")
        previous = locked.cancelled_from
        locked.cancelled_from = None
        today = today_in_studio()
        if locked.next_renewal_on < today:
            locked.next_renewal_on = first_renewal_from(locked, today)
        locked.save(update_fields=["cancelled_from", "next_renewal_on", "updated_at"])
        _event(
            locked,
            CostEvent.Kind.RESUMED,
            actor=actor,
            message=_("Resumed; next renewal on %(date)s.")
            % {"date": locked.next_renewal_on.isoformat()},
            data={
                "cancelled_from": previous.isoformat(),
                "next_renewal_on": locked.next_renewal_on.isoformat(),
            },
        )
    return locked


def delete_subscription(*, actor: Any, subscription: Subscription) -> None:
    """Delete a plan entered by mistake. Refused (409) once any expense was booked for it:
    cancel it instead, so the costs keep their history."""
    require_business(actor)
    with transaction.atomic():
        locked = _lock(subscription)
        if locked.expenses.exists():
            raise Conflict(
                _(
                    "Expenses were already booked for this plan, so it cannot be deleted. "
                    "Cancel it instead."
                ),
                code="has_expenses",
            )
        _event(locked, CostEvent.Kind.DELETED, actor=actor, data=_snapshot(locked))
        locked.delete()


# --- Booking renewals -----------------------------------------------------------------------


def _due(today: dt.date) -> SubscriptionQuerySet:
    return (
        Subscription.objects.filter(next_renewal_on__lte=today, auto_renew=True)
        .filter(Q(cancelled_from__isnull=True) | Q(cancelled_from__gt=F("next_renewal_on")))
        .order_by("next_renewal_on", "pk")
    )


def book_renewals_of(*, subscription_id: int, today: dt.date) -> int:
    """Book every renewal of one plan due on or before today, oldest first, one
    transaction each. Idempotent: the row lock and the unique renewal make a second or
    parallel run book nothing more. Returns how many expenses this call booked."""
    booked = 0
    for _round in range(MAX_RENEWALS_PER_RUN):
        with transaction.atomic():
            locked = (
                Subscription.objects.select_for_update(of=("self",))
                .select_related("tool")
                .filter(pk=subscription_id)
                .first()
            )
            if locked is None:
                return booked
            day = locked.next_renewal_on
            if day > today or not locked.renews_on(day):
                return booked
            expense = _book(locked, day) if locked.amount > 0 else None
            locked.next_renewal_on = locked.renewal_after(day)
            locked.save(update_fields=["next_renewal_on", "updated_at"])
            if expense is not None or locked.amount == 0:
                _event(
                    locked,
                    CostEvent.Kind.RENEWAL_BOOKED,
                    message=_("Renewal of %(date)s booked: %(amount)s.")
                    % {"date": day.isoformat(), "amount": locked.money.format()},
                    data={
                        "renewal_on": day.isoformat(),
                        "expense": expense.pk if expense else None,
                        "next_renewal_on": locked.next_renewal_on.isoformat(),
                    },
                )
            booked += expense is not None
    return booked


def book_due_renewals(*, today: dt.date | None = None) -> int:
    """Book every renewal due on or before today (the studio's date): catches up every
    renewal missed during downtime, each exactly once. Idempotent and safe to run in
    parallel. Returns how many expenses were booked."""
    day = today or today_in_studio()
    ids = list(_due(day).values_list("pk", flat=True))
    return sum(book_renewals_of(subscription_id=pk, today=day) for pk in ids)


# --- Reads ----------------------------------------------------------------------------------


def active_subscriptions(day: dt.date) -> SubscriptionQuerySet:
    """Plans in force on day (started, not cancelled, renewing or before their end)."""
    return Subscription.objects.active_on(day).filter(
        Q(auto_renew=True) | Q(next_renewal_on__gt=day)
    )


def subscription_status(subscription: Subscription, day: dt.date) -> str:
    """active, ending (will not renew), cancelling (cancelled from a later date),
    cancelled, ended or upcoming (starts later)."""
    if subscription.cancelled_from is not None and day >= subscription.cancelled_from:
        return "cancelled"
    if day < subscription.started_on:
        return "upcoming"
    if not subscription.auto_renew:
        return "ending" if day < subscription.next_renewal_on else "ended"
    if subscription.cancelled_from is not None:
        return "cancelling"
    return "active"


@dataclass(frozen=True)
class BurnRow:
    """A plan's cost per month, in its own currency and in the reporting currency (None
    where no exchange rate is known on or before the day)."""

    subscription: Subscription
    monthly: Money
    reporting: Money | None


def burn_rows(
    subscriptions: list[Subscription], *, day: dt.date, rates: RateTable | None = None
) -> list[BurnRow]:
    """Monthly cost of each plan, converted at day's rate (one query for all rates)."""
    quote = rates.quote if rates is not None else StudioProfile.load().reporting_currency
    table = rates or RateTable.load(quote, {s.currency for s in subscriptions})
    rows = []
    for subscription in subscriptions:
        monthly = Money(subscription.monthly_amount, subscription.currency)
        rows.append(
            BurnRow(
                subscription=subscription,
                monthly=monthly.rounded(),
                reporting=table.try_convert(monthly, day),
            )
        )
    return rows
