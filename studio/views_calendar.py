"""The studio calendar: order due dates, invoice due dates and subscription renewals,
by month (?month=2026-12) or ISO week (?week=2026-W49), in the studio's time zone.

Artists see the due dates of their own orders only (no invoices, no renewals). Three
queries whatever the data size (orders, invoices, subscriptions); a bad month or week
in the query string shows the current month with a note, never an error page.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.dates import WEEKDAYS_ABBR
from django.views.decorators.http import require_GET

from billing.margin import month_start, next_month
from billing.models import Invoice, Subscription
from orders.models import Order
from studio import roles
from studio.access import member_required
from studio.money import Money

MAX_ITEMS = 400  # per kind and range: a month of a busy studio is far below
MONTH_RE = re.compile(r"^(\d{4})-(\d{1,2})$")
WEEK_RE = re.compile(r"^(\d{4})-W(\d{1,2})$")


@dataclass
class Item:
    kind: str  # "order" | "invoice" | "renewal"
    day: dt.date
    label: str
    detail: str
    url: str
    css: str = ""


@dataclass
class Day:
    day: dt.date
    in_range: bool
    is_today: bool
    items: list[Item] = field(default_factory=list)


def parse_month(text: str) -> dt.date | None:
    match = MONTH_RE.match(text.strip())
    if not match:
        return None
    year, month = int(match[1]), int(match[2])
    if not (1 <= month <= 12 and 1900 <= year <= 9999):
        return None
    return dt.date(year, month, 1)


def parse_week(text: str) -> dt.date | None:
    """'2026-W49' -> the Monday of that ISO week."""
    match = WEEK_RE.match(text.strip().upper())
    if not match:
        return None
    try:
        return dt.date.fromisocalendar(int(match[1]), int(match[2]), 1)
    except ValueError:
        return None


def week_param(monday: dt.date) -> str:
    year, week, _day = monday.isocalendar()
    return f"{year}-W{week:02d}"


def _orders(user: Any, start: dt.datetime, stop: dt.datetime, zone: dt.tzinfo) -> list[Item]:
    rows = (
        Order.objects.for_user(user)
        .exclude(status=Order.Status.CANCELLED)
        .filter(due_at__gte=start, due_at__lt=stop)
        .select_related("client")
        .only("pk", "reference", "title", "status", "due_at", "delivered_at", "client__name")
        .order_by("due_at", "pk")[:MAX_ITEMS]
    )
    now = timezone.now()
    items = []
    for order in rows:
        assert order.due_at is not None
        late = order.tracks_due and order.due_at < now
        done = order.status in Order.CLOSED_STATUSES or order.status == Order.Status.DELIVERED
        items.append(
            Item(
                kind="order",
                day=order.due_at.astimezone(zone).date(),
                label=order.reference,
                detail=f"{order.title} · {order.client.name}",
                url=reverse("order-detail", args=[order.pk]),
                css="late" if late else ("done" if done else ""),
            )
        )
    return items


def _invoices(first: dt.date, last: dt.date, today: dt.date) -> list[Item]:
    rows = (
        Invoice.objects.invoices()
        .issued()
        .filter(due_date__gte=first, due_date__lte=last)
        .select_related("client")
        .only("pk", "number", "status", "due_date", "currency", "total", "client__name")
        .order_by("due_date", "pk")[:MAX_ITEMS]
    )
    items = []
    for invoice in rows:
        assert invoice.due_date is not None
        open_ = invoice.status in Invoice.OPEN_STATUSES
        items.append(
            Item(
                kind="invoice",
                day=invoice.due_date,
                label=invoice.number,
                detail=f"{invoice.client.name} · {Money(invoice.total, invoice.currency)}",
                url=reverse("invoice-detail", args=[invoice.pk]),
                css="late" if open_ and invoice.due_date < today else ("" if open_ else "done"),
            )
        )
    return items


def _renewals(first: dt.date, last: dt.date) -> list[Item]:
    """Every renewal still to be charged in the range, projected from next_renewal_on."""
    rows = (
        Subscription.objects.filter(auto_renew=True, next_renewal_on__lte=last)
        .filter(Q(cancelled_from__isnull=True) | Q(cancelled_from__gt=first))
        .select_related("tool")
        .order_by("next_renewal_on", "pk")[:MAX_ITEMS]
    )
    items = []
    for sub in rows:
        day = sub.next_renewal_on
        while day <= last and sub.renews_on(day):
            if day >= first:
                items.append(
                    Item(
                        kind="renewal",
                        day=day,
                        label=sub.tool.name,
                        detail=f"{sub.plan_name} · {sub.money}",
                        url=reverse("subscription-detail", args=[sub.pk]),
                    )
                )
            day = sub.renewal_after(day)
    return items


@require_GET
@member_required
def calendar_view(request: HttpRequest) -> HttpResponse:
    profile = request.studio_profile  # type: ignore[attr-defined]
    zone = profile.zone
    today = timezone.now().astimezone(zone).date()
    bad_input = False
    week_text, month_text = request.GET.get("week", ""), request.GET.get("month", "")
    view = "week" if week_text else "month"
    if view == "week":
        monday = parse_week(week_text)
        if monday is None:
            bad_input, view = True, "month"
    if view == "month":
        month = parse_month(month_text) if month_text else month_start(today)
        if month is None:
            bad_input, month = True, month_start(today)
        first_shown = month - dt.timedelta(days=month.weekday())
        stop_month = next_month(month)
        last_day = stop_month - dt.timedelta(days=1)
        last_shown = last_day + dt.timedelta(days=6 - last_day.weekday())
        first, last = month, last_day
        prev_url = f"?month={month_start(month - dt.timedelta(days=1)):%Y-%m}"
        next_url = f"?month={stop_month:%Y-%m}"
        title_date = month
        switch_url = f"?week={week_param(today if month_start(today) == month else month)}"
    else:
        assert monday is not None
        first_shown, last_shown = monday, monday + dt.timedelta(days=6)
        first, last = first_shown, last_shown
        prev_url = f"?week={week_param(monday - dt.timedelta(days=7))}"
        next_url = f"?week={week_param(monday + dt.timedelta(days=7))}"
        title_date = monday
        switch_url = f"?month={monday:%Y-%m}"

    start = dt.datetime.combine(first_shown, dt.time(), tzinfo=zone)
    stop = dt.datetime.combine(last_shown + dt.timedelta(days=1), dt.time(), tzinfo=zone)
    items = _orders(request.user, start, stop, zone)
    if roles.can_see_money(request.user):
        items += _invoices(first_shown, last_shown, today)
        items += _renewals(first_shown, last_shown)
    by_day: dict[dt.date, list[Item]] = {}
    order = {"order": 0, "invoice": 1, "renewal": 2}
    for item in sorted(items, key=lambda i: (i.day, order[i.kind], i.label)):
        by_day.setdefault(item.day, []).append(item)
    days = []
    day = first_shown
    while day <= last_shown:
        days.append(Day(day, first <= day <= last, day == today, by_day.get(day, [])))
        day += dt.timedelta(days=1)
    weeks = [days[i : i + 7] for i in range(0, len(days), 7)]
    return render(
        request,
        "studio/calendar.html",
        {
            "nav": "dashboard",
            "view": view,
            "weeks": weeks,
            "days": days,
            "weekdays": [WEEKDAYS_ABBR[i] for i in range(7)],
            "title_date": title_date,
            "week_label": week_param(first_shown) if view == "week" else "",
            "week_end": last_shown,
            "prev_url": prev_url,
            "next_url": next_url,
            "today_url": "?" + (f"week={week_param(today)}" if view == "week" else ""),
            "switch_url": switch_url,
            "bad_input": bad_input,
            "item_count": len(items),
        },
    )
