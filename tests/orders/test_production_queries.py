"""Breakdown pages and API keep a fixed query budget: an episode of 10 shots costs the
same number of queries as one of 300 shots with 2,100 takes."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from orders.models import Order, Take
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


def test_episode_page_with_300_shots_lists_them_all(owner_http, drama, artist):
    _grow(drama, 300, artist)

    response = owner_http.get(reverse("episode-detail", args=[drama["episode"].pk]))

    page = response.context["page"]
    assert len(page.shots) == 300
    assert page.take_count == 2100
    assert page.runtime == sum(s.runtime for s in page.shots if s.status != "omitted")
