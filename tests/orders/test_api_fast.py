"""The fast list paths of /api/orders/ and /api/shots/ (studio.api_common.FastListMixin)
answer exactly what the DRF serializers would, for every role, and in a number of queries
that does not grow with the rows."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request

from orders import portal
from orders import production_selectors as selectors
from orders.api import OrderSerializer, OrderViewSet
from orders.models import Casting, Order, Shot
from orders.production_api import ShotSerializer, ShotViewSet
from studio.models import StudioProfile
from tests.factories import ClientFactory, UserFactory
from tests.orders.factories_api import bearer_client, make_order
from tests.orders.factories_production import (
    bulk_shots,
    make_asset,
    make_episode,
    make_shot,
    make_take,
    make_tool,
)

pytestmark = pytest.mark.django_db

S = Shot.Status
ZONE = "Asia/Shanghai"


def _drf_request(user: Any, path: str) -> Request:
    request = Request(RequestFactory().get(path))
    request.user = user
    return request


def _as_json(data: Any) -> Any:
    """What DRF's own renderer would send for `data`, read back."""
    return json.loads(JSONRenderer().render(data))


def serializer_orders(user: Any, path: str) -> list[dict[str, Any]]:
    """The page the endpoint shows, built the old way: OrderSerializer(many=True)."""
    request = _drf_request(user, path)
    view = OrderViewSet(request=request, action="list", format_kwarg=None, kwargs={})
    view.request = request
    page = view.paginate_queryset(view.filter_queryset(view.get_queryset()))
    with timezone.override(ZoneInfo(ZONE)):
        data = OrderSerializer(page, many=True, context={"request": request}).data
    return _as_json(data)


def serializer_shots(user: Any, path: str) -> list[dict[str, Any]]:
    """The page the endpoint shows, built the old way: ShotSerializer(many=True)."""
    request = _drf_request(user, path)
    view = ShotViewSet(request=request, action="list", format_kwarg=None, kwargs={})
    view.request = request
    rows = view.paginate_queryset(view.filter_queryset(view.get_queryset()))
    assert rows is not None
    selectors.attach_take_numbers(rows)
    with timezone.override(ZoneInfo(ZONE)):
        data = ShotSerializer(rows, many=True, context={"request": request}).data
    return _as_json(data)


@pytest.fixture
def zone(db):
    profile = StudioProfile.load()
    profile.time_zone = ZONE
    profile.save()
    return profile


# --- Orders --------------------------------------------------------------------------------


@pytest.fixture
def orders(zone, artist, producer):
    usd = ClientFactory(name="Acme “Films” 株式会社", currency="USD")
    jpy = ClientFactory(currency="JPY")
    at = dt.datetime(2026, 3, 1, 1, 2, 3, 456789, tzinfo=dt.UTC)
    made = [
        make_order(),  # CNY, nothing set: every date null, no assignee, no tags
        make_order(
            client=usd,
            title="Line\u2028separator and 中文",
            brief="A brief\nwith lines",
            price=Decimal("1234.56"),
            deposit_percent=Decimal("33.33"),
            status=Order.Status.IN_PRODUCTION,
            assignee=artist,
            accepted_at=at,
            due_at=at + dt.timedelta(days=7),
            tags=["promo", "Ad", "zeta"],
        ),
        make_order(
            client=jpy,
            price=Decimal("150000"),
            deposit_percent=Decimal("12.5"),
            status=Order.Status.ON_HOLD,
            status_before_hold=Order.Status.IN_REVIEW,
            assignee=producer,
            tags=["promo"],
        ),
        make_order(
            status=Order.Status.DELIVERED,
            assignee=artist,
            accepted_at=at,
            due_at=at,
            delivered_at=at + dt.timedelta(hours=5),
            revision_rounds_used=3,
        ),
        make_order(
            status=Order.Status.COMPLETED,
            price=Decimal("0.01"),
            deposit_percent=Decimal("100"),
            completed_at=at,
        ),
        make_order(status=Order.Status.CANCELLED, price=Decimal("0")),
        make_order(status=Order.Status.QUOTED, price=Decimal("999.99"), deposit_percent=0),
    ]
    portal.rotate_link(actor=producer, order=made[1])
    portal.rotate_link(actor=producer, order=made[2])
    portal.disable_link(actor=producer, order=made[2])  # revoked: no portal_url
    portal.rotate_link(actor=producer, order=made[3])
    return made


@pytest.mark.parametrize("persona", ["owner", "producer", "artist"])
@pytest.mark.parametrize(
    "query",
    [
        "page_size=200",
        "page_size=200&ordering=due_at",
        "page_size=200&ordering=-due_at",
        "page_size=200&ordering=-price",
        "page_size=1&page=2",
        "page_size=200&tag=promo",
        "page_size=200&status=in_production,on_hold,delivered",
        "page_size=200&search=acme",
        "page_size=200&include=margin",
    ],
)
def test_order_list_is_what_the_serializer_gives(request, orders, persona, query):
    user = request.getfixturevalue(persona)
    path = f"/api/orders/?{query}"

    response = bearer_client(user).get(path)

    assert response.status_code == 200
    fast = response.json()["results"]
    assert fast == serializer_orders(user, path)
    assert fast, "the case shows orders"


def test_order_list_fast_path_covers_money_links_and_transitions(orders, owner, artist):
    results = bearer_client(owner).get("/api/orders/?page_size=200").json()["results"]
    by_id = {item["id"]: item for item in results}
    usd, jpy = by_id[orders[1].pk], by_id[orders[2].pk]

    assert usd["price"] == "1234.56"
    assert usd["deposit_amount"] == "411.48"
    assert usd["tags"] == ["Ad", "promo", "zeta"]
    assert usd["portal_url"].startswith("http://testserver/o/")
    assert usd["accepted_at"] == "2026-03-01T09:02:03.456789+08:00"
    assert jpy["deposit_amount"] == "18750.00"
    assert jpy["portal_url"] is None
    assert jpy["allowed_transitions"] == ["in_review", "cancelled"]
    assert by_id[orders[0].pk]["due_at"] is None

    mine = bearer_client(artist).get("/api/orders/?page_size=200").json()["results"]
    assert {item["id"] for item in mine} == {orders[1].pk, orders[3].pk}
    hidden = {"price", "currency", "deposit_percent", "deposit_amount", "portal_url", "margin"}
    assert all(not hidden & set(item) for item in mine)


def test_order_list_bytes_match_drf_rendering(orders, owner):
    """The orjson renderer sends the bytes DRF's JSONRenderer would (U+2028 escaped)."""
    path = "/api/orders/?page_size=200"
    response = bearer_client(owner).get(path)
    body = response.content
    results = serializer_orders(owner, path)
    expected = JSONRenderer().render(
        {"count": len(results), "next": None, "previous": None, "results": results}
    )
    assert body == expected
    assert b"\\u2028" in body


# --- Shots ---------------------------------------------------------------------------------


@pytest.fixture
def shots(zone, artist, owner):
    order = make_order(kind=Order.Kind.SHORT_DRAMA, status=Order.Status.IN_PRODUCTION)
    first = make_episode(order, title="Pilot")
    second = make_episode(order, title="Second")
    kling = make_tool("Kling fast", per_second="0.40")
    unpriced = make_tool("No price", per_second=None)
    maya, bowl = make_asset(order, "MAYA"), make_asset(order, "BOWL", kind="prop")
    selected_usd = make_shot(
        first,
        assignee=artist,
        tool=kling,
        dialogue="MAYA: Hello there\n\n旁白：夜色降临\nNo speaker here\n: empty speaker",
        planned_seconds=Decimal("4.5"),
        scene="INT. KITCHEN",
        notes="Watch the steam",
    )
    make_take(
        selected_usd,
        kling,
        generated_seconds=Decimal("6.25"),
        cost=Decimal("2.50"),
        currency="USD",
        cost_is_manual=True,
        price_per_second=Decimal("0.4000"),
        reference_urls=["https://example.com/ref1.png", "https://example.com/ref2.png"],
        prompt="steam rising",
        negative_prompt="blur",
        seed="1234",
        result_url="https://example.com/out.mp4",
        result_file="takes/out.mp4",
        created_by=owner,
        is_selected=True,
    )
    make_take(selected_usd, kling, generated_seconds=Decimal("5"), cost=Decimal("2.00"))
    make_take(selected_usd, unpriced, generated_seconds=Decimal("3.33"), cost=None)
    no_selection = make_shot(first, status=S.REVIEW, planned_seconds=Decimal("7"))
    make_take(no_selection, unpriced, cost=None, price_per_second=None)
    make_shot(first, status=S.OMITTED, assignee=artist)  # no takes at all
    selected_unpriced = make_shot(second, assignee=UserFactory(username="kai", role="artist"))
    make_take(selected_unpriced, unpriced, cost=None, is_selected=True)
    for shot in (selected_usd, no_selection):
        Casting.objects.create(shot=shot, asset=bowl)
    Casting.objects.create(shot=selected_usd, asset=maya)
    return {"order": order, "first": first, "second": second, "tool": kling}


@pytest.mark.parametrize("persona", ["owner", "producer", "artist"])
@pytest.mark.parametrize(
    "query",
    [
        "page_size=200",
        "page_size=200&order={order}",
        "page_size=200&episode={first}",
        "page_size=1&page=2&order={order}",
        "page_size=200&ordering=-code",
        "page_size=200&ordering=-updated_at",
        "page_size=200&status=review,omitted",
        "page_size=200&search=kitchen",
        "page_size=200&tool={tool}",
    ],
)
def test_shot_list_is_what_the_serializer_gives(request, shots, persona, query):
    user = request.getfixturevalue(persona)
    ids = {
        "order": shots["order"].pk,
        "first": shots["first"].pk,
        "tool": shots["tool"].pk,
    }
    path = "/api/shots/?" + query.format(**ids)

    response = bearer_client(user).get(path)

    assert response.status_code == 200
    fast = response.json()["results"]
    assert fast == serializer_shots(user, path)
    assert fast, "the case shows shots"


def test_shot_list_fast_path_covers_takes_costs_and_dialogue(shots, owner, artist):
    path = f"/api/shots/?episode={shots['first'].pk}"
    results = bearer_client(owner).get(path).json()["results"]
    first = results[0]

    assert first["assets"] == sorted(first["assets"])
    assert len(first["assets"]) == 2
    assert first["dialogue_lines"] == [
        {"speaker": "MAYA", "line": "Hello there"},
        {"speaker": "旁白", "line": "夜色降临"},
        {"speaker": "", "line": "No speaker here"},
        {"speaker": "", "line": ": empty speaker"},
    ]
    assert first["take_count"] == 3
    assert first["generated_seconds"] == "14.58"
    assert first["runtime_seconds"] == "6.25"
    assert first["costs"] == [
        {"amount": "2.00", "currency": "CNY"},
        {"amount": "2.50", "currency": "USD"},
    ]
    take = first["selected_take"]
    assert take["cost"] == "2.50"
    assert take["price_per_second"] == "0.4000"
    assert take["result_file_url"] == f"http://testserver/takes/{take['id']}/file/"
    assert results[1]["selected_take"] is None
    assert results[1]["runtime_seconds"] == "7.00"

    mine = bearer_client(artist).get("/api/shots/?page_size=200").json()["results"]
    assert len(mine) == 2
    money = {"costs", "cost", "currency", "cost_is_manual", "price_per_second"}
    for item in mine:
        assert "costs" not in item
        assert not money & set(item["selected_take"] or {})


# --- Queries do not grow with the rows -------------------------------------------------------


def _queries(http: Any, url: str, assert_max: Any, bound: int) -> int:
    http.get(url)  # warm: the first request of a token also records its use
    with assert_max(bound), CaptureQueriesContext(connection) as ctx:
        assert http.get(url).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("persona", ["owner", "artist"])
def test_order_list_queries_are_the_same_for_5_and_60_orders(
    request, zone, persona, django_assert_max_num_queries
):
    user = request.getfixturevalue(persona)
    http = bearer_client(user)
    linker = UserFactory(username="linker", role="owner")
    counts = []
    for size in (5, 60):
        while Order.objects.count() < size:
            order = make_order(tags=["promo", "ad"], assignee=user)
            portal.rotate_link(actor=linker, order=order)
        counts.append(
            _queries(http, "/api/orders/?page_size=200", django_assert_max_num_queries, 6)
        )
    assert counts[0] == counts[1]


@pytest.mark.parametrize("persona", ["owner", "artist"])
@pytest.mark.parametrize("filter_by", ["episode", "order"])
def test_shot_list_queries_are_the_same_for_5_and_200_shots(
    request, zone, persona, filter_by, django_assert_max_num_queries
):
    user = request.getfixturevalue(persona)
    http = bearer_client(user)
    episode = make_episode()
    tools = [make_tool(), make_tool(per_second=None)]
    assets = [make_asset(episode.order, "MAYA"), make_asset(episode.order, "BOWL")]
    target = episode.pk if filter_by == "episode" else episode.order_id
    url = f"/api/shots/?{filter_by}={target}&page_size=200"
    counts = []
    for size in (5, 200):
        bulk_shots(
            episode,
            size - episode.shots.count(),
            takes_per_shot=3,
            tools=tools,
            assignee=user,
            assets=assets,
        )
        counts.append(_queries(http, url, django_assert_max_num_queries, 7))
    assert counts[0] == counts[1]
