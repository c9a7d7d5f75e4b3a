"""Expenses from spreadsheet CSV files: formats, lookups of tools and orders, per-row
errors, confirm through create_expense, re-import without duplicates, roles, queries."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from billing.expense_import import EXPENSES
from billing.models import CostEvent, Expense
from orders import spreadsheet_import as sheets
from orders.models import SheetImport
from studio.errors import NotPermitted
from tests.orders.factories_pages import make_order
from tests.orders.factories_production import make_tool

pytestmark = pytest.mark.django_db


def upload(content: bytes | str, name: str = "expenses.csv") -> SimpleUploadedFile:
    data = content.encode("utf-8") if isinstance(content, str) else content
    return SimpleUploadedFile(name, data, content_type="text/csv")


@pytest.fixture
def order(db):
    return make_order(reference="ORD-2026-0042")


@pytest.fixture
def kling(db):
    return make_tool("Kling test")


def csv_text() -> str:
    return (
        "日期,金额,币种,类别,供应商,工具,订单,备注\n"
        '2026/3/5,"¥1,500.00",,生成积分,Kuaishou,kling test,ORD-2026-0042,credits\n'
        "2026年3月6日,USD 20,,Subscription,OpenAI,,,plan\n"
        '2026.3.7,"1.500,00",EUR,配音,Studio B,,,\n'
    )


def test_preview_saves_nothing_and_confirm_creates_expenses(owner, order, kling):
    batch = sheets.upload_sheet(actor=owner, spec=EXPENSES, upload=upload(csv_text()))
    assert batch.plan["errors"] == 0, [r["errors"] for r in batch.plan["rows"]]
    assert Expense.objects.count() == 0
    sheets.apply_sheet(actor=owner, spec=EXPENSES, batch=batch)
    first = Expense.objects.get(vendor="Kuaishou")
    assert (first.spent_on, first.amount, first.currency) == (
        dt.date(2026, 3, 5),
        Decimal("1500.00"),
        "CNY",
    )
    assert (first.category, first.tool_id, first.order_id) == (
        Expense.Category.GENERATION_CREDITS,
        kling.pk,
        order.pk,
    )
    assert Expense.objects.get(vendor="OpenAI").category == Expense.Category.SUBSCRIPTION
    assert Expense.objects.get(vendor="Studio B").amount == Decimal("1500.00")
    assert CostEvent.objects.filter(subject="expense").count() == 3


def test_reimport_creates_no_duplicates_and_updates_a_corrected_category(owner, order, kling):
    first = sheets.upload_sheet(actor=owner, spec=EXPENSES, upload=upload(csv_text()))
    sheets.apply_sheet(actor=owner, spec=EXPENSES, batch=first)
    again = sheets.upload_sheet(actor=owner, spec=EXPENSES, upload=upload(csv_text()))
    assert again.plan["counts"] == {"new": 0, "update": 0, "unchanged": 3}
    sheets.apply_sheet(actor=owner, spec=EXPENSES, batch=again)
    fixed = csv_text().replace("配音", "音乐版权")
    third = sheets.upload_sheet(actor=owner, spec=EXPENSES, upload=upload(fixed))
    assert third.plan["counts"] == {"new": 0, "update": 1, "unchanged": 2}
    sheets.apply_sheet(actor=owner, spec=EXPENSES, batch=third)
    assert Expense.objects.count() == 3
    assert Expense.objects.get(vendor="Studio B").category == Expense.Category.MUSIC_LICENCE


def test_gb18030_and_utf16_files(owner, order, kling):
    for encoding in ("gb18030", "utf-16", "utf-8-sig"):
        data = csv_text().encode(encoding)
        batch = sheets.upload_sheet(actor=owner, spec=EXPENSES, upload=upload(data))
        assert batch.plan["errors"] == 0


def test_per_row_errors_and_nothing_saved(owner, order):
    text = (
        "date,amount,currency,category,tool,order\n"
        "3/4/2026,10,,,,\n"
        "2026-03-01,-5,,,,\n"
        "2026-03-01,10,ABC,,,\n"
        "2026-03-01,10,,snacks,,\n"
        "2026-03-01,10,,,Nope AI,\n"
        "2026-03-01,10,,,,ORD-1999-0001\n"
        "2026-03-01,1.500,,,,\n"
    )
    batch = sheets.upload_sheet(actor=owner, spec=EXPENSES, upload=upload(text))
    errors = [" ".join(row["errors"]) for row in batch.plan["rows"]]
    assert "could be" in errors[0]
    assert "more than zero" in errors[1]
    assert "not a currency" in errors[2]
    assert "“snacks” is not a category" in errors[3]
    assert "no tool is called “Nope AI”" in errors[4]
    assert "no order has the reference" in errors[5]
    assert "ambiguous" in errors[6]
    assert Expense.objects.count() == 0


def test_artists_cannot_import_expenses(artist, artist_http):
    with pytest.raises(NotPermitted):
        sheets.upload_sheet(actor=artist, spec=EXPENSES, upload=upload(csv_text()))
    assert artist_http.get(reverse("expense-import")).status_code == 403


def test_expense_pages_upload_preview_confirm(owner_http, order, kling):
    response = owner_http.post(reverse("expense-import"), {"file": upload(csv_text())})
    assert response.status_code == 302
    batch = SheetImport.objects.get()
    assert response["Location"] == reverse("expense-import-batch", args=[batch.pk])
    body = owner_http.get(response["Location"]).content.decode()
    assert "3 new, 0 unchanged, 0 updated." in body
    # A clients/orders batch page does not open an expense batch.
    assert owner_http.get(reverse("sheet-import", args=[batch.pk])).status_code == 404
    owner_http.post(response["Location"], {"action": "confirm"})
    assert Expense.objects.count() == 3


@pytest.mark.parametrize("size", [4, 40])
def test_expense_preview_queries_flat(
    owner, owner_http, order, size, django_assert_max_num_queries
):
    lines = ["date,amount,vendor,order"]
    lines += [f"2026-03-{1 + i % 28:02d},{10 + i},V{i},ORD-2026-0042" for i in range(size)]
    with django_assert_max_num_queries(18):
        batch = sheets.upload_sheet(
            actor=owner, spec=EXPENSES, upload=upload("\n".join(lines) + "\n")
        )
    assert batch.plan["counts"]["new"] == size
    with django_assert_max_num_queries(8):
        assert owner_http.get(reverse("expense-import-batch", args=[batch.pk])).status_code == 200
