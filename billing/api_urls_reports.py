"""API routes for margins and the monthly report (mounted under /api/)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, include, path
from rest_framework.routers import SimpleRouter

from billing import api_reports

router = SimpleRouter()
router.register("margins", api_reports.MarginViewSet, basename="api-margin")
router.register("reports", api_reports.ReportViewSet, basename="api-report")

urlpatterns: list[URLPattern | URLResolver] = [path("", include(router.urls))]
