"""API routes for tool subscriptions (mounted under /api/ by billing.api_urls)."""

from __future__ import annotations

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from billing.api_subscriptions import SubscriptionViewSet

router = SimpleRouter()
router.register("subscriptions", SubscriptionViewSet, basename="api-subscription")

urlpatterns = [path("", include(router.urls))]
