"""The margin engine: revenue, conversions, costs and the allocation of overhead."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing.margin import (
    DAYS,
    EQUAL,
    SECONDS,
    SPAN_FIELDS,
    compute_margins,
    largest_remainder,
    months_back,
    order_span,
    rank,
    with_span_ends,
)
from billing.models import ExchangeRate, Expense, Invoice
from orders.models import Order
from tests.billing.helpers import issued, line
from tests.factories import ClientFactory
from tests.orders.factories_pages import make_order
from tests.orders.factories_production import make_episode, make_shot, make_take, make_tool

SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = dt.date(2026, 6, 30)


def at(day: str) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(12), tzinfo=SHANGHAI)


def accepted(day: str = "2026-03-01", **fields) -> Order:
    fields.setdefault("status", Order.Status.IN_PRODUCTION)
    return make_order(accepted_at=at(day), **fields)


def takes(order: Order, *rows: tuple[str, str, str | None], currency: str = "CNY") -> None:
    """rows of (day, seconds, cost)."""
    shot = make_shot(make_episode(order))
    tool = make_tool()
    for day, seconds, cost in rows:
        make_take(
            shot,
            tool,
            generated_on=dt.date.fromisoformat(day),
            generated_seconds=Decimal(seconds),
            cost=None if cost is None else Decimal(cost),
            currency=currency,
        )


def overhead(day: str, amount: str, currency: str = "CNY", **fields) -> Expense:
    fields.setdefault("category", Expense.Category.OTHER)
    return Expense.objects.create(
        spent_on=dt.date.fromisoformat(day), amount=Decimal(amount), currency=currency, **fields
    )


def rate(currency: str, day: str, value: str) -> None:
    ExchangeRate.objects.create(
        currency=currency, quote_currency="CNY", on=dt.date.fromisoformat(day), rate=Decimal(value)
    )


def margin_of(order: Order):
    book = compute_margins(today=TODAY)
    result = book.get(order.pk)
    assert result is not None
    return result


# --- Revenue ----------------------------------------------------------------------------


def test_revenue_is_the_price_until_the_order_is_invoiced(studio_profile):
    order = accepted(price=Decimal("1800.00"))

    result = margin_of(order)

    assert result.revenue_source == "price"
    assert result.revenue == Decimal("1800.00")
    assert result.margin == Decimal("1800.00")
    assert result.margin_percent == Decimal("100.0")


def test_revenue_is_net_invoiced_less_credit_notes_once_invoiced(owner, studio_profile):
    from billing import services

    order = accepted(price=Decimal("3000.00"))
    invoice = issued(owner, order=order, lines=[line(price="2000", rate="6")])
    issued(owner, order=order, lines=[line(price="500", rate="6")])
    services.credit_invoice(actor=owner, invoice=invoice, lines=[line(price="300", rate="6")])

    result = margin_of(order)

    # Net amounts (tax is not revenue): 2000 + 500 - 300, not the 3000 price.
    assert result.revenue_source == "invoices"
    assert result.invoiced == Decimal("2500.00")
    assert result.credited == Decimal("300.00")
    assert result.revenue == Decimal("2200.00")
    assert len(result.invoice_lines) == 3


def test_drafts_and_void_invoices_do_not_count(owner, studio_profile):
    from billing import services

    order = accepted(price=Decimal("1000.00"))
    void = issued(owner, order=order, lines=[line(price="400")])
    services.void_invoice(actor=owner, invoice=void, reason="Duplicate")

    result = margin_of(order)

    assert result.revenue_source == "price"
    assert result.revenue == Decimal("1000.00")


def test_usd_order_converts_at_the_rate_of_its_acceptance_day(studio_profile):
    client = ClientFactory(currency="USD")
    order = accepted("2026-03-10", client=client, price=Decimal("200.00"), currency="USD")
    rate("USD", "2026-03-01", "7.10")
    rate("USD", "2026-03-09", "7.20")  # the latest before the 10th
    rate("USD", "2026-03-11", "7.30")

    result = margin_of(order)

    assert result.revenue == Decimal("1440.00")
    assert result.revenue_day == dt.date(2026, 3, 10)
    assert result.complete


def test_usd_invoice_and_take_convert_at_their_own_days(owner, studio_profile):
    client = ClientFactory(currency="USD")
    order = accepted("2026-03-10", client=client, price=Decimal("200.00"), currency="USD")
    invoice = issued(owner, order=order, lines=[line(price="100")])
    Invoice.objects.filter(pk=invoice.pk).update(issue_date=dt.date(2026, 4, 2))
    rate("USD", "2026-03-01", "7.00")
    rate("USD", "2026-04-01", "7.50")
    takes(order, ("2026-03-15", "10", "1.00"), ("2026-04-15", "10", "2.00"), currency="USD")

    result = margin_of(order)

    assert result.revenue == Decimal("750.00")
    assert result.generation == Decimal("7.00") + Decimal("15.00")


def test_missing_rate_is_reported_and_left_out_never_guessed(studio_profile):
    client = ClientFactory(currency="EUR")
    order = accepted("2026-03-10", client=client, price=Decimal("100.00"), currency="EUR")
    rate("EUR", "2026-04-01", "7.80")  # only after the acceptance day

    result = margin_of(order)

    assert result.revenue == Decimal(0)
    assert not result.complete
    (note,) = result.missing
    assert (note.what, note.currency, note.day, note.amount) == (
        "price",
        "EUR",
        dt.date(2026, 3, 10),
        Decimal("100.00"),
    )
    assert result.margin_percent is None


# --- Costs ------------------------------------------------------------------------------


def test_generation_cost_and_unpriced_takes(studio_profile):
    order = accepted()
    takes(
        order, ("2026-03-02", "5", "2.50"), ("2026-03-03", "6", None), ("2026-04-01", "4", "0.10")
    )

    result = margin_of(order)

    assert result.generation == Decimal("2.60")
    assert result.takes == 3
    assert result.unpriced_takes == 1
    assert result.seconds == Decimal(15)


def test_direct_expenses_are_the_orders_own(studio_profile):
    order = accepted(price=Decimal("1000.00"))
    other = accepted(price=Decimal("1000.00"))
    overhead("2026-03-05", "120.00", order=order, category=Expense.Category.DUBBING)
    overhead("2026-03-06", "30.00", order=other, category=Expense.Category.MUSIC_LICENCE)

    result = margin_of(order)

    assert result.direct == Decimal("120.00")
    assert result.overhead == Decimal(0)
    assert result.margin == Decimal("880.00")


# --- Overhead ---------------------------------------------------------------------------


def test_overhead_is_shared_by_generated_seconds(studio_profile):
    big = accepted("2026-03-01")
    small = accepted("2026-03-01")
    idle = accepted("2026-03-01")  # active, no seconds: no share when others have some
    takes(big, ("2026-03-10", "30", "1.00"))
    takes(small, ("2026-03-11", "10", "1.00"))
    overhead("2026-03-20", "100.00", category=Expense.Category.SUBSCRIPTION)

    book = compute_margins(today=TODAY)

    assert book.get(big.pk).overhead == Decimal("75.00")
    assert book.get(small.pk).overhead == Decimal("25.00")
    assert book.get(idle.pk).overhead == Decimal(0)
    (share,) = book.get(big.pk).shares
    assert (share.basis, share.weight, share.month_weight) == (SECONDS, Decimal(30), Decimal(40))


def test_overhead_is_shared_by_active_days_when_nobody_generated(studio_profile):
    whole = accepted("2026-02-15")  # all 30 days of April
    late = accepted("2026-04-21")  # 10 days of April
    done = make_order(
        status=Order.Status.DELIVERED,
        accepted_at=at("2026-02-01"),
        delivered_at=at("2026-03-31"),
    )  # not active in April
    overhead("2026-04-30", "400.00")

    book = compute_margins(today=TODAY)

    assert book.get(whole.pk).overhead == Decimal("300.00")
    assert book.get(late.pk).overhead == Decimal("100.00")
    assert book.get(done.pk).overhead == Decimal(0)
    assert book.get(late.pk).shares[0].basis == DAYS
    assert book.months[dt.date(2026, 4, 1)].active_orders == 2


def test_hundred_over_three_orders_sums_to_the_cent(studio_profile):
    orders = [accepted("2026-03-01") for _ in range(3)]
    overhead("2026-03-15", "100.00")

    book = compute_margins(today=TODAY)

    shares = sorted(book.get(o.pk).overhead for o in orders)
    assert shares == [Decimal("33.33"), Decimal("33.33"), Decimal("33.34")]
    assert sum(shares) == Decimal("100.00")


def test_month_without_active_orders_keeps_its_overhead_unallocated(studio_profile):
    march = accepted("2026-03-01", status=Order.Status.DELIVERED, delivered_at=at("2026-03-20"))
    may = accepted("2026-05-02")
    overhead("2026-03-25", "90.00")
    overhead("2026-04-10", "50.00")  # nobody active in April
    overhead("2026-05-10", "70.00", currency="CNY", category=Expense.Category.SUBSCRIPTION)

    book = compute_margins(today=TODAY)

    assert book.get(march.pk).overhead == Decimal("90.00")
    assert book.get(may.pk).overhead == Decimal("70.00")
    (april,) = book.unallocated_months
    assert april.month == dt.date(2026, 4, 1)
    assert april.amount == Decimal("50.00")
    allocated = sum(o.overhead for o in book.orders)
    assert allocated + april.amount == Decimal("210.00")


def test_takes_make_an_unaccepted_order_active_that_month(studio_profile):
    inquiry = make_order(status=Order.Status.INQUIRY)
    takes(inquiry, ("2026-03-05", "5", "1.00"))
    overhead("2026-03-06", "10.00")

    book = compute_margins(today=TODAY)

    assert book.get(inquiry.pk).overhead == Decimal("10.00")


def test_focus_on_one_order_gives_the_same_share_as_the_whole_book(studio_profile):
    first = accepted("2026-03-01")
    second = accepted("2026-03-10")
    outside = accepted(
        "2026-01-01", status=Order.Status.CANCELLED, status_changed_at=at("2026-05-05")
    )
    takes(first, ("2026-03-10", "7", "1.00"))
    takes(outside, ("2026-03-12", "13", "1.00"), ("2026-05-01", "3", "1.00"))
    overhead("2026-03-15", "99.99")
    overhead("2026-05-15", "10.00")
    overhead("2026-06-15", "12.34")

    whole = compute_margins(today=TODAY)
    for order in (first, second, outside):
        alone = compute_margins(orders=Order.objects.filter(pk=order.pk), today=TODAY)
        assert alone.get(order.pk).overhead == whole.get(order.pk).overhead
        assert alone.get(order.pk).shares == whole.get(order.pk).shares


def test_overhead_in_usd_converts_at_its_day(studio_profile):
    order = accepted("2026-03-01")
    rate("USD", "2026-03-01", "7.00")
    overhead("2026-03-15", "10.00", currency="USD")
    overhead("2026-02-15", "10.00", currency="GBP")  # no GBP rate at all

    book = compute_margins(today=TODAY)

    assert book.get(order.pk).overhead == Decimal("70.00")
    assert book.months[dt.date(2026, 2, 1)].incomplete
    assert any(n.what == "overhead" and n.currency == "GBP" for n in book.missing)


def test_engine_queries_do_not_grow_with_orders(studio_profile, django_assert_max_num_queries):
    for index in range(30):
        order = accepted("2026-03-01")
        if index % 3 == 0:
            takes(order, ("2026-03-05", "5", "1.00"))
    overhead("2026-03-05", "10.00")

    with django_assert_max_num_queries(7):
        compute_margins(today=TODAY)
    with django_assert_max_num_queries(9):
        compute_margins(orders=Order.objects.filter(pk=order.pk), today=TODAY, by_tool=True)


# --- Pieces -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "weights", "expected"),
    [
        ("100.00", [1, 1, 1], ["33.34", "33.33", "33.33"]),
        ("0.01", [1, 1, 1], ["0.01", "0.00", "0.00"]),
        ("10.00", [1, 2, 7], ["1.00", "2.00", "7.00"]),
        ("0.05", [3, 1], ["0.04", "0.01"]),
        ("1.00", [Decimal("0.5"), Decimal("0.25")], ["0.67", "0.33"]),
    ],
)
def test_largest_remainder_examples(total, weights, expected):
    shares = largest_remainder(
        Decimal(total), {i: Decimal(w) for i, w in enumerate(weights)}, "CNY"
    )
    assert [shares[i] for i in range(len(weights))] == [Decimal(e) for e in expected]


@settings(max_examples=300, deadline=None)
@given(
    cents=st.integers(min_value=0, max_value=10**11),
    weights=st.lists(
        st.decimals(min_value=0, max_value=100_000, places=2), min_size=1, max_size=40
    ).filter(lambda ws: sum(ws) > 0),
    currency=st.sampled_from(["CNY", "JPY"]),
)
def test_largest_remainder_always_sums_exactly(cents, weights, currency):
    total = Decimal(cents) / 100 if currency == "CNY" else Decimal(cents // 100)
    shares = largest_remainder(total, dict(enumerate(weights)), currency)

    assert sum(shares.values()) == total
    step = Decimal("0.01") if currency == "CNY" else Decimal(1)
    weight_sum = sum(weights)
    for key, weight in enumerate(weights):
        exact = total * weight / weight_sum
        assert abs(shares[key] - exact) < step
        assert shares[key] == shares[key].quantize(step)


def test_equal_split_when_active_orders_have_neither_seconds_nor_days(studio_profile):
    one = make_order(status=Order.Status.INQUIRY)
    two = make_order(status=Order.Status.INQUIRY)
    takes(one, ("2026-03-05", "0", "0.00"))
    takes(two, ("2026-03-06", "0", None))
    overhead("2026-03-10", "0.03")

    book = compute_margins(today=TODAY)

    assert book.get(one.pk).shares[0].basis == EQUAL
    assert book.get(one.pk).overhead + book.get(two.pk).overhead == Decimal("0.03")


def test_span_of_an_order(studio_profile):
    done = make_order(
        status=Order.Status.COMPLETED,
        accepted_at=at("2026-03-01"),
        completed_at=at("2026-03-09"),
        status_changed_at=at("2026-03-10"),
    )
    held = make_order(status=Order.Status.ON_HOLD, accepted_at=at("2026-03-01"))
    cancelled = make_order(
        status=Order.Status.CANCELLED,
        accepted_at=at("2026-03-01"),
        status_changed_at=at("2026-04-02"),
    )
    quoted = make_order(status=Order.Status.QUOTED)
    rows = {row["id"]: row for row in with_span_ends(Order.objects.all()).values(*SPAN_FIELDS)}

    def span(order):
        return order_span(rows[order.pk], today=TODAY, zone=SHANGHAI)

    assert span(done) == (dt.date(2026, 3, 1), dt.date(2026, 3, 9))
    assert span(held) == (dt.date(2026, 3, 1), TODAY)
    assert span(cancelled) == (dt.date(2026, 3, 1), dt.date(2026, 4, 2))
    assert span(quoted) is None


def test_months_back_and_rank(studio_profile):
    assert months_back(dt.date(2026, 2, 17), 3) == [
        dt.date(2025, 12, 1),
        dt.date(2026, 1, 1),
        dt.date(2026, 2, 1),
    ]
    cheap = accepted(price=Decimal("100.00"))
    dear = accepted(price=Decimal("900.00"))
    free = accepted(price=Decimal("0.00"))
    overhead("2026-03-01", "1.00", order=cheap)
    book = compute_margins(today=TODAY)
    assert [m.order_id for m in rank(book.orders)] == [dear.pk, cheap.pk, free.pk]
    by_pct = rank(book.orders, by="margin_percent", descending=False)
    assert [m.order_id for m in by_pct] == [cheap.pk, dear.pk, free.pk]


def test_cancelled_order_without_invoices_earned_nothing_but_keeps_its_costs(studio_profile):
    order = accepted(status=Order.Status.CANCELLED, status_changed_at=at("2026-03-20"))
    takes(order, ("2026-03-02", "5", "2.50"))

    result = margin_of(order)

    assert (result.revenue_source, result.revenue) == ("cancelled", Decimal(0))
    assert result.margin == Decimal("-2.50")
    assert result.margin_percent is None


# --- One order, as its page computes it ---------------------------------------------------


def _page_order(order: Order) -> Order:
    """The order as the order page reads it (with its client)."""
    return Order.objects.select_related("client").get(pk=order.pk)


def _busy_studio(owner) -> list[Order]:
    """Orders in several currencies and states, takes before acceptance and in months
    outside the spans, overhead in CNY, USD and without a rate, invoices and a credit."""
    usd = ClientFactory(currency="USD")
    first = accepted("2026-03-10", client=usd, price=Decimal("200.00"), currency="USD")
    second = accepted("2026-03-20")
    delivered = accepted("2026-02-01", status=Order.Status.DELIVERED, delivered_at=at("2026-03-05"))
    cancelled = accepted(
        "2026-01-01", status=Order.Status.CANCELLED, status_changed_at=at("2026-05-05")
    )
    inquiry = make_order(status=Order.Status.INQUIRY)
    rate("USD", "2026-01-01", "7.00")
    rate("USD", "2026-04-01", "7.50")
    takes(first, ("2026-01-20", "4", "1.00"), ("2026-03-15", "10", "1.00"), currency="USD")
    takes(first, ("2026-03-15", "3.33", None), ("2026-04-02", "6", "2.22"))
    takes(second, ("2026-03-21", "7", "0.70"), ("2026-06-01", "0", "0.00"))
    takes(cancelled, ("2026-03-12", "13", "1.00"), ("2026-05-01", "3", "1.00"))
    takes(inquiry, ("2026-04-10", "2", "0.20"))
    invoice = issued(owner, order=first, lines=[line(price="100")])
    Invoice.objects.filter(pk=invoice.pk).update(issue_date=dt.date(2026, 4, 2))
    issued(owner, order=second, lines=[line(price="900")])
    for day, amount, currency in [
        ("2026-01-15", "50.00", "CNY"),
        ("2026-03-15", "99.99", "CNY"),
        ("2026-03-16", "10.00", "USD"),
        ("2026-04-15", "10.00", "GBP"),  # no rate: the month is incomplete
        ("2026-05-15", "10.00", "CNY"),
        ("2026-06-15", "12.34", "CNY"),
    ]:
        overhead(day, amount, currency)
    overhead("2026-03-02", "30.00", category=Expense.Category.MUSIC_LICENCE, order=first)
    return [first, second, delivered, cancelled, inquiry]


def test_order_detail_with_overhead_equals_the_engine_focused_on_the_order(owner, studio_profile):
    from billing.margin import order_detail

    for order in _busy_studio(owner):
        book = compute_margins(orders=Order.objects.filter(pk=order.pk), today=TODAY, by_tool=True)
        expected = book.get(order.pk)

        result = order_detail(
            order=_page_order(order), profile=studio_profile, overhead=True, today=TODAY
        )

        assert result == expected, order.reference


def test_order_detail_without_overhead_has_the_same_own_figures(owner, studio_profile):
    from billing.margin import order_detail

    for order in _busy_studio(owner):
        expected = compute_margins(
            orders=Order.objects.filter(pk=order.pk), today=TODAY, by_tool=True
        ).get(order.pk)

        result = order_detail(order=_page_order(order), profile=studio_profile, today=TODAY)

        assert (result.overhead, result.shares) == (Decimal(0), [])
        assert result.revenue == expected.revenue
        assert result.invoice_lines == expected.invoice_lines
        assert (result.generation, result.tools) == (expected.generation, expected.tools)
        assert (result.direct, result.expense_lines) == (expected.direct, expected.expense_lines)
        assert result.missing == [n for n in expected.missing if n.what != "overhead"]


def test_order_detail_reads_takes_and_invoices_the_page_has_read(
    owner, studio_profile, django_assert_num_queries
):
    from billing.margin import order_detail
    from billing.selectors import order_invoices
    from orders.production_selectors import open_page_reads, order_take_sums

    first = _busy_studio(owner)[0]
    order = _page_order(first)
    open_page_reads(order)
    order_take_sums(order)
    order_invoices(order)

    # Its expenses with those of its overhead months, the USD rates, the other orders of
    # those months: the takes and invoices come from the page's reads.
    with django_assert_num_queries(3):
        shared = order_detail(order=order, profile=studio_profile, overhead=True, today=TODAY)
    # Without the page's memo, each call reads them: 5.
    fresh = _page_order(first)
    with django_assert_num_queries(5):
        alone = order_detail(order=fresh, profile=studio_profile, overhead=True, today=TODAY)

    assert shared == alone
    assert shared.shares


def test_order_detail_queries_do_not_grow_with_orders(
    owner, studio_profile, django_assert_num_queries
):
    from billing.margin import order_detail

    order = _busy_studio(owner)[1]
    for _ in range(40):
        other = accepted("2026-03-01")
        takes(other, ("2026-03-05", "5", "1.00"))

    page_order = _page_order(order)
    # Takes, invoices, expenses, the USD rates (March's overhead), the other orders.
    with django_assert_num_queries(5):
        order_detail(order=page_order, profile=studio_profile, overhead=True, today=TODAY)
