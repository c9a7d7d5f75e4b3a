"""Breakdown pages: who may open what, artists see only their shots and no money, and the
actions on the pages (takes, bulk status, reorder, AI-label checks, deliver anyway)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.test import Client as HttpClient
from django.urls import reverse

from orders import services
from orders.models import Deliverable, Episode, Order, OrderEvent, Shot, Take
from tests.factories import UserFactory
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


@pytest.fixture
def world(artist):
    """A short drama with one episode: shot 010 assigned to the artist (one costed take),
    shot 020 assigned to someone else (a take costing ¥7.77)."""
    order = make_order(
        title="Night market drama", kind=Order.Kind.SHORT_DRAMA, status=Order.Status.IN_PRODUCTION
    )
    episode = make_episode(order, title="The Last Bowl")
    tool = make_tool("Kling test", per_second="0.50")
    mine = make_shot(episode, assignee=artist, description="Steam rises from the stall")
    theirs = make_shot(
        episode,
        assignee=UserFactory(username="kai", role="artist"),
        description="Secret rooftop scene",
    )
    make_take(mine, tool, cost=Decimal("2.50"), is_selected=True)
    make_take(theirs, tool, cost=Decimal("7.77"))
    maya = make_asset(order, "MAYA", prompt_fragment="red apron, silver earrings")
    make_asset(order, "CRITIC")
    mine.assets.add(maya)
    return {"order": order, "episode": episode, "mine": mine, "theirs": theirs, "tool": tool}


def _http(request, persona: str) -> HttpClient:
    http = HttpClient()
    if persona != "anonymous":
        http.force_login(request.getfixturevalue(persona))
    return http


# --- Who may open what ------------------------------------------------------------------------


ROUTES = {
    "breakdown": lambda w: reverse("breakdown", args=[w["order"].pk]),
    "episode": lambda w: reverse("episode-detail", args=[w["episode"].pk]),
    "my shot": lambda w: reverse("shot-detail", args=[w["mine"].pk]),
    "their shot": lambda w: reverse("shot-detail", args=[w["theirs"].pk]),
    "assets": lambda w: reverse("asset-list", args=[w["order"].pk]),
    "my shots": lambda w: reverse("my-shots"),
    "import": lambda w: reverse("breakdown-import", args=[w["order"].pk]),
    "export": lambda w: reverse("breakdown-export", args=[w["order"].pk]),
    "episode edit": lambda w: reverse("episode-edit", args=[w["episode"].pk]),
    "new shot": lambda w: reverse("shot-create", args=[w["episode"].pk]),
    "tools": lambda w: reverse("tool-list"),
}
EXPECTED = {
    #              owner producer artist outsider anonymous
    "breakdown": (200, 200, 200, 403, 302),
    "episode": (200, 200, 200, 403, 302),
    "my shot": (200, 200, 200, 403, 302),
    "their shot": (200, 200, 404, 403, 302),
    "assets": (200, 200, 200, 403, 302),
    "my shots": (200, 200, 200, 403, 302),
    "import": (200, 200, 403, 403, 302),
    "export": (200, 200, 403, 403, 302),
    "episode edit": (200, 200, 404, 403, 302),
    "new shot": (200, 200, 404, 403, 302),
    "tools": (200, 200, 403, 403, 302),
}
PERSONAS = ["owner", "producer", "artist", "outsider", "anonymous"]


@pytest.mark.parametrize("route", list(ROUTES))
@pytest.mark.parametrize("persona", PERSONAS)
def test_who_may_open_each_breakdown_page(request, world, route, persona):
    http = _http(request, persona)

    response = http.get(ROUTES[route](world))

    assert response.status_code == EXPECTED[route][PERSONAS.index(persona)]
    if response.status_code == 302:
        assert response["Location"].startswith(reverse("login"))


def test_artist_sees_only_their_shots_and_no_money(artist_http, world):
    response = artist_http.get(reverse("episode-detail", args=[world["episode"].pk]))

    html = response.content.decode()
    assert "Steam rises from the stall" in html
    assert "Secret rooftop scene" not in html
    assert "¥" not in html
    assert "Cost" not in html
    assert [s.code for s in response.context["shots"]] == ["010"]


def test_artist_breakdown_counts_only_their_shots_without_money(artist_http, world):
    response = artist_http.get(reverse("breakdown", args=[world["order"].pk]))

    summary = response.context["summary"]
    assert (summary.shots, summary.takes) == (1, 1)
    html = response.content.decode()
    assert "¥" not in html
    assert "Generation cost" not in html


def test_owner_sees_the_episode_with_cost_runtime_and_takes(owner_http, world):
    response = owner_http.get(reverse("episode-detail", args=[world["episode"].pk]))

    page = response.context["page"]
    assert [str(m) for m in page.costs] == ["¥10.27"]
    assert page.runtime == Decimal("10.00")  # selected take 5 s + planned 5 s
    assert page.take_count == 2
    html = response.content.decode()
    assert "¥10.27" in html
    assert "10 / 120 s" in html


def test_episode_over_its_limit_warns_clearly(owner_http, world):
    make_shot(world["episode"], planned_seconds=Decimal("115.5"))

    response = owner_http.get(reverse("episode-detail", args=[world["episode"].pk]))

    assert "This episode runs 5.5 s over its 120 s limit." in response.content.decode()


def test_artist_page_lists_their_shots_across_orders(artist_http, world):
    response = artist_http.get(reverse("my-shots"), {"status": ""})

    assert [s.code for s in response.context["shots"]] == ["010"]
    assert "Night market drama" in response.content.decode()


def test_artist_sees_the_prompt_fragment_of_characters_in_their_shot(artist_http, world):
    response = artist_http.get(reverse("shot-detail", args=[world["mine"].pk]))

    assert "red apron, silver earrings" in response.content.decode()
    assert response.context["money"] is False


def test_artist_may_open_only_assets_of_their_shots(artist_http, world):
    maya = world["order"].assets.get(name="MAYA")
    critic = world["order"].assets.get(name="CRITIC")

    assert artist_http.get(reverse("asset-detail", args=[maya.pk])).status_code == 200
    assert artist_http.get(reverse("asset-detail", args=[critic.pk])).status_code == 404


# --- Takes -------------------------------------------------------------------------------


def test_artist_logs_a_take_on_their_shot(artist_http, world):
    response = artist_http.post(
        reverse("take-create", args=[world["mine"].pk]),
        {
            "tool": world["tool"].pk,
            "mode": Take.Mode.IMAGE_TO_VIDEO,
            "generated_seconds": "6",
            "generated_on": (PRICE_DAY + dt.timedelta(days=3)).isoformat(),
            "prompt": "Close on hands pulling noodles",
            "reference_urls": "https://example.com/ref1.png\nhttps://example.com/ref2.png",
            "select": "on",
        },
    )

    assert response.status_code == 302
    take = Take.objects.get(shot=world["mine"], number=2)
    assert take.cost == Decimal("3.00")  # computed, even though the artist never sees it
    assert take.reference_urls == ["https://example.com/ref1.png", "https://example.com/ref2.png"]
    assert take.is_selected
    assert take.created_by.username == "ada"


def test_artist_cannot_log_a_take_on_someone_elses_shot(artist_http, world):
    response = artist_http.post(
        reverse("take-create", args=[world["theirs"].pk]),
        {"tool": world["tool"].pk, "mode": "t2v", "generated_seconds": "6"},
    )

    assert response.status_code == 404
    assert world["theirs"].takes.count() == 1


def test_artist_take_form_has_no_cost_field(artist_http, world):
    response = artist_http.get(reverse("shot-detail", args=[world["mine"].pk]))

    assert "cost" not in response.context["take_form"].fields


def test_bad_take_shows_errors_and_saves_nothing(owner_http, world):
    response = owner_http.post(
        reverse("take-create", args=[world["mine"].pk]),
        {"tool": world["tool"].pk, "mode": "t2v", "generated_seconds": "-3"},
    )

    assert response.status_code == 400
    assert world["mine"].takes.count() == 1
    assert response.context["take_form"].errors


def test_selecting_a_take_from_the_page(owner_http, world):
    second = make_take(world["mine"], world["tool"], generated_seconds=Decimal("7.5"))

    owner_http.post(reverse("take-select", args=[second.pk]))

    assert list(world["mine"].takes.filter(is_selected=True)) == [second]


def test_owner_edits_a_take_cost_by_hand(owner_http, world):
    take = world["mine"].takes.get()

    response = owner_http.post(
        reverse("take-edit", args=[take.pk]),
        {
            "tool": world["tool"].pk,
            "mode": "t2v",
            "generated_seconds": "5",
            "generated_on": PRICE_DAY.isoformat(),
            "cost": "4.20",
            "currency": "CNY",
        },
    )

    assert response.status_code == 302
    take.refresh_from_db()
    assert (take.cost, take.cost_is_manual) == (Decimal("4.20"), True)


# --- Episode actions -----------------------------------------------------------------------


def test_bulk_status_from_the_episode_page(owner_http, world):
    ids = [world["mine"].pk, world["theirs"].pk]

    response = owner_http.post(
        reverse("shot-bulk-status", args=[world["episode"].pk]),
        {"shots": [str(pk) for pk in ids], "status": S.APPROVED},
    )

    assert response.status_code == 302
    assert set(Shot.objects.filter(pk__in=ids).values_list("status", flat=True)) == {S.APPROVED}
    assert world["order"].events.filter(kind=OrderEvent.Kind.PRODUCTION).count() == 1


def test_artist_bulk_status_on_a_foreign_shot_changes_nothing(artist_http, world):
    response = artist_http.post(
        reverse("shot-bulk-status", args=[world["episode"].pk]),
        {"shots": [str(world["mine"].pk), str(world["theirs"].pk)], "status": S.GENERATING},
    )

    assert response.status_code == 302
    assert set(Shot.objects.values_list("status", flat=True)) == {S.TODO}
    messages = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("Nothing was changed" in m for m in messages)


def test_reorder_from_the_episode_page(owner_http, world):
    third = make_shot(world["episode"])

    response = owner_http.post(
        reverse("shot-reorder", args=[world["episode"].pk]),
        {
            f"pos-{world['mine'].pk}": "3",
            f"pos-{world['theirs'].pk}": "1",
            f"pos-{third.pk}": "1.5",
        },
    )

    assert response.status_code == 302
    codes = list(world["episode"].shots.order_by("position").values_list("code", flat=True))
    assert codes == ["020", "030", "010"]


def test_reorder_with_a_bad_position_changes_nothing(owner_http, world):
    owner_http.post(
        reverse("shot-reorder", args=[world["episode"].pk]),
        {f"pos-{world['mine'].pk}": "first", f"pos-{world['theirs'].pk}": "0"},
    )

    codes = list(world["episode"].shots.order_by("position").values_list("code", flat=True))
    assert codes == ["010", "020"]


def test_owner_adds_an_episode_and_a_shot_with_casting(owner_http, world):
    response = owner_http.post(
        reverse("episode-create", args=[world["order"].pk]),
        {"title": "Regulars", "runtime_limit": "90", "aspect_ratio": "16:9", "status": "planned"},
    )
    episode = Episode.objects.get(order=world["order"], number=2)
    assert response["Location"] == reverse("episode-detail", args=[episode.pk])
    maya = world["order"].assets.get(name="MAYA")

    response = owner_http.post(
        reverse("shot-create", args=[episode.pk]),
        {
            "code": "005",
            "description": "Jun arrives",
            "dialogue": "JUN: Same as always.\r\nMAYA：最后一碗。",
            "planned_seconds": "6.5",
            "status": "todo",
            "assets": [maya.pk],
        },
    )

    assert response.status_code == 302
    shot = episode.shots.get()
    assert (shot.code, shot.planned_seconds, episode.aspect_ratio) == (
        "005",
        Decimal("6.50"),
        "16:9",
    )
    assert shot.dialogue_lines == [("JUN", "Same as always."), ("MAYA", "最后一碗。")]
    assert list(shot.assets.all()) == [maya]


def test_artist_edit_form_shows_only_fields_they_may_change(artist_http, world):
    response = artist_http.get(reverse("shot-edit", args=[world["mine"].pk]))

    assert set(response.context["form"].fields) == {
        "description",
        "dialogue",
        "planned_seconds",
        "status",
        "tool",
        "notes",
    }


# --- The order page ------------------------------------------------------------------------


def test_order_page_shows_the_breakdown_summary_per_tool(owner_http, world):
    response = owner_http.get(reverse("order-detail", args=[world["order"].pk]))

    html = response.content.decode()
    assert 'id="production"' in html
    assert "Kling test" in html
    assert "¥10.27" in html
    assert "Cost per finished second" in html


def test_artist_order_page_summary_has_no_money(artist_http, artist, world):
    Order.objects.filter(pk=world["order"].pk).update(assignee=artist)

    response = artist_http.get(reverse("order-detail", args=[world["order"].pk]))

    html = response.content.decode()
    assert 'id="production"' in html
    assert "¥" not in html


def _in_review_with_file(owner, world) -> Deliverable:
    Order.objects.filter(pk=world["order"].pk).update(status=Order.Status.IN_REVIEW)
    return services.add_deliverable(
        actor=owner, order=world["order"], title="Episode 1", url="https://example.com/e1.mp4"
    )


def test_checking_ai_labels_from_the_order_page(owner, owner_http, world):
    deliverable = _in_review_with_file(owner, world)

    response = owner_http.post(
        reverse("deliverable-ai-labels", args=[world["order"].pk, deliverable.pk]),
        {"visible": "1", "metadata": "1"},
    )

    assert response.status_code == 302
    deliverable.refresh_from_db()
    assert deliverable.ai_labels_checked
    owner_http.post(reverse("order-transition", args=[world["order"].pk]), {"status": "delivered"})
    assert Order.objects.get(pk=world["order"].pk).status == Order.Status.DELIVERED


def test_marking_delivered_with_unchecked_labels_warns_and_changes_nothing(
    owner, producer_http, world
):
    _in_review_with_file(owner, world)

    response = producer_http.post(
        reverse("order-transition", args=[world["order"].pk]), {"status": "delivered"}
    )

    messages = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("AI-content labels" in m and "Episode 1" in m for m in messages)
    assert Order.objects.get(pk=world["order"].pk).status == Order.Status.IN_REVIEW
    page = producer_http.get(reverse("order-detail", args=[world["order"].pk])).content.decode()
    assert "Mark as delivered anyway" not in page  # only the owner may override


def test_owner_delivers_anyway_and_the_timeline_records_it(owner, owner_http, world):
    _in_review_with_file(owner, world)
    page = owner_http.get(reverse("order-detail", args=[world["order"].pk])).content.decode()
    assert "Mark as delivered anyway" in page

    owner_http.post(
        reverse("order-deliver-anyway", args=[world["order"].pk]),
        {"note": "Client uploads to a platform that adds its own label."},
    )

    order = Order.objects.get(pk=world["order"].pk)
    assert order.status == Order.Status.DELIVERED
    assert order.events.filter(kind=OrderEvent.Kind.AI_LABELS, data__override=True).exists()


def test_producer_cannot_deliver_anyway(owner, producer_http, world):
    _in_review_with_file(owner, world)

    producer_http.post(reverse("order-deliver-anyway", args=[world["order"].pk]))

    assert Order.objects.get(pk=world["order"].pk).status == Order.Status.IN_REVIEW


def test_every_form_page_renders_for_the_owner(owner_http, world):
    take = world["mine"].takes.get()
    maya = world["order"].assets.get(name="MAYA")
    urls = [
        reverse("episode-create", args=[world["order"].pk]),
        reverse("episode-edit", args=[world["episode"].pk]),
        reverse("shot-create", args=[world["episode"].pk]),
        reverse("shot-edit", args=[world["mine"].pk]),
        reverse("take-edit", args=[take.pk]),
        reverse("asset-edit", args=[maya.pk]),
        reverse("asset-detail", args=[maya.pk]),
        reverse("tool-detail", args=[world["tool"].pk]),
    ]

    for url in urls:
        response = owner_http.get(url)
        assert response.status_code == 200, url
        assert b"<form" in response.content


def test_filters_with_bad_values_show_every_shot(owner_http, world):
    response = owner_http.get(
        reverse("episode-detail", args=[world["episode"].pk]),
        {"status": "nonsense", "assignee": "x" * 50},
    )

    assert response.status_code == 200
    assert [s.code for s in response.context["shots"]] == ["010", "020"]


def test_episode_filters_narrow_the_table(owner_http, artist, world):
    response = owner_http.get(
        reverse("episode-detail", args=[world["episode"].pk]), {"assignee": str(artist.pk)}
    )

    assert [s.code for s in response.context["shots"]] == ["010"]
    assert response.context["page"].take_count == 2  # totals stay those of the episode
