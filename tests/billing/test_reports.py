"""The monthly report (figures, on-time rate, CSV) and the margin and report pages."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from billing import services
from billing.models import ExchangeRate, Expense, Invoice, Payment
from billing.reports import monthly_report, parse_month, report_csv, safe_cell
from orders.models import Episode, Order, Shot, Take
from studio.models import AITool
from tests.billing.helpers import issued, line
from tests.factories import ClientFactory
from tests.orders.factories_pages import make_order
from tests.orders.factories_production import make_episode, make_shot, make_take, make_tool

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(day: str, hour: int = 12) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour), tzinfo=SHANGHAI)


def expense(day: str, amount: str, currency: str = "CNY", **fields) -> Expense:
    fields.setdefault("category", Expense.Category.OTHER)
    return Expense.objects.create(
        spent_on=dt.date.fromisoformat(day), amount=Decimal(amount), currency=currency, **fields
    )


def invoice_on(owner, day: str, price: str, **fields) -> Invoice:
    invoice = issued(owner, lines=[line(price=price, rate="6")], **fields)
    Invoice.objects.filter(pk=invoice.pk).update(issue_date=dt.date.fromisoformat(day))
    invoice.refresh_from_db()
    return invoice


# --- Figures ----------------------------------------------------------------------------


def test_month_figures_add_up(owner, studio_profile):
    march = invoice_on(owner, "2026-03-05", "1000")
    invoice_on(owner, "2026-04-02", "400")
    note = services.credit_invoice(actor=owner, invoice=march, lines=[line(price="100", rate="6")])
    Invoice.objects.filter(pk=note.pk).update(issue_date=dt.date(2026, 4, 10))
    services.record_payment(
        actor=owner,
        invoice=march,
        amount=Decimal("500"),
        method="cash",
        paid_on=dt.date(2026, 4, 3),
    )
    order = make_order(status=Order.Status.IN_PRODUCTION)
    shot = make_shot(make_episode(order))
    tool = make_tool()
    make_take(shot, tool, generated_on=dt.date(2026, 3, 9), cost=Decimal("12.50"))
    make_take(shot, tool, generated_on=dt.date(2026, 3, 10), cost=None)
    expense("2026-03-01", "99.00", category=Expense.Category.SUBSCRIPTION)
    expense("2026-03-15", "20.00", order=order, category=Expense.Category.DUBBING)
    expense("2026-04-15", "5.00")

    report = monthly_report(end=dt.date(2026, 4, 1), months=3)

    feb, mar, apr = report.months
    assert feb.month == dt.date(2026, 2, 1)
    assert feb.invoiced == 0
    assert feb.costs == 0
    assert mar.invoiced == Decimal("1000.00")
    assert (mar.generation, mar.subscriptions, mar.other_expenses) == (
        Decimal("12.50"),
        Decimal("99.00"),
        Decimal("20.00"),
    )
    assert mar.unpriced_takes == 1
    assert mar.gross_margin == Decimal("868.50")
    assert apr.invoiced == Decimal("300.00")  # 400 issued less the 100 credit note
    assert apr.received == Decimal("500.00")
    assert apr.other_expenses == Decimal("5.00")
    assert report.totals.invoiced == Decimal("1300.00")
    assert not report.missing


def test_foreign_amounts_convert_on_their_day_and_missing_rates_are_listed(owner, studio_profile):
    client = ClientFactory(currency="USD")
    invoice_on(owner, "2026-03-05", "100", client=client, currency="USD")
    ExchangeRate.objects.create(currency="USD", on=dt.date(2026, 3, 1), rate=Decimal("7.25"))
    expense("2026-03-20", "10.00", currency="EUR")  # no EUR rate

    report = monthly_report(end=dt.date(2026, 3, 1), months=1)

    (mar,) = report.months
    assert mar.invoiced == Decimal("725.00")
    assert mar.other_expenses == 0
    assert mar.missing == 1
    (note,) = report.missing
    assert (note.currency, note.day, note.amount) == ("EUR", dt.date(2026, 3, 20), Decimal("10.00"))


def test_on_time_rate_counts_orders_delivered_by_their_due_date(studio_profile):
    make_order(
        status=Order.Status.DELIVERED, delivered_at=at("2026-05-03"), due_at=at("2026-05-04")
    )
    make_order(
        status=Order.Status.DELIVERED, delivered_at=at("2026-05-10"), due_at=at("2026-05-08")
    )
    make_order(
        status=Order.Status.COMPLETED, delivered_at=at("2026-05-20"), due_at=at("2026-05-20")
    )
    make_order(status=Order.Status.DELIVERED, delivered_at=at("2026-05-21"), due_at=None)
    # Delivered on 1 June 00:30 in Shanghai (31 May in UTC): a June delivery.
    make_order(
        status=Order.Status.DELIVERED,
        delivered_at=at("2026-06-01", hour=0),
        due_at=at("2026-06-02"),
    )

    may, june = monthly_report(end=dt.date(2026, 6, 1), months=2).months

    assert (may.delivered, may.with_due, may.on_time) == (4, 3, 2)
    assert may.on_time_rate == Decimal("66.7")
    assert (june.delivered, june.on_time_rate) == (1, Decimal("100.0"))


def test_a_month_without_deliveries_has_no_on_time_rate(studio_profile):
    (month,) = monthly_report(end=dt.date(2026, 1, 1), months=1).months
    assert month.on_time_rate is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12", dt.date(2026, 12, 1)),
        ("2026-1", dt.date(2026, 1, 1)),
        ("2026-13", None),
        ("26-12", None),
        ("", None),
        (None, None),
        ("'; drop", None),
    ],
)
def test_parse_month(text, expected):
    assert parse_month(text) == expected


def test_report_refuses_silly_month_counts(studio_profile):
    with pytest.raises(ValueError, match="months"):
        monthly_report(end=dt.date(2026, 1, 1), months=0)


# --- CSV --------------------------------------------------------------------------------


def test_csv_has_a_bom_a_row_per_month_and_defuses_formulas(owner, studio_profile):
    invoice_on(owner, "2026-03-05", "1000")
    report = monthly_report(end=dt.date(2026, 3, 1), months=2)

    text = report_csv(report)

    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert rows[0][0] == "Month"
    assert [r[0] for r in rows[1:]] == ["2026-02", "2026-03"]
    assert rows[2][2] == "1000.00"
    assert safe_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert safe_cell("@SUM") == "'@SUM"
    assert safe_cell(Decimal("-5.00")) == "-5.00"


def test_csv_download_from_the_page(owner_http, studio_profile):
    response = owner_http.get(
        reverse("monthly-report"), {"end": "2026-03", "months": "3", "format": "csv"}
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "reeldesk-monthly-2026-01-2026-03.csv" in response["Content-Disposition"]
    assert response.content.startswith("\ufeff".encode())


def test_csv_in_chinese(owner_http, studio_profile):
    owner_http.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    response = owner_http.get(reverse("monthly-report"), {"format": "csv"})
    assert response.status_code == 200
    response.content.decode("utf-8-sig")


# --- Pages by role ---------------------------------------------------------------------


@pytest.mark.parametrize("route", ["margin-list", "monthly-report"])
def test_artist_gets_403(artist_http, route, studio_profile):
    assert artist_http.get(reverse(route)).status_code == 403


@pytest.mark.parametrize("route", ["margin-list", "monthly-report"])
def test_outsider_gets_403_and_anonymous_signs_in(outsider_http, client, route, studio_profile):
    assert outsider_http.get(reverse(route)).status_code == 403
    assert client.get(reverse(route)).status_code == 302


@pytest.mark.parametrize("persona", ["owner_http", "producer_http"])
def test_margin_list_shows_orders_and_flags_unallocated_months(persona, request, studio_profile):
    http = request.getfixturevalue(persona)
    order = make_order(
        status=Order.Status.IN_PRODUCTION, accepted_at=at("2026-03-01"), price=Decimal("1500")
    )
    expense("2026-01-10", "50.00")  # January: nobody active

    response = http.get(reverse("margin-list"))

    assert response.status_code == 200
    body = response.content.decode()
    assert order.reference in body
    assert "is not allocated" in body
    assert 'aria-current="page"' in body
    assert response.context["nav"] == "costs"


def test_margin_list_sorts_filters_and_ignores_bad_input(owner_http, studio_profile):
    low = make_order(
        status=Order.Status.IN_PRODUCTION, accepted_at=at("2026-03-01"), price=Decimal("100")
    )
    high = make_order(
        status=Order.Status.DELIVERED,
        accepted_at=at("2026-03-01"),
        price=Decimal("900"),
        delivered_at=at("2026-03-05"),
    )

    rows = owner_http.get(reverse("margin-list"), {"sort": "margin"}).context["rows"]
    assert [r.order_id for r in rows] == [low.pk, high.pk]
    rows = owner_http.get(reverse("margin-list"), {"status": "delivered"}).context["rows"]
    assert [r.order_id for r in rows] == [high.pk]
    rows = owner_http.get(reverse("margin-list"), {"client": low.client_id}).context["rows"]
    assert [r.order_id for r in rows] == [low.pk]
    response = owner_http.get(
        reverse("margin-list"),
        {"sort": "bogus", "status": "nope", "client": "x", "page": "99", "period": "??"},
    )
    assert response.status_code == 200
    assert [r.order_id for r in response.context["rows"]] == [high.pk, low.pk]


def test_monthly_report_page_has_an_accessible_chart(owner_http, owner, studio_profile):
    invoice_on(owner, "2026-03-05", "1000")

    response = owner_http.get(reverse("monthly-report"), {"end": "2026-03", "months": "6"})

    assert response.status_code == 200
    body = response.content.decode()
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="chart"' in body
    assert 'role="img"' in body
    assert "<title" in body
    assert "<desc" in body
    assert "Chart data as a table" in body
    assert "style=" not in body.split("<main", 1)[-1]
    assert len(response.context["report"].months) == 6


def test_monthly_report_page_ignores_a_bad_end_month(owner_http, studio_profile):
    response = owner_http.get(reverse("monthly-report"), {"end": "2026-99", "months": "7"})
    assert response.status_code == 200
    assert len(response.context["report"].months) == 12


def test_order_page_has_a_margin_section_for_staff_not_artists(
    owner_http, artist, artist_http, studio_profile
):
    order = make_order(
        status=Order.Status.IN_PRODUCTION, accepted_at=at("2026-03-01"), assignee=artist
    )
    expense(
        "2026-03-03",
        "12.00",
        order=order,
        category=Expense.Category.MUSIC_LICENCE,
        vendor="Epidemic",
    )
    expense("2026-03-04", "30.00")

    staff = owner_http.get(reverse("order-detail", args=[order.pk])).content.decode()
    art = artist_http.get(reverse("order-detail", args=[order.pk])).content.decode()

    assert 'id="margin"' in staff
    assert "Epidemic" in staff
    assert "by active days" in staff
    assert 'id="margin"' not in art


# --- Query counts at two sizes -----------------------------------------------------------


def bulk_world(count: int) -> Order:
    """count orders with takes, expenses over months, invoices and payments, in bulk."""
    client = ClientFactory()
    tool = AITool.objects.first() or make_tool()
    orders = Order.objects.bulk_create(
        Order(
            reference=f"BLK-{count}-{i:05d}",
            client=client,
            title=f"Bulk {i}",
            price=Decimal("1000.00"),
            currency="CNY",
            status=Order.Status.IN_PRODUCTION if i % 3 else Order.Status.DELIVERED,
            accepted_at=at(f"2026-{i % 6 + 1:02d}-02"),
            delivered_at=None if i % 3 else at(f"2026-{i % 6 + 1:02d}-20"),
            due_at=at(f"2026-{i % 6 + 1:02d}-18"),
            turnaround_days=7,
            revision_rounds_included=2,
        )
        for i in range(count)
    )
    episodes = Episode.objects.bulk_create(Episode(order=o, number=1) for o in orders)
    shots = Shot.objects.bulk_create(
        Shot(episode=e, code="010", position=1, planned_seconds=Decimal(5)) for e in episodes
    )
    Take.objects.bulk_create(
        Take(
            shot=s,
            tool=tool,
            number=n + 1,
            generated_seconds=Decimal(5),
            generated_on=dt.date(2026, i % 6 + 1, 5 + n),
            cost=Decimal("2.50") if n else None,
            currency="CNY",
        )
        for i, s in enumerate(shots)
        for n in range(2)
    )
    Expense.objects.bulk_create(
        Expense(
            spent_on=dt.date(2026, m, 10),
            amount=Decimal("33.33"),
            currency="CNY",
            category=Expense.Category.OTHER,
            order=orders[i] if i % 2 else None,
        )
        for m in range(1, 8)
        for i in range(min(count, 5))
    )
    invoices = Invoice.objects.bulk_create(
        Invoice(
            client=client,
            order=o,
            currency="CNY",
            status=Invoice.Status.ISSUED,
            number=f"INV-BLK-{count}-{i}",
            issue_date=dt.date(2026, i % 6 + 1, 21),
            subtotal=Decimal("900.00"),
            total=Decimal("954.00"),
        )
        for i, o in enumerate(orders[::2])
    )
    Payment.objects.bulk_create(
        Payment(
            invoice=inv,
            amount=Decimal("100"),
            currency="CNY",
            method="cash",
            paid_on=inv.issue_date,
        )
        for inv in invoices
    )
    return orders[0]


def _queries(http, url: str, params: dict | None = None) -> int:
    http.get(url, params or {})
    with CaptureQueriesContext(connection) as ctx:
        response = http.get(url, params or {})
    assert response.status_code == 200
    return len(ctx.captured_queries)


PAGES = [
    ("margin-list", {}),
    ("margin-list", {"status": "in_production", "sort": "-margin_percent", "period": "this_year"}),
    ("monthly-report", {"end": "2026-12", "months": "12"}),
]


@pytest.mark.parametrize(("route", "params"), PAGES)
def test_pages_run_a_fixed_number_of_queries(owner_http, studio_profile, route, params):
    counts = []
    for size in (5, 60):
        bulk_world(size)
        counts.append(_queries(owner_http, reverse(route), params))
    assert counts[0] == counts[1]
    assert counts[0] <= 16


def test_order_page_margin_section_is_flat(owner_http, studio_profile):
    counts = []
    for size in (5, 60):
        order = bulk_world(size)
        counts.append(_queries(owner_http, reverse("order-detail", args=[order.pk])))
    assert counts[0] == counts[1]
