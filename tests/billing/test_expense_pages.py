"""Expense pages: who may see them, the filters, the totals (with missing rates named),
the CSV export, the form with its receipt checks, and serving the receipt."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
import time_machine

from billing import services
from billing.models import ExchangeRate, Expense, Subscription
from billing.services.expenses import RECEIPT_MAX_BYTES
from studio.models import AITool
from tests.billing.test_expense_files import PDF, PNG, upload
from tests.factories import OrderFactory

D = Decimal
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("studio_profile")]
LIST = "/expenses/"
NEW = "/expenses/new/"
EXPORT = "/expenses/export.csv"


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(dt.datetime(2026, 3, 10, 4, 0, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def kling(db):
    return AITool.objects.get_or_create(name="Kling", defaults={"kind": "video_model"})[0]


def spend(actor, **fields) -> Expense:
    values = {
        "spent_on": dt.date(2026, 3, 5),
        "amount": D("100.00"),
        "currency": "CNY",
        "category": Expense.Category.GENERATION_CREDITS,
    }
    values.update(fields)
    return services.create_expense(actor=actor, **values)


def rate(currency: str, day: str, value: str) -> ExchangeRate:
    return ExchangeRate.objects.create(
        currency=currency, quote_currency="CNY", on=dt.date.fromisoformat(day), rate=D(value)
    )


def form_data(**fields) -> dict:
    data = {
        "spent_on": "2026-03-05",
        "amount": "88.80",
        "currency": "CNY",
        "category": "dubbing",
        "vendor": "",
        "tool": "",
        "order": "",
        "note": "",
    }
    data.update(fields)
    return data


def export_rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content)
    assert body.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


# --- Who may see them -------------------------------------------------------------------------


@pytest.mark.parametrize("path", [LIST, NEW, EXPORT])
def test_artists_and_outsiders_get_403(artist_http, outsider_http, path):
    assert artist_http.get(path).status_code == 403
    assert outsider_http.get(path).status_code == 403


def test_artist_cannot_post_an_expense_or_open_one(owner, artist_http):
    item = spend(owner, receipt=upload("r.pdf", PDF))

    assert artist_http.post(NEW, form_data()).status_code == 403
    for suffix in ("", "edit/", "receipt/"):
        assert artist_http.get(f"/expenses/{item.pk}/{suffix}").status_code == 403
    assert artist_http.post(f"/expenses/{item.pk}/delete/").status_code == 403
    assert Expense.objects.count() == 1


def test_producer_sees_the_list_in_the_costs_section(owner, producer_http):
    spend(owner, vendor="海螺 AI")

    response = producer_http.get(LIST)

    assert response.status_code == 200
    page = response.content.decode()
    assert "海螺 AI" in page
    assert response.context["nav"] == "costs"
    assert 'aria-current="page">Expenses' in page


# --- Filters and totals ---------------------------------------------------------------------


def test_filters_narrow_the_list_and_its_totals(owner, owner_http, kling):
    order = OrderFactory(reference="ORD-2026-0042")
    direct = spend(owner, order=order, tool=kling, vendor="Kling")
    spend(owner, spent_on=dt.date(2026, 2, 20), category="music_licence", note="BGM licence")
    spend(owner, currency="USD", amount=D("10.00"), category="other")

    def listed(query: str) -> set[int]:
        response = owner_http.get(LIST + query)
        assert response.status_code == 200
        return {row["expense"].pk for row in response.context["rows"]}

    assert len(listed("")) == 3
    assert listed("?order=0042") == {direct.pk}
    assert listed(f"?tool={kling.pk}") == {direct.pk}
    assert listed("?kind=direct") == {direct.pk}
    assert len(listed("?kind=overhead")) == 2
    assert len(listed("?month=2026-02")) == 1
    assert len(listed("?date_from=2026-03-01&date_to=2026-03-05")) == 2
    assert len(listed("?category=music_licence")) == 1
    assert len(listed("?q=bgm")) == 1
    assert len(listed("?currency=USD")) == 1
    # Bad values count as not given, never a 500.
    assert len(listed("?month=2026-13&date_from=x&tool=abc&kind=zzz")) == 3


def test_totals_per_currency_and_in_the_reporting_currency(owner, owner_http):
    rate("USD", "2026-03-01", "7.125")
    spend(owner, amount=D("100.00"))
    spend(owner, amount=D("1.00"), currency="USD")
    spend(owner, amount=D("1.00"), currency="USD", spent_on=dt.date(2026, 3, 6))

    totals = owner_http.get(LIST).context["totals"]

    assert [(m.currency, m.amount, n) for m, n in totals.per_currency] == [
        ("CNY", D("100.00"), 1),
        ("USD", D("2.00"), 2),
    ]
    # Per expense: 7.125 -> 7.13 twice, so 114.26 (not 2 x 7.125 = 14.25 rounded once).
    assert totals.converted.amount == D("114.26")
    assert totals.missing == []


def test_missing_rates_are_counted_and_named_never_guessed(owner, owner_http):
    rate("USD", "2026-03-05", "7")
    spend(owner, amount=D("50.00"))
    spend(owner, amount=D("10.00"), currency="USD", spent_on=dt.date(2026, 3, 4))  # before it
    spend(owner, amount=D("10.00"), currency="USD", spent_on=dt.date(2026, 3, 6))
    spend(owner, amount=D("1000"), currency="JPY")

    response = owner_http.get(LIST)

    totals = response.context["totals"]
    assert totals.converted.amount == D("120.00")
    assert totals.converted_count == 2
    assert totals.missing_count == 2
    assert [(g.currency, g.count, g.amount.amount) for g in totals.missing] == [
        ("JPY", 1, D("1000")),
        ("USD", 1, D("10.00")),
    ]
    page = response.content.decode()
    assert "2 expenses are not in the CNY total" in page
    assert "no USD→CNY rate on or before 2026-03-04" in page
    assert "no JPY→CNY rate on or before 2026-03-05" in page
    assert "rate missing" in page


@pytest.mark.parametrize("size", [3, 40])
def test_list_query_count_is_flat(owner, owner_http, kling, django_assert_max_num_queries, size):
    rate("USD", "2026-01-01", "7.1")
    orders = [OrderFactory() for _ in range(3)]
    for n in range(size):
        spend(owner, order=orders[n % 3], tool=kling, currency=("USD", "CNY", "EUR")[n % 3])

    with django_assert_max_num_queries(14):
        response = owner_http.get(LIST)

    assert response.status_code == 200


# --- Export ---------------------------------------------------------------------------------


def test_export_is_utf8_with_bom_plain_amounts_and_escaped_formulas(owner, owner_http):
    rate("USD", "2026-03-01", "7.2")
    order = OrderFactory(reference="ORD-2026-0007")
    spend(owner, amount=D("1500.00"), vendor='=HYPERLINK("x")', note="配音 -2 takes", order=order)
    spend(owner, amount=D("12.50"), currency="USD", vendor="@sum", note="+1")
    spend(owner, amount=D("1200"), currency="JPY", vendor="-minus")

    response = owner_http.get(EXPORT)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    header, *rows = export_rows(response)
    assert header[:6] == ["Date", "Category", "Amount", "Currency", "Amount in CNY", "Rate missing"]
    by_vendor = {row[6]: row for row in rows}
    cny = by_vendor['\'=HYPERLINK("x")']
    assert cny[2:6] == ["1500.00", "CNY", "1500.00", "no"]
    assert cny[8] == "ORD-2026-0007"
    assert cny[10] == "配音 -2 takes"
    usd = by_vendor["'@sum"]
    assert usd[2:6] == ["12.50", "USD", "90.00", "no"]
    assert usd[10] == "'+1"
    jpy = by_vendor["'-minus"]
    assert jpy[2:6] == ["1200", "JPY", "", "yes"]


def test_export_follows_the_filters(owner, owner_http):
    spend(owner, category="dubbing")
    spend(owner, category="hardware")

    _header, *rows = export_rows(owner_http.get(EXPORT + "?category=hardware"))

    assert [row[1] for row in rows] == ["Hardware"]


def test_export_in_chinese_keeps_chinese_text(owner, owner_http):
    spend(owner, vendor="即梦")
    owner_http.post("/i18n/setlang/", {"language": "zh-hans"})

    body = b"".join(owner_http.get(EXPORT).streaming_content).decode("utf-8-sig")

    assert "即梦" in body


# --- The form -------------------------------------------------------------------------------


def test_create_with_order_reference_and_receipt(owner_http, kling):
    order = OrderFactory(reference="ORD-2026-0009")

    response = owner_http.post(
        NEW,
        form_data(order="ord-2026-0009", tool=str(kling.pk), receipt=upload("scan.png", PNG)),
    )

    assert response.status_code == 302
    item = Expense.objects.get()
    assert (item.order, item.tool, item.amount) == (order, kling, D("88.80"))
    assert item.receipt_content_type == "image/png"
    assert response["Location"] == f"/expenses/{item.pk}/"


def test_form_page_suggests_open_orders(owner_http):
    OrderFactory(reference="ORD-2026-0100", status="in_production")
    OrderFactory(reference="ORD-2026-0101", status="cancelled")

    page = owner_http.get(NEW).content.decode()

    assert 'value="ORD-2026-0100"' in page
    assert 'value="ORD-2026-0101"' not in page


def test_unknown_order_reference_is_a_field_error(owner_http):
    response = owner_http.post(NEW, form_data(order="ORD-1999-0001"))

    assert response.status_code == 400
    assert "There is no order with the reference “ORD-1999-0001”." in response.content.decode()
    assert not Expense.objects.exists()


def test_png_named_pdf_is_accepted_as_png(owner_http):
    response = owner_http.post(NEW, form_data(receipt=upload("receipt.pdf", PNG)))

    assert response.status_code == 302
    assert Expense.objects.get().receipt_content_type == "image/png"


def test_text_named_pdf_is_refused(owner_http):
    response = owner_http.post(NEW, form_data(receipt=upload("receipt.pdf", b"not really a pdf")))

    assert response.status_code == 400
    assert "Upload the receipt as a PDF, JPEG or PNG file." in response.content.decode()
    assert not Expense.objects.exists()


def test_oversize_receipt_is_refused(owner_http):
    big = upload("big.pdf", PDF + b"0" * RECEIPT_MAX_BYTES)

    response = owner_http.post(NEW, form_data(receipt=big))

    assert response.status_code == 400
    assert "the limit is 10.0" in response.content.decode()
    assert not Expense.objects.exists()


def test_yen_with_decimals_is_refused_on_the_form(owner_http):
    response = owner_http.post(NEW, form_data(currency="JPY", amount="1500.50"))

    assert response.status_code == 400
    assert "A JPY amount has at most 0 decimal places." in response.content.decode()


def test_edit_changes_fields_and_removes_the_receipt(owner, owner_http):
    item = spend(owner, receipt=upload("a.pdf", PDF))

    response = owner_http.post(
        f"/expenses/{item.pk}/edit/", form_data(amount="42.00", remove_receipt="on")
    )

    assert response.status_code == 302
    item.refresh_from_db()
    assert (item.amount, item.category, item.receipt.name) == (D("42.00"), "dubbing", "")


def test_booked_expense_form_keeps_the_subscription_fields(owner, owner_http, kling):
    plan = Subscription.objects.create(
        tool=kling,
        plan_name="Pro",
        amount=D("66"),
        currency="USD",
        started_on=dt.date(2026, 1, 5),
        next_renewal_on=dt.date(2026, 4, 5),
    )
    item = Expense.objects.create(
        spent_on=dt.date(2026, 3, 5),
        amount=D("66"),
        currency="USD",
        category="subscription",
        tool=kling,
        subscription=plan,
        renewal_on=dt.date(2026, 3, 5),
    )

    response = owner_http.post(
        f"/expenses/{item.pk}/edit/",
        form_data(amount="70", currency="CNY", category="other", spent_on="2026-03-01"),
    )

    assert response.status_code == 302
    item.refresh_from_db()
    assert (item.amount, item.currency, item.category, item.spent_on) == (
        D("70.00"),
        "USD",
        "subscription",
        dt.date(2026, 3, 5),
    )
    assert (item.subscription_id, item.renewal_on) == (plan.pk, dt.date(2026, 3, 5))
    response = owner_http.post(f"/expenses/{item.pk}/delete/", follow=True)
    assert "cannot be deleted" in response.content.decode()
    assert Expense.objects.filter(pk=item.pk).exists()


def test_detail_shows_conversion_and_history_then_delete(owner, owner_http):
    rate("USD", "2026-03-01", "7.2")
    item = spend(owner, amount=D("10.00"), currency="USD")

    page = owner_http.get(f"/expenses/{item.pk}/").content.decode()
    assert "¥72.00" in page
    assert "at 1 USD = 7.2 CNY" in page
    assert "Created" in page

    assert owner_http.post(f"/expenses/{item.pk}/delete/").status_code == 302
    assert not Expense.objects.exists()


# --- Serving the receipt ---------------------------------------------------------------------


def test_receipt_is_served_with_its_checked_type_to_owners_and_producers(
    owner, owner_http, producer_http, outsider_http
):
    item = spend(owner, receipt=upload("发票.pdf", PNG))

    for http in (owner_http, producer_http):
        response = http.get(f"/expenses/{item.pk}/receipt/")
        assert response.status_code == 200
        assert response["Content-Type"] == "image/png"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert b"".join(response.streaming_content) == PNG
    assert outsider_http.get(f"/expenses/{item.pk}/receipt/").status_code == 403


def test_expense_without_receipt_answers_404(owner, owner_http):
    item = spend(owner)

    assert owner_http.get(f"/expenses/{item.pk}/receipt/").status_code == 404
