"""REST API of the breakdown: /api/tools/, /api/episodes/, /api/shots/, /api/takes/,
/api/assets/ with the same rules as the pages."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from orders.models import Asset, Episode, Order, OrderEvent, Shot, Take
from studio.models import AITool
from tests.factories import UserFactory
from tests.orders.factories_api import bearer_client, error_of
from tests.orders.factories_pages import make_order
from tests.orders.factories_production import (
    PRICE_DAY,
    make_asset,
    make_episode,
    make_shot,
    make_take,
    make_tool,
)

pytestmark = pytest.mark.django_db
S = Shot.Status
TAKE_MONEY = {"cost", "currency", "cost_is_manual", "price_per_second"}


@pytest.fixture
def world(artist):
    order = make_order(kind=Order.Kind.SHORT_DRAMA, status=Order.Status.IN_PRODUCTION)
    episode = make_episode(order, title="The Last Bowl")
    tool = make_tool("Kling test", per_second="0.40")
    mine = make_shot(episode, assignee=artist, tool=tool)
    theirs = make_shot(episode, assignee=UserFactory(username="kai", role="artist"))
    selected = make_take(mine, tool, generated_seconds=Decimal("6.5"), is_selected=True)
    make_take(theirs, tool, cost=Decimal("9.99"))
    maya = make_asset(order, "MAYA", prompt_fragment="red apron")
    mine.assets.add(maya)
    return {
        "order": order,
        "episode": episode,
        "tool": tool,
        "mine": mine,
        "theirs": theirs,
        "selected": selected,
        "maya": maya,
    }


# --- Tools ------------------------------------------------------------------------------------


def test_members_list_tools_but_only_money_people_see_prices(owner, artist, world):
    as_owner = bearer_client(owner).get("/api/tools/", {"page_size": 100}).json()
    as_artist = bearer_client(artist).get("/api/tools/", {"page_size": 100}).json()

    kling = next(t for t in as_owner["results"] if t["name"] == "Kling test")
    assert kling["prices"] == [
        {
            "id": kling["prices"][0]["id"],
            "effective_from": "2026-01-01",
            "per_second": "0.4000",
            "currency": "CNY",
            "note": "",
        }
    ]
    assert {"Hailuo 02", "Kling", "Jimeng", "Veo 3", "PixVerse"} <= {
        t["name"] for t in as_owner["results"]
    }
    assert all("prices" not in t for t in as_artist["results"])


def test_producer_adds_a_tool_and_a_price(producer):
    http = bearer_client(producer)

    created = http.post(
        "/api/tools/", {"name": "Seedance", "vendor": "ByteDance", "kind": "video_model"}
    )
    assert created.status_code == 201
    tool_id = created.json()["id"]
    assert created["Location"].endswith(f"/api/tools/{tool_id}/")

    priced = http.post(
        f"/api/tools/{tool_id}/prices/",
        {"effective_from": "2026-03-01", "per_second": "0.45", "note": "Pro plan"},
    )

    assert priced.status_code == 200
    assert priced.json()["prices"][0]["per_second"] == "0.4500"
    same_day = http.post(
        f"/api/tools/{tool_id}/prices/", {"effective_from": "2026-03-01", "per_second": "0.5"}
    )
    assert same_day.status_code == 400
    assert "already has a price from 2026-03-01" in error_of(same_day)["message"]


def test_tool_names_are_unique_whatever_their_case(owner):
    response = bearer_client(owner).post("/api/tools/", {"name": "kling", "kind": "video_model"})

    assert response.status_code == 400
    assert error_of(response)["fields"] == {"name": ["There is already a tool called “kling”."]}


def test_artist_cannot_change_the_catalog(artist, world):
    http = bearer_client(artist)

    assert http.post("/api/tools/", {"name": "X", "kind": "llm"}).status_code == 403
    response = http.post(
        f"/api/tools/{world['tool'].pk}/prices/",
        {"effective_from": "2026-01-02", "per_second": "9"},
    )
    assert response.status_code == 403
    assert world["tool"].prices.count() == 1


# --- Episodes ---------------------------------------------------------------------------------


def test_episode_detail_nests_shots_with_their_selected_take(owner, world):
    response = bearer_client(owner).get(f"/api/episodes/{world['episode'].pk}/")

    body = response.json()
    assert response.status_code == 200
    assert body["runtime_seconds"] == "11.50"  # 6.5 selected + 5 planned
    assert body["over_limit"] is False
    assert [s["code"] for s in body["shots"]] == ["010", "020"]
    first = body["shots"][0]
    assert first["selected_take"]["id"] == world["selected"].pk
    assert first["selected_take"]["generated_seconds"] == "6.50"
    assert first["selected_take"]["cost"] == "2.50"
    assert first["runtime_seconds"] == "6.50"
    assert first["assets"] == [world["maya"].pk]
    assert first["costs"] == [{"amount": "2.50", "currency": "CNY"}]
    assert body["shots"][1]["selected_take"] is None


def test_artist_episode_detail_shows_only_their_shots_without_money(artist, world):
    body = bearer_client(artist).get(f"/api/episodes/{world['episode'].pk}/").json()

    assert [s["code"] for s in body["shots"]] == ["010"]
    shot = body["shots"][0]
    assert "costs" not in shot
    assert not TAKE_MONEY & set(shot["selected_take"])


def test_artist_does_not_see_episodes_without_their_shots(artist, world):
    other = make_episode(world["order"])
    http = bearer_client(artist)

    listed = http.get("/api/episodes/").json()

    assert [e["id"] for e in listed["results"]] == [world["episode"].pk]
    assert http.get(f"/api/episodes/{other.pk}/").status_code == 404


def test_create_and_change_an_episode(producer, world):
    http = bearer_client(producer)

    created = http.post(
        "/api/episodes/",
        {
            "order": world["order"].pk,
            "title": "Regulars",
            "runtime_limit": "90",
            "aspect_ratio": "16:9",
        },
    )
    assert created.status_code == 201
    body = created.json()
    assert (body["number"], body["runtime_limit"], body["aspect_ratio"]) == (2, "90.00", "16:9")

    clash = http.patch(f"/api/episodes/{body['id']}/", {"number": 1})
    assert clash.status_code == 400
    assert error_of(clash)["fields"]["number"]

    changed = http.patch(f"/api/episodes/{body['id']}/", {"status": "in_production"})
    assert changed.json()["status"] == "in_production"


def test_episode_with_takes_cannot_be_deleted(owner, world):
    response = bearer_client(owner).delete(f"/api/episodes/{world['episode'].pk}/")

    assert response.status_code == 409
    assert Episode.objects.filter(pk=world["episode"].pk).exists()


def test_bulk_status_and_reorder_through_the_api(owner, artist, world):
    episode = world["episode"]
    ids = [world["mine"].pk, world["theirs"].pk]

    refused = bearer_client(artist).post(
        f"/api/episodes/{episode.pk}/bulk-status/", {"shots": ids, "status": "generating"}
    )
    assert refused.status_code == 403
    assert set(Shot.objects.values_list("status", flat=True)) == {S.TODO}

    done = bearer_client(owner).post(
        f"/api/episodes/{episode.pk}/bulk-status/", {"shots": ids, "status": "approved"}
    )
    assert done.json() == {"changed": ["010", "020"], "unchanged": 0}
    assert OrderEvent.objects.filter(kind=OrderEvent.Kind.PRODUCTION).count() == 1

    reordered = bearer_client(owner).post(
        f"/api/episodes/{episode.pk}/reorder/", {"shots": [world["theirs"].pk]}
    )
    assert [s["code"] for s in reordered.json()["shots"]] == ["020", "010"]


# --- Shots ----------------------------------------------------------------------------------


def test_shot_filters(owner, artist, world):
    other_order_shot = make_shot(status=S.APPROVED)
    http = bearer_client(owner)

    def codes(**params):
        return sorted(
            (s["order"], s["code"]) for s in http.get("/api/shots/", params).json()["results"]
        )

    order_id = world["order"].pk
    assert codes(order=order_id) == [(order_id, "010"), (order_id, "020")]
    assert codes(episode=world["episode"].pk, assignee=artist.pk) == [(order_id, "010")]
    assert codes(tool=world["tool"].pk) == [(order_id, "010")]
    assert codes(status="approved") == [(other_order_shot.episode.order_id, "010")]
    assert codes(status="todo,approved", order=order_id) == [(order_id, "010"), (order_id, "020")]
    bad = http.get("/api/shots/", {"status": "finished"})
    assert bad.status_code == 400
    assert "status" in error_of(bad)["fields"]


def test_artist_lists_only_their_shots(artist, world):
    http = bearer_client(artist)

    body = http.get("/api/shots/").json()

    assert [s["id"] for s in body["results"]] == [world["mine"].pk]
    assert http.get(f"/api/shots/{world['theirs'].pk}/").status_code == 404


def test_create_a_shot_keeps_the_code_as_text(owner, world):
    response = bearer_client(owner).post(
        "/api/shots/",
        {
            "episode": world["episode"].pk,
            "code": "005",
            "planned_seconds": "7.5",
            "dialogue": "MAYA: 最后一碗。",
            "assets": [world["maya"].pk],
        },
    )

    assert response.status_code == 201
    body = response.json()
    assert (body["code"], body["planned_seconds"], body["position"]) == ("005", "7.50", 3)
    assert body["dialogue_lines"] == [{"speaker": "MAYA", "line": "最后一碗。"}]
    assert body["assets"] == [world["maya"].pk]
    duplicate = bearer_client(owner).post(
        "/api/shots/", {"episode": world["episode"].pk, "code": "005"}
    )
    assert duplicate.status_code == 400
    assert Shot.objects.filter(code="005").count() == 1


def test_artist_patches_own_shot_within_limits(artist, world):
    http = bearer_client(artist)
    url = f"/api/shots/{world['mine'].pk}/"

    ok = http.patch(url, {"status": "generating", "description": "Closer"})
    approve = http.patch(url, {"status": "approved"})
    recode = http.patch(url, {"code": "999"})
    foreign = http.patch(f"/api/shots/{world['theirs'].pk}/", {"description": "x"})

    assert ok.status_code == 200
    assert (approve.status_code, recode.status_code, foreign.status_code) == (403, 403, 404)
    world["mine"].refresh_from_db()
    assert (world["mine"].status, world["mine"].code) == (S.GENERATING, "010")


def test_artist_cannot_create_or_delete_shots(artist, world):
    http = bearer_client(artist)

    assert (
        http.post("/api/shots/", {"episode": world["episode"].pk, "code": "777"}).status_code == 403
    )
    assert http.delete(f"/api/shots/{world['mine'].pk}/").status_code == 403
    assert Shot.objects.count() == 2


# --- Takes ----------------------------------------------------------------------------------


def test_artist_logs_a_take_and_gets_no_money_back(artist, world):
    response = bearer_client(artist).post(
        "/api/takes/",
        {
            "shot": world["mine"].pk,
            "tool": world["tool"].pk,
            "generated_seconds": "10",
            "generated_on": (PRICE_DAY + dt.timedelta(days=2)).isoformat(),
            "mode": "i2v",
            "prompt": "Close on hands",
            "reference_urls": ["https://example.com/a.png"],
            "select": True,
        },
    )

    assert response.status_code == 201
    body = response.json()
    assert not TAKE_MONEY & set(body)
    take = Take.objects.get(pk=body["id"])
    assert (take.number, take.cost, take.is_selected) == (2, Decimal("4.00"), True)


def test_artist_cannot_send_a_cost(artist, world):
    response = bearer_client(artist).post(
        "/api/takes/",
        {"shot": world["mine"].pk, "tool": world["tool"].pk, "generated_seconds": "5", "cost": "1"},
    )

    assert response.status_code == 403
    assert world["mine"].takes.count() == 1


def test_artist_cannot_log_takes_on_other_shots(artist, world):
    response = bearer_client(artist).post(
        "/api/takes/",
        {"shot": world["theirs"].pk, "tool": world["tool"].pk, "generated_seconds": "5"},
    )

    assert response.status_code == 400
    assert "shot" in error_of(response)["fields"]
    assert world["theirs"].takes.count() == 1


def test_owner_overrides_and_clears_a_cost(owner, world):
    http = bearer_client(owner)
    url = f"/api/takes/{world['selected'].pk}/"

    manual = http.patch(url, {"cost": "3.33"}).json()
    computed = http.patch(url, {"cost": None}).json()

    assert (manual["cost"], manual["cost_is_manual"]) == ("3.33", True)
    assert (computed["cost"], computed["cost_is_manual"]) == ("2.60", False)  # 6.5 x 0.40


def test_select_a_take_through_the_api(artist, world):
    second = make_take(world["mine"], world["tool"])

    response = bearer_client(artist).post(f"/api/takes/{second.pk}/select/")

    assert response.json()["is_selected"] is True
    assert list(Take.objects.filter(shot=world["mine"], is_selected=True)) == [second]


def test_take_filters(owner, world):
    http = bearer_client(owner)

    selected = http.get("/api/takes/", {"selected": "true"}).json()["results"]
    of_shot = http.get("/api/takes/", {"shot": world["theirs"].pk}).json()["results"]
    by_date = http.get("/api/takes/", {"generated_after": "2030-01-01"}).json()["results"]

    assert [t["id"] for t in selected] == [world["selected"].pk]
    assert [t["cost"] for t in of_shot] == ["9.99"]
    assert by_date == []


def test_only_money_people_delete_takes(owner, artist, world):
    assert bearer_client(artist).delete(f"/api/takes/{world['selected'].pk}/").status_code == 403
    assert bearer_client(owner).delete(f"/api/takes/{world['selected'].pk}/").status_code == 204
    assert not Take.objects.filter(pk=world["selected"].pk).exists()


# --- Assets ---------------------------------------------------------------------------------


def test_assets_list_their_shots(owner, artist, world):
    world["theirs"].assets.add(world["maya"])

    as_owner = bearer_client(owner).get("/api/assets/", {"order": world["order"].pk}).json()
    as_artist = bearer_client(artist).get("/api/assets/").json()

    assert as_owner["results"][0]["shots"] == sorted([world["mine"].pk, world["theirs"].pk])
    assert as_artist["results"][0]["shots"] == [world["mine"].pk]


def test_create_and_cast_an_asset(producer, world):
    http = bearer_client(producer)

    created = http.post(
        "/api/assets/",
        {"order": world["order"].pk, "name": "JUN", "prompt_fragment": "yellow jacket"},
    )
    asset_id = created.json()["id"]
    cast = http.patch(f"/api/assets/{asset_id}/", {"shots": [world["theirs"].pk]})
    foreign = http.patch(f"/api/assets/{asset_id}/", {"shots": [make_shot().pk]})

    assert created.status_code == 201
    assert cast.json()["shots"] == [world["theirs"].pk]
    assert foreign.status_code == 400
    assert list(Asset.objects.get(pk=asset_id).shots.all()) == [world["theirs"]]


def test_seeded_catalog_has_common_generators_priced_per_second(db):
    prices = {
        tool.name: tool.price_on(dt.date(2026, 6, 1)).per_second
        for tool in AITool.objects.filter(
            kind=AITool.Kind.VIDEO_MODEL,
            name__in=["Hailuo 02", "Kling", "Jimeng", "Veo 3", "PixVerse"],
        )
    }

    assert len(prices) == 5
    assert all(Decimal("0.2") <= p <= Decimal(1) for p in prices.values())
    assert AITool.objects.filter(kind=AITool.Kind.LLM).exists()
    assert AITool.objects.filter(kind=AITool.Kind.VOICE).exists()
    assert AITool.objects.filter(kind=AITool.Kind.MUSIC).exists()
    assert AITool.objects.filter(kind=AITool.Kind.EDITING).exists()
