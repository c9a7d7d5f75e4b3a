"""Every unsafe request to a staff page needs a CSRF token: walk every URL the project has."""

from __future__ import annotations

import re

import pytest
from django.test import Client as HttpClient
from django.urls import URLPattern, URLResolver, get_resolver

# Views that opt out of Django's check on purpose, each with its own protection:
# the client portal (double-submit token; browsers send Origin: null from its
# no-referrer pages) and the API (DRF: session requests are CSRF-checked, bearer
# tokens are not cookies).
OWN_PROTECTION = re.compile(r"^/(o/|api/)")


def _walk(resolvers: list, prefix: str = "") -> list[str]:
    paths = []
    for entry in resolvers:
        route = str(entry.pattern)
        if isinstance(entry, URLResolver):
            paths += _walk(entry.url_patterns, prefix + route)
        elif isinstance(entry, URLPattern):
            paths.append(prefix + route)
    return paths


def _concrete(route: str) -> str | None:
    """A request path for a route: converters get harmless sample values."""
    if route.startswith("^") or "(?P" in route:
        return None  # regex routes (admin internals, API) are covered elsewhere
    path = re.sub(r"<int:\w+>", "1", route)
    path = re.sub(r"<(str|slug):\w+>", "sample", path)
    path = re.sub(r"<path:\w+>", "sample/x", path)
    if "<" in path:
        return None
    return "/" + path


def staff_paths() -> list[str]:
    found = {_concrete(route) for route in _walk(get_resolver().url_patterns)}
    return sorted(p for p in found if p and not OWN_PROTECTION.match(p))


@pytest.mark.django_db
@pytest.mark.parametrize("path", staff_paths())
def test_unsafe_requests_without_a_csrf_token_are_refused(path, owner):
    http = HttpClient(enforce_csrf_checks=True)
    http.force_login(owner)
    response = http.post(path, {"anything": "1"})
    assert response.status_code == 403, path
    assert b"form has expired" in response.content or b"CSRF" in response.content


def test_the_walk_finds_the_staff_routes():
    paths = staff_paths()
    for expected in (
        "/orders/1/status/",
        "/clients/1/archive/",
        "/studio/tokens/",
        "/accounts/login/",
    ):
        assert expected in paths
