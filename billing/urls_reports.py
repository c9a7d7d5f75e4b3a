"""Staff pages for margins and the monthly report (mounted at the site root)."""

from __future__ import annotations

from django.urls import path

from billing.views import reports

urlpatterns = [
    path("margins/", reports.margin_list, name="margin-list"),
    path("reports/monthly/", reports.monthly_report_view, name="monthly-report"),
]
