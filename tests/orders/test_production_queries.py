"""Breakdown pages and API keep a fixed query budget: an episode of 10 shots costs the
same number of queries as one of 300 shots with 2,100 takes."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from orders import production_selectors as selectors
from orders.models import Order, Shot, Take
from orders.views.production_pages import SHOTS_PAGE
from tests.orders.factories_api import bearer_client
from tests.orders.factories_pages import make_order
from tests.orders.factories_production import bulk_shots, make_asset, make_episode, make_tool

BUDGET = 16
# The order page also renders the timeline, deliverables and billing's sections.
ORDER_PAGE_BUDGET = 22
TAKES_PER_SHOT = 7


@pytest.fixture
def drama(db, artist):
    order = make_order(
        kind=Order.Kind.SHORT_DRAMA, status=Order.Status.IN_PRODUCTION, assignee=artist
    )
    episode = make_episode(order)
    tools = [make_tool(f"Model {i}") for i in range(4)]
    assets = [make_asset(order, name) for name in ("MAYA", "JUN", "NIGHT MARKET")]
    return {"order": order, "episode": episode, "tools": tools, "assets": assets}


def _grow(drama, count: int, assignee) -> None:
    bulk_shots(
        drama["episode"],
        count,
        takes_per_shot=TAKES_PER_SHOT,
        tools=drama["tools"],
        assignee=assignee,
        assets=drama["assets"],
    )


def _count(http, url: str) -> int:
    http.get(url)  # the first request of a session creates the studio profile
    with CaptureQueriesContext(connection) as ctx:
        response = http.get(url)
    assert response.status_code == 200, url
    return len(ctx.captured_queries)


PAGES = {
    "episode page": lambda d: reverse("episode-detail", args=[d["episode"].pk]),
    "breakdown": lambda d: reverse("breakdown", args=[d["order"].pk]),
    "order page": lambda d: reverse("order-detail", args=[d["order"].pk]),
    "assets": lambda d: reverse("asset-list", args=[d["order"].pk]),
    "asset page": lambda d: reverse("asset-detail", args=[d["assets"][0].pk]),
    "my shots": lambda d: reverse("my-shots"),
    "API shots of an episode": lambda d: f"/api/shots/?episode={d['episode'].pk}&page_size=200",
    "API episode with its shots": lambda d: f"/api/episodes/{d['episode'].pk}/",
    "API takes": lambda d: f"/api/takes/?episode={d['episode'].pk}&page_size=200",
    "API assets": lambda d: f"/api/assets/?order={d['order'].pk}",
}


@pytest.mark.parametrize("page", list(PAGES))
@pytest.mark.parametrize("persona", ["owner", "artist"])
def test_query_count_does_not_grow_with_shots_and_takes(
    request, drama, artist, django_assert_max_num_queries, page, persona
):
    user = request.getfixturevalue(persona)
    if page.startswith("API"):
        http = bearer_client(user)
    else:
        http = request.getfixturevalue(f"{persona}_http")
    url = PAGES[page](drama)
    _grow(drama, 10, artist)
    small = _count(http, url)

    _grow(drama, 290, artist)

    assert Take.objects.count() == 300 * TAKES_PER_SHOT
    http.get(url)
    with django_assert_max_num_queries(ORDER_PAGE_BUDGET if page == "order page" else BUDGET):
        response = http.get(url)
    assert response.status_code == 200
    assert _count(http, url) == small


def test_episode_page_with_300_shots_shows_100_a_page_and_totals_over_all(
    owner_http, owner, drama, artist
):
    _grow(drama, 300, artist)
    url = reverse("episode-detail", args=[drama["episode"].pk])

    first = owner_http.get(url)
    last = owner_http.get(url, {"page": 3})

    page = first.context["page"]
    every = selectors.episode_page(drama["episode"], owner)  # the API's way: all rows
    assert len(first.context["rows"]) == len(last.context["rows"]) == SHOTS_PAGE == 100
    assert first.context["page_obj"].paginator.count == 300
    assert page.take_count == every.take_count == 2100
    assert (
        page.runtime
        == every.runtime
        == sum(s.runtime for s in every.shots if s.status != "omitted")
    )
    assert (page.planned, page.generated, page.unpriced, page.costs) == (
        every.planned,
        every.generated,
        every.unpriced,
        every.costs,
    )
    assert page.status_counts == every.status_counts
    codes = [row["code"] for row in first.context["rows"] + last.context["rows"]]
    assert codes == [s.code for s in every.shots[:100] + every.shots[200:]]
    assert "Shots 201\u2013300 of 300." in last.content.decode()


def test_episode_page_filters_before_it_pages(owner_http, drama, artist):
    _grow(drama, 150, artist)
    episode = drama["episode"]
    Shot.objects.filter(episode=episode).update(status=Shot.Status.TODO)
    Shot.objects.filter(episode=episode, position__gt=140).update(status=Shot.Status.APPROVED)
    Shot.objects.filter(episode=episode, position__lte=5).update(assignee=None)
    url = reverse("episode-detail", args=[episode.pk])

    approved = owner_http.get(url, {"status": Shot.Status.APPROVED})
    nobody = owner_http.get(url, {"assignee": "none"})
    open_page_2 = owner_http.get(url, {"status": "open", "page": 2})

    assert approved.context["page_obj"].paginator.count == 10
    assert {row["status"] for row in approved.context["rows"]} == {"Approved"}
    assert approved.context["page"].approved == 10  # the totals ignore the filter
    assert [row["assignee"] for row in nobody.context["rows"]] == [""] * 5
    assert open_page_2.context["page_obj"].paginator.count == 140
    assert len(open_page_2.context["rows"]) == 40
    assert "status=open" in open_page_2.content.decode()  # the pager keeps the filter
