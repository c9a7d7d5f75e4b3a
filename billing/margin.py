"""What each order really earned: revenue less generation cost, direct expenses and its
share of the studio's overhead, all in the reporting currency (rules: docs/costs.md).

Pure reads with a fixed number of queries whatever the number of orders: the database
adds up takes, expenses and invoices per order and day (per month for amounts already in
the reporting currency, which need no rate), and the allocation of overhead runs here,
in Python, on those sums.

An order is *active* in a month when
  - its span — from acceptance (studio-local date) to delivery (delivered or completed:
    delivered_at, else completed_at), to cancellation (the date it was cancelled), or to
    today while it is open (on hold and revision included) — overlaps the month, or
  - it has takes generated in that month (so work before acceptance, or on an order
    never accepted, still carries overhead).
Each month's overhead (expenses without an order; subscription renewals included) is
shared over that month's active orders in proportion to their generated seconds that
month; when none of them logged a second, in proportion to their active days in the month
(days of their span inside it); when that too is zero, equally. Shares are whole minor
units (largest remainder), so a month's shares add up to its overhead exactly. A month
with no active order keeps its overhead unallocated and says so.

Conversions use billing.fx: the rate of the day or the latest before; a missing rate is
reported (what, which currency, which day) and the amount left out — never guessed.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, cast

from django.db.models import (
    Case,
    CharField,
    Count,
    DateField,
    DateTimeField,
    Exists,
    F,
    Func,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from billing.forms import period_range
from billing.fx import RateTable
from billing.models import Expense, Invoice
from orders.models import Order, Take
from studio.models import StudioProfile
from studio.money import MINOR_UNITS, Money, quantize
from studio.sql import exact_sum

HUNDREDTHS = 100
SECONDS = "seconds"
DAYS = "days"
EQUAL = "equal"


# --- Months and dates -------------------------------------------------------------------


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def next_month(day: dt.date) -> dt.date:
    return dt.date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def month_end(month: dt.date) -> dt.date:
    """The last day of the month."""
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


def months_back(end: dt.date, count: int) -> list[dt.date]:
    """count months ending with end's month, oldest first."""
    month = month_start(end)
    out = [month]
    for _ in range(count - 1):
        month = month_start(month - dt.timedelta(days=1))
        out.append(month)
    return out[::-1]


def local_date(value: dt.datetime | None, zone: dt.tzinfo) -> dt.date | None:
    return value.astimezone(zone).date() if value is not None else None


# --- Database sums --------------------------------------------------------------------


hundredths = exact_sum  # SUM(column) in whole hundredths, exact on every database


class DateText(Func):
    """A date column as text, 'YYYY-MM-DD' (or 'YYYY-MM' with length=7), computed by the
    database itself: SQLite stores dates as that text, PostgreSQL formats them. (Django's
    TruncMonth runs a Python function per row on SQLite.)"""

    output_field = CharField()

    def __init__(self, column: str, length: int = 10) -> None:
        super().__init__(F(column))
        self.length = length

    def as_sql(  # type: ignore[override]
        self, compiler: Any, connection: Any, **extra_context: Any
    ) -> tuple[str, Any]:
        sql, params = compiler.compile(self.source_expressions[0])
        if connection.vendor == "postgresql":
            pattern = "YYYY-MM" if self.length == 7 else "YYYY-MM-DD"
            return f"to_char({sql}, '{pattern}')", params
        return f"substr({sql}, 1, {self.length})", params


def day_key(column: str, reporting: str) -> Case:
    """The day an amount converts on, as text: its month ('YYYY-MM') for amounts already
    in the reporting currency (no rate needed, so they are summed per month), else its
    own date ('YYYY-MM-DD')."""
    return Case(
        When(currency=reporting, then=DateText(column, 7)),
        default=DateText(column),
        output_field=CharField(),
    )


def from_hundredths(value: int | None) -> Decimal:
    return Decimal(value or 0) / HUNDREDTHS


@functools.lru_cache(maxsize=4096)
def as_date(value: str) -> dt.date:
    """'2026-03' -> 2026-03-01, '2026-03-09' -> 2026-03-09 (keys of day_key/DateText)."""
    text = str(value)[:10]
    return dt.date.fromisoformat(text + "-01" if len(text) == 7 else text)


# --- Conversions ----------------------------------------------------------------------


@dataclass(frozen=True)
class MissingRateNote:
    """An amount that could not be converted: no rate for currency on or before day."""

    what: str  # "price", "invoice", "credit_note", "take", "expense", "overhead", "payment"
    currency: str
    day: dt.date
    amount: Decimal
    order_id: int | None = None


@dataclass
class Converter:
    """Converts to the reporting currency and remembers what it could not convert."""

    rates: RateTable
    missing: list[MissingRateNote] = field(default_factory=list)

    @property
    def currency(self) -> str:
        return self.rates.quote

    def convert(
        self,
        amount: Decimal,
        currency: str,
        day: dt.date,
        *,
        what: str,
        order_id: int | None = None,
    ) -> Decimal | None:
        if currency == self.currency:
            return quantize(amount, currency)
        converted = self.rates.try_convert(Money(amount, currency), day)
        if converted is None:
            self.missing.append(MissingRateNote(what, currency, day, amount, order_id))
            return None
        return converted.amount


def load_converter(profile: StudioProfile | None = None) -> tuple[Converter, StudioProfile]:
    """The rates to the reporting currency; pass the profile the request already has
    (request.studio_profile, set by studio.middleware) to save its query."""
    profile = profile or StudioProfile.load()
    return Converter(RateTable.load(profile.reporting_currency)), profile


# --- Allocation -----------------------------------------------------------------------


def largest_remainder(
    total: Decimal, weights: dict[int, Decimal], currency: str
) -> dict[int, Decimal]:
    """Split total over the keys in proportion to weights, in whole minor units of the
    currency, so that the shares add up to total exactly. Ties on the remainder go to
    the larger weight, then the smaller key. Weights must be >= 0 with a positive sum."""
    scale = 10 ** MINOR_UNITS[currency]
    units = int(quantize(total, currency) * scale)
    # Weights in hundredths (seconds and days have at most two decimals).
    ints = {key: int(weight * HUNDREDTHS) for key, weight in weights.items()}
    weight_sum = sum(ints.values())
    if weight_sum <= 0:
        raise ValueError("weights must have a positive sum")
    floors: dict[int, int] = {}
    remainders: list[tuple[int, int, int]] = []
    for key, weight in ints.items():
        quotient, remainder = divmod(units * weight, weight_sum)
        floors[key] = quotient
        remainders.append((-remainder, -weight, key))
    left = units - sum(floors.values())
    for _neg, _w, key in sorted(remainders)[:left]:
        floors[key] += 1
    return {key: Decimal(value) / scale for key, value in floors.items()}


# --- Results --------------------------------------------------------------------------


@dataclass(frozen=True)
class OverheadShare:
    month: dt.date
    amount: Decimal
    basis: str  # SECONDS, DAYS or EQUAL
    weight: Decimal  # the order's seconds or active days that month
    month_weight: Decimal  # all active orders' seconds or days that month
    month_overhead: Decimal


@dataclass
class MonthOverhead:
    month: dt.date
    amount: Decimal = Decimal(0)
    active_orders: int = 0
    basis: str = ""
    incomplete: bool = False  # some overhead of the month had no rate

    @property
    def unallocated(self) -> bool:
        return self.amount != 0 and self.active_orders == 0


@dataclass(frozen=True)
class InvoiceLine:
    invoice_id: int
    number: str
    kind: str
    issue_date: dt.date
    subtotal: Money
    converted: Decimal | None


@dataclass(frozen=True)
class ExpenseLine:
    expense_id: int
    spent_on: dt.date
    category: str
    vendor: str
    money: Money
    converted: Decimal | None

    @property
    def category_label(self) -> str:
        return str(Expense.Category(self.category).label)


@dataclass(frozen=True)
class ToolCost:
    tool: str
    seconds: Decimal
    amount: Decimal
    unpriced: int


@dataclass
class OrderMargin:
    order_id: int
    reference: str
    title: str
    status: str
    client_id: int
    client_name: str
    price: Money
    currency: str  # the reporting currency of every figure below
    revenue: Decimal = Decimal(0)
    revenue_source: str = "price"  # "price", "invoices" or "cancelled" (not invoiced: 0)
    revenue_day: dt.date | None = None  # the day the price converted on
    invoiced: Decimal = Decimal(0)
    credited: Decimal = Decimal(0)
    invoice_lines: list[InvoiceLine] = field(default_factory=list)
    generation: Decimal = Decimal(0)
    seconds: Decimal = Decimal(0)
    takes: int = 0
    unpriced_takes: int = 0
    tools: list[ToolCost] = field(default_factory=list)
    direct: Decimal = Decimal(0)
    expense_lines: list[ExpenseLine] = field(default_factory=list)  # when focused
    overhead: Decimal = Decimal(0)
    shares: list[OverheadShare] = field(default_factory=list)
    missing: list[MissingRateNote] = field(default_factory=list)
    span: tuple[dt.date, dt.date] | None = None  # active from acceptance to delivery
    take_months: set[dt.date] = field(default_factory=set)

    @property
    def status_label(self) -> str:
        return str(Order.Status(self.status).label)

    def active_between(self, start: dt.date, end: dt.date) -> bool:
        """Active on some day of [start, end): by its span or by takes in those months."""
        if self.span is not None and self.span[0] < end and self.span[1] >= start:
            return True
        return any(month_start(start) <= month < end for month in self.take_months)

    @property
    def margin(self) -> Decimal:
        return self.revenue - self.generation - self.direct - self.overhead

    @property
    def margin_percent(self) -> Decimal | None:
        """Margin / revenue in percent, one decimal; None when revenue is 0."""
        if not self.revenue:
            return None
        return (self.margin * 100 / self.revenue).quantize(Decimal("0.1"))

    @property
    def complete(self) -> bool:
        """Every amount converted (no missing rate)."""
        return not self.missing

    @property
    def accepted_work(self) -> bool:
        """Accepted once (it has a span) or invoiced: real work, not a quote or an
        inquiry (the margin list's default scope)."""
        return self.span is not None or self.revenue_source == "invoices"

    @property
    def total_costs(self) -> Decimal:
        return self.generation + self.direct + self.overhead


@dataclass
class MarginBook:
    currency: str
    today: dt.date
    orders: list[OrderMargin]
    months: dict[dt.date, MonthOverhead]
    missing: list[MissingRateNote]
    converter: Converter | None = None

    @property
    def unallocated_months(self) -> list[MonthOverhead]:
        return [m for m in sorted(self.months.values(), key=lambda m: m.month) if m.unallocated]

    def get(self, order_id: int) -> OrderMargin | None:
        return next((o for o in self.orders if o.order_id == order_id), None)


# --- The engine -----------------------------------------------------------------------

ORDER_FIELDS = (
    "id",
    "reference",
    "title",
    "status",
    "client_id",
    "client__name",
    "price",
    "currency",
    "accepted_at",
    "ended_at",
    "priced_at",
)
SPAN_FIELDS = ("id", "status", "accepted_at", "ended_at")


def with_span_ends(orders: QuerySet[Order]) -> QuerySet[Order]:
    """Annotate ended_at (when the span ends: delivery, completion or cancellation; null
    while open) and priced_at (the day the price converts on: acceptance, else creation)."""
    S = Order.Status
    return orders.annotate(
        ended_at=Case(
            When(
                status__in=[S.DELIVERED, S.COMPLETED],
                then=Coalesce("delivered_at", "completed_at", "status_changed_at"),
            ),
            When(status=S.CANCELLED, then=F("status_changed_at")),
            default=None,
            output_field=DateTimeField(),
        ),
        priced_at=Coalesce("accepted_at", "created_at"),
    )


def order_span(
    row: dict[str, Any], *, today: dt.date, zone: dt.tzinfo
) -> tuple[dt.date, dt.date] | None:
    """The inclusive studio-local span an order is active over (from acceptance to
    ended_at, else today), None if never accepted. row: values() of with_span_ends."""
    start = local_date(row["accepted_at"], zone)
    if start is None:
        return None
    end = local_date(row["ended_at"], zone) or today
    return start, max(start, end)


def _take_order() -> str:
    return "shot__episode__order_id"


def _new_margin(row: dict[str, Any], reporting: str) -> OrderMargin:
    return OrderMargin(
        order_id=row["id"],
        reference=row["reference"],
        title=row["title"],
        status=row["status"],
        client_id=row["client_id"],
        client_name=row["client__name"],
        price=Money(Decimal(row["price"]), row["currency"]),
        currency=reporting,
    )


def _book_takes(
    take_rows: list[dict[str, Any]],
    results: dict[int, OrderMargin],
    converter: Converter,
    *,
    by_tool: bool,
) -> tuple[
    dict[dt.date, dict[int, Decimal]], dict[int, set[dt.date]], dict[int, dict[str, list[Any]]]
]:
    """Generation cost, seconds and takes of the result orders from the take sums; and
    every order's seconds and take months (the overhead weights)."""
    seconds: dict[dt.date, dict[int, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    take_months: dict[int, set[dt.date]] = defaultdict(set)
    tools: dict[int, dict[str, list[Any]]] = defaultdict(dict)
    for row in take_rows:
        order_id, day = row[_take_order()], as_date(row["key"])
        result = results.get(order_id)
        month = month_start(day)
        secs = from_hundredths(row["seconds"])
        seconds[month][order_id] += secs
        take_months[order_id].add(month)
        if result is None:
            continue
        result.takes += row["n"]
        result.unpriced_takes += row["unpriced"]
        result.seconds += secs
        amount = Decimal(0)
        if row["n"] > row["unpriced"]:
            converted = converter.convert(
                from_hundredths(row["cents"]), row["cur"], day, what="take", order_id=order_id
            )
            amount = converted or Decimal(0)
            result.generation += amount
        if by_tool:
            entry = tools[order_id].setdefault(row["tool_label"], [Decimal(0), Decimal(0), 0])
            entry[0] += secs
            entry[1] += amount
            entry[2] += row["unpriced"]
    return seconds, take_months, tools


def _expense_lines(expense_filter: Q) -> list[dict[str, Any]]:
    return cast(
        "list[dict[str, Any]]",
        list(
            Expense.objects.filter(expense_filter)
            .order_by("spent_on", "pk")
            .values("id", "order_id", "spent_on", "currency", "amount", "category", "vendor")
        ),
    )


def _book_expense_lines(
    lines: list[dict[str, Any]],
    results: dict[int, OrderMargin],
    converter: Converter,
    book: Any,
) -> None:
    """Convert expenses one by one: direct ones become the orders' expense lines."""
    for line in lines:
        order_id, day = line["order_id"], line["spent_on"]
        money = Money(Decimal(line["amount"]), line["currency"]).rounded()
        what = "expense" if order_id else "overhead"
        converted = converter.convert(
            money.amount, money.currency, day, what=what, order_id=order_id
        )
        book(order_id, day, converted)
        if order_id in results:
            results[order_id].expense_lines.append(
                ExpenseLine(line["id"], day, line["category"], line["vendor"], money, converted)
            )


def _tool_costs(per_tool: dict[str, list[Any]]) -> list[ToolCost]:
    return [
        ToolCost(tool=name, seconds=v[0], amount=v[1], unpriced=v[2])
        for name, v in sorted(per_tool.items(), key=lambda item: (-item[1][1], item[0]))
    ]


def _expense_booker(
    months: dict[dt.date, MonthOverhead], results: dict[int, OrderMargin]
) -> Callable[[int | None, dt.date, Decimal | None], None]:
    """book(order_id, day, converted): an expense (converted to the reporting currency,
    None when its rate is missing) as overhead of its month, or as a direct cost of its
    order when that order is one of `results`."""

    def book(order_id: int | None, day: dt.date, converted: Decimal | None) -> None:
        if order_id is None:
            bucket = months.setdefault(month_start(day), MonthOverhead(month_start(day)))
            if converted is None:
                bucket.incomplete = True
            else:
                bucket.amount += converted
        elif order_id in results and converted is not None:
            results[order_id].direct += converted

    return book


def compute_margins(
    *,
    orders: QuerySet[Order] | None = None,
    today: dt.date | None = None,
    by_tool: bool = False,
    profile: StudioProfile | None = None,
) -> MarginBook:
    """The margin of each order of `orders` (all orders when None). Read-only; a fixed
    number of queries whatever the number of orders: 6 for all orders, 7 for some (8
    when their takes fall in months with overhead outside their spans); one fewer with
    the request's profile."""
    converter, profile = load_converter(profile)
    reporting, zone = converter.currency, profile.zone
    today = today or timezone.now().astimezone(zone).date()
    all_orders = orders is None
    focus_qs = Order.objects.all() if orders is None else orders
    focus_rows = list(with_span_ends(focus_qs).order_by().values(*ORDER_FIELDS))
    focus_ids = [row["id"] for row in focus_rows]
    results = {row["id"]: _new_margin(row, reporting) for row in focus_rows}

    # Spans of the focus orders, and the months they cover.
    focus_spans = {row["id"]: order_span(row, today=today, zone=zone) for row in focus_rows}
    spanned = [span for span in focus_spans.values() if span is not None]
    span_window: tuple[dt.date, dt.date] | None = None
    if not all_orders and spanned:
        span_window = (
            month_start(min(s[0] for s in spanned)),
            next_month(max(s[1] for s in spanned)),
        )

    # Takes per order, day (month in the reporting currency) and currency: the focus
    # orders' for their cost, and every other order's in the months the focus spans
    # cover, whose seconds weigh in the overhead shares.
    take_filter = Q()
    if not all_orders:
        take_filter = Q(**{f"{_take_order()}__in": focus_ids})
        if span_window is not None:
            take_filter |= Q(generated_on__gte=span_window[0], generated_on__lt=span_window[1])
    # Other orders' takes only weigh by seconds: one row per order and month for them.
    focus = Q() if all_orders else Q(**{f"{_take_order()}__in": focus_ids})
    key: Any = day_key("generated_on", reporting)
    currency: Any = F("currency")
    tool: Any = F("tool__name")
    if not all_orders:
        key = Case(When(focus, then=key), default=DateText("generated_on", 7))
        currency = Case(When(focus, then=currency), default=Value(""))
        tool = Case(When(focus, then=tool), default=Value(""))
    annotations = {"key": key, "cur": currency} | ({"tool_label": tool} if by_tool else {})
    take_rows = list(
        Take.objects.filter(take_filter)
        .annotate(**annotations)
        .order_by()
        .values(_take_order(), *annotations)
        .annotate(
            n=Count("pk"),
            seconds=hundredths("generated_seconds"),
            cents=hundredths("cost"),
            unpriced=Count("pk", filter=Q(cost__isnull=True)),
        )
    )
    seconds, take_months, tools = _book_takes(take_rows, results, converter, by_tool=by_tool)

    # The months whose overhead the focus orders may share: their spans and take months.
    window: tuple[dt.date, dt.date] | None = None
    if not all_orders:
        focus_months = [m for oid in focus_ids for m in take_months.get(oid, ())]
        firsts = [s[0] for s in spanned] + focus_months
        lasts = [s[1] for s in spanned] + [month_end(m) for m in focus_months]
        if firsts:
            window = (month_start(min(firsts)), next_month(max(lasts)))

    # Expenses: direct ones of the focus orders; overhead of the window (all of it when
    # every order is in focus, summed per day; one by one otherwise, for the lines).
    months: dict[dt.date, MonthOverhead] = {}

    book = _expense_booker(months, results)

    if all_orders:
        for row in (
            Expense.objects.annotate(key=day_key("spent_on", reporting))
            .order_by()
            .values("order_id", "key", "currency")
            .annotate(cents=hundredths("amount"))
        ):
            day, order_id = as_date(row["key"]), row["order_id"]
            amount = from_hundredths(row["cents"])
            what = "expense" if order_id else "overhead"
            book(
                order_id,
                day,
                converter.convert(amount, row["currency"], day, what=what, order_id=order_id),
            )
    elif focus_ids:
        expense_filter = Q(order_id__in=focus_ids)
        if window is not None:
            expense_filter |= Q(order__isnull=True, spent_on__gte=window[0], spent_on__lt=window[1])
        _book_expense_lines(_expense_lines(expense_filter), results, converter, book)

    # Every order's span over the overhead months; and, for overhead months outside the
    # focus spans (takes before acceptance, rare), the other orders' takes of those months.
    if months:
        first_month, last_month = min(months), next_month(max(months))
        uncovered = [
            m
            for m in months
            if not all_orders and (span_window is None or not span_window[0] <= m < span_window[1])
        ]
        if uncovered:
            for row in (
                Take.objects.filter(
                    generated_on__gte=min(uncovered), generated_on__lt=next_month(max(uncovered))
                )
                .exclude(**{f"{_take_order()}__in": focus_ids})
                .annotate(month=DateText("generated_on", 7))
                .order_by()
                .values(_take_order(), "month")
                .annotate(seconds=hundredths("generated_seconds"))
            ):
                month = as_date(row["month"])
                if span_window is not None and span_window[0] <= month < span_window[1]:
                    continue  # already counted by the first query
                seconds[month][row[_take_order()]] += from_hundredths(row["seconds"])
                take_months[row[_take_order()]].add(month)
        # Orders whose span may touch the overhead months (accepted before they end,
        # not ended before they start).
        after = dt.datetime.combine(last_month, dt.time(), tzinfo=zone)
        before = dt.datetime.combine(first_month, dt.time(), tzinfo=zone)
        context = (
            focus_rows
            if all_orders
            else with_span_ends(Order.objects.filter(accepted_at__lt=after))
            .filter(Q(ended_at__isnull=True) | Q(ended_at__gte=before))
            .order_by()
            .values(*SPAN_FIELDS)
        )
        spans = dict(focus_spans)
        for row in context:
            if row["id"] not in spans:
                spans[row["id"]] = order_span(row, today=today, zone=zone)
        _allocate(months, spans, seconds, results, reporting)

    invoice_filter = Q(order__isnull=False) if all_orders else Q(order_id__in=focus_ids)
    docs = _issued_invoices(invoice_filter) if all_orders or focus_ids else []
    _revenue(results, focus_rows, docs, converter, zone)
    for order_id, per_tool in tools.items():
        results[order_id].tools = _tool_costs(per_tool)
    for order_id, result in results.items():
        result.span = focus_spans[order_id]
        result.take_months = take_months.get(order_id, set())
    for note in converter.missing:
        if note.order_id in results:
            results[note.order_id].missing.append(note)
    return MarginBook(
        currency=reporting,
        today=today,
        orders=list(results.values()),
        months=months,
        missing=list(converter.missing),
        converter=converter,
    )


def _allocate(
    months: dict[dt.date, MonthOverhead],
    spans: dict[int, tuple[dt.date, dt.date] | None],
    seconds: dict[dt.date, dict[int, Decimal]],
    results: dict[int, OrderMargin],
    currency: str,
) -> None:
    """Share each month's overhead over its active orders (see the module docstring)."""
    # Active days per month, visiting only the months each span covers.
    active_days: dict[dt.date, dict[int, int]] = {month: {} for month in months}
    first, last_month = min(months), max(months)
    for order_id, span in spans.items():
        if span is None or span[1] < first or span[0] > month_end(last_month):
            continue
        start, end = span
        month = max(month_start(start), first)
        while month <= last_month and month <= end:
            bucket = active_days.get(month)
            if bucket is not None:
                last = month_end(month)
                bucket[order_id] = (min(end, last) - max(start, month)).days + 1
            month = next_month(month)
    for month, overhead in sorted(months.items()):
        days = {o: Decimal(n) for o, n in active_days[month].items()}
        active = set(days) | set(seconds.get(month, {}))
        overhead.active_orders = len(active)
        if not active or not overhead.amount:
            continue
        month_seconds = {o: seconds.get(month, {}).get(o, Decimal(0)) for o in active}
        month_days = {o: days.get(o, Decimal(0)) for o in active}
        if sum(month_seconds.values()) > 0:
            basis, weights = SECONDS, month_seconds
        elif sum(month_days.values()) > 0:
            basis, weights = DAYS, month_days
        else:
            basis, weights = EQUAL, dict.fromkeys(active, Decimal(1))
        overhead.basis = basis
        total_weight = sum(weights.values(), Decimal(0))
        shares = largest_remainder(overhead.amount, weights, currency)
        for order_id, amount in shares.items():
            result = results.get(order_id)
            if result is None:
                continue
            result.overhead += amount
            result.shares.append(
                OverheadShare(
                    month=month,
                    amount=amount,
                    basis=basis,
                    weight=weights[order_id],
                    month_weight=total_weight,
                    month_overhead=overhead.amount,
                )
            )


def _issued_invoices(invoice_filter: Q) -> list[dict[str, Any]]:
    rows = (
        Invoice.objects.issued()
        .filter(invoice_filter)
        .order_by("issue_date", "pk")
        .values("id", "order_id", "number", "kind", "issue_date", "currency", "subtotal")
    )
    return cast("list[dict[str, Any]]", list(rows))


def _revenue(
    results: dict[int, OrderMargin],
    focus_rows: list[dict[str, Any]],
    docs: list[dict[str, Any]],
    converter: Converter,
    zone: dt.tzinfo,
) -> None:
    """Net invoiced amount once an order has issued invoices, else its price."""
    invoiced: set[int] = set()
    for doc in docs:
        result = results.get(doc["order_id"])
        if result is None:
            continue
        credit = doc["kind"] == Invoice.Kind.CREDIT_NOTE
        subtotal = Money(Decimal(doc["subtotal"]), doc["currency"]).rounded()
        day = doc["issue_date"]
        if day is None:  # issued documents always have one
            continue
        converted = converter.convert(
            subtotal.amount,
            doc["currency"],
            day,
            what="credit_note" if credit else "invoice",
            order_id=result.order_id,
        )
        result.invoice_lines.append(
            InvoiceLine(doc["id"], doc["number"], doc["kind"], day, subtotal, converted)
        )
        if not credit:
            invoiced.add(result.order_id)
        if converted is None:
            continue
        if credit:
            result.credited += converted
        else:
            result.invoiced += converted
    for row in focus_rows:
        result = results[row["id"]]
        if row["id"] in invoiced:
            result.revenue_source = "invoices"
            result.revenue = result.invoiced - result.credited
            continue
        result.invoice_lines = []
        if row["status"] == Order.Status.CANCELLED:
            # Cancelled before any invoice: the price was never earned.
            result.revenue_source = "cancelled"
            continue
        day = local_date(row["priced_at"], zone)
        assert day is not None
        result.revenue_day = day
        converted = converter.convert(
            Decimal(row["price"]), row["currency"], day, what="price", order_id=row["id"]
        )
        result.revenue = converted or Decimal(0)


# --- One order, without the studio ---------------------------------------------------------


def load_rates(quote: str, needs: dict[str, tuple[dt.date, dt.date]]) -> RateTable:
    """Only the rates some conversions need: for each currency, those from the one in
    force on its first day (the latest on or before it) up to its last day. One query
    (none when every amount is in the quote currency)."""
    from billing.models import ExchangeRate

    table = RateTable(quote=quote)
    wanted = {c: span for c, span in needs.items() if c != quote}
    if not wanted:
        return table
    condition = Q()
    for currency, (first, last) in wanted.items():
        in_force = (
            ExchangeRate.objects.filter(quote_currency=quote, currency=currency, on__lte=first)
            .order_by("-on")
            .values("on")[:1]
        )
        condition |= Q(
            currency=currency,
            on__lte=last,
            on__gte=Coalesce(Subquery(in_force), Value(first, output_field=DateField())),
        )
    for currency, on, rate in (
        ExchangeRate.objects.filter(condition, quote_currency=quote)
        .order_by("currency", "on")
        .values_list("currency", "on", "rate")
    ):
        table._days.setdefault(currency, []).append(on)
        table._rates.setdefault(currency, []).append(Decimal(rate))
    return table


def _order_row(order: Order) -> dict[str, Any]:
    """The order as values(*ORDER_FIELDS) of with_span_ends, from the instance the page
    has already read (no query)."""
    S = Order.Status
    ended_at: dt.datetime | None = None
    if order.status in (S.DELIVERED, S.COMPLETED):
        ended_at = order.delivered_at or order.completed_at or order.status_changed_at
    elif order.status == S.CANCELLED:
        ended_at = order.status_changed_at
    return {
        "id": order.pk,
        "reference": order.reference,
        "title": order.title,
        "status": order.status,
        "client_id": order.client_id,
        "client__name": order.client.name,
        "price": order.price,
        "currency": order.currency,
        "accepted_at": order.accepted_at,
        "ended_at": ended_at,
        "priced_at": order.accepted_at or order.created_at,
    }


def _order_take_rows(order: Order, reporting: str) -> list[dict[str, Any]]:
    """The order's take sums as compute_margins groups them (per day key, currency and
    tool name), from the per-day sums the order page shares with its production summary
    (orders.production_selectors.order_take_sums): whole hundredths add up exactly."""
    from orders.production_selectors import order_take_sums

    groups: dict[tuple[str, str, str], dict[str, Any]] = {}
    for row in order_take_sums(order):
        day: dt.date = row["generated_on"]
        key = day.isoformat()[: 7 if row["currency"] == reporting else 10]
        group = groups.setdefault(
            (key, row["currency"], row["tool__name"]),
            {
                _take_order(): order.pk,
                "key": key,
                "cur": row["currency"],
                "tool_label": row["tool__name"],
                "n": 0,
                "seconds": 0,
                "cents": 0,
                "unpriced": 0,
            },
        )
        for name in ("n", "seconds", "cents", "unpriced"):
            group[name] += row[name] or 0
    return list(groups.values())


def _order_issued_invoices(order: Order) -> list[dict[str, Any]]:
    """_issued_invoices of the order, from the invoices the order page's invoice section
    has read (billing.selectors.order_invoices)."""
    from billing.selectors import order_invoices

    issued = [doc for doc in order_invoices(order) if doc.status in Invoice.COUNTING_STATUSES]
    issued.sort(key=lambda doc: (doc.issue_date or dt.date.min, doc.pk))
    return [
        {
            "id": doc.pk,
            "order_id": doc.order_id,
            "number": doc.number,
            "kind": doc.kind,
            "issue_date": doc.issue_date,
            "currency": doc.currency,
            "subtotal": doc.subtotal,
        }
        for doc in issued
    ]


def _others_in_months(
    order_id: int, months: Iterable[dt.date], *, zone: dt.tzinfo
) -> tuple[list[dict[str, Any]], list[str]]:
    """The other orders that weigh in the overhead of these months, with their span
    fields and their seconds per month (m0, m1, … in whole hundredths; None: no take
    that month). One query: orders whose span may touch the months (accepted before
    they end, not ended before they start: spans_may_touch) or with takes in them."""
    ordered = sorted(months)
    first, last = ordered[0], next_month(ordered[-1])
    after = dt.datetime.combine(last, dt.time(), tzinfo=zone)
    before = dt.datetime.combine(first, dt.time(), tzinfo=zone)
    order_takes = Take.objects.filter(**{_take_order(): OuterRef("pk")})
    names = [f"m{index}" for index in range(len(ordered))]
    per_month = {
        name: Subquery(
            order_takes.filter(generated_on__gte=month, generated_on__lt=next_month(month))
            .order_by()
            .values(_take_order())
            .annotate(seconds=hundredths("generated_seconds"))
            .values("seconds")
        )
        for name, month in zip(names, ordered, strict=True)
    }
    rows = (
        with_span_ends(Order.objects.exclude(pk=order_id))
        .filter(
            Q(accepted_at__lt=after, ended_at__isnull=True)
            | Q(accepted_at__lt=after, ended_at__gte=before)
            | Exists(order_takes.filter(generated_on__gte=first, generated_on__lt=last))
        )
        .annotate(**per_month)
        .order_by()
        .values(*SPAN_FIELDS, *names)
    )
    return cast("list[dict[str, Any]]", list(rows)), names


def order_detail(
    *, order: Order, profile: StudioProfile, overhead: bool = False, today: dt.date | None = None
) -> OrderMargin:
    """One order's figures, line by line: revenue (invoice lines or price), generation by
    tool and direct expenses, converted with the same rules as compute_margins; with
    overhead=True its share of the overhead too, exactly as compute_margins(orders=<this
    order>) computes it (else the stored rows have it: billing.services.margins).

    Reads the order from the instance and its takes and invoices through the order
    page's shared reads (orders.production_selectors.read_once: no query when the page's
    other sections have read them, one each otherwise); then its expenses (1), the rates
    its amounts need (1, none when all are in the reporting currency) and, with overhead,
    the other orders of the months whose overhead it shares (1, none without overhead
    in those months). Whatever the size of the studio."""
    reporting, zone = profile.reporting_currency, profile.zone
    today = today or timezone.now().astimezone(zone).date()
    order_id = order.pk
    row = _order_row(order)
    rows = [row]
    results = {order_id: _new_margin(row, reporting)}
    take_rows = _order_take_rows(order, reporting)
    docs = _order_issued_invoices(order)
    span = order_span(row, today=today, zone=zone)

    # The months whose overhead it shares: its span and its take months (compute_margins).
    expense_filter = Q(order_id=order_id)
    if overhead:
        take_months = {month_start(as_date(take["key"])) for take in take_rows}
        firsts = ([span[0]] if span else []) + list(take_months)
        lasts = ([span[1]] if span else []) + [month_end(m) for m in take_months]
        if firsts:
            start, end = month_start(min(firsts)), next_month(max(lasts))
            expense_filter |= Q(order__isnull=True, spent_on__gte=start, spent_on__lt=end)
    lines = _expense_lines(expense_filter)

    needs: dict[str, tuple[dt.date, dt.date]] = {}

    def need(currency: str, day: dt.date | None) -> None:
        if day is None or currency == reporting:
            return
        first, last = needs.get(currency, (day, day))
        needs[currency] = (min(first, day), max(last, day))

    need(row["currency"], local_date(row["priced_at"], zone))
    for take in take_rows:
        need(take["cur"], as_date(take["key"]))
    for line in lines:
        need(line["currency"], line["spent_on"])
    for doc in docs:
        need(doc["currency"], doc["issue_date"])
    converter = Converter(load_rates(reporting, needs))

    seconds, take_months_of, tools = _book_takes(take_rows, results, converter, by_tool=True)
    months: dict[dt.date, MonthOverhead] = {}

    book = _expense_booker(months, results)

    _book_expense_lines(lines, results, converter, book)
    if months:
        spans = {order_id: span}
        others, names = _others_in_months(order_id, months, zone=zone)
        after = dt.datetime.combine(next_month(max(months)), dt.time(), tzinfo=zone)
        before = dt.datetime.combine(min(months), dt.time(), tzinfo=zone)
        for other in others:
            for name, month in zip(names, sorted(months), strict=True):
                if other[name] is not None:
                    seconds[month][other["id"]] += from_hundredths(other[name])
            accepted_at, ended_at = other["accepted_at"], other["ended_at"]
            if (
                accepted_at is not None
                and accepted_at < after
                and (ended_at is None or ended_at >= before)
            ):
                spans[other["id"]] = order_span(other, today=today, zone=zone)
        _allocate(months, spans, seconds, results, reporting)
    _revenue(results, rows, docs, converter, zone)
    result = results[order_id]
    result.tools = _tool_costs(tools.get(order_id, {}))
    result.span = span
    result.take_months = take_months_of.get(order_id, set())
    result.missing = [note for note in converter.missing if note.order_id == order_id]
    return result


def rank(
    margins: Iterable[OrderMargin], *, by: str = "margin", descending: bool = True
) -> list[OrderMargin]:
    """Orders by margin or margin % (orders without revenue last for %), ties by reference."""
    items = list(margins)
    if by == "margin_percent":
        with_pct = [m for m in items if m.margin_percent is not None]
        without = [m for m in items if m.margin_percent is None]
        with_pct.sort(key=lambda m: m.reference)
        with_pct.sort(key=lambda m: m.margin_percent or Decimal(0), reverse=descending)
        without.sort(key=lambda m: m.reference)
        return with_pct + without
    items.sort(key=lambda m: m.reference)
    items.sort(key=lambda m: m.margin, reverse=descending)
    return items


# --- Lists ------------------------------------------------------------------------------

SORTS: dict[str, tuple[str, bool]] = {
    "-margin": ("margin", True),
    "margin": ("margin", False),
    "-margin_percent": ("margin_percent", True),
    "margin_percent": ("margin_percent", False),
}


SCOPES = ("accepted", "all")


@dataclass(frozen=True)
class MarginFilters:
    period: str = ""
    status: str = ""
    client_id: int | None = None
    sort: str = "-margin"
    # "accepted": accepted work only (OrderMargin.accepted_work), unless a status is
    # asked for; "all": quotes and inquiries too.
    scope: str = "all"


def filtered_margins(
    filters: MarginFilters, *, today: dt.date, profile: StudioProfile | None = None
) -> tuple[MarginBook, list[OrderMargin]]:
    """The book for the filtered orders and its rows in the asked order (fixed queries)."""
    orders = Order.objects.all()
    if filters.status:
        orders = orders.filter(status=filters.status)
    if filters.client_id:
        orders = orders.filter(client_id=filters.client_id)
    focus = None if not (filters.status or filters.client_id) else orders
    book = compute_margins(orders=focus, today=today, profile=profile)
    rows = book.orders
    window = period_range(filters.period, today) if filters.period else None
    if window is not None:
        rows = [row for row in rows if row.active_between(*window)]
    if filters.scope == "accepted" and not filters.status:
        rows = [row for row in rows if row.accepted_work]
    by, descending = SORTS.get(filters.sort, SORTS["-margin"])
    return book, rank(rows, by=by, descending=descending)


__all__ = [
    "DAYS",
    "EQUAL",
    "SECONDS",
    "Converter",
    "MarginBook",
    "MissingRateNote",
    "MonthOverhead",
    "OrderMargin",
    "OverheadShare",
    "compute_margins",
    "filtered_margins",
    "largest_remainder",
    "load_converter",
    "load_rates",
    "order_detail",
    "rank",
]
