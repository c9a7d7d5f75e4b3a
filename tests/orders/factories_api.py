"""Helpers for the API tests: API clients signed in either way, orders in any state."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

from rest_framework.test import APIClient

from orders.models import Order, Tag
from studio.services import create_api_token
from tests.factories import ClientFactory

# Smallest files whose real type the upload check recognises.
MP4_BYTES = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(range(256)) * 4
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200

_refs = itertools.count(1)


def bearer_client(user: Any) -> APIClient:
    """An API client sending `Authorization: Bearer <a new token of user>`."""
    _token, raw = create_api_token(user=user, name="tests")
    http = APIClient()
    http.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return http


def session_client(user: Any, *, enforce_csrf: bool = False) -> APIClient:
    """An API client signed in with a session cookie, like the browser."""
    http = APIClient(enforce_csrf_checks=enforce_csrf)
    http.force_login(user)
    return http


def make_order(*, tags: list[str] | None = None, **fields: Any) -> Order:
    """An order saved directly, in any state (API-… references never collide with the
    ORD-<year>-NNNN ones the service gives orders created through the API)."""
    if "client" not in fields:
        fields["client"] = ClientFactory()
    values: dict[str, Any] = {
        "reference": f"API-{next(_refs):06d}",
        "title": "Product clip",
        "price": Decimal("1500.00"),
        "currency": fields["client"].currency,
        "deposit_percent": Decimal(50),
        "turnaround_days": 7,
        "revision_rounds_included": 2,
        "status": Order.Status.INQUIRY,
        **fields,
    }
    order = Order.objects.create(**values)
    if tags:
        order.tags.set([Tag.objects.get_or_create(name=name)[0] for name in tags])
    return order


def error_of(response: Any) -> dict[str, Any]:
    """The `error` object of an API error response, after checking the shape."""
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"status", "code", "message", "fields"}
    assert error["status"] == response.status_code
    assert isinstance(error["message"], str)
    assert error["message"]
    return error
