from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from studio.models import StudioProfile


class StudioTimezoneMiddleware:
    """Show times in the studio's zone; the profile is loaded once per request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(("/static/", "/healthz")):
            return self.get_response(request)
        # One query for the whole request: StudioProfile.load() anywhere below reads this.
        with StudioProfile.memoized() as profile:
            request.studio_profile = profile  # type: ignore[attr-defined]
            timezone.activate(profile.zone)
            try:
                return self.get_response(request)
            finally:
                timezone.deactivate()
