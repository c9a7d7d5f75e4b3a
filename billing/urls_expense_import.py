"""Importing expenses from a spreadsheet (mounted at the site root)."""

from __future__ import annotations

from django.urls import path

from billing.views import expense_imports

urlpatterns = [
    path("expenses/import/", expense_imports.expense_import, name="expense-import"),
    path(
        "expenses/import/<int:pk>/",
        expense_imports.expense_import_batch,
        name="expense-import-batch",
    ),
]
