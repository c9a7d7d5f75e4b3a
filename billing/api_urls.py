"""API routes of the billing app (mounted under /api/ by studio/api_urls.py)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver

urlpatterns: list[URLPattern | URLResolver] = []
