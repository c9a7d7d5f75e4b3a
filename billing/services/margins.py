"""Stored margin rows (billing.models.margins): mark them stale, recompute them, read them.

The rules live in billing.margin.compute_margins and billing.reports.report_months; this
module only stores what they return, so the margin list, the monthly report, the order
margins of the API and the order page read a few indexed rows whatever the number of
orders (docs/costs.md, "Stored margins").

- `mark_dirty()` is called for every change to an input (signals connected in
  BillingConfig.ready, studio.signals.costs_changed for bulk paths): one INSERT of a
  MarginChange marker per transaction (never an UPDATE of a shared row: inserts of
  distinct rows never wait for one another, so changing transactions are not serialized
  and cannot deadlock on it), and after the commit one Celery message (the doorbell; the
  task claims, so a burst of saves costs one or two recomputes). The marker commits with the
  change, so a process dying right after the commit loses only the doorbell.
- `recompute()` notes the markers that are committed *before* it reads any input and,
  in the transaction that stores its rows, deletes exactly those. A change committed
  meanwhile keeps its marker whatever its id (ids are handed out at insert, not at
  commit), so the rows stay stale and are computed again.
- `refresh()` is the task's body: it claims the recompute with a conditional update (two
  workers never both compute), recomputes, and goes again while markers are left. Beat
  runs it every five minutes as the safety net (a lost message, a new day: an open
  order's span grows with today).
- Reads never write. Rows that are stale are still shown, with their time
  (templates/billing/includes/margin_freshness.html). Before the first recompute a
  studio of at most SYNC_LIMIT orders is computed in memory on each read (exact, a fixed
  number of queries); a larger one shows a note until the worker has computed.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import (
    Count,
    DateField,
    DateTimeField,
    DecimalField,
    JSONField,
    Max,
    Min,
    Model,
    Q,
    QuerySet,
)
from django.db.models.fields import AutoFieldMixin
from django.utils import timezone

from billing.forms import period_range
from billing.margin import (
    SORTS,
    Converter,
    MarginFilters,
    MissingRateNote,
    OrderMargin,
    OverheadShare,
    compute_margins,
    from_hundredths,
    hundredths,
    month_start,
    next_month,
)
from billing.models import (
    Expense,
    Invoice,
    MarginChange,
    MarginMissingNote,
    MarginMonth,
    MarginState,
    MarginStateQuerySet,
    OrderMarginRow,
    OrderMonthMargin,
    Payment,
)
from billing.reports import MonthFigures, MonthlyReport, merge_missing, report_months
from orders.models import Order, Take
from studio.models import StudioProfile
from studio.sql import ordering_term

log = logging.getLogger(__name__)

# Never computed yet: compute in memory on each read up to this many orders (about 0.25 s).
SYNC_LIMIT = 2_000
# A claim older than this is a worker that died mid-way: another may take over.
STALE_CLAIM = dt.timedelta(minutes=10)
# A task recomputes again while changes arrived during its computation, this often at most
# (then the next message or the beat sweep takes over).
MAX_ROUNDS = 3
BATCH = 2_000


def _state() -> MarginStateQuerySet:
    return MarginState.objects.filter(pk=MarginState.SINGLETON)


def _release(claimed_at: dt.datetime) -> None:
    _state().filter(claimed_at=claimed_at).update(claimed_at=None)


def studio_today(profile: StudioProfile) -> dt.date:
    return timezone.now().astimezone(profile.zone).date()


# --- Marking stale ------------------------------------------------------------------------


def _ring() -> None:
    """After the commit: queue one recompute. Not delayed (a countdown message waits in
    the worker unacknowledged, and Celery/kombu's worker dies when the broker drops while
    it holds one: "Unrecoverable error … 'hostname'"); a burst of saves still costs one
    or two recomputes, because the task claims and the messages that find the rows being
    computed, or already fresh, do nothing."""
    from billing import tasks
    from studio.tasks import enqueue

    connection.margin_marked = None  # type: ignore[attr-defined]
    enqueue(tasks.recompute_margins)


def _marked_in_this_transaction() -> bool:
    marker = getattr(connection, "margin_marked", None)
    return marker is not None and any(entry[1] is marker for entry in connection.run_on_commit)


def mark_dirty() -> None:
    """Note that an input of the margins changed: one INSERT of a marker (once per
    transaction; it takes no lock another transaction waits for) and a recompute queued
    after the commit. Cheap and idempotent within a transaction; the marker rolls back
    with it."""
    if connection.in_atomic_block and _marked_in_this_transaction():
        return
    MarginChange.objects.create()
    if connection.in_atomic_block:
        # A fresh function object per transaction, so that this transaction can tell
        # whether it has already queued one (a rolled-back savepoint drops it).
        def ring() -> None:
            _ring()

        connection.margin_marked = ring  # type: ignore[attr-defined]
        transaction.on_commit(ring, robust=True)
    else:
        _ring()


# --- Recomputing --------------------------------------------------------------------------


def _note_json(note: MissingRateNote) -> dict[str, Any]:
    return {
        "what": note.what,
        "currency": note.currency,
        "day": note.day.isoformat(),
        "amount": str(note.amount),
        "order": note.order_id,
    }


def _note(data: dict[str, Any]) -> MissingRateNote:
    return MissingRateNote(
        what=data["what"],
        currency=data["currency"],
        day=dt.date.fromisoformat(data["day"]),
        amount=Decimal(data["amount"]),
        order_id=data.get("order"),
    )


def _data_months(today: dt.date, zone: dt.tzinfo) -> tuple[dt.date, dt.date] | None:
    """[first month, month after the last) holding any figure of the monthly report."""
    days: list[dt.date] = []
    for qs, column in (
        (Invoice.objects.issued(), "issue_date"),
        (Payment.objects.all(), "paid_on"),
        (Take.objects.all(), "generated_on"),
        (Expense.objects.all(), "spent_on"),
    ):
        found = qs.order_by().aggregate(first=Min(column), last=Max(column))
        days += [d for d in found.values() if d is not None]
    found = Order.objects.order_by().aggregate(first=Min("delivered_at"), last=Max("delivered_at"))
    days += [d.astimezone(zone).date() for d in found.values() if d is not None]
    if not days:
        return None
    return month_start(min(days)), next_month(max([*days, today]))


def _adapter(field: Any) -> Any:
    """How a value of field goes to the database in _insert (plain types only)."""
    sqlite = connection.vendor != "postgresql"
    if isinstance(field, JSONField):
        return json.dumps
    if sqlite and isinstance(field, DecimalField):
        return lambda v: None if v is None else str(v)
    if sqlite and isinstance(field, DateField):
        return lambda v: None if v is None else v.isoformat()
    if isinstance(field, DateTimeField):
        return lambda v: connection.ops.adapt_datetimefield_value(v)
    return None


def _insert(model: type[Model], rows: Sequence[dict[str, Any]]) -> int:
    """Insert rows given as {attname: value} (the other fields get their defaults, ids
    come from the database), fast: bulk_create spends about 0.2 ms a row building model
    instances and SQL, and a recompute writes some 50,000 rows at 20,000 orders.
    PostgreSQL: COPY; SQLite: multi-row INSERTs."""
    if not rows:
        return 0
    fields = [f for f in model._meta.concrete_fields if not isinstance(f, AutoFieldMixin)]
    defaults = {f.attname: f.get_default() for f in fields}
    plan = [(f.attname, _adapter(f)) for f in fields]
    quote = connection.ops.quote_name
    table, names = quote(model._meta.db_table), [quote(f.column) for f in fields]

    def values(row: dict[str, Any]) -> list[Any]:
        out = []
        for name, adapt in plan:
            value = row[name] if name in row else defaults[name]
            out.append(adapt(value) if adapt is not None else value)
        return out

    if connection.vendor == "postgresql":
        with (
            connection.cursor() as wrapper,
            wrapper.cursor.copy(f"COPY {table} ({', '.join(names)}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(values(row))
        return len(rows)
    size = max(1, min(BATCH, 900 // len(fields)))
    one = "(" + ", ".join(["%s"] * len(fields)) + ")"
    head = f"INSERT INTO {table} ({', '.join(names)}) VALUES "
    with connection.cursor() as cursor:
        for first in range(0, len(rows), size):
            chunk = [values(row) for row in rows[first : first + size]]
            cursor.execute(head + ", ".join([one] * len(chunk)), [v for r in chunk for v in r])
    return len(rows)


@dataclass(frozen=True)
class Recomputed:
    changes: int  # markers folded into the rows (deleted)
    orders: int
    months: int
    duration_ms: int


class ClaimLost(Exception):
    """Another recompute took the claim over (ours went stale, or a direct call): our
    rows are not stored and our markers stay; theirs will be stored."""


def _delete_markers(seen: Sequence[int]) -> None:
    for first in range(0, len(seen), 900):  # SQLite's limit of query parameters
        MarginChange.objects.filter(pk__in=seen[first : first + 900]).delete()


def recompute(*, today: dt.date | None = None, claimed_at: dt.datetime | None = None) -> Recomputed:
    """Compute every order's margin and every month's figures with billing.margin and
    billing.reports, and replace the stored rows with them in one transaction. Always
    recomputes (refresh() decides when); idempotent. Stores only under a claim:
    refresh's (claimed_at), else it takes the claim over itself (seeds, bench, tests; a
    worker computing meanwhile then stores nothing). Raises ClaimLost, having stored
    nothing, when another recompute took the claim over before the end."""
    if claimed_at is not None:
        return _recompute(today=today, claimed_at=claimed_at)
    MarginState.load()
    claimed_at = timezone.now()
    _state().update(claimed_at=claimed_at)
    try:
        return _recompute(today=today, claimed_at=claimed_at)
    except BaseException:
        if not connection.in_atomic_block:  # inside one, its rollback drops the claim
            _release(claimed_at)
        raise


def _recompute(*, today: dt.date | None, claimed_at: dt.datetime) -> Recomputed:
    started = time.monotonic()
    # The markers committed before any input is read: their changes are all in what we
    # read. Exactly these are deleted with the new rows; one committed meanwhile (an
    # older id from a long transaction too) stays, so the rows stay stale and the next
    # round recomputes. Never "ids up to the largest seen": ids are not commit order.
    seen = list(MarginChange.objects.order_by("pk").values_list("pk", flat=True))
    profile = StudioProfile.load()
    today = today or studio_today(profile)
    book = compute_margins(today=today, profile=profile)
    assert book.converter is not None
    converter = Converter(book.converter.rates)  # the same rates, its own notes
    span = _data_months(today, profile.zone)
    figures = (
        report_months(start=span[0], stop=span[1], converter=converter, zone=profile.zone)
        if span
        else {}
    )
    report_notes: dict[dt.date, list[dict[str, Any]]] = {}
    for note in merge_missing(converter):
        report_notes.setdefault(month_start(note.day), []).append(_note_json(note))

    order_rows: list[dict[str, Any]] = []
    month_rows: list[dict[str, Any]] = []
    notes: list[dict[str, Any]] = []
    for m in book.orders:
        order_rows.append(
            {
                "order_id": m.order_id,
                "reference": m.reference,
                "title": m.title,
                "status": m.status,
                "client_id": m.client_id,
                "client_name": m.client_name,
                "price": m.price.amount,
                "price_currency": m.price.currency,
                "currency": m.currency,
                "revenue": m.revenue,
                "revenue_source": m.revenue_source,
                "revenue_day": m.revenue_day,
                "invoiced": m.invoiced,
                "credited": m.credited,
                "generation": m.generation,
                "seconds": m.seconds,
                "takes": m.takes,
                "unpriced_takes": m.unpriced_takes,
                "direct": m.direct,
                "overhead": m.overhead,
                "margin": m.margin,
                "margin_percent": m.margin_percent,
                "complete": m.complete,
                "missing": [_note_json(n) for n in m.missing],
                "accepted_work": m.accepted_work,
                "span_start": m.span[0] if m.span else None,
                "span_end": m.span[1] if m.span else None,
            }
        )
        shares = {share.month: share for share in m.shares}
        for month in sorted(set(shares) | m.take_months):
            share = shares.get(month)
            month_rows.append(
                {
                    "order_id": m.order_id,
                    "month": month,
                    "has_takes": month in m.take_months,
                    "overhead": share.amount if share else Decimal(0),
                    "basis": share.basis if share else "",
                    "weight": share.weight if share else Decimal(0),
                    "month_weight": share.month_weight if share else Decimal(0),
                    "month_overhead": share.month_overhead if share else Decimal(0),
                }
            )
    for n in book.missing:
        notes.append(
            {
                "order_id": n.order_id,
                "what": n.what,
                "currency": n.currency,
                "day": n.day,
                "amount": n.amount,
            }
        )
    months: list[dict[str, Any]] = []
    for month in sorted(set(figures) | set(book.months)):
        f = figures.get(month) or MonthFigures(month=month)
        o = book.months.get(month)
        months.append(
            {
                "month": month,
                "currency": book.currency,
                "overhead": o.amount if o else Decimal(0),
                "overhead_incomplete": o.incomplete if o else False,
                "active_orders": o.active_orders if o else 0,
                "basis": o.basis if o else "",
                "invoiced": f.invoiced,
                "received": f.received,
                "generation": f.generation,
                "subscriptions": f.subscriptions,
                "other_expenses": f.other_expenses,
                "delivered": f.delivered,
                "on_time": f.on_time,
                "with_due": f.with_due,
                "unpriced_takes": f.unpriced_takes,
                "missing_count": f.missing,
                "report_missing": report_notes.get(month, []),
            }
        )

    with transaction.atomic():
        duration_ms = int((time.monotonic() - started) * 1000)
        # First, under the state row's lock: is the claim still ours?
        if (
            not _state()
            .filter(claimed_at=claimed_at)
            .update(
                computed_at=timezone.now(),
                computed_for=today,
                currency=book.currency,
                duration_ms=duration_ms,
                order_count=len(order_rows),
                claimed_at=None,
            )
        ):
            raise ClaimLost
        _delete_markers(seen)
        # An order deleted while we computed: its cascade already ran, skip its rows.
        alive = set(Order.objects.values_list("pk", flat=True))
        MarginMissingNote.objects.all().delete()
        OrderMonthMargin.objects.all().delete()
        OrderMarginRow.objects.all().delete()
        MarginMonth.objects.all().delete()
        _insert(OrderMarginRow, [r for r in order_rows if r["order_id"] in alive])
        _insert(OrderMonthMargin, [r for r in month_rows if r["order_id"] in alive])
        _insert(
            MarginMissingNote, [n for n in notes if n["order_id"] is None or n["order_id"] in alive]
        )
        _insert(MarginMonth, months)
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        # Fresh statistics for the planner: the rows were all just replaced.
        with connection.cursor() as cursor:
            for model in (OrderMarginRow, OrderMonthMargin, MarginMonth, MarginMissingNote):
                cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
    connection.margin_marked = None  # type: ignore[attr-defined]
    log.info("margins recomputed: %s orders in %s ms", len(order_rows), duration_ms)
    return Recomputed(len(seen), len(order_rows), len(months), duration_ms)


def refresh(*, force: bool = False) -> int:
    """Recompute when the rows are stale (or force): claim with a conditional update so
    that only one worker computes, and go again while markers of changes are left.
    Idempotent; returns how many recomputes ran (0: fresh, or another worker has it)."""
    ran = 0
    for _round in range(MAX_ROUNDS):
        state = MarginState.load()
        profile = StudioProfile.load()
        if not force and state.is_fresh(studio_today(profile)):
            return ran
        now = timezone.now()
        claimed = (
            _state()
            .filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - STALE_CLAIM))
            .update(claimed_at=now)
        )
        if not claimed:
            return ran  # another worker is computing; it goes again if needed
        try:
            recompute(claimed_at=now)
        except ClaimLost:
            log.warning("margin recompute taken over by another worker; its rows are kept")
            return ran
        except BaseException:
            # The markers are still there: the next message or the sweep computes again.
            _release(now)
            raise
        ran += 1
        force = False
    return ran


# --- Reads (never write) ------------------------------------------------------------------


@dataclass(frozen=True)
class Freshness:
    """How fresh the stored rows are, for the pages' note."""

    computed: bool
    fresh: bool
    computed_at: dt.datetime | None
    live: bool  # never computed: these figures were computed in memory for this page
    currency: str = ""  # the reporting currency of the stored rows

    @property
    def stale(self) -> bool:
        return self.computed and not self.fresh

    @property
    def pending(self) -> bool:
        """Never computed and too large to compute on a page: nothing to show yet."""
        return not self.computed and not self.live


def read_state() -> MarginState:
    """The state row with whether changes wait (one query), or an unsaved default when
    there is none (no write on a read)."""
    return _state().with_changes().first() or MarginState(pk=MarginState.SINGLETON)


def freshness(profile: StudioProfile) -> Freshness:
    """One query (two before the first recompute: the order count)."""
    state = read_state()
    if state.computed:
        return Freshness(
            True, state.is_fresh(studio_today(profile)), state.computed_at, False, state.currency
        )
    live = Order.objects.count() <= SYNC_LIMIT
    return Freshness(False, False, None, live, profile.reporting_currency)


def as_margin(row: OrderMarginRow) -> OrderMargin:
    """A stored row as the engine's OrderMargin (without lines or shares)."""
    from studio.money import Money

    return OrderMargin(
        order_id=row.order_id,
        reference=row.reference,
        title=row.title,
        status=row.status,
        client_id=row.client_id,
        client_name=row.client_name,
        price=Money(row.price, row.price_currency),
        currency=row.currency,
        revenue=row.revenue,
        revenue_source=row.revenue_source,
        revenue_day=row.revenue_day,
        invoiced=row.invoiced,
        credited=row.credited,
        generation=row.generation,
        seconds=row.seconds,
        takes=row.takes,
        unpriced_takes=row.unpriced_takes,
        direct=row.direct,
        overhead=row.overhead,
        missing=[_note(n) for n in row.missing],
        span=(row.span_start, row.span_end) if row.span_start and row.span_end else None,
    )


def filtered_rows(filters: MarginFilters, *, today: dt.date) -> QuerySet[OrderMarginRow]:
    """The stored rows matching filters, in the asked order (one query when evaluated)."""
    qs = OrderMarginRow.objects.all()
    if filters.scope == "accepted" and not filters.status:
        qs = qs.filter(accepted_work=True)
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.client_id:
        qs = qs.filter(client_id=filters.client_id)
    window = period_range(filters.period, today) if filters.period else None
    if window is not None:
        start, end = window
        generated = OrderMonthMargin.objects.filter(
            has_takes=True, month__gte=month_start(start), month__lt=end
        ).values("order_id")
        qs = qs.filter(Q(span_start__lt=end, span_end__gte=start) | Q(pk__in=generated))
    by, descending = SORTS.get(filters.sort, SORTS["-margin"])
    # Empty percentages last both ways; the margin is never empty, so no NULLS LAST there:
    # the database then walks an index in the asked order and stops at the page's end.
    return qs.order_by(ordering_term(OrderMarginRow, f"-{by}" if descending else by), "reference")


MONEY_COLUMNS = ("revenue", "generation", "direct", "overhead", "margin")


@dataclass(frozen=True)
class Totals:
    count: int
    incomplete: int  # rows with an amount left out for want of a rate
    sums: dict[str, Decimal]


def totals_of(rows: QuerySet[OrderMarginRow]) -> Totals:
    """How many rows, how many incomplete, and the sums of their amounts, exact on
    SQLite too (one query)."""
    found = rows.order_by().aggregate(
        n=Count("pk"),
        incomplete=Count("pk", filter=Q(complete=False)),
        **{name: hundredths(name) for name in MONEY_COLUMNS},
    )
    return Totals(
        found["n"],
        found["incomplete"],
        {name: from_hundredths(found[name]) for name in MONEY_COLUMNS},
    )


def missing_summary(rows: QuerySet[OrderMarginRow]) -> list[dict[str, Any]]:
    """The amounts without a rate of these rows' orders and of the overhead, per
    currency: how many, how much, between which days (one query; the shape of
    billing.views.reports.merged_missing)."""
    found = (
        MarginMissingNote.objects.filter(Q(order__isnull=True) | Q(order_id__in=rows.values("pk")))
        .order_by()
        .values("currency")
        .annotate(count=Count("pk"), cents=hundredths("amount"), first=Min("day"), last=Max("day"))
        .order_by("currency")
    )
    return [
        {
            "currency": row["currency"],
            "count": row["count"],
            "amount": from_hundredths(row["cents"]),
            "first": row["first"],
            "last": row["last"],
        }
        for row in found
    ]


@dataclass(frozen=True)
class MonthNotes:
    unallocated: list[MarginMonth]
    incomplete: list[MarginMonth]


def month_notes() -> MonthNotes:
    """Months whose overhead is not allocated or lacks a rate (one query)."""
    months = list(
        MarginMonth.objects.filter(
            Q(overhead_incomplete=True) | (~Q(overhead=0) & Q(active_orders=0))
        ).order_by("month")
    )
    return MonthNotes(
        unallocated=[m for m in months if m.unallocated],
        incomplete=[m for m in months if m.overhead_incomplete],
    )


def rows_for(order_ids: Iterable[int]) -> dict[int, OrderMargin]:
    """{order id: margin} of the stored rows of these orders (one query)."""
    return {
        row.order_id: as_margin(row)
        for row in OrderMarginRow.objects.filter(pk__in=list(order_ids))
    }


def stored_shares(order_id: int) -> list[OverheadShare]:
    """The order's stored overhead shares, month by month (one query)."""
    return [
        OverheadShare(
            month=row.month,
            amount=row.overhead,
            basis=row.basis,
            weight=row.weight,
            month_weight=row.month_weight,
            month_overhead=row.month_overhead,
        )
        for row in OrderMonthMargin.objects.filter(order_id=order_id)
        .exclude(basis="")
        .order_by("month")
    ]


def stored_report(*, end: dt.date, months: int, currency: str) -> MonthlyReport:
    """The monthly report from the stored month rows (one query); months without a row
    had no figure at the last recompute."""
    from billing.margin import months_back
    from billing.reports import MAX_MONTHS

    if not 1 <= months <= MAX_MONTHS:
        raise ValueError(f"months must be between 1 and {MAX_MONTHS}")
    firsts = months_back(end, months)
    stored = {
        row.month: row
        for row in MarginMonth.objects.filter(
            month__gte=firsts[0], month__lt=next_month(firsts[-1])
        )
    }
    figures, notes = [], []
    for month in firsts:
        row = stored.get(month)
        if row is None:
            figures.append(MonthFigures(month=month))
            continue
        currency = row.currency
        figures.append(
            MonthFigures(
                month=month,
                invoiced=row.invoiced,
                received=row.received,
                generation=row.generation,
                subscriptions=row.subscriptions,
                other_expenses=row.other_expenses,
                delivered=row.delivered,
                on_time=row.on_time,
                with_due=row.with_due,
                unpriced_takes=row.unpriced_takes,
                missing=row.missing_count,
            )
        )
        notes += [_note(n) for n in row.report_missing]
    return MonthlyReport(currency=currency, months=figures, missing=notes)


def page_margins(rows: Sequence[OrderMarginRow]) -> list[OrderMargin]:
    return [as_margin(row) for row in rows]


__all__ = [
    "SYNC_LIMIT",
    "ClaimLost",
    "Freshness",
    "Recomputed",
    "as_margin",
    "filtered_rows",
    "freshness",
    "mark_dirty",
    "missing_summary",
    "month_notes",
    "read_state",
    "recompute",
    "refresh",
    "rows_for",
    "stored_report",
    "stored_shares",
    "totals_of",
]
