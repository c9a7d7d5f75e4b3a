"""The calendar: month and week views of due dates and renewals, in the studio's zone."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from billing.models import Invoice, Subscription
from orders.models import Order
from studio.views_calendar import parse_month, parse_week, week_param
from tests.billing.helpers import issued, line
from tests.factories import ClientFactory
from tests.orders.factories_pages import make_order
from tests.orders.factories_production import make_tool

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=SHANGHAI)


def items_by_day(response) -> dict[dt.date, list[tuple[str, str]]]:
    return {
        d.day: [(i.kind, i.label) for i in d.items] for d in response.context["days"] if d.items
    }


def invoice_due(owner, due: dt.date, **kw) -> Invoice:
    inv = issued(owner, lines=[line(price="500.00", rate="0")], **kw)
    Invoice.objects.filter(pk=inv.pk).update(due_date=due)
    inv.refresh_from_db()
    return inv


def test_parse_month_and_week():
    assert parse_month("2026-12") == dt.date(2026, 12, 1)
    assert parse_month("2026-13") is None
    assert parse_month("x") is None
    assert parse_week("2026-W49") == dt.date(2026, 11, 30)
    assert parse_week("2026-w01") == dt.date(2025, 12, 29)
    assert parse_week("2026-W60") is None
    assert week_param(dt.date(2026, 12, 2)) == "2026-W49"


def test_month_shows_orders_invoices_and_projected_renewals_with_links(
    owner, owner_http, studio_profile
):
    # Due at 00:30 Shanghai time on 1 December = 30 November in UTC: shown on the 1st.
    order = make_order(status=Order.Status.IN_PRODUCTION, due_at=local(dt.date(2026, 12, 1), 0))
    make_order(status=Order.Status.CANCELLED, due_at=local(dt.date(2026, 12, 3), 12))
    inv = invoice_due(owner, dt.date(2026, 12, 15))
    sub = Subscription.objects.create(
        tool=make_tool("Jimeng test"),
        plan_name="Monthly",
        amount=Decimal("69.00"),
        currency="CNY",
        started_on=dt.date(2026, 10, 20),
        next_renewal_on=dt.date(2026, 11, 20),
    )

    response = owner_http.get(reverse("calendar"), {"month": "2026-12"})

    assert response.status_code == 200
    days = items_by_day(response)
    assert days[dt.date(2026, 12, 1)] == [("order", order.reference)]
    assert days[dt.date(2026, 12, 15)] == [("invoice", inv.number)]
    assert days[dt.date(2026, 12, 20)] == [("renewal", "Jimeng test")]
    assert dt.date(2026, 12, 3) not in days
    # The grid runs Monday to Sunday around the month; the days outside are marked.
    grid = response.context["days"]
    assert (grid[0].day, grid[-1].day) == (dt.date(2026, 11, 30), dt.date(2027, 1, 3))
    assert not grid[0].in_range
    body = response.content.decode()
    assert reverse("order-detail", args=[order.pk]) in body
    assert reverse("invoice-detail", args=[inv.pk]) in body
    assert reverse("subscription-detail", args=[sub.pk]) in body
    assert 'href="?month=2026-11"' in body
    assert 'href="?month=2027-01"' in body


def test_week_view_navigates_by_iso_week(owner_http, studio_profile):
    order = make_order(status=Order.Status.ACCEPTED, due_at=local(dt.date(2026, 12, 6), 23))

    response = owner_http.get(reverse("calendar"), {"week": "2026-W49"})

    assert response.context["view"] == "week"
    assert [d.day for d in response.context["days"]] == [
        dt.date(2026, 11, 30) + dt.timedelta(days=n) for n in range(7)
    ]
    assert items_by_day(response) == {dt.date(2026, 12, 6): [("order", order.reference)]}
    body = response.content.decode()
    assert 'href="?week=2026-W48"' in body
    assert 'href="?week=2026-W50"' in body
    assert 'href="?month=2026-11"' in body


def test_today_is_highlighted(owner_http, studio_profile):
    today = timezone.now().astimezone(studio_profile.zone).date()

    response = owner_http.get(reverse("calendar"))

    marked = [d.day for d in response.context["days"] if d.is_today]
    assert marked == [today]
    assert 'aria-current="date"' in response.content.decode()


@pytest.mark.parametrize("query", [{"month": "2026-99"}, {"week": "nonsense"}, {"month": "<x>"}])
def test_bad_month_or_week_shows_this_month_with_a_note(owner_http, studio_profile, query):
    response = owner_http.get(reverse("calendar"), query)

    assert response.status_code == 200
    assert response.context["bad_input"] is True
    assert response.context["view"] == "month"
    assert "was not understood" in response.content.decode()


def test_artist_sees_only_their_orders_and_no_money(artist, artist_http, owner, studio_profile):
    day = dt.date(2026, 12, 10)
    mine = make_order(status=Order.Status.IN_PRODUCTION, assignee=artist, due_at=local(day, 12))
    make_order(status=Order.Status.IN_PRODUCTION, due_at=local(day, 12), title="Not mine")
    invoice_due(owner, day)
    Subscription.objects.create(
        tool=make_tool(),
        plan_name="Secret plan",
        amount=Decimal("99.00"),
        currency="CNY",
        started_on=dt.date(2026, 11, 1),
        next_renewal_on=day,
    )

    response = artist_http.get(reverse("calendar"), {"month": "2026-12"})

    assert items_by_day(response) == {day: [("order", mine.reference)]}
    body = response.content.decode()
    assert "Secret plan" not in body
    assert "¥" not in body
    assert "Invoice due" not in body


def test_outsider_and_anonymous_are_refused(outsider_http, client):
    assert outsider_http.get(reverse("calendar")).status_code == 403
    assert client.get(reverse("calendar")).status_code == 302


def _data(n: int, owner) -> None:
    clients = ClientFactory.create_batch(2)
    for i in range(n):
        day = dt.date(2026, 12, 1 + i % 28)
        make_order(status=Order.Status.IN_PRODUCTION, due_at=local(day, 12), client=clients[i % 2])
        if i % 3 == 0:
            invoice_due(owner, day, client=clients[i % 2])
            Subscription.objects.create(
                tool=make_tool(),
                plan_name=f"Plan {i}",
                amount=Decimal("10.00"),
                currency="CNY",
                started_on=dt.date(2026, 11, 1),
                next_renewal_on=day,
            )


@pytest.mark.parametrize("persona", ["owner", "artist"])
@pytest.mark.parametrize("query", [{"month": "2026-12"}, {"week": "2026-W50"}])
def test_calendar_query_count_is_flat(
    request, owner, studio_profile, django_assert_max_num_queries, persona, query
):
    http = request.getfixturevalue(f"{persona}_http")
    _data(3, owner)
    with CaptureQueriesContext(connection) as small:
        assert http.get(reverse("calendar"), query).status_code == 200
    _data(30, owner)

    with django_assert_max_num_queries(8):
        response = http.get(reverse("calendar"), query)

    assert response.status_code == 200
    with CaptureQueriesContext(connection) as large:
        http.get(reverse("calendar"), query)
    assert len(large) == len(small)


def test_dashboard_links_to_the_calendar(owner_http, studio_profile):
    body = owner_http.get(reverse("dashboard")).content.decode()
    assert f'href="{reverse("calendar")}"' in body
