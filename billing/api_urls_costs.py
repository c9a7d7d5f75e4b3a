"""API routes for expenses and exchange rates (mounted under /api/)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, include, path
from rest_framework.routers import SimpleRouter

from billing import api_costs

router = SimpleRouter()
router.register("expenses", api_costs.ExpenseViewSet, basename="api-expense")
router.register("exchange-rates", api_costs.ExchangeRateViewSet, basename="api-exchange-rate")

urlpatterns: list[URLPattern | URLResolver] = [path("", include(router.urls))]
