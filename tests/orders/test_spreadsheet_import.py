"""Clients and orders from spreadsheet CSV files: every date and amount format, encodings,
per-row errors that save nothing, confirm, re-import without duplicates, remembered
mappings, roles, hostile files and flat query counts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from orders import spreadsheet_import as sheets
from orders.csv_tools import DayOrder, ValueProblem, parse_amount, parse_date
from orders.models import Client, ImportedRow, ImportMapping, Order, OrderEvent, SheetImport
from studio.errors import Conflict, InvalidInput, NotPermitted
from tests.factories import ClientFactory

pytestmark = pytest.mark.django_db


def upload(content: bytes | str, name: str = "sheet.csv") -> SimpleUploadedFile:
    data = content.encode("utf-8") if isinstance(content, str) else content
    return SimpleUploadedFile(name, data, content_type="text/csv")


# --- Values ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "order", "expected"),
    [
        ("2026-03-05", DayOrder.AUTO, dt.date(2026, 3, 5)),
        ("2026/3/5", DayOrder.AUTO, dt.date(2026, 3, 5)),
        ("2026.3.5", DayOrder.AUTO, dt.date(2026, 3, 5)),
        ("2026年3月5日", DayOrder.AUTO, dt.date(2026, 3, 5)),
        ("2026-03-05 00:00:00", DayOrder.AUTO, dt.date(2026, 3, 5)),
        ("13/3/2026", DayOrder.AUTO, dt.date(2026, 3, 13)),
        ("3/13/2026", DayOrder.AUTO, dt.date(2026, 3, 13)),
        ("5/5/2026", DayOrder.AUTO, dt.date(2026, 5, 5)),
        ("3/5/2026", DayOrder.DAY_FIRST, dt.date(2026, 5, 3)),
        ("3/5/2026", DayOrder.MONTH_FIRST, dt.date(2026, 3, 5)),
    ],
)
def test_dates_people_write_are_read(raw, order, expected):
    assert parse_date(raw, order=order) == expected


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("3/5/2026", "could be 2026-05-03 or 2026-03-05"),
        ("2026-02-30", "not a date that exists"),
        ("26/3/5", "is not a date"),
        ("next week", "is not a date"),
        ("1899-01-01", "year must be between"),
    ],
)
def test_bad_or_ambiguous_dates_are_refused_clearly(raw, fragment):
    with pytest.raises(ValueProblem, match=fragment):
        parse_date(raw)


@pytest.mark.parametrize(
    ("raw", "amount", "currency"),
    [
        ("¥1,500.00", Decimal("1500.00"), "CNY"),
        ("1500", Decimal("1500"), None),
        ("1 500,00", Decimal("1500.00"), None),
        ("1\u00a0500,00", Decimal("1500.00"), None),
        ("1.500,00", Decimal("1500.00"), None),
        ("￥1500元", Decimal("1500"), "CNY"),
        ("USD 200", Decimal("200"), "USD"),
        ("200 usd", Decimal("200"), "USD"),
        ("US$200.50", Decimal("200.50"), "USD"),
        ("1,500", Decimal("1500"), None),
        ("1,5", Decimal("1.5"), None),
        ("1,500,000.10", Decimal("1500000.10"), None),
        ("1.500.000", Decimal("1500000"), None),
        ("200美元", Decimal("200"), "USD"),
        ("JP¥12000", Decimal("12000"), "JPY"),
        ("0.10", Decimal("0.10"), None),
    ],
)
def test_amounts_people_write_parse_to_exact_decimals(raw, amount, currency):
    value, code = parse_amount(raw)
    assert isinstance(value, Decimal)
    assert (value, code) == (amount, currency)
    assert str(value) == str(amount)


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("1.500", "ambiguous: 1.5 or 1500"),
        ("1,50,000", "is not an amount"),
        ("¥200 USD", "names two currencies"),
        ("XYZ 200", "not a currency we know"),
        ("about", "is not an amount"),
        ("1.2.3", "is not an amount"),
        ("", "empty"),
    ],
)
def test_bad_or_ambiguous_amounts_are_refused_clearly(raw, fragment):
    with pytest.raises(ValueProblem, match=fragment):
        parse_amount(raw)


# --- Clients --------------------------------------------------------------------------------

CLIENTS_CSV = (
    "客户名称,联系人,邮箱,币种,备注\n"
    "光影传媒,王芳,wang@example.com,CNY,老客户\n"
    "Northwind Films,Ann,ann@example.com,USD,\n"
)


def test_client_preview_saves_nothing_and_confirm_creates_them(owner):
    batch = sheets.upload_sheet(actor=owner, spec=sheets.CLIENTS, upload=upload(CLIENTS_CSV))
    assert Client.objects.count() == 0
    assert batch.mapping == {"name": 0, "contact_name": 1, "email": 2, "currency": 3, "notes": 4}
    assert batch.plan["counts"] == {"new": 2, "update": 0, "unchanged": 0}
    summary = sheets.apply_sheet(actor=owner, spec=sheets.CLIENTS, batch=batch)
    assert summary["new"] == 2
    client = Client.objects.get(name="光影传媒")
    assert (client.contact_name, client.email, client.currency, client.notes) == (
        "王芳",
        "wang@example.com",
        "CNY",
        "老客户",
    )
    assert ImportedRow.objects.filter(kind="clients").count() == 2


def test_reimporting_clients_creates_no_duplicates_and_updates_changed_rows(owner):
    first = sheets.upload_sheet(actor=owner, spec=sheets.CLIENTS, upload=upload(CLIENTS_CSV))
    sheets.apply_sheet(actor=owner, spec=sheets.CLIENTS, batch=first)
    again = sheets.upload_sheet(actor=owner, spec=sheets.CLIENTS, upload=upload(CLIENTS_CSV))
    assert again.plan["counts"] == {"new": 0, "update": 0, "unchanged": 2}
    sheets.apply_sheet(actor=owner, spec=sheets.CLIENTS, batch=again)
    assert Client.objects.count() == 2
    changed = CLIENTS_CSV.replace("Ann,ann@", "Ann Lee,ann@").replace("光影传媒", " 光影传媒 ")
    third = sheets.upload_sheet(actor=owner, spec=sheets.CLIENTS, upload=upload(changed))
    assert third.plan["counts"] == {"new": 0, "update": 1, "unchanged": 1}
    sheets.apply_sheet(actor=owner, spec=sheets.CLIENTS, batch=third)
    assert Client.objects.count() == 2
    assert Client.objects.get(name="Northwind Films").contact_name == "Ann Lee"


def test_existing_client_matched_by_name_ignoring_case_and_spaces(owner):
    ClientFactory(name="Northwind  FILMS", email="other@example.com")
    batch = sheets.upload_sheet(
        actor=owner, spec=sheets.CLIENTS, upload=upload("name\nnorthwind films\n")
    )
    assert batch.plan["counts"]["unchanged"] == 1


@pytest.mark.parametrize(
    ("encoding", "prefix"),
    [("utf-8", b""), ("utf-8-sig", b""), ("gb18030", b""), ("utf-16", b"")],
)
def test_utf8_bom_gb18030_and_utf16_files_read_the_same(owner, encoding, prefix):
    data = prefix + CLIENTS_CSV.encode(encoding)
    batch = sheets.upload_sheet(actor=owner, spec=sheets.CLIENTS, upload=upload(data))
    names = [row["values"]["name"] for row in batch.plan["rows"]]
    assert names == ["光影传媒", "Northwind Films"]
    assert batch.plan["errors"] == 0


@pytest.mark.parametrize("separator", [",", ";", "\t"])
def test_comma_semicolon_and_tab_separators(owner, separator):
    text = CLIENTS_CSV.replace(",", separator)
    batch = sheets.upload_sheet(actor=owner, spec=sheets.CLIENTS, upload=upload(text))
    assert batch.delimiter == separator
    assert batch.plan["counts"]["new"] == 2


def test_binary_and_huge_files_are_refused(owner):
    with pytest.raises(InvalidInput, match="not a CSV text file"):
        sheets.upload_sheet(
            actor=owner, spec=sheets.CLIENTS, upload=upload(b"PK\x03\x04\x00\x00" * 50, "a.xlsx")
        )
    huge = upload("name\n" + "x" * (5 * 1024 * 1024 + 10))
    with pytest.raises(InvalidInput, match="limit is 5 MB"):
        sheets.upload_sheet(actor=owner, spec=sheets.CLIENTS, upload=huge)
    with pytest.raises(InvalidInput, match="empty"):
        sheets.upload_sheet(actor=owner, spec=sheets.CLIENTS, upload=upload(""))
    assert SheetImport.objects.count() == 0


def test_formula_cells_are_kept_as_plain_text(owner):
    text = 'name,notes\n"=HYPERLINK(""http://evil.example"",""x"")",=1+1\n'
    batch = sheets.upload_sheet(actor=owner, spec=sheets.CLIENTS, upload=upload(text))
    sheets.apply_sheet(actor=owner, spec=sheets.CLIENTS, batch=batch)
    client = Client.objects.get()
    assert client.name == '=HYPERLINK("http://evil.example","x")'
    assert client.notes == "=1+1"


def test_artists_and_outsiders_cannot_import(artist, outsider, artist_http):
    for user in (artist, outsider):
        with pytest.raises(NotPermitted):
            sheets.upload_sheet(actor=user, spec=sheets.CLIENTS, upload=upload(CLIENTS_CSV))
    assert artist_http.get(reverse("client-import")).status_code == 403
    assert artist_http.get(reverse("order-import")).status_code == 403


# --- Orders ---------------------------------------------------------------------------------

ORDERS_CSV = (
    "订单号,客户,项目名称,金额,币种,状态,日期,截止\n"
    'A-001,光影传媒,新品短片,"¥1,500.00",,已交付,2026/3/1,2026年3月8日\n'
    'A-002,光影传媒,竖屏广告,"1 500,00",CNY,制作中,2026.3.2,\n'
    "A-003,Northwind Films,Trailer,USD 200,,inquiry,2026-03-03,\n"
)


@pytest.fixture
def clients(db):
    return [ClientFactory(name="光影传媒"), ClientFactory(name="Northwind Films", currency="USD")]


def test_orders_import_with_historical_status_reference_and_event(owner, clients, settings):
    batch = sheets.upload_sheet(actor=owner, spec=sheets.ORDERS, upload=upload(ORDERS_CSV))
    assert batch.plan["errors"] == 0, batch.plan["rows"]
    assert Order.objects.count() == 0
    sheets.apply_sheet(actor=owner, spec=sheets.ORDERS, batch=batch)
    orders = {o.title: o for o in Order.objects.all()}
    clip = orders["新品短片"]
    assert clip.reference.startswith("ORD-")
    assert (clip.price, clip.currency, clip.status) == (Decimal("1500.00"), "CNY", "delivered")
    assert clip.delivered_at is not None
    assert clip.accepted_at is not None
    assert clip.created_at.date() == dt.date(2026, 3, 1)
    assert orders["Trailer"].price == Decimal("200.00")
    assert orders["Trailer"].currency == "USD"
    event = OrderEvent.objects.get(order=clip, kind=OrderEvent.Kind.IMPORTED)
    assert event.to_status == "delivered"
    record = ImportedRow.objects.get(kind="orders", object_id=clip.pk)
    assert record.external_ref == "A-001"


def test_reimporting_orders_creates_no_duplicates(owner, clients):
    first = sheets.upload_sheet(actor=owner, spec=sheets.ORDERS, upload=upload(ORDERS_CSV))
    sheets.apply_sheet(actor=owner, spec=sheets.ORDERS, batch=first)
    again = sheets.upload_sheet(actor=owner, spec=sheets.ORDERS, upload=upload(ORDERS_CSV))
    assert again.plan["counts"] == {"new": 0, "update": 0, "unchanged": 3}
    sheets.apply_sheet(actor=owner, spec=sheets.ORDERS, batch=again)
    assert Order.objects.count() == 3
    changed = ORDERS_CSV.replace("USD 200", "USD 250")
    third = sheets.upload_sheet(actor=owner, spec=sheets.ORDERS, upload=upload(changed))
    assert third.plan["counts"] == {"new": 0, "update": 1, "unchanged": 2}
    sheets.apply_sheet(actor=owner, spec=sheets.ORDERS, batch=third)
    assert Order.objects.get(title="Trailer").price == Decimal("250.00")
    assert Order.objects.count() == 3


def test_orders_without_reference_dedupe_on_client_title_and_date(owner, clients):
    text = "client,title,price,date\nNorthwind Films,Teaser,100,2026-01-05\n"
    for _ in range(2):
        batch = sheets.upload_sheet(actor=owner, spec=sheets.ORDERS, upload=upload(text))
        sheets.apply_sheet(actor=owner, spec=sheets.ORDERS, batch=batch)
    assert Order.objects.count() == 1


def test_per_row_errors_are_listed_and_nothing_is_saved(owner, clients):
    text = (
        "client,title,price,currency,status,date\n"
        "Nobody Inc,Clip,100,,,2026-01-01\n"
        "光影传媒,Clip,1.500,,,2026-01-01\n"
        "光影传媒,Clip 2,100,XYZ,,2026-01-01\n"
        "光影传媒,Clip 3,100,,flying,2026-01-01\n"
        "光影传媒,Clip 4,100,,,3/4/2026\n"
        '光影传媒,Clip 5,"1,500.123",,,2026-01-01\n'
        "光影传媒,Good,100,,,2026-01-01\n"
    )
    batch = sheets.upload_sheet(actor=owner, spec=sheets.ORDERS, upload=upload(text))
    errors = {row["line"]: " ".join(row["errors"]) for row in batch.plan["rows"]}
    assert "no client is called “Nobody Inc”" in errors[2]
    assert "ambiguous" in errors[3]
    assert "not a currency we know" in errors[4]
    assert "“flying” is not a status" in errors[5]
    assert "could be" in errors[6]
    assert "at most 2 decimal places" in errors[7]
    assert errors[8] == ""
    assert batch.error_count == 6
    assert Order.objects.count() == 0
    assert Client.objects.count() == 2
    summary = sheets.apply_sheet(actor=owner, spec=sheets.ORDERS, batch=batch)
    assert summary == {"new": 1, "update": 0, "unchanged": 0, "skipped": 6}
    assert list(Order.objects.values_list("title", flat=True)) == ["Good"]


def test_day_order_choice_resolves_ambiguous_dates(owner, clients):
    text = "client,title,price,date\n光影传媒,Clip,100,3/4/2026\n"
    batch = sheets.upload_sheet(actor=owner, spec=sheets.ORDERS, upload=upload(text))
    assert batch.error_count == 1
    sheets.set_mapping(
        actor=owner,
        spec=sheets.ORDERS,
        batch=batch,
        mapping=batch.mapping,
        options={"day_order": DayOrder.DAY_FIRST},
    )
    assert batch.error_count == 0
    assert batch.plan["rows"][0]["values"]["created"] == "2026-04-03"


def test_missing_clients_are_created_only_when_ticked(owner):
    text = "client,title,price\nNew Co,Clip,100\nnew co,Clip 2,200\n"
    batch = sheets.upload_sheet(actor=owner, spec=sheets.ORDERS, upload=upload(text))
    assert batch.error_count == 2
    sheets.set_mapping(
        actor=owner,
        spec=sheets.ORDERS,
        batch=batch,
        mapping=batch.mapping,
        options={"create_clients": True},
    )
    assert batch.plan["new_clients"] == ["New Co"]
    sheets.apply_sheet(actor=owner, spec=sheets.ORDERS, batch=batch)
    assert Client.objects.count() == 1
    assert Order.objects.filter(client__name="New Co").count() == 2


def test_missing_required_column_is_shown_and_cannot_be_confirmed(owner, clients):
    batch = sheets.upload_sheet(
        actor=owner, spec=sheets.ORDERS, upload=upload("客户,金额\n光影传媒,100\n")
    )
    assert batch.plan["missing"] == ["Title"]
    with pytest.raises(InvalidInput, match="required"):
        sheets.apply_sheet(actor=owner, spec=sheets.ORDERS, batch=batch)
    assert Order.objects.count() == 0


def test_mapping_is_remembered_for_the_same_header(owner, clients):
    text = "Kunde,Projekt,Betrag\n光影传媒,Clip,100\n"
    batch = sheets.upload_sheet(actor=owner, spec=sheets.ORDERS, upload=upload(text))
    assert batch.plan["missing"]
    sheets.set_mapping(
        actor=owner,
        spec=sheets.ORDERS,
        batch=batch,
        mapping={"client": 0, "title": 1, "price": 2},
        options={},
    )
    assert ImportMapping.objects.filter(kind="orders").count() == 1
    again = sheets.upload_sheet(
        actor=owner, spec=sheets.ORDERS, upload=upload("Kunde,Projekt,Betrag\n光影传媒,B,5\n")
    )
    assert again.mapping == {"client": 0, "title": 1, "price": 2}
    assert again.plan["remembered"] is True
    assert again.plan["counts"]["new"] == 1


def test_confirm_refuses_when_data_changed_since_preview(owner, clients):
    batch = sheets.upload_sheet(actor=owner, spec=sheets.ORDERS, upload=upload(ORDERS_CSV))
    Client.objects.filter(name="Northwind Films").delete()
    with pytest.raises(Conflict, match="changed since"):
        sheets.apply_sheet(actor=owner, spec=sheets.ORDERS, batch=batch)
    assert Order.objects.count() == 0
    batch.refresh_from_db()
    assert batch.status == SheetImport.Status.PENDING
    assert batch.error_count == 1


def test_confirming_twice_imports_once(owner, clients):
    batch = sheets.upload_sheet(actor=owner, spec=sheets.ORDERS, upload=upload(ORDERS_CSV))
    sheets.apply_sheet(actor=owner, spec=sheets.ORDERS, batch=batch)
    with pytest.raises(Conflict):
        sheets.apply_sheet(actor=owner, spec=sheets.ORDERS, batch=batch)
    assert Order.objects.count() == 3


# --- Pages ----------------------------------------------------------------------------------


def test_pages_upload_preview_and_confirm(owner_http, clients):
    response = owner_http.get(reverse("order-list"))
    assert reverse("order-import") in response.content.decode()
    assert reverse("client-import") in owner_http.get(reverse("client-list")).content.decode()
    response = owner_http.post(reverse("order-import"), {"file": upload(ORDERS_CSV)})
    assert response.status_code == 302
    batch = SheetImport.objects.get()
    page = owner_http.get(response["Location"])
    body = page.content.decode()
    assert "3 new, 0 unchanged, 0 updated." in body
    assert "新品短片" in body
    assert Order.objects.count() == 0
    response = owner_http.post(response["Location"], {"action": "confirm"})
    assert response.status_code == 302
    assert Order.objects.count() == 3
    batch.refresh_from_db()
    assert batch.status == SheetImport.Status.APPLIED


def test_bad_upload_shows_the_error_on_the_page(owner_http):
    response = owner_http.post(reverse("client-import"), {"file": upload(b"\x00\x01\x02" * 99)})
    assert response.status_code == 400
    assert "not a CSV text file" in response.content.decode()


def test_mapping_form_remaps_columns(owner_http, clients):
    owner_http.post(reverse("order-import"), {"file": upload("A,B,C\n光影传媒,Clip,100\n")})
    batch = SheetImport.objects.get()
    url = reverse("sheet-import", args=[batch.pk])
    assert "Choose a column for" in owner_http.get(url).content.decode()
    response = owner_http.post(
        url,
        {
            "action": "map",
            "col_client": "0",
            "col_title": "1",
            "col_price": "2",
            "day_order": "auto",
        },
    )
    assert response.status_code == 302
    batch.refresh_from_db()
    assert batch.plan["counts"]["new"] == 1


def test_discard_saves_nothing(owner_http, clients):
    owner_http.post(reverse("order-import"), {"file": upload(ORDERS_CSV)})
    batch = SheetImport.objects.get()
    owner_http.post(reverse("sheet-import", args=[batch.pk]), {"action": "discard"})
    batch.refresh_from_db()
    assert batch.status == SheetImport.Status.DISCARDED
    assert Order.objects.count() == 0


def test_artist_gets_403_on_a_preview(owner, artist_http, clients):
    batch = sheets.upload_sheet(actor=owner, spec=sheets.ORDERS, upload=upload(ORDERS_CSV))
    url = reverse("sheet-import", args=[batch.pk])
    assert artist_http.get(url).status_code == 403
    assert artist_http.post(url, {"action": "confirm"}).status_code == 403
    assert Order.objects.count() == 0


def _orders_csv(n: int) -> str:
    lines = ["ref,client,title,price,status,date"]
    lines += [f"R-{i},光影传媒,Clip {i},{100 + i},已交付,2026-02-0{1 + i % 9}" for i in range(n)]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("size", [5, 60])
def test_preview_page_and_planning_queries_stay_flat(
    owner, owner_http, clients, size, django_assert_max_num_queries
):
    with django_assert_max_num_queries(16):
        batch = sheets.upload_sheet(
            actor=owner, spec=sheets.ORDERS, upload=upload(_orders_csv(size))
        )
    assert batch.plan["counts"]["new"] == size
    sheets.apply_sheet(actor=owner, spec=sheets.ORDERS, batch=batch)
    with django_assert_max_num_queries(16):
        again = sheets.upload_sheet(
            actor=owner, spec=sheets.ORDERS, upload=upload(_orders_csv(size))
        )
    assert again.plan["counts"]["unchanged"] == size
    with django_assert_max_num_queries(8):
        response = owner_http.get(reverse("sheet-import", args=[again.pk]))
    assert response.status_code == 200
