"""Staff pages for expenses and exchange rates (mounted at the site root)."""

from __future__ import annotations

from django.urls import path

from billing.views import expenses, rates

urlpatterns = [
    path("expenses/", expenses.expense_list, name="expense-list"),
    path("expenses/new/", expenses.expense_create, name="expense-create"),
    path("expenses/export.csv", expenses.expense_export, name="expense-export"),
    path("expenses/<int:pk>/", expenses.expense_detail, name="expense-detail"),
    path("expenses/<int:pk>/edit/", expenses.expense_edit, name="expense-edit"),
    path("expenses/<int:pk>/delete/", expenses.expense_delete, name="expense-delete"),
    path("expenses/<int:pk>/receipt/", expenses.expense_receipt, name="expense-receipt"),
    path("exchange-rates/", rates.rate_list, name="exchange-rate-list"),
    path("exchange-rates/import/", rates.rate_import, name="exchange-rate-import"),
    path("exchange-rates/<int:pk>/edit/", rates.rate_edit, name="exchange-rate-edit"),
    path("exchange-rates/<int:pk>/delete/", rates.rate_delete, name="exchange-rate-delete"),
]
