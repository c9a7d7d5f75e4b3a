"""GET /api/margins/, GET /api/reports/monthly/ and the `margin` field of orders."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.models import Expense, Invoice
from orders.models import Order
from tests.billing.helpers import issued, line
from tests.billing.test_reports import bulk_world
from tests.orders.factories_api import bearer_client, error_of, session_client
from tests.orders.factories_pages import make_order

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(day: str) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(12), tzinfo=SHANGHAI)


def test_margins_list_is_paginated_with_money_as_strings(owner, studio_profile):
    order = make_order(
        status=Order.Status.IN_PRODUCTION, accepted_at=at("2026-03-01"), price=Decimal("1500.00")
    )
    Expense.objects.create(
        spent_on=dt.date(2026, 3, 2),
        amount=Decimal("100.00"),
        currency="CNY",
        category=Expense.Category.DUBBING,
        order=order,
    )

    body = bearer_client(owner).get("/api/margins/").json()

    assert body["count"] == 1
    (row,) = body["results"]
    assert row["order"] == order.pk
    assert row["reference"] == order.reference
    assert row["revenue"] == {"amount": "1500.00", "currency": "CNY"}
    assert row["direct"] == {"amount": "100.00", "currency": "CNY"}
    assert row["margin"] == {"amount": "1400.00", "currency": "CNY"}
    assert row["margin_percent"] == "93.3"
    assert row["revenue_source"] == "price"
    assert row["complete"] is True
    assert row["missing_rates"] == []


def test_margins_ordering_and_filters(owner, studio_profile):
    cheap = make_order(
        status=Order.Status.IN_PRODUCTION, accepted_at=at("2026-03-01"), price=Decimal("100")
    )
    dear = make_order(status=Order.Status.QUOTED, price=Decimal("900"))
    http = bearer_client(owner)

    def refs(params):
        return [r["order"] for r in http.get("/api/margins/", params).json()["results"]]

    assert refs({}) == [dear.pk, cheap.pk]
    assert refs({"ordering": "margin"}) == [cheap.pk, dear.pk]
    assert refs({"status": "quoted"}) == [dear.pk]
    assert refs({"client": cheap.client_id}) == [cheap.pk]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"ordering": "price"}, "ordering"),
        ({"status": "nope"}, "status"),
        ({"client": "x"}, "client"),
        ({"period": "forever"}, "period"),
    ],
)
def test_margins_bad_query_is_a_clear_400(owner, studio_profile, params, field):
    response = bearer_client(owner).get("/api/margins/", params)
    assert response.status_code == 400
    assert field in error_of(response)["fields"]


def test_monthly_report_api(owner, studio_profile):
    invoice = issued(owner, lines=[line(price="1000", rate="6")])
    Invoice.objects.filter(pk=invoice.pk).update(issue_date=dt.date(2026, 11, 3))

    response = bearer_client(owner).get("/api/reports/monthly/?end=2026-12&months=12")

    assert response.status_code == 200
    body = response.json()
    assert (body["currency"], body["start"], body["end"]) == ("CNY", "2026-01", "2026-12")
    assert len(body["months"]) == 12
    november = body["months"][10]
    assert november["month"] == "2026-11"
    assert november["invoiced"] == {"amount": "1000.00", "currency": "CNY"}
    assert november["gross_margin"] == {"amount": "1000.00", "currency": "CNY"}
    assert november["on_time_rate"] is None
    assert body["totals"]["invoiced"]["amount"] == "1000.00"
    assert body["missing_rates"] == []


@pytest.mark.parametrize(
    ("query", "field"), [("end=2026-13", "end"), ("months=0", "months"), ("months=99", "months")]
)
def test_monthly_report_bad_query_is_a_400(owner, studio_profile, query, field):
    response = bearer_client(owner).get(f"/api/reports/monthly/?{query}")
    assert response.status_code == 400
    assert field in error_of(response)["fields"]


@pytest.mark.parametrize("url", ["/api/margins/", "/api/reports/monthly/"])
def test_artists_and_outsiders_get_403(artist, outsider, studio_profile, url):
    assert bearer_client(artist).get(url).status_code == 403
    assert session_client(outsider).get(url).status_code == 403


# --- `margin` on the order representation --------------------------------------------------


def test_order_has_margin_only_when_asked_and_only_for_money_staff(
    owner, producer, artist, studio_profile
):
    order = make_order(
        status=Order.Status.IN_PRODUCTION,
        accepted_at=at("2026-03-01"),
        price=Decimal("1888.00"),
        assignee=artist,
    )

    plain = bearer_client(owner).get(f"/api/orders/{order.pk}/").json()
    detail = bearer_client(owner).get(f"/api/orders/{order.pk}/?include=margin").json()
    listed = bearer_client(producer).get("/api/orders/?include=margin").json()["results"][0]
    art_detail = bearer_client(artist).get(f"/api/orders/{order.pk}/?include=margin").json()
    art_list = bearer_client(artist).get("/api/orders/?include=margin").json()["results"][0]

    assert "margin" not in plain
    assert detail["margin"]["revenue"] == {"amount": "1888.00", "currency": "CNY"}
    assert detail["margin"]["margin"]["amount"] == "1888.00"
    assert listed["margin"]["revenue"]["amount"] == "1888.00"
    assert "margin" not in art_detail
    assert "margin" not in art_list
    assert "1888" not in str(art_list)


@pytest.mark.parametrize(
    "url",
    [
        "/api/margins/?page_size=200",
        "/api/reports/monthly/?end=2026-12",
        "/api/orders/?include=margin&page_size=200",
    ],
)
def test_api_query_counts_do_not_grow_with_orders(owner, studio_profile, url):
    http = bearer_client(owner)
    counts = []
    for size in (5, 60):
        bulk_world(size)
        http.get(url)
        with CaptureQueriesContext(connection) as ctx:
            assert http.get(url).status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]


def test_schema_documents_the_margin_field_and_reports(db, client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert "/api/margins/" in schema["paths"]
    assert "/api/reports/monthly/" in schema["paths"]
    order = schema["components"]["schemas"]["Order"]
    assert "margin" in order["properties"]
    assert "margin" not in order.get("required", [])
    params = {p["name"] for p in schema["paths"]["/api/orders/"]["get"]["parameters"]}
    assert "include" in params
