"""Building blocks of the fast list paths (studio.api_common): the orjson renderer, the
per-field converters, route templates, InIds, and ordering with empty values last."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db.models import F
from django.test import RequestFactory
from django.utils import timezone
from django.utils.translation import gettext_lazy
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request

from orders.models import Order, Shot, Take
from studio.api_common import (
    FastJSONRenderer,
    RouteTemplate,
    absolute_url,
    date_text,
    datetime_text,
    decimal_text,
)
from studio.sql import InIds, may_be_null, ordering_term
from tests.orders.factories_api import bearer_client, make_order

SHANGHAI = ZoneInfo("Asia/Shanghai")


# --- Renderer --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        {"count": 2, "next": None, "results": [{"a": "中文 “quotes”", "b": [1, 2.5, True]}]},
        {"line": "a\u2028b\u2029c", "tab": "\t\n\x00\x1f", "emoji": "🎬"},
        {"amount": Decimal("12.30"), "day": dt.date(2026, 3, 1), "id": uuid.UUID(int=7)},
        {"at": dt.datetime(2026, 3, 1, 8, 0, 0, 123456, tzinfo=dt.UTC)},
        {"at": dt.datetime(2026, 3, 1, 8, 0, tzinfo=SHANGHAI), "naive": dt.datetime(2026, 1, 1)},
        {"lazy": gettext_lazy("Invalid input."), 3: "int key", "nested": {"x": [None, {}]}},
        [],
        "just a string",
    ],
)
def test_fast_renderer_sends_the_bytes_drf_would(data):
    assert FastJSONRenderer().render(data) == JSONRenderer().render(data)


def test_fast_renderer_falls_back_for_what_orjson_refuses():
    huge = {"n": 2**70}
    assert (
        FastJSONRenderer().render(huge)
        == JSONRenderer().render(huge)
        == b'{"n":' + str(2**70).encode() + b"}"
    )


def test_fast_renderer_keeps_indent_when_asked():
    data = {"a": [1, 2]}
    indented = FastJSONRenderer().render(data, "application/json; indent=2")
    assert indented == JSONRenderer().render(data, "application/json; indent=2")
    assert b"\n" in indented


def test_fast_renderer_renders_nothing_as_empty():
    assert FastJSONRenderer().render(None) == b""


# --- Field converters: the same text as DRF's fields ------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        dt.datetime(2026, 3, 1, 1, 2, 3, tzinfo=dt.UTC),
        dt.datetime(2026, 3, 1, 1, 2, 3, 456789, tzinfo=dt.UTC),
        dt.datetime(2025, 12, 31, 23, 59, 59, tzinfo=ZoneInfo("America/New_York")),
        dt.datetime(2026, 6, 1, 12, 0),  # naive: made aware in the current zone
        None,
    ],
)
@pytest.mark.parametrize("zone", [SHANGHAI, dt.UTC, ZoneInfo("Europe/London")])
def test_datetime_text_is_drfs(value, zone):
    with timezone.override(zone):
        expected = serializers.DateTimeField().to_representation(value)
        assert datetime_text()(value) == expected


@pytest.mark.parametrize("value", [dt.date(2026, 1, 31), dt.date(1, 1, 1), None])
def test_date_text_is_drfs(value):
    assert date_text(value) == serializers.DateField().to_representation(value)


@pytest.mark.parametrize(
    ("digits", "places", "value"),
    [
        (12, 2, Decimal("1500")),
        (12, 2, Decimal("1500.5")),
        (12, 2, Decimal("0.005")),
        (12, 2, Decimal("0.015")),
        (12, 2, Decimal("-3.10")),
        (7, 2, Decimal("99999.99")),
        (10, 4, Decimal("0.4")),
        (5, 2, 12.5),
        (5, 2, "7"),
        (12, 2, Decimal("1E+3")),
    ],
)
def test_decimal_text_is_drfs(digits, places, value):
    field = serializers.DecimalField(max_digits=digits, decimal_places=places)
    assert decimal_text(digits, places)(value) == field.to_representation(value)


def test_decimal_text_leaves_none_as_a_serializer_does():
    assert decimal_text(12, 2)(None) is None


# --- Route templates ---------------------------------------------------------------------------


@pytest.fixture
def api_request(settings) -> Request:
    settings.ALLOWED_HOSTS = ["studio.example.com"]
    return Request(RequestFactory().get("/api/orders/", HTTP_HOST="studio.example.com"))


@pytest.mark.parametrize("arg", [1, 42, 2**62, "7"])
def test_route_template_is_absolute_url(api_request, arg):
    request = api_request
    assert RouteTemplate(request, "order-detail")(arg) == absolute_url(
        request, "order-detail", [arg]
    )


def test_route_template_without_request_gives_paths():
    assert RouteTemplate(None, "shot-detail")(5) == "/shots/5/"


def test_route_template_quotes_like_reverse_for_unusual_tokens(api_request):
    request = api_request
    template = RouteTemplate(request, "portal")
    for token in ("abc-DEF_123", "a b", "ä", "x/y"):
        assert template(token) == absolute_url(request, "portal", [token])


def test_route_template_for_a_missing_route_is_none(api_request):
    assert RouteTemplate(api_request, "no-such-route")(1) is None


# --- InIds -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_in_ids_filters_like_in():
    orders = [make_order() for _ in range(4)]
    wanted = [orders[0].pk, orders[2].pk, 10**12]
    found = Order.objects.filter(InIds("id", wanted)).values_list("pk", flat=True)
    assert sorted(found) == sorted([orders[0].pk, orders[2].pk])
    assert not Order.objects.filter(InIds("id", [])).exists()


# --- Ordering: empty values last, plain terms where nothing can be empty ---------------------


@pytest.mark.parametrize(
    ("model", "path", "nullable"),
    [
        (Order, "created_at", False),
        (Order, "pk", False),
        (Order, "reference", False),
        (Order, "due_at", True),
        (Order, "assignee_id", True),
        (Order, "client__name", False),
        (Order, "assignee__username", True),
        (Order, "tags__name", True),
        (Shot, "episode__order_id", False),
        (Shot, "episode__number", False),
        (Shot, "tool__name", True),
        (Take, "cost", True),
        (Order, "created_at__year", True),
        (Order, "no_such_annotation", True),
    ],
)
def test_may_be_null(model, path, nullable):
    assert may_be_null(model, path) is nullable


def test_ordering_terms_keep_index_friendly_terms_for_columns_that_cannot_be_empty():
    assert ordering_term(Order, "-created_at") == F("created_at").desc()
    assert ordering_term(Order, "pk") == F("pk").asc()
    assert ordering_term(Order, "due_at") == F("due_at").asc(nulls_last=True)
    assert ordering_term(Order, "-due_at") == F("due_at").desc(nulls_last=True)


@pytest.mark.django_db
def test_ordering_by_a_foreign_key_sorts_by_its_id(owner):
    """F("shot") sorts takes by shot id, not by the shot's own ordering (a plain "shot"
    term would): the order the API had before."""
    from tests.orders.factories_production import make_episode, make_shot, make_take, make_tool

    episode = make_episode()
    tool = make_tool()
    late, early = make_shot(episode, position=1), make_shot(episode, position=2)
    assert late.pk < early.pk
    for shot in (early, late):
        make_take(shot, tool)

    results = bearer_client(owner).get("/api/takes/").json()["results"]

    assert [take["shot"] for take in results] == [late.pk, early.pk]


@pytest.mark.django_db
@pytest.mark.parametrize("direction", ["", "-"])
def test_empty_values_sort_last_both_ways(owner, direction):
    soon = make_order(due_at=timezone.now() + dt.timedelta(days=1))
    later = make_order(due_at=timezone.now() + dt.timedelta(days=9))
    undated = [make_order(due_at=None) for _ in range(2)]

    results = bearer_client(owner).get(f"/api/orders/?ordering={direction}due_at").json()["results"]

    dated = [soon.pk, later.pk] if not direction else [later.pk, soon.pk]
    # Orders without a due date come last, by id in the direction of the first term
    # (the tie-break StableOrderingFilter adds).
    tail = sorted((o.pk for o in undated), reverse=bool(direction))
    assert [item["id"] for item in results] == dated + tail


# --- The FilterSet backend ---------------------------------------------------------------------


@pytest.mark.django_db
def test_filterset_runs_only_when_a_filter_is_named(owner, monkeypatch):
    from django_filters import FilterSet

    built = []
    original = FilterSet.__init__

    def counting(self, *args, **kwargs):
        built.append(type(self).__name__)
        original(self, *args, **kwargs)

    monkeypatch.setattr(FilterSet, "__init__", counting)
    mine = make_order(title="Mine", status="in_production")
    other = make_order(title="Other", status="inquiry")
    http = bearer_client(owner)

    plain = http.get("/api/orders/?page=1&page_size=50&ordering=-created_at&search=")
    assert plain.status_code == 200
    assert sorted(o["id"] for o in plain.json()["results"]) == [mine.pk, other.pk]
    assert built == []

    filtered = http.get("/api/orders/?status=in_production")
    assert [o["id"] for o in filtered.json()["results"]] == [mine.pk]
    assert built == ["OrderFilter"]

    refused = http.get("/api/orders/?client=abc")
    assert refused.status_code == 400
    assert "client" in refused.json()["error"]["fields"]
