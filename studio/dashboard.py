"""The dashboard's reads (the studio's top layer: it may read orders and billing).

Sections, each a few aggregate queries (GROUP BY and conditional counts in the
database, never a loop over rows or a query per row):

- Today (everyone; artists see their own orders): 2 queries, always live.
- Production (everyone; artists see their own shots and takes, without money):
  3 queries live for artists; for owners and producers shots by status and episodes
  over their runtime limit are live (2 queries), the per-model figures come with the
  business snapshot.
- Money and Business (owners and producers only): one *business snapshot* of 8
  queries, computed once and cached for CACHE_TTL. Its 12-month report comes from the
  stored margin rows (billing.services.margins: their freshness and the month rows, 2
  queries, the page shows when they are behind), as on the report page; before their
  first recompute a small studio's report is computed here (5 queries more) and a large
  one's waits for it. The snapshot is invalidated explicitly: any save or delete of an
  invoice, payment, expense, subscription, exchange rate, order, client, take or the
  studio profile bumps a version number in the cache (signals below), so the next
  dashboard recomputes it; bulk writes that send no signal (QuerySet.update,
  bulk_create) show up within CACHE_TTL at most. A snapshot whose report is behind the
  stored rows (recomputing, or not computed yet) is kept STALE_TTL only, since their
  recompute sends no signal. The page says when it was computed.
  Why a cache: the page without it is already 13 queries for an owner (profile,
  session, user with its role and the bell: 4; "Needs attention": 5; Today and
  Production: 4), so a cold page (21) is over the 15-query target, a warm one is not;
  and its sums over 600,000 takes (the model window) are the slow part of the page. The
  snapshot's queries were merged where they scan the same rows (this month's and the
  90-day takes; the delivery and order-value figures; receivables and revenue per
  client).

Amounts are converted to the reporting currency with billing.fx, at the rate of the
day the amount belongs to (its own date; today for receivables); what has no rate is
named and left out, never guessed.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.cache import cache
from django.db.models import (
    BigIntegerField,
    Case,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Q,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.functions import Cast, Round, RowNumber
from django.db.models.signals import post_delete, post_save
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.margin import (
    Converter,
    as_date,
    day_key,
    from_hundredths,
    hundredths,
    load_converter,
    month_start,
    months_back,
    next_month,
)
from billing.models import Expense, Invoice, Subscription
from billing.reports import MonthlyReport, merge_missing, report_months
from billing.services import margins as stored_margins
from orders.models import Order, Shot, Take
from orders.production_selectors import _runtime, visible_episodes, with_runtime
from studio import roles
from studio.charts import Chart, Series, bar_line_chart
from studio.charts_extra import hbar_chart
from studio.models import StudioProfile
from studio.money import Money, quantize

log = logging.getLogger(__name__)

LIST_LIMIT = 10
RENEWALS = 5
TOP_CLIENTS = 5
EPISODES_SHOWN = 5
REPORT_MONTHS = 12
DELIVERY_WINDOW = dt.timedelta(days=90)
MODEL_WINDOW_DAYS = 90
VALUE_WINDOW = dt.timedelta(days=365)
CACHE_TTL = 300
STALE_TTL = 30  # a snapshot whose 12-month report is behind the stored margin rows
VERSION_KEY = "dashboard:business:version"

S = Order.Status
S_APPROVED = Shot.Status.APPROVED
AGING_BUCKETS = ("current", "1_30", "31_60", "60_plus")


def _money(amount: Decimal, currency: str) -> str:
    return Money(amount, currency).format()


# --- Today ---------------------------------------------------------------------------


@dataclass
class TodayFigures:
    due_today: int
    due_week: int
    late: int
    revisions: int
    quotes: int
    awaiting_approval: int
    open_total: int
    status_counts: list[dict[str, Any]]
    late_orders: list[Order]
    late_more: bool
    due_orders: list[Order]
    due_more: bool


def today_figures(user: Any, *, now: dt.datetime, zone: dt.tzinfo) -> TodayFigures:
    """Orders due today / in 7 days / late, waiting revisions, quotes and approvals: the
    user's own orders for an artist. 2 queries."""
    orders = Order.objects.for_user(user)
    today = now.astimezone(zone).date()
    tomorrow = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(), tzinfo=zone)
    tracked = ~Q(status=S.DELIVERED) & Q(due_at__isnull=False)
    rows = (
        orders.open()
        .order_by()
        .values("status")
        .annotate(
            n=Count("pk"),
            late=Count("pk", filter=tracked & Q(due_at__lt=now)),
            today=Count("pk", filter=tracked & Q(due_at__gte=now, due_at__lt=tomorrow)),
            week=Count(
                "pk", filter=tracked & Q(due_at__gte=now, due_at__lt=now + dt.timedelta(days=7))
            ),
        )
    )
    by_status = {row["status"]: row for row in rows}

    def total(name: str) -> int:
        return sum(row[name] for row in by_status.values())

    def status_n(status: str) -> int:
        return by_status[status]["n"] if status in by_status else 0

    # The late orders and those due within 7 days, the first LIST_LIMIT + 1 of each, in
    # one query: a row number per group (late or not) over the one due_at range.
    is_late = Case(When(due_at__lt=now, then=Value(1)), default=Value(0))
    soonest = (
        orders.open()
        .exclude(status=S.DELIVERED)
        .filter(due_at__lt=now + dt.timedelta(days=7))
        .select_related("client")
        .annotate(rank=Window(RowNumber(), partition_by=[is_late], order_by=[F("due_at"), F("pk")]))
        .filter(rank__lte=LIST_LIMIT + 1)
        .order_by("due_at", "pk")
    )
    late: list[Order] = []
    due: list[Order] = []
    for order in soonest:
        (late if order.due_at is not None and order.due_at < now else due).append(order)
    return TodayFigures(
        due_today=total("today"),
        due_week=total("week"),
        late=total("late"),
        revisions=status_n(S.REVISION),
        quotes=status_n(S.QUOTED),
        awaiting_approval=status_n(S.DELIVERED),
        open_total=total("n"),
        status_counts=[
            {"status": status, "label": S(status).label, "count": status_n(status)}
            for status in Order.BOARD_COLUMNS
        ],
        late_orders=late[:LIST_LIMIT],
        late_more=len(late) > LIST_LIMIT,
        due_orders=due[:LIST_LIMIT],
        due_more=len(due) > LIST_LIMIT,
    )


# --- Production (live part) ----------------------------------------------------------


@dataclass
class EpisodeOver:
    episode_id: int
    label: str
    order_reference: str
    runtime: Decimal
    limit: Decimal

    @property
    def over(self) -> Decimal:
        return self.runtime - self.limit


@dataclass
class ProductionFigures:
    shots_by_status: list[tuple[str, str, int]]  # (status, label, count)
    episodes_over: list[EpisodeOver]
    episodes_over_count: int
    # Artists only (owners get theirs from the snapshot): seconds per model this month.
    my_seconds: list[tuple[str, Decimal, int]] = field(default_factory=list)

    @property
    def shots_total(self) -> int:
        return sum(n for _s, _l, n in self.shots_by_status)


def production_figures(user: Any, *, month: dt.date) -> ProductionFigures:
    """Shots by status across open orders and episodes over their runtime limit (for an
    artist: their shots and the episodes they work on, plus their seconds per model this
    month). 2 queries, 3 for an artist."""
    closed = Order.CLOSED_STATUSES
    shots = Shot.objects.for_user(user).exclude(episode__order__status__in=closed)
    counts = dict(
        shots.order_by().values("status").annotate(n=Count("pk")).values_list("status", "n")
    )
    by_status = [(s, str(label), counts.get(s, 0)) for s, label in Shot.Status.choices]

    episodes = visible_episodes(user).exclude(order__status__in=closed)
    runtime_rows = (
        with_runtime(Shot.objects.counted().filter(episode__in=episodes))
        .order_by()
        .values(
            "episode_id",
            "episode__number",
            "episode__title",
            "episode__runtime_limit",
            "episode__order__reference",
        )
        .annotate(runtime=hundredths(_runtime()))
        .filter(runtime__gt=F("episode__runtime_limit") * 100)
    )
    over = [
        EpisodeOver(
            episode_id=row["episode_id"],
            label=f"E{row['episode__number']:02d} {row['episode__title']}".strip(),
            order_reference=row["episode__order__reference"],
            runtime=from_hundredths(row["runtime"]),
            limit=Decimal(row["episode__runtime_limit"]),
        )
        for row in runtime_rows
    ]
    over.sort(key=lambda e: (-e.over, e.episode_id))
    figures = ProductionFigures(
        shots_by_status=by_status,
        episodes_over=over[:EPISODES_SHOWN],
        episodes_over_count=len(over),
    )
    if not roles.can_manage_business(user):
        rows = (
            Take.objects.filter(
                shot__assignee_id=user.pk,
                generated_on__gte=month,
                generated_on__lt=next_month(month),
            )
            .order_by()
            .values("tool__name")
            .annotate(seconds=hundredths("generated_seconds"), n=Count("pk"))
            .order_by("-seconds", "tool__name")
        )
        figures.my_seconds = [
            (row["tool__name"], from_hundredths(row["seconds"]), row["n"]) for row in rows
        ]
    return figures


# --- The business snapshot (owners and producers) ------------------------------------


@dataclass
class ToolMonth:
    name: str
    tool_id: int
    seconds: Decimal = Decimal(0)
    takes: int = 0
    generation: Decimal = Decimal(0)
    expenses: Decimal = Decimal(0)
    unpriced: int = 0

    @property
    def spend(self) -> Decimal:
        return self.generation + self.expenses


@dataclass
class ModelEfficiency:
    name: str
    tool_id: int
    takes: int = 0
    approved: int = 0
    finished_seconds: Decimal = Decimal(0)
    cost: Decimal = Decimal(0)

    @property
    def takes_per_shot(self) -> Decimal | None:
        if not self.approved:
            return None
        return (Decimal(self.takes) / self.approved).quantize(Decimal("0.1"))

    @property
    def cost_per_second(self) -> Decimal | None:
        if not self.finished_seconds:
            return None
        return (self.cost / self.finished_seconds).quantize(Decimal("0.01"))


@dataclass
class Renewal:
    subscription_id: int
    tool: str
    plan: str
    on: dt.date
    amount: Decimal
    currency: str


@dataclass
class TopClient:
    client_id: int
    name: str
    revenue: Decimal


@dataclass
class Snapshot:
    currency: str
    today: dt.date
    computed_at: dt.datetime
    aging: dict[str, Decimal]
    aging_counts: dict[str, int]
    renewals: list[Renewal]
    tools: list[ToolMonth]
    models: list[ModelEfficiency]
    # The last REPORT_MONTHS months; None while a large studio waits for the first
    # recompute of its stored margin rows (report_freshness says which).
    report: MonthlyReport | None
    report_freshness: stored_margins.Freshness
    delivered: int
    on_time: int
    with_due: int
    turnaround_days: Decimal | None
    order_count: int
    order_value_total: Decimal
    top_clients: list[TopClient]
    missing: dict[str, Decimal]  # receivables left out for want of a rate, per currency
    unconverted: list[str]  # every currency some figure had to leave out (no rate)

    @property
    def receivable(self) -> Decimal:
        return sum(self.aging.values(), Decimal(0))

    @property
    def overdue(self) -> Decimal:
        return sum((self.aging[k] for k in AGING_BUCKETS[1:]), Decimal(0))

    @property
    def overdue_count(self) -> int:
        return sum(self.aging_counts[k] for k in AGING_BUCKETS[1:])

    @property
    def receivable_count(self) -> int:
        return sum(self.aging_counts.values())

    @property
    def this_month(self) -> Any:
        return self.report.months[-1] if self.report else None

    @property
    def last_month(self) -> Any:
        return self.report.months[-2] if self.report else None

    @property
    def on_time_rate(self) -> Decimal | None:
        if not self.with_due:
            return None
        return (Decimal(self.on_time) * 100 / self.with_due).quantize(Decimal("0.1"))

    @property
    def model_rows(self) -> list[dict[str, Any]]:
        """This month's seconds and cost next to the 90-day efficiency, per model."""
        rows: dict[int, dict[str, Any]] = {}
        for t in self.tools:
            if t.seconds or t.generation or t.takes:
                rows[t.tool_id] = {"tool_id": t.tool_id, "name": t.name, "month": t, "model": None}
        for m in self.models:
            rows.setdefault(m.tool_id, {"tool_id": m.tool_id, "name": m.name, "month": None})
            rows[m.tool_id]["model"] = m
        return sorted(rows.values(), key=lambda r: r["name"].lower())

    @property
    def average_order_value(self) -> Decimal | None:
        if not self.order_count:
            return None
        return quantize(self.order_value_total / self.order_count, self.currency)


def _invoices(today: dt.date, converter: Converter, missing: dict, other: dict) -> tuple:
    """One query over invoices for two figures: the outstanding amounts of unpaid
    invoices by how late they are (receivables aging; what has no rate goes to missing)
    and each client's net revenue invoiced in the last 12 months, less credit notes
    (what has no rate goes to other). Rows are grouped by both figures' keys, the key of
    a figure an invoice is not part of being NULL; the amounts are summed back per
    figure key here before they are converted, as two separate queries would give them."""
    unpaid = Q(kind=Invoice.Kind.INVOICE, status__in=Invoice.OPEN_STATUSES)
    invoiced = Q(
        status__in=Invoice.COUNTING_STATUSES,
        issue_date__gt=today - VALUE_WINDOW,
        issue_date__lte=today,
    )
    bucket = Case(
        When(Q(due_date__isnull=True) | Q(due_date__gte=today), then=Value("current")),
        When(due_date__gte=today - dt.timedelta(days=30), then=Value("1_30")),
        When(due_date__gte=today - dt.timedelta(days=60), then=Value("31_60")),
        default=Value("60_plus"),
    )
    due = F("total") - F("amount_paid") - F("amount_credited")
    positive = Case(
        When(Q(total__gt=F("amount_paid") + F("amount_credited")), then=due),
        default=Value(Decimal(0)),
    )

    def only(condition: Q, value: Any) -> Case:
        return Case(When(condition, then=value), default=None)

    rows = (
        Invoice.objects.filter(unpaid | invoiced)
        .annotate(
            bucket=only(unpaid, bucket),
            rev_client=only(invoiced, F("client_id")),
            rev_name=only(invoiced, F("client__name")),
            rev_kind=only(invoiced, F("kind")),
            rev_key=only(invoiced, day_key("issue_date", converter.currency)),
        )
        .order_by()
        .values("currency", "bucket", "rev_client", "rev_name", "rev_kind", "rev_key")
        .annotate(
            due_cents=Sum(Cast(Round(positive * 100), BigIntegerField()), filter=unpaid),
            n=Count("pk", filter=unpaid),
            rev_cents=hundredths("subtotal", invoiced),
        )
    )
    owed: dict[tuple[str, str], int] = defaultdict(int)
    counts = dict.fromkeys(AGING_BUCKETS, 0)
    billed: dict[tuple[int, str, str, str, str], int] = defaultdict(int)
    for row in rows:
        if row["bucket"] is not None:
            owed[(row["currency"], row["bucket"])] += row["due_cents"] or 0
            counts[row["bucket"]] += row["n"]
        if row["rev_client"] is not None:
            group = (row["rev_client"], row["rev_name"], row["rev_kind"], row["currency"])
            billed[(*group, row["rev_key"])] += row["rev_cents"] or 0

    amounts = dict.fromkeys(AGING_BUCKETS, Decimal(0))
    for (currency, name), cents in owed.items():
        amount = from_hundredths(cents)
        converted = converter.convert(amount, currency, today, what="invoice")
        if converted is None:
            missing[currency] = missing.get(currency, Decimal(0)) + amount
        else:
            amounts[name] += converted

    revenue: dict[int, Decimal] = defaultdict(Decimal)
    names: dict[int, str] = {}
    for (client_id, client_name, kind, currency, key), cents in billed.items():
        amount = from_hundredths(cents)
        converted = converter.convert(amount, currency, as_date(key), what="invoice")
        if converted is None:
            other[currency] = other.get(currency, Decimal(0)) + amount
            continue
        sign = -1 if kind == Invoice.Kind.CREDIT_NOTE else 1
        revenue[client_id] += sign * converted
        names[client_id] = client_name
    ranked = sorted(revenue.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_CLIENTS]
    top = [TopClient(pk, names[pk], amount) for pk, amount in ranked if amount > 0]
    return amounts, counts, top


def _renewals(today: dt.date) -> list[Renewal]:
    """The next subscription renewals still to be charged. 1 query."""
    rows = (
        Subscription.objects.filter(next_renewal_on__gte=today, auto_renew=True)
        .filter(Q(cancelled_from__isnull=True) | Q(cancelled_from__gt=F("next_renewal_on")))
        .select_related("tool")
        .order_by("next_renewal_on", "pk")[:RENEWALS]
    )
    return [
        Renewal(s.pk, s.tool.name, s.plan_name, s.next_renewal_on, s.amount, s.currency)
        for s in rows
        if s.renews_on(s.next_renewal_on)
    ]


_TAKE_SUMS = ("m_n", "m_cents", "m_seconds", "m_unpriced", "w_n", "w_approved", "w_finished")
_TAKE_SUMS_ALL = (*_TAKE_SUMS, "w_cents", "e_cents")


def _take_rows(today: dt.date, reporting: str) -> list[dict[str, Any]]:
    """This month's takes and the last MODEL_WINDOW_DAYS days' takes on approved shots,
    per tool, currency and rate day (one range scan of the generated_on index; the month
    lies inside the window): m_* columns for _tool_month, w_* for _models; and, in the
    same query (UNION ALL, the other columns zero), this month's tool expenses per tool,
    currency and rate day in e_cents."""
    month, window = month_start(today), today - dt.timedelta(days=MODEL_WINDOW_DAYS - 1)
    in_month = Q(generated_on__gte=month)
    in_window = Q(generated_on__gte=window, generated_on__lte=today, shot__status=S_APPROVED)
    selected = in_window & Q(is_selected=True)
    zero = Value(0, output_field=BigIntegerField())
    takes = (
        Take.objects.filter(
            generated_on__gte=min(month, window), generated_on__lt=next_month(month)
        )
        .annotate(key=day_key("generated_on", reporting))
        .order_by()
        .values("tool_id", "tool__name", "currency", "key")
        .annotate(
            m_n=Count("pk", filter=in_month),
            m_cents=hundredths("cost", in_month),
            m_seconds=hundredths("generated_seconds", in_month),
            m_unpriced=Count("pk", filter=in_month & Q(cost__isnull=True)),
            w_n=Count("pk", filter=in_window),
            w_approved=Count("pk", filter=selected),
            w_finished=hundredths("generated_seconds", selected),
            w_cents=hundredths("cost", in_window),
            e_cents=zero,
        )
    )
    expenses = (
        Expense.objects.filter(
            spent_on__gte=month, spent_on__lt=next_month(month), tool__isnull=False
        )
        .annotate(key=day_key("spent_on", reporting))
        .order_by()
        .values("tool_id", "tool__name", "currency", "key")
        .annotate(
            **dict.fromkeys(_TAKE_SUMS, zero),
            w_cents=zero,
            e_cents=hundredths("amount"),
        )
    )
    return list(takes.union(expenses, all=True))


def _tool_month(
    month: dt.date, converter: Converter, missing: dict[str, Decimal], takes: list[dict]
) -> list[ToolMonth]:
    """This month's takes (seconds, generation cost) and tool expenses per tool, from
    _take_rows (no query of its own)."""
    tools: dict[int, ToolMonth] = {}

    def add(tool_id: int, name: str, attr: str, cents: int | None, currency: str, key: str):
        row = tools.setdefault(tool_id, ToolMonth(name=name, tool_id=tool_id))
        amount = from_hundredths(cents)
        if not amount:
            return
        converted = converter.convert(amount, currency, as_date(key), what="take")
        if converted is None:
            missing[currency] = missing.get(currency, Decimal(0)) + amount
        else:
            setattr(row, attr, getattr(row, attr) + converted)

    for row in takes:
        if not row["m_n"]:
            continue
        tool = tools.setdefault(row["tool_id"], ToolMonth(row["tool__name"], row["tool_id"]))
        tool.seconds += from_hundredths(row["m_seconds"])
        tool.takes += row["m_n"]
        tool.unpriced += row["m_unpriced"]
        add(
            row["tool_id"],
            row["tool__name"],
            "generation",
            row["m_cents"],
            row["currency"],
            row["key"],
        )
    for row in takes:
        if row["e_cents"]:
            add(
                row["tool_id"],
                row["tool__name"],
                "expenses",
                row["e_cents"],
                row["currency"],
                row["key"],
            )
    return sorted(tools.values(), key=lambda t: (-t.spend, -t.seconds, t.name))


def _models(converter: Converter, missing: dict[str, Decimal], takes: list[dict]) -> list:
    """Per model, over the takes of the last MODEL_WINDOW_DAYS days on shots now
    approved (from _take_rows): takes made, shots finished with it (its take is the
    selected one), the finished (selected) seconds and the cost of all those takes."""
    out: dict[int, ModelEfficiency] = {}
    for row in takes:
        if not row["w_n"]:
            continue
        model = out.setdefault(row["tool_id"], ModelEfficiency(row["tool__name"], row["tool_id"]))
        model.takes += row["w_n"]
        model.approved += row["w_approved"]
        model.finished_seconds += from_hundredths(row["w_finished"])
        amount = from_hundredths(row["w_cents"])
        if amount:
            converted = converter.convert(amount, row["currency"], as_date(row["key"]), what="take")
            if converted is None:
                missing[row["currency"]] = missing.get(row["currency"], Decimal(0)) + amount
            else:
                model.cost += converted
    return sorted(out.values(), key=lambda m: (-m.approved, m.name))


def _orders(now: dt.datetime, today: dt.date, converter: Converter, missing: dict) -> tuple:
    """One query over orders, per currency: the delivery figures of the orders
    delivered in the last 90 days (on-time rate, average turnaround from acceptance to
    delivery) and the number and total price of the orders accepted in the last 12
    months (not cancelled; converted at today's rate)."""
    span = ExpressionWrapper(F("delivered_at") - F("accepted_at"), output_field=DurationField())
    delivered = Q(delivered_at__gt=now - DELIVERY_WINDOW, delivered_at__lte=now)
    valued = Q(accepted_at__gt=now - VALUE_WINDOW) & ~Q(status=S.CANCELLED)
    rows = (
        Order.objects.filter(delivered | Q(accepted_at__gt=now - VALUE_WINDOW))
        .order_by()
        .values("currency")
        .annotate(
            delivered=Count("pk", filter=delivered),
            with_due=Count("pk", filter=delivered & Q(due_at__isnull=False)),
            on_time=Count("pk", filter=delivered & Q(delivered_at__lte=F("due_at"))),
            spans=Count("pk", filter=delivered & Q(accepted_at__isnull=False)),
            span_total=Sum(span, filter=delivered & Q(accepted_at__isnull=False)),
            cents=hundredths("price", valued),
            n=Count("pk", filter=valued),
        )
    )
    delivery: dict[str, Any] = {"delivered": 0, "with_due": 0, "on_time": 0}
    spans, span_total = 0, dt.timedelta(0)
    count, total = 0, Decimal(0)
    for row in rows:
        for name in delivery:
            delivery[name] += row[name]
        if row["spans"]:
            spans += row["spans"]
            span_total += _as_duration(row["span_total"])
        if not row["n"]:
            continue
        amount = from_hundredths(row["cents"])
        converted = converter.convert(amount, row["currency"], today, what="price")
        if converted is None:
            missing[row["currency"]] = missing.get(row["currency"], Decimal(0)) + amount
        else:
            count += row["n"]
            total += converted
    delivery["turnaround"] = span_total / spans if spans else None
    return delivery, count, total


def _as_duration(value: Any) -> dt.timedelta:
    """A SUM of intervals: a timedelta on PostgreSQL, microseconds on SQLite."""
    if isinstance(value, dt.timedelta):
        return value
    return dt.timedelta(microseconds=int(value or 0))


def _report(
    today: dt.date, converter: Converter, profile: StudioProfile
) -> tuple[MonthlyReport | None, stored_margins.Freshness]:
    """The last REPORT_MONTHS months of the monthly report, as the report page gets
    them: from the stored month rows of billing.services.margins (2 queries: their
    freshness and the rows). Before their first recompute (or while they are still in
    a reporting currency the studio has just left), computed here like the live report
    for a small studio (5 queries, with the snapshot's rates), None for a large one."""
    fresh = stored_margins.freshness(profile)
    if fresh.computed and fresh.currency == converter.currency:
        report = stored_margins.stored_report(
            end=today, months=REPORT_MONTHS, currency=fresh.currency
        )
        return report, fresh
    if not (fresh.computed or fresh.live):
        return None, fresh
    own = Converter(converter.rates)  # the same rates, its own notes of what is missing
    firsts = months_back(today, REPORT_MONTHS)
    figures = report_months(
        start=firsts[0], stop=next_month(firsts[-1]), converter=own, zone=profile.zone
    )
    report = MonthlyReport(
        currency=own.currency, months=list(figures.values()), missing=merge_missing(own)
    )
    return report, fresh


def compute_snapshot(*, now: dt.datetime, profile: StudioProfile) -> Snapshot:
    """The money and business figures (see the module docstring). Read-only; 8 queries
    whatever the data size once the margin rows are stored (13 before their first
    recompute in a small studio, 8 in a large one)."""
    converter, profile = load_converter(profile)
    today = now.astimezone(profile.zone).date()
    missing: dict[str, Decimal] = {}
    other: dict[str, Decimal] = {}
    aging, aging_counts, top = _invoices(today, converter, missing, other)
    renewals = _renewals(today)
    takes = _take_rows(today, converter.currency)
    tools = _tool_month(month_start(today), converter, other, takes)
    models = _models(converter, other, takes)
    report, report_freshness = _report(today, converter, profile)
    delivery, order_count, order_total = _orders(now, today, converter, other)
    unconverted = {
        *missing,
        *other,
        *(note.currency for note in (report.missing if report else [])),
    }
    turnaround = delivery["turnaround"]
    return Snapshot(
        currency=converter.currency,
        today=today,
        computed_at=now,
        aging=aging,
        aging_counts=aging_counts,
        renewals=renewals,
        tools=tools,
        models=models,
        report=report,
        report_freshness=report_freshness,
        delivered=delivery["delivered"],
        on_time=delivery["on_time"],
        with_due=delivery["with_due"],
        turnaround_days=(
            (Decimal(turnaround.total_seconds()) / 86400).quantize(Decimal("0.1"))
            if turnaround is not None
            else None
        ),
        order_count=order_count,
        order_value_total=order_total,
        top_clients=top,
        missing=missing,
        unconverted=sorted(unconverted),
    )


def _version() -> int:
    try:
        return int(cache.get(VERSION_KEY) or 0)
    except Exception:  # the cache fails open: compute instead
        log.warning("dashboard cache unavailable", exc_info=True)
        return -1


def business_snapshot(*, now: dt.datetime, profile: StudioProfile) -> Snapshot:
    """The cached snapshot, computed when missing or out of date."""
    version = _version()
    today = now.astimezone(profile.zone).date()
    key = f"dashboard:business:{version}:{today.isoformat()}:{profile.reporting_currency}"
    if version >= 0:
        try:
            found = cache.get(key)
        except Exception:
            found = None
        if isinstance(found, Snapshot):
            return found
    snapshot = compute_snapshot(now=now, profile=profile)
    if version >= 0:
        # Stored margin rows that are behind (recomputing) or not there yet are caught
        # up by the worker within seconds, without a signal that would invalidate this.
        report = snapshot.report_freshness
        ttl = CACHE_TTL if report.fresh or report.live else STALE_TTL
        try:
            cache.set(key, snapshot, ttl)
        except Exception:
            log.warning("dashboard snapshot not cached", exc_info=True)
    return snapshot


def invalidate(**_kwargs: Any) -> None:
    """Make the next dashboard recompute the business snapshot."""
    try:
        cache.incr(VERSION_KEY)
    except ValueError:
        cache.set(VERSION_KEY, 1, None)
    except Exception:
        log.warning("dashboard snapshot not invalidated", exc_info=True)


INVALIDATING_MODELS = (
    "billing.Invoice",
    "billing.Payment",
    "billing.Expense",
    "billing.Subscription",
    "billing.ExchangeRate",
    "orders.Order",
    "orders.Client",
    "orders.Take",
    "orders.Shot",
    "studio.StudioProfile",
)


def connect_invalidation() -> None:
    """Called from StudioConfig.ready(), so the web processes and the Celery workers
    (renewal bookings, imports) both invalidate the snapshot."""
    for model in INVALIDATING_MODELS:
        post_save.connect(invalidate, sender=model, dispatch_uid=f"dashboard-save-{model}")
        post_delete.connect(invalidate, sender=model, dispatch_uid=f"dashboard-delete-{model}")


# --- Charts (built per request, in the page's language) -------------------------------


def aging_labels() -> dict[str, str]:
    return {
        "current": _("Not yet due"),
        "1_30": _("1-30 days overdue"),
        "31_60": _("31-60 days overdue"),
        "60_plus": _("Over 60 days overdue"),
    }


def aging_chart(snapshot: Snapshot) -> Chart:
    labels = aging_labels()
    currency = snapshot.currency
    return hbar_chart(
        labels=[labels[k] for k in AGING_BUCKETS],
        series=[Series(_("Outstanding"), [snapshot.aging[k] for k in AGING_BUCKETS])],
        title=_("Receivables by age"),
        description=_(
            "Amount still owed on unpaid invoices by days past the due date, in %(currency)s."
        )
        % {"currency": currency},
        unit=currency,
        value_format=lambda v: _money(v, currency),
    )


def tool_spend_chart(snapshot: Snapshot) -> Chart | None:
    tools = [t for t in snapshot.tools if t.spend]
    if not tools:
        return None
    currency = snapshot.currency
    return hbar_chart(
        labels=[t.name for t in tools],
        series=[
            Series(_("Generation"), [t.generation for t in tools]),
            Series(_("Subscriptions and expenses"), [t.expenses for t in tools]),
        ],
        stacked=True,
        title=_("Tool spend this month"),
        description=_(
            "Generation cost of this month's takes and the tool's expenses, per tool, "
            "in %(currency)s."
        )
        % {"currency": currency},
        unit=currency,
        value_format=lambda v: _money(v, currency),
    )


def shots_chart(production: ProductionFigures) -> Chart | None:
    if not production.shots_total:
        return None
    return hbar_chart(
        labels=[label for _s, label, _n in production.shots_by_status],
        series=[Series(_("Shots"), [Decimal(n) for _s, _l, n in production.shots_by_status])],
        title=_("Shots by status in open orders"),
        unit=_("shots"),
        value_format=lambda v: f"{v:,}",
    )


def seconds_chart(snapshot: Snapshot) -> Chart | None:
    tools = [t for t in snapshot.tools if t.seconds]
    if not tools:
        return None
    return hbar_chart(
        labels=[t.name for t in tools],
        series=[Series(_("Generated seconds"), [t.seconds for t in tools])],
        title=_("Generated seconds by model this month"),
        unit=_("seconds"),
        value_format=lambda v: f"{v:,}",
    )


def revenue_chart(snapshot: Snapshot) -> Chart | None:
    report, currency = snapshot.report, snapshot.currency
    if report is None:
        return None
    return bar_line_chart(
        labels=[m.month.strftime("%Y-%m") for m in report.months],
        bars=[Series(_("Revenue invoiced (net)"), [m.invoiced for m in report.months])],
        lines=[Series(_("Gross margin"), [m.gross_margin for m in report.months])],
        title=_("Revenue and gross margin, last 12 months"),
        description=_("Bars: net revenue invoiced per month; line: gross margin, in %(currency)s.")
        % {"currency": currency},
        unit=currency,
        width=640,
        value_format=lambda v: _money(v, currency),
    )


# --- The page ------------------------------------------------------------------------


@dataclass
class DashboardPage:
    today: TodayFigures
    production: ProductionFigures
    snapshot: Snapshot | None
    charts: dict[str, Chart | None]
    links: dict[str, str]
    report_months: int = REPORT_MONTHS


def _links() -> dict[str, str]:
    orders, invoices = reverse("order-list"), reverse("invoice-list")
    return {
        "due_today": f"{orders}?due=week&sort=due",
        "due_week": f"{orders}?due=week&sort=due",
        "late": f"{orders}?due=late&sort=due",
        "revisions": f"{orders}?status={S.REVISION}",
        "quotes": f"{orders}?status={S.QUOTED}",
        "awaiting_approval": f"{orders}?status={S.DELIVERED}",
        "open": f"{orders}?status=open",
        "notifications": reverse("notification-list"),
        "calendar": reverse("calendar"),
        "receivables": f"{invoices}?status=open",
        "overdue": f"{invoices}?status=overdue",
        "invoiced_this": f"{invoices}?period=this_month",
        "invoiced_last": f"{invoices}?period=last_month",
        "report": reverse("monthly-report"),
        "subscriptions": reverse("subscription-list"),
        "expenses": reverse("expense-list"),
        "margins": reverse("margin-list"),
        "rates": reverse("exchange-rate-list"),
        "my_shots": reverse("my-shots"),
        "board": reverse("order-board"),
        "delivered": f"{orders}?status={S.DELIVERED}",
        "orders_by_price": f"{orders}?sort=-price",
    }


def dashboard_page(
    user: Any, *, profile: StudioProfile, now: dt.datetime | None = None
) -> DashboardPage:
    """Everything the dashboard shows to user: money only for who may see it."""
    now = now or timezone.now()
    zone = profile.zone
    today = now.astimezone(zone).date()
    production = production_figures(user, month=month_start(today))
    snapshot = business_snapshot(now=now, profile=profile) if roles.can_see_money(user) else None
    charts: dict[str, Chart | None] = {"shots": shots_chart(production)}
    if snapshot is not None:
        charts |= {
            "aging": aging_chart(snapshot),
            "tools": tool_spend_chart(snapshot),
            "seconds": seconds_chart(snapshot),
            "revenue": revenue_chart(snapshot),
        }
    return DashboardPage(
        today=today_figures(user, now=now, zone=zone),
        production=production,
        snapshot=snapshot,
        charts=charts,
        links=_links(),
    )
