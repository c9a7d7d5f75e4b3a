"""API routes of the billing app (mounted under /api/ by studio/api_urls.py)."""

from __future__ import annotations

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from billing import api

router = SimpleRouter()
router.register("invoices", api.InvoiceViewSet, basename="api-invoice")
router.register("payments", api.PaymentViewSet, basename="api-payment")

urlpatterns = [
    path("", include(router.urls)),
    path("", include("billing.api_urls_subscriptions")),
    path("", include("billing.api_urls_costs")),
    path("", include("billing.api_urls_reports")),
]
