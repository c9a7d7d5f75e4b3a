"""Expenses from a spreadsheet: the pages of orders' spreadsheet import, for expenses."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from billing.expense_import import EXPENSES
from orders.views.access import business_required
from orders.views.spreadsheet_imports import access_batch, batch_page, upload_page


@business_required
def expense_import(request: HttpRequest) -> HttpResponse:
    return upload_page(request, EXPENSES, nav="costs")


@business_required
def expense_import_batch(request: HttpRequest, pk: int) -> HttpResponse:
    return batch_page(request, EXPENSES, access_batch(pk, {EXPENSES.kind}), nav="costs")
