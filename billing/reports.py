"""The monthly report: per month, in the reporting currency, what was invoiced (net of
tax, less credit notes), what was received, what generation, subscriptions and other
expenses cost, the gross margin, and how many orders were delivered and on time.

Pure reads with a fixed number of queries whatever the number of months or rows: each
figure is one GROUP BY in the database (per day and currency for amounts that need a
rate, per month otherwise), converted here with billing.fx. What could not be converted
is listed in `missing` and left out, never guessed.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, DateField, F, Q
from django.db.models.functions import TruncMonth
from django.utils.translation import gettext as _

from billing.margin import (
    Converter,
    MissingRateNote,
    as_date,
    day_key,
    from_hundredths,
    hundredths,
    load_converter,
    month_start,
    months_back,
    next_month,
)
from billing.models import Expense, Invoice, Payment
from orders.models import Order, Take
from studio.models import StudioProfile

MAX_MONTHS = 36


@dataclass
class MonthFigures:
    month: dt.date
    invoiced: Decimal = Decimal(0)  # net invoices issued less credit notes issued
    received: Decimal = Decimal(0)  # payments received
    generation: Decimal = Decimal(0)
    subscriptions: Decimal = Decimal(0)
    other_expenses: Decimal = Decimal(0)
    delivered: int = 0
    on_time: int = 0
    with_due: int = 0  # delivered orders that had a due date
    unpriced_takes: int = 0
    missing: int = 0  # amounts of this month left out for want of a rate

    @property
    def costs(self) -> Decimal:
        return self.generation + self.subscriptions + self.other_expenses

    @property
    def gross_margin(self) -> Decimal:
        return self.invoiced - self.costs

    @property
    def on_time_rate(self) -> Decimal | None:
        """Percent of the delivered orders (with a due date) delivered by it."""
        if not self.with_due:
            return None
        return (Decimal(self.on_time) * 100 / self.with_due).quantize(Decimal("0.1"))


@dataclass
class MonthlyReport:
    currency: str
    months: list[MonthFigures]
    missing: list[MissingRateNote] = field(default_factory=list)

    @property
    def start(self) -> dt.date:
        return self.months[0].month

    @property
    def end(self) -> dt.date:
        return self.months[-1].month

    def total(self, name: str) -> Decimal:
        return sum((getattr(m, name) for m in self.months), Decimal(0))

    @property
    def totals(self) -> MonthFigures:
        out = MonthFigures(month=self.start)
        for m in self.months:
            for name in (
                "invoiced",
                "received",
                "generation",
                "subscriptions",
                "other_expenses",
            ):
                setattr(out, name, getattr(out, name) + getattr(m, name))
            for name in ("delivered", "on_time", "with_due", "unpriced_takes", "missing"):
                setattr(out, name, getattr(out, name) + getattr(m, name))
        return out


def parse_month(text: str | None) -> dt.date | None:
    """'2026-12' -> 2026-12-01; None for anything else."""
    if not text:
        return None
    try:
        year, month = text.strip().split("-")
        if len(year) != 4 or len(month) not in (1, 2):
            return None
        return dt.date(int(year), int(month), 1)
    except ValueError:
        return None


def monthly_report(
    *, end: dt.date, months: int = 12, profile: StudioProfile | None = None
) -> MonthlyReport:
    """The `months` months ending with end's month. Read-only; 7 queries (6 with the
    request's profile)."""
    if not 1 <= months <= MAX_MONTHS:
        raise ValueError(f"months must be between 1 and {MAX_MONTHS}")
    converter, profile = load_converter(profile)
    firsts = months_back(end, months)
    figures = report_months(
        start=firsts[0], stop=next_month(firsts[-1]), converter=converter, zone=profile.zone
    )
    return MonthlyReport(
        currency=converter.currency, months=list(figures.values()), missing=merge_missing(converter)
    )


def report_months(
    *, start: dt.date, stop: dt.date, converter: Converter, zone: dt.tzinfo
) -> dict[dt.date, MonthFigures]:
    """The figures of every month from start to stop (first days, stop excluded), in
    the converter's currency; what it cannot convert stays in converter.missing. Five
    queries, whatever the number of months (billing.services.margins stores them all)."""
    reporting = converter.currency
    figures: dict[dt.date, MonthFigures] = {}
    month = start
    while month < stop:
        figures[month] = MonthFigures(month=month)
        month = next_month(month)

    def add(what: str, attr: str, day: dt.date, cents: int | None, currency: str, sign: int = 1):
        converted = converter.convert(from_hundredths(cents), currency, day, what=what)
        row = figures[month_start(day)]
        if converted is None:
            row.missing += 1
        else:
            setattr(row, attr, getattr(row, attr) + sign * converted)

    for row in (
        Invoice.objects.issued()
        .filter(issue_date__gte=start, issue_date__lt=stop)
        .annotate(key=day_key("issue_date", reporting))
        .order_by()
        .values("kind", "key", "currency")
        .annotate(cents=hundredths("subtotal"))
    ):
        credit = row["kind"] == Invoice.Kind.CREDIT_NOTE
        what = "credit_note" if credit else "invoice"
        add(
            what,
            "invoiced",
            as_date(row["key"]),
            row["cents"],
            row["currency"],
            -1 if credit else 1,
        )

    for row in (
        Payment.objects.filter(paid_on__gte=start, paid_on__lt=stop)
        .exclude(invoice__status=Invoice.Status.VOID)
        .annotate(key=day_key("paid_on", reporting))
        .order_by()
        .values("key", "currency")
        .annotate(cents=hundredths("amount"))
    ):
        add("payment", "received", as_date(row["key"]), row["cents"], row["currency"])

    for row in (
        Take.objects.filter(generated_on__gte=start, generated_on__lt=stop)
        .annotate(key=day_key("generated_on", reporting))
        .order_by()
        .values("key", "currency")
        .annotate(
            cents=hundredths("cost"),
            n=Count("pk"),
            unpriced=Count("pk", filter=Q(cost__isnull=True)),
        )
    ):
        day = as_date(row["key"])
        figures[month_start(day)].unpriced_takes += row["unpriced"]
        if row["n"] > row["unpriced"]:
            add("take", "generation", day, row["cents"], row["currency"])

    subscription = Q(category=Expense.Category.SUBSCRIPTION) | Q(subscription__isnull=False)
    for row in (
        Expense.objects.filter(spent_on__gte=start, spent_on__lt=stop)
        .annotate(key=day_key("spent_on", reporting))
        .order_by()
        .values("key", "currency")
        .annotate(
            cents=hundredths("amount"),
            subscription_cents=hundredths("amount", subscription),
        )
    ):
        day = as_date(row["key"])
        subs = row["subscription_cents"] or 0
        if subs:
            add("expense", "subscriptions", day, subs, row["currency"])
        if (row["cents"] or 0) - subs:
            add("expense", "other_expenses", day, (row["cents"] or 0) - subs, row["currency"])

    start_dt = dt.datetime.combine(start, dt.time(), tzinfo=zone)
    stop_dt = dt.datetime.combine(stop, dt.time(), tzinfo=zone)
    for row in (
        Order.objects.filter(delivered_at__gte=start_dt, delivered_at__lt=stop_dt)
        .annotate(month=TruncMonth("delivered_at", tzinfo=zone, output_field=DateField()))
        .order_by()
        .values("month")
        .annotate(
            n=Count("pk"),
            with_due=Count("pk", filter=Q(due_at__isnull=False)),
            on_time=Count("pk", filter=Q(delivered_at__lte=F("due_at"))),
        )
    ):
        month = month_start(as_date(row["month"]))
        if month in figures:
            figures[month].delivered += row["n"]
            figures[month].with_due += row["with_due"]
            figures[month].on_time += row["on_time"]
    return figures


def merge_missing(converter: Converter) -> list[MissingRateNote]:
    """Missing amounts per (what, currency, day), largest first."""
    merged: dict[tuple[str, str, dt.date], Decimal] = defaultdict(Decimal)
    for note in converter.missing:
        if note.amount:
            merged[(note.what, note.currency, note.day)] += note.amount
    return [
        MissingRateNote(what, currency, day, amount)
        for (what, currency, day), amount in sorted(merged.items(), key=lambda kv: kv[0][2])
    ]


# --- CSV --------------------------------------------------------------------------------

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """A CSV cell a spreadsheet will not run as a formula (numbers stay numbers)."""
    text = "" if value is None else str(value)
    if isinstance(value, Decimal | int):
        return text
    return "'" + text if text.startswith(FORMULA_START) else text


def report_csv(report: MonthlyReport) -> str:
    """UTF-8 text with a BOM (so that Excel reads Chinese), one row per month."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    header = [
        _("Month"),
        _("Currency"),
        _("Invoiced (net)"),
        _("Cash received"),
        _("Generation cost"),
        _("Subscriptions"),
        _("Other expenses"),
        _("Gross margin"),
        _("Orders delivered"),
        _("On time (%)"),
        _("Amounts without a rate"),
    ]
    writer.writerow([safe_cell(h) for h in header])
    for m in report.months:
        writer.writerow(
            [
                safe_cell(m.month.strftime("%Y-%m")),
                safe_cell(report.currency),
                safe_cell(m.invoiced),
                safe_cell(m.received),
                safe_cell(m.generation),
                safe_cell(m.subscriptions),
                safe_cell(m.other_expenses),
                safe_cell(m.gross_margin),
                safe_cell(m.delivered),
                safe_cell(m.on_time_rate if m.on_time_rate is not None else ""),
                safe_cell(m.missing),
            ]
        )
    return out.getvalue()
