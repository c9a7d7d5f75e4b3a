"""Stored margin rows: equal to the engine, marked stale by every input (a marker row, never
a write to the state row), recomputed once per burst under a claim without losing a
change that lands meanwhile, and read by the pages without writing, in a fixed number of
queries. The concurrency on PostgreSQL: tests/integration/test_margin_marking.py."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from billing import services
from billing.margin import compute_margins
from billing.models import (
    ExchangeRate,
    Expense,
    Invoice,
    MarginChange,
    MarginMonth,
    MarginState,
    OrderMarginRow,
    OrderMonthMargin,
    Subscription,
)
from billing.reports import monthly_report
from billing.services import margins
from billing.services.rates import RateRow, import_rates
from orders.models import Order, Take
from orders.production import recost_takes
from studio.models import StudioProfile
from studio.signals import costs_changed
from tests.billing.helpers import issued, line
from tests.billing.test_margin import accepted, at, overhead, rate, takes
from tests.billing.test_reports import bulk_world, invoice_on
from tests.orders.factories_api import bearer_client
from tests.orders.factories_pages import make_order
from tests.orders.factories_production import make_episode, make_shot, make_take, make_tool

TODAY = dt.date(2026, 6, 30)
WRITES = ("INSERT", "UPDATE", "DELETE")


def state() -> MarginState:
    return MarginState.objects.with_changes().get(pk=MarginState.SINGLETON)


def fresh() -> bool:
    return state().is_fresh(margins.studio_today(StudioProfile.load()))


def varied_world(owner) -> dict[str, Order]:
    """Orders in every situation the rules know: invoiced with a credit note, USD with
    and without rates, cancelled before any invoice, a quote, takes before acceptance,
    overhead in months with and without active orders, unpriced takes."""
    rate("USD", "2026-02-01", "7.10")
    rate("USD", "2026-04-01", "7.20")
    invoiced = accepted("2026-02-10", price=Decimal("2000"))
    takes(invoiced, ("2026-02-12", "10", "5.00"), ("2026-03-02", "4.5", None))
    invoice = invoice_on(owner, "2026-03-05", "1800", order=invoiced, client=invoiced.client)
    note = services.credit_invoice(actor=owner, invoice=invoice, lines=[line(price="100")])
    Invoice.objects.filter(pk=note.pk).update(issue_date=dt.date(2026, 4, 2))
    usd = accepted("2026-03-03", currency="USD", price=Decimal("300"))
    takes(usd, ("2026-03-04", "8", "1.20"), ("2026-05-06", "3", "0.80"), currency="USD")
    no_rate = accepted("2026-01-05", currency="EUR", price=Decimal("100"))
    cancelled = accepted("2026-04-01", status=Order.Status.CANCELLED, price=Decimal("900"))
    Order.objects.filter(pk=cancelled.pk).update(status_changed_at=at("2026-04-20"))
    takes(cancelled, ("2026-04-05", "6", "3.00"))
    quote = make_order(status=Order.Status.QUOTED, price=Decimal("5000"))
    takes(quote, ("2026-05-20", "2", "1.00"))  # work before acceptance: active in May
    delivered = accepted(
        "2026-05-01",
        status=Order.Status.DELIVERED,
        delivered_at=at("2026-05-09"),
        price=Decimal("1200"),
    )
    overhead("2025-11-10", "40.00")  # nobody active: unallocated
    overhead("2026-03-10", "100.00")
    overhead("2026-03-11", "12.00", currency="USD")
    overhead("2026-05-02", "30.00", currency="GBP")  # no GBP rate: incomplete month
    overhead("2026-05-15", "99.00", category=Expense.Category.SUBSCRIPTION)
    overhead("2026-05-03", "20.00", order=delivered, category=Expense.Category.DUBBING)
    services.record_payment(
        actor=owner,
        invoice=invoice,
        amount=Decimal("500"),
        method="cash",
        paid_on=dt.date(2026, 3, 20),
    )
    return {
        "invoiced": invoiced,
        "usd": usd,
        "no_rate": no_rate,
        "cancelled": cancelled,
        "quote": quote,
        "delivered": delivered,
    }


FIELDS = (
    "reference",
    "title",
    "status",
    "client_id",
    "client_name",
    "price",
    "currency",
    "revenue",
    "revenue_source",
    "revenue_day",
    "invoiced",
    "credited",
    "generation",
    "seconds",
    "takes",
    "unpriced_takes",
    "direct",
    "overhead",
    "margin",
    "margin_percent",
    "complete",
    "missing",
    "span",
    "accepted_work",
)


def test_stored_rows_equal_what_the_engine_computes(owner, studio_profile):
    varied_world(owner)
    margins.recompute(today=TODAY)
    book = compute_margins(today=TODAY)

    stored = margins.rows_for([m.order_id for m in book.orders])
    assert len(stored) == len(book.orders) == OrderMarginRow.objects.count()
    for expected in book.orders:
        row = stored[expected.order_id]
        for name in FIELDS:
            assert getattr(row, name) == getattr(expected, name), name
        assert margins.stored_shares(expected.order_id) == sorted(
            expected.shares, key=lambda s: s.month
        )
    months = {m.month: m for m in MarginMonth.objects.all()}
    for month, overhead_month in book.months.items():
        row = months[month]
        assert (row.overhead, row.active_orders, row.basis, row.overhead_incomplete) == (
            overhead_month.amount,
            overhead_month.active_orders,
            overhead_month.basis,
            overhead_month.incomplete,
        )
        assert row.unallocated == overhead_month.unallocated
    # The world really is varied.
    sources = {m.revenue_source for m in book.orders}
    assert sources == {"price", "invoices", "cancelled"}
    assert any(not m.complete for m in book.orders)
    assert any(m.unallocated for m in book.months.values())
    assert any(m.incomplete for m in book.months.values())


@pytest.mark.parametrize(("end", "count"), [("2026-06", 12), ("2026-03", 2), ("2027-01", 36)])
def test_stored_report_equals_the_live_report(owner, studio_profile, end, count):
    varied_world(owner)
    margins.recompute(today=TODAY)
    last = dt.date.fromisoformat(end + "-01")

    live = monthly_report(end=last, months=count)
    kept = margins.stored_report(end=last, months=count, currency="CNY")

    assert kept.currency == live.currency
    assert kept.months == live.months
    key = lambda n: (n.day, n.what, n.currency, n.amount)  # noqa: E731
    assert sorted(kept.missing, key=key) == sorted(live.missing, key=key)


def test_filters_and_sorts_match_the_engine(owner, studio_profile):
    from billing.margin import SORTS, MarginFilters, filtered_margins

    world = varied_world(owner)
    margins.recompute(today=TODAY)
    for sort in SORTS:
        for extra in (
            {},
            {"scope": "accepted"},
            {"status": "in_production"},
            {"client_id": world["usd"].client_id},
            {"period": "this_year"},
            {"period": "last_year"},
        ):
            filters = MarginFilters(sort=sort, **extra)
            _book, live = filtered_margins(filters, today=TODAY)
            kept = list(margins.filtered_rows(filters, today=TODAY))
            assert [r.order_id for r in kept] == [m.order_id for m in live], (sort, extra)


# --- Invalidation ---------------------------------------------------------------------


@pytest.fixture
def computed(owner, studio_profile):
    """A small world with fresh rows; the test then changes one input."""
    order = accepted("2026-03-01", price=Decimal("1000"))
    shot = make_shot(make_episode(order))
    tool = make_tool()
    take = make_take(shot, tool, generated_on=dt.date(2026, 3, 5), cost=Decimal("3.00"))
    expense = overhead("2026-03-10", "50.00")
    margins.recompute()
    assert fresh()
    assert not MarginChange.objects.exists()
    return {"order": order, "take": take, "tool": tool, "expense": expense, "owner": owner}


def _change(kind: str, world: dict) -> None:
    order, take, owner = world["order"], world["take"], world["owner"]
    if kind == "order price":
        order.price = Decimal("1100")
        order.save()
    elif kind == "order status":
        order.status = Order.Status.IN_REVIEW
        order.save(update_fields=["status"])
    elif kind == "order deleted":
        Take.objects.all().delete()
        Expense.objects.all().delete()
        order.delete()
    elif kind == "client renamed":
        order.client.name = "Renamed"
        order.client.save()
    elif kind == "take cost":
        take.cost = Decimal("9.00")
        take.save()
    elif kind == "take deleted":
        take.delete()
    elif kind == "invoice issued":
        issued(owner, order=order)
    elif kind == "expense":
        overhead("2026-03-12", "5.00")
    elif kind == "expense deleted":
        world["expense"].delete()
    elif kind == "subscription":
        Subscription.objects.create(
            tool=world["tool"],
            plan_name="Pro",
            amount=Decimal("99"),
            currency="CNY",
            started_on=dt.date(2026, 3, 1),
            next_renewal_on=dt.date(2026, 4, 1),
        )
    elif kind == "exchange rate":
        rate("USD", "2026-03-01", "7.00")
    elif kind == "reporting currency":
        profile = StudioProfile.load()
        profile.reporting_currency = "USD"
        profile.save()
    elif kind == "bulk: recost takes":
        world["tool"].prices.update(per_second=Decimal("2.00"))
        Take.objects.filter(pk=take.pk).update(cost_is_manual=False)
        assert recost_takes(tool_id=world["tool"].pk, since=dt.date(2026, 1, 1)) == 1
    elif kind == "bulk: rate import":
        rate("USD", "2026-03-01", "7.00")
        margins.recompute()
        import_rates(
            actor=owner,
            rows=[
                RateRow(currency="USD", quote="CNY", on=dt.date(2026, 3, 1), rate=Decimal("7.5"))
            ],
        )
    elif kind == "bulk: costs_changed":
        costs_changed.send(sender=Take, reason="test")
    else:  # pragma: no cover
        raise AssertionError(kind)


@pytest.mark.parametrize(
    "kind",
    [
        "order price",
        "order status",
        "order deleted",
        "client renamed",
        "take cost",
        "take deleted",
        "invoice issued",
        "expense",
        "expense deleted",
        "subscription",
        "exchange rate",
        "reporting currency",
        "bulk: recost takes",
        "bulk: rate import",
        "bulk: costs_changed",
    ],
)
def test_every_input_marks_the_rows_stale(computed, kind):
    _change(kind, computed)
    assert MarginChange.objects.count() == 1  # one marker for the whole transaction
    assert state().has_changes
    assert not fresh()


def test_marking_inserts_one_marker_and_never_writes_the_state_row(computed):
    with CaptureQueriesContext(connection) as ctx:
        overhead("2026-03-12", "5.00")
        overhead("2026-03-13", "6.00")
    writes = _writes(ctx)
    marker_inserts = [sql for sql in writes if "billing_marginchange" in sql]
    assert len(marker_inserts) == 1
    assert marker_inserts[0].lstrip().upper().startswith("INSERT")
    assert not [sql for sql in ctx.captured_queries if "billing_marginstate" in sql["sql"]]


def test_a_save_that_touches_no_input_keeps_the_rows_fresh(computed):
    computed["order"].save(update_fields=["updated_at"])
    assert not MarginChange.objects.exists()
    assert fresh()


def test_a_burst_of_saves_is_one_marker_and_one_recompute(
    computed, django_capture_on_commit_callbacks
):
    take = computed["take"]
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with transaction.atomic():
            for cost in range(1, 30):
                take.cost = Decimal(cost)
                take.save()
        assert MarginChange.objects.count() == 1
        assert not fresh()
    rings = [c for c in callbacks if getattr(c, "__name__", "") == "ring"]
    assert len(rings) == 1
    # Eager Celery: the doorbell ran the recompute, which is now fresh with the last cost
    # and has folded the marker in.
    assert fresh()
    assert not MarginChange.objects.exists()
    row = OrderMarginRow.objects.get(pk=computed["order"].pk)
    assert row.generation == Decimal("29.00")


def test_a_rolled_back_change_does_not_mark(computed):
    def change_then_fail() -> None:
        with transaction.atomic():
            overhead("2026-03-12", "5.00")
            raise RuntimeError

    with pytest.raises(RuntimeError):
        change_then_fail()
    assert not MarginChange.objects.exists()
    assert fresh()
    # The rolled-back savepoint took its doorbell along: the next change marks again.
    overhead("2026-03-13", "5.00")
    assert MarginChange.objects.count() == 1


# --- Recompute claim ------------------------------------------------------------------


def test_refresh_does_nothing_when_fresh(computed):
    assert margins.refresh() == 0


def test_refresh_leaves_a_claimed_recompute_to_its_worker(computed):
    overhead("2026-03-12", "5.00")
    MarginState.objects.filter(pk=1).update(claimed_at=timezone.now())
    assert margins.refresh() == 0
    assert not fresh()
    assert MarginChange.objects.count() == 1


def test_refresh_takes_over_a_stale_claim(computed):
    overhead("2026-03-12", "5.00")
    MarginState.objects.filter(pk=1).update(
        claimed_at=timezone.now() - margins.STALE_CLAIM - dt.timedelta(seconds=1)
    )
    assert margins.refresh() == 1
    assert fresh()
    assert state().claimed_at is None
    assert not MarginChange.objects.exists()


def test_refresh_goes_again_when_changes_arrive_during_the_recompute(computed, monkeypatch):
    overhead("2026-03-12", "5.00")
    real = margins.compute_margins
    calls = []

    def with_a_change(**kwargs):
        calls.append(1)
        if len(calls) == 1:
            # Another process saved while we computed: its marker is not among those the
            # recompute saw before reading, so it survives the first round.
            MarginChange.objects.create()
        return real(**kwargs)

    monkeypatch.setattr(margins, "compute_margins", with_a_change)
    assert margins.refresh() == 2
    assert fresh()
    assert not MarginChange.objects.exists()


def test_a_change_committed_late_with_an_older_marker_id_is_not_lost(computed, monkeypatch):
    """Ids are handed out at insert, not at commit: a long transaction's marker can become
    visible after a newer one. The recompute deletes the markers it saw, not "every id
    up to the largest it saw"."""
    for _ in range(3):
        MarginChange.objects.create()
    old_id = MarginChange.objects.order_by("pk").values_list("pk", flat=True)[1]
    margins.recompute()
    overhead("2026-03-12", "5.00")
    newer = MarginChange.objects.get()
    assert newer.pk > old_id
    real = margins.compute_margins

    def late_commit(**kwargs):
        # The long transaction, which took its id before `newer`, commits now.
        MarginChange.objects.create(pk=old_id)
        return real(**kwargs)

    monkeypatch.setattr(margins, "compute_margins", late_commit)
    assert margins.recompute().changes == 1

    assert list(MarginChange.objects.values_list("pk", flat=True)) == [old_id]
    assert not fresh()


def test_a_recompute_whose_claim_was_taken_over_stores_nothing(computed, monkeypatch):
    overhead("2026-03-12", "5.00")
    before = state()
    real = margins.compute_margins

    def taken_over(**kwargs):
        # Our claim looked dead: another worker took it over while we computed.
        MarginState.objects.filter(pk=1).update(claimed_at=timezone.now())
        return real(**kwargs)

    monkeypatch.setattr(margins, "compute_margins", taken_over)
    assert margins.refresh() == 0

    after = state()
    assert after.computed_at == before.computed_at
    assert after.claimed_at is not None  # still the other worker's
    assert MarginChange.objects.count() == 1  # its change is still owed
    assert not fresh()


def test_a_new_day_makes_the_rows_stale(computed):
    MarginState.objects.filter(pk=1).update(computed_for=dt.date(2020, 1, 1))
    assert margins.refresh() == 1


def test_recompute_is_idempotent(computed):
    margins.recompute()
    first = list(OrderMarginRow.objects.values())
    months = list(OrderMonthMargin.objects.values("order_id", "month", "overhead"))
    margins.recompute()
    assert list(OrderMarginRow.objects.values()) == first
    assert list(OrderMonthMargin.objects.values("order_id", "month", "overhead")) == months


# --- Reads ----------------------------------------------------------------------------

PAGES = [
    ("margin-list", {}),
    ("margin-list", {"status": "in_production", "sort": "-margin_percent", "period": "this_year"}),
    ("margin-list", {"status": "all", "sort": "margin"}),
    ("monthly-report", {"end": "2026-12", "months": "12"}),
]


def _writes(ctx: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in ctx.captured_queries if q["sql"].lstrip().upper().startswith(WRITES)]


def test_freshness_is_one_query(computed):
    profile = StudioProfile.load()
    with CaptureQueriesContext(connection) as ctx:
        assert margins.freshness(profile).fresh
    overhead("2026-03-12", "5.00")
    with CaptureQueriesContext(connection) as stale_ctx:
        assert margins.freshness(profile).stale
    assert len(ctx.captured_queries) == len(stale_ctx.captured_queries) == 1


@pytest.mark.parametrize(("route", "params"), PAGES)
def test_pages_read_the_rows_in_the_same_number_of_queries_at_any_size(
    owner_http, studio_profile, route, params, django_assert_max_num_queries
):
    counts = []
    for size in (5, 80):
        bulk_world(size)
        margins.recompute()
        owner_http.get(reverse(route), params)
        with (
            django_assert_max_num_queries(15),
            CaptureQueriesContext(connection) as ctx,
        ):
            response = owner_http.get(reverse(route), params)
        assert response.status_code == 200
        assert _writes(ctx) == []
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]


@pytest.mark.parametrize(
    "url",
    [
        "/api/margins/?page_size=200",
        "/api/margins/?scope=accepted&ordering=-margin_percent&period=this_year",
        "/api/reports/monthly/?end=2026-12",
        "/api/orders/?include=margin&page_size=200",
    ],
)
def test_api_reads_the_rows_in_the_same_number_of_queries_at_any_size(
    owner, studio_profile, url, django_assert_max_num_queries
):
    http = bearer_client(owner)
    counts = []
    for size in (5, 80):
        bulk_world(size)
        margins.recompute()
        http.get(url)
        with django_assert_max_num_queries(15), CaptureQueriesContext(connection) as ctx:
            assert http.get(url).status_code == 200
        assert _writes(ctx) == []
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]


def test_order_page_margin_section_reads_rows_and_never_writes(owner_http, studio_profile):
    counts = []
    for size in (5, 80):
        order = bulk_world(size)
        margins.recompute()
        url = reverse("order-detail", args=[order.pk])
        owner_http.get(url)
        with CaptureQueriesContext(connection) as ctx:
            response = owner_http.get(url)
        assert response.status_code == 200
        assert 'id="margin"' in response.content.decode()
        assert _writes(ctx) == []
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]


def test_order_section_shows_the_stored_shares_and_its_own_lines(owner, owner_http, studio_profile):
    order = accepted("2026-03-01", price=Decimal("1000"))
    other = accepted("2026-03-01", price=Decimal("500"))
    takes(order, ("2026-03-05", "30", "6.00"))
    takes(other, ("2026-03-06", "10", "2.00"))
    overhead("2026-03-10", "100.00")
    overhead("2026-03-11", "12.00", order=order, vendor="Epidemic")
    margins.recompute(today=TODAY)
    MarginState.objects.filter(pk=1).update(computed_for=margins.studio_today(StudioProfile.load()))

    response = owner_http.get(reverse("order-detail", args=[order.pk]))

    section = next(s for s in response.context["extra_sections"] if s.context.get("margin"))
    shown = section.context["margin"]
    expected = compute_margins(today=TODAY).get(order.pk)
    assert expected is not None
    assert (shown.revenue, shown.generation, shown.direct, shown.overhead, shown.margin) == (
        expected.revenue,
        expected.generation,
        expected.direct,
        Decimal("75.00"),
        expected.margin,
    )
    assert shown.overhead == expected.overhead
    body = response.content.decode()
    assert "Epidemic" in body
    assert "by seconds: 30 of 40 s" in body
    assert "recomputing" not in body


def test_stale_rows_are_shown_with_a_freshness_note(owner_http, studio_profile):
    order = accepted("2026-03-01", price=Decimal("1000"))
    margins.recompute()
    order.price = Decimal("2000")
    order.save()  # marks stale; the test's transaction never commits, so no recompute

    response = owner_http.get(reverse("margin-list"), {"status": "all"})

    body = response.content.decode()
    assert "recomputing…" in body
    assert order.reference in body
    assert [r.revenue for r in response.context["rows"]] == [Decimal("1000.00")]
    report = owner_http.get(reverse("monthly-report")).content.decode()
    assert "recomputing…" in report


def test_fresh_rows_have_no_note(owner_http, studio_profile):
    accepted("2026-03-01", price=Decimal("1000"))
    margins.recompute()
    assert "recomputing" not in owner_http.get(reverse("margin-list")).content.decode()


def test_never_computed_large_studio_says_so_and_writes_nothing(
    owner_http, studio_profile, monkeypatch
):
    accepted("2026-03-01", price=Decimal("1000"))
    monkeypatch.setattr(margins, "SYNC_LIMIT", 0)
    with CaptureQueriesContext(connection) as ctx:
        response = owner_http.get(reverse("margin-list"))
    assert _writes(ctx) == []
    assert "being computed for the first time" in response.content.decode()
    assert response.context["rows"] == []


def test_never_computed_small_studio_is_computed_live_without_writing(owner_http, studio_profile):
    order = accepted("2026-03-01", price=Decimal("1000"))
    with CaptureQueriesContext(connection) as ctx:
        response = owner_http.get(reverse("margin-list"))
    assert _writes(ctx) == []
    assert [r.order_id for r in response.context["rows"]] == [order.pk]
    assert not OrderMarginRow.objects.exists()


def test_margin_list_shows_accepted_work_by_default(owner_http, studio_profile):
    work = accepted("2026-03-01", price=Decimal("1000"))
    quote = make_order(status=Order.Status.QUOTED, price=Decimal("9000"))
    margins.recompute()

    default = owner_http.get(reverse("margin-list")).context["rows"]
    everything = owner_http.get(reverse("margin-list"), {"status": "all"}).context["rows"]
    quoted = owner_http.get(reverse("margin-list"), {"status": "quoted"}).context["rows"]

    assert [r.order_id for r in default] == [work.pk]
    assert [r.order_id for r in everything] == [quote.pk, work.pk]
    assert [r.order_id for r in quoted] == [quote.pk]


def test_api_scope_filters_accepted_work(owner, studio_profile):
    work = accepted("2026-03-01", price=Decimal("1000"))
    make_order(status=Order.Status.INQUIRY, price=Decimal("9000"))
    margins.recompute()
    http = bearer_client(owner)
    assert len(http.get("/api/margins/").json()["results"]) == 2
    results = http.get("/api/margins/?scope=accepted").json()["results"]
    assert [r["order"] for r in results] == [work.pk]
    assert http.get("/api/margins/?scope=nope").status_code == 400


def test_include_margin_reads_the_page_rows_and_computes_only_new_orders(owner, studio_profile):
    old = accepted("2026-03-01", price=Decimal("1000"))
    margins.recompute()
    new = accepted("2026-03-02", price=Decimal("700"))  # after the recompute: no row yet
    http = bearer_client(owner)
    results = {o["id"]: o for o in http.get("/api/orders/?include=margin").json()["results"]}
    assert results[old.pk]["margin"]["revenue"] == {"amount": "1000.00", "currency": "CNY"}
    assert results[new.pk]["margin"]["revenue"] == {"amount": "700.00", "currency": "CNY"}


@pytest.mark.parametrize("route", ["margin-list", "monthly-report"])
def test_artists_still_get_403_with_stored_rows(artist_http, studio_profile, route):
    accepted("2026-03-01")
    margins.recompute()
    assert artist_http.get(reverse(route)).status_code == 403


def test_artists_never_see_the_margin_section_or_field(artist, artist_http, studio_profile):
    order = accepted("2026-03-01", assignee=artist)
    margins.recompute()
    assert (
        'id="margin"'
        not in artist_http.get(reverse("order-detail", args=[order.pk])).content.decode()
    )
    http = bearer_client(artist)
    for item in http.get("/api/orders/?include=margin").json()["results"]:
        assert "margin" not in item


def test_rates_for_one_order_are_only_those_it_needs(studio_profile):
    from billing.margin import load_rates

    for day in ("2025-01-01", "2026-01-01", "2026-02-01", "2026-03-01", "2026-09-01"):
        rate("USD", day, "7.00")
    rate("EUR", "2026-02-01", "7.80")
    table = load_rates("CNY", {"USD": (dt.date(2026, 1, 15), dt.date(2026, 2, 20))})
    assert table._days == {"USD": [dt.date(2026, 1, 1), dt.date(2026, 2, 1)]}
    assert load_rates("CNY", {"CNY": (dt.date(2026, 1, 1), dt.date(2026, 1, 1))})._days == {}
    assert ExchangeRate.objects.count() == 6
