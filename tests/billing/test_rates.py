"""Exchange rates: the services (upsert, correct, delete), the pages (latest and history,
entry by hand, the missing-rates notice) and the CSV import with its preview."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from billing import services
from billing.models import CostEvent, ExchangeRate, Expense, Subscription
from billing.services.rates import parse_day
from studio.errors import Conflict, InvalidInput, NotPermitted
from studio.models import AITool
from tests.billing.helpers import order_for
from tests.billing.test_expense_files import upload
from tests.factories import ClientFactory

D = Decimal
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("studio_profile")]
LIST = "/exchange-rates/"
IMPORT = "/exchange-rates/import/"


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(dt.datetime(2026, 3, 10, 4, 0, tzinfo=dt.UTC), tick=False):
        yield


def rate(currency: str, day: str, value: str, quote: str = "CNY") -> ExchangeRate:
    return ExchangeRate.objects.create(
        currency=currency, quote_currency=quote, on=dt.date.fromisoformat(day), rate=D(value)
    )


def csv_file(text: str, *, encoding: str = "utf-8", bom: bool = False, name: str = "rates.csv"):
    data = text.encode(encoding)
    return upload(name, (b"\xef\xbb\xbf" if bom else b"") + data, "text/csv")


# --- Services -------------------------------------------------------------------------------


def test_set_rate_creates_then_updates_the_same_day(owner):
    first = services.set_rate(actor=owner, currency="usd", on=dt.date(2026, 3, 5), rate="7.19")
    again = services.set_rate(actor=owner, currency="USD", on=dt.date(2026, 3, 5), rate="7.19")
    changed = services.set_rate(actor=owner, currency="USD", on=dt.date(2026, 3, 5), rate="7.2")

    assert first.created
    assert not again.created
    assert not changed.created
    only = ExchangeRate.objects.get()
    assert (only.currency, only.quote_currency, only.rate) == ("USD", "CNY", D("7.2"))
    kinds = list(
        CostEvent.objects.filter(subject="exchange_rate")
        .order_by("pk")
        .values_list("kind", "actor")
    )
    assert kinds == [("created", owner.pk), ("updated", owner.pk)]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"rate": "0"}, "rate"),
        ({"rate": "-1"}, "rate"),
        ({"rate": "7.123456789"}, "rate"),
        ({"rate": "1e12"}, "rate"),
        ({"rate": "seven"}, "rate"),
        ({"currency": "CNY"}, "currency"),
        ({"currency": "ABC"}, "currency"),
        ({"on": dt.date(1999, 1, 1)}, "on"),
        ({"on": dt.date(2027, 6, 1)}, "on"),
    ],
)
def test_set_rate_refuses_bad_input(owner, fields, field):
    values = {"currency": "USD", "on": dt.date(2026, 3, 5), "rate": "7.19", **fields}

    with pytest.raises(InvalidInput) as caught:
        services.set_rate(actor=owner, **values)

    assert field in caught.value.fields
    assert not ExchangeRate.objects.exists()


def test_update_rate_refuses_a_day_that_has_a_rate(owner):
    rate("USD", "2026-03-04", "7.1")
    fifth = rate("USD", "2026-03-05", "7.2")

    with pytest.raises(Conflict):
        services.update_rate(actor=owner, exchange_rate=fifth, on=dt.date(2026, 3, 4))

    services.update_rate(actor=owner, exchange_rate=fifth, rate="7.25", on=dt.date(2026, 3, 6))
    fifth.refresh_from_db()
    assert (fifth.on, fifth.rate) == (dt.date(2026, 3, 6), D("7.25"))


def test_delete_rate_records_it_and_is_idempotent(owner):
    item = rate("USD", "2026-03-04", "7.1")

    services.delete_rate(actor=owner, exchange_rate=item)
    services.delete_rate(actor=owner, exchange_rate=item)

    assert not ExchangeRate.objects.exists()
    assert CostEvent.objects.filter(kind="deleted").count() == 1


def test_artist_cannot_set_rates(artist):
    with pytest.raises(NotPermitted):
        services.set_rate(actor=artist, currency="USD", on=dt.date(2026, 3, 5), rate="7")


@pytest.mark.parametrize(
    ("raw", "day"),
    [
        ("2026-03-05", dt.date(2026, 3, 5)),
        ("2026/3/5", dt.date(2026, 3, 5)),
        ("2026年3月5日", dt.date(2026, 3, 5)),
        ("2026.03.05", dt.date(2026, 3, 5)),
        ("2026-02-30", None),
        ("05/03/2026", None),
        ("yesterday", None),
    ],
)
def test_parse_day(raw, day):
    assert parse_day(raw) == day


# --- CSV import: services -------------------------------------------------------------------


def test_preview_saves_nothing_and_says_what_each_row_would_do(owner):
    rate("USD", "2026-03-05", "7.19")
    rate("EUR", "2026-03-05", "7.80")
    text = "date,currency,rate\n2026-03-05,USD,7.19\n2026/3/5,EUR,7.81\n2026年3月5日,JPY,0.0478\n"

    preview = services.preview_rates_csv(actor=owner, upload=csv_file(text))

    assert [line.action for line in preview.lines] == ["same", "update", "new"]
    assert preview.error_count == 0
    assert ExchangeRate.objects.count() == 2
    assert not CostEvent.objects.exists()


def test_bad_rows_get_specific_errors(owner):
    text = (
        "date,currency,rate\n"
        "2026-13-01,USD,7.1\n"
        ",USD,7.1\n"
        "2026-03-01,XYZ,7.1\n"
        "2026-03-01,USD,abc\n"
        "2026-03-01,USD,-2\n"
        "1999-03-01,USD,7\n"
        "2026-03-01,CNY,1\n"
        "2026-03-02,USD,7.1\n"
        "2026/3/2,usd,7.2\n"
        "2026-03-03,EUR,\n"
    )

    preview = services.preview_rates_csv(actor=owner, upload=csv_file(text))

    errors = {line.line: " ".join(line.errors) for line in preview.lines}
    assert "“2026-13-01” is not a date" in errors[2]
    assert "The date is missing." in errors[3]
    assert "“XYZ” is not a currency" in errors[4]
    assert "Enter a number. (“abc”)" in errors[5]
    assert "more than zero" in errors[6]
    assert "between 2000-01-01" in errors[7]
    assert "the quote currency are the same" in errors[8]
    assert errors[9] == ""
    assert "already on line 9" in errors[10]
    assert "The rate is missing." in errors[11]
    assert preview.error_count == 9
    assert len(preview.rows) == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("currency,rate\nUSD,7\n", "no “date” column"),
        ("date,currency,rate\n", "no rates"),
        ("", "empty"),
        ("date,date,currency,rate\n2026-03-01,2026-03-01,USD,7\n", "appears twice"),
    ],
)
def test_unreadable_files_are_refused(owner, text, message):
    with pytest.raises(InvalidInput) as caught:
        services.preview_rates_csv(actor=owner, upload=csv_file(text))

    assert message in caught.value.message


def test_binary_file_is_refused(owner):
    with pytest.raises(InvalidInput) as caught:
        services.preview_rates_csv(actor=owner, upload=upload("rates.csv", b"\x89PNG\r\n\x00\x00"))

    assert "not a CSV text file" in caught.value.message


def test_chinese_headers_gb18030_and_quote_column(owner):
    text = "日期,币种,汇率,目标币种\n2026年3月5日,USD,150.5,JPY\n2026/3/6,美元,7,\n"

    preview = services.preview_rates_csv(
        actor=owner, upload=csv_file(text, encoding="gb18030"), quote_currency="CNY"
    )

    assert preview.encoding == "gb18030"
    assert preview.lines[0].row is not None
    assert (preview.lines[0].row.quote, preview.lines[0].row.rate) == ("JPY", D("150.5"))
    assert "“美元” is not a currency" in preview.lines[1].errors[0]


def test_import_creates_updates_and_never_duplicates(owner):
    rate("USD", "2026-03-05", "7.00")
    text = "date,currency,rate\n2026-03-05,USD,7.19\n2026-03-06,USD,7.20\n"
    preview = services.preview_rates_csv(actor=owner, upload=csv_file(text))

    first = services.import_rates(actor=owner, rows=preview.rows)
    second = services.import_rates(actor=owner, rows=preview.rows)

    assert (first.created, first.updated, first.unchanged) == (1, 1, 0)
    assert (second.created, second.updated, second.unchanged) == (0, 0, 2)
    assert sorted(ExchangeRate.objects.values_list("on", "rate", "source")) == [
        (dt.date(2026, 3, 5), D("7.19"), "csv"),
        (dt.date(2026, 3, 6), D("7.2"), "csv"),
    ]
    assert CostEvent.objects.filter(kind="imported", actor=owner).count() == 2


# --- Pages ----------------------------------------------------------------------------------


def test_artist_and_outsider_get_403(artist_http, outsider_http):
    for http in (artist_http, outsider_http):
        assert http.get(LIST).status_code == 403
        assert http.get(IMPORT).status_code == 403
        assert (
            http.post(LIST, {"currency": "USD", "on": "2026-03-05", "rate": "7"}).status_code == 403
        )
    assert not ExchangeRate.objects.exists()


def test_anonymous_is_sent_to_sign_in(client):
    response = client.get(LIST)

    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_page_shows_latest_rate_per_currency_and_history(producer_http):
    rate("USD", "2026-03-01", "7.1")
    rate("USD", "2026-03-05", "7.19")
    rate("EUR", "2026-02-01", "7.8")

    response = producer_http.get(LIST)

    assert response.status_code == 200
    latest = response.context["latest"]
    assert [(r.currency, r.rate) for r in latest] == [("EUR", D("7.8")), ("USD", D("7.19"))]
    assert len(response.context["page_obj"].object_list) == 3
    assert response.context["nav"] == "costs"
    assert 'aria-current="page">Exchange rates' in response.content.decode()


def test_missing_rates_notice_lists_currencies_without_any_rate(owner, owner_http):
    rate("USD", "2026-03-01", "7.1")
    tool = AITool.objects.get_or_create(name="Kling", defaults={"kind": "video_model"})[0]
    Expense.objects.create(
        spent_on=dt.date(2026, 3, 1), amount=D("5"), currency="USD", category="other"
    )
    Expense.objects.create(
        spent_on=dt.date(2026, 3, 1), amount=D("5"), currency="EUR", category="other"
    )
    Subscription.objects.create(
        tool=tool,
        plan_name="Pro",
        amount=D("10"),
        currency="GBP",
        started_on=dt.date(2026, 1, 1),
        next_renewal_on=dt.date(2026, 4, 1),
    )
    order_for(client=ClientFactory(currency="HKD"), currency="HKD")

    response = owner_http.get(LIST)

    assert response.context["missing"] == ["EUR", "GBP", "HKD"]
    assert 'id="missing-rates"' in response.content.decode()


def test_add_rate_by_hand_and_update_the_same_day(owner_http):
    data = {"currency": "USD", "on": "2026-03-05", "rate": "7.19"}

    assert owner_http.post(LIST, data).status_code == 302
    assert owner_http.post(LIST, {**data, "rate": "7.2"}).status_code == 302

    assert ExchangeRate.objects.get().rate == D("7.2")


def test_bad_rate_form_shows_the_error_and_saves_nothing(owner_http):
    response = owner_http.post(LIST, {"currency": "USD", "on": "1990-01-01", "rate": "7"})

    assert response.status_code == 400
    assert "between 2000-01-01" in response.content.decode()
    assert not ExchangeRate.objects.exists()


def test_edit_and_delete_pages(owner_http):
    item = rate("USD", "2026-03-05", "7.19")

    response = owner_http.post(
        f"/exchange-rates/{item.pk}/edit/", {"on": "2026-03-04", "rate": "7.3"}
    )
    assert response.status_code == 302
    item.refresh_from_db()
    assert (item.on, item.rate) == (dt.date(2026, 3, 4), D("7.3"))
    assert owner_http.post(f"/exchange-rates/{item.pk}/delete/").status_code == 302
    assert not ExchangeRate.objects.exists()


@pytest.mark.parametrize("size", [3, 40])
def test_rate_page_query_count_is_flat(owner_http, django_assert_max_num_queries, size):
    for n in range(size):
        rate("USD", (dt.date(2026, 1, 1) + dt.timedelta(days=n)).isoformat(), "7.1")
        rate("EUR", (dt.date(2026, 1, 1) + dt.timedelta(days=n)).isoformat(), "7.8")

    with django_assert_max_num_queries(14):
        response = owner_http.get(LIST)

    assert response.status_code == 200


# --- Import pages ---------------------------------------------------------------------------


def _preview(http, content: bytes, name: str = "rates.csv"):
    return http.post(IMPORT, {"file": upload(name, content, "text/csv"), "quote_currency": "CNY"})


def test_import_preview_then_confirm(owner_http):
    content = "\ufeffdate,currency,rate\n2026-03-05,USD,7.19\n2026/3/6,EUR,7.8\n".encode()

    response = _preview(owner_http, content)

    assert response.status_code == 200
    assert not ExchangeRate.objects.exists()
    page = response.content.decode()
    assert "Nothing is saved until you confirm." in page
    token = response.context["token"]
    response = owner_http.post(IMPORT, {"confirm": token})
    assert response.status_code == 302
    assert ExchangeRate.objects.count() == 2
    # The preview is used up: confirming again imports nothing more.
    response = owner_http.post(IMPORT, {"confirm": token}, follow=True)
    assert "no longer available" in response.content.decode()
    assert ExchangeRate.objects.count() == 2


def test_import_gb18030_file_and_reimport_updates(owner_http):
    content = "日期,币种,汇率\n2026年3月5日,USD,7.19\n".encode("gb18030")
    token = _preview(owner_http, content).context["token"]
    owner_http.post(IMPORT, {"confirm": token})

    changed = "日期,币种,汇率\n2026年3月5日,USD,7.25\n".encode("gb18030")
    response = _preview(owner_http, changed)
    assert [line.action for line in response.context["preview"].lines] == ["update"]
    owner_http.post(IMPORT, {"confirm": response.context["token"]})

    assert list(ExchangeRate.objects.values_list("currency", "rate")) == [("USD", D("7.25"))]


def test_import_with_errors_shows_them_and_saves_nothing(owner_http):
    content = b"date,currency,rate\n2026-03-05,USD,abc\n2026-03-06,USD,7.2\n"

    response = _preview(owner_http, content)

    page = response.content.decode()
    assert "Enter a number. (“abc”)" in page
    assert "Import 1 rate" in page
    assert not ExchangeRate.objects.exists()


def test_import_discard_and_wrong_token_save_nothing(owner_http):
    content = b"date,currency,rate\n2026-03-05,USD,7.19\n"
    _preview(owner_http, content)

    assert owner_http.post(IMPORT, {"confirm": "forged"}).status_code == 302
    assert owner_http.post(IMPORT, {"discard": "1"}).status_code == 302
    assert not ExchangeRate.objects.exists()


def test_unreadable_upload_is_a_400_with_the_reason(owner_http):
    response = _preview(owner_http, b"currency,rate\nUSD,7\n")

    assert response.status_code == 400
    assert "no “date” column" in response.content.decode()
