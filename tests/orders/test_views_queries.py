"""List pages keep a fixed query budget: 10 orders or 200 cost the same number of queries."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from orders.models import Order
from tests.factories import ClientFactory
from tests.orders.factories_pages import bulk_orders

BUDGET = 12


@pytest.fixture(autouse=True)
def _profile_exists(studio_profile):
    """A running studio has its profile row; its creation is not part of a page's cost."""


SIZES = [10, 200]


@pytest.fixture
def clients(db):
    return [ClientFactory(name=f"Client {i:02d}") for i in range(12)]


def _count_queries(http, url: str, params: dict | None = None) -> int:
    http.get(url, params or {})  # first request of a session creates the studio profile
    with CaptureQueriesContext(connection) as ctx:
        response = http.get(url, params or {})
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize(
    ("route", "params"),
    [
        ("order-list", {}),
        ("order-list", {"q": "bulk", "status": "open", "sort": "due", "tag": "bulk"}),
        ("order-list", {"due": "late", "sort": "-price"}),
        ("order-board", {}),
        ("client-list", {}),
    ],
)
def test_owner_list_pages_stay_within_budget(
    owner_http, clients, artist, django_assert_max_num_queries, size, route, params
):
    bulk_orders(size, clients=clients, assignee=artist)

    with django_assert_max_num_queries(BUDGET):
        response = owner_http.get(reverse(route), params)

    assert response.status_code == 200


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("route", ["order-list", "order-board"])
def test_artist_list_pages_stay_within_budget(
    artist_http, clients, artist, django_assert_max_num_queries, size, route
):
    bulk_orders(size, clients=clients, assignee=artist)

    with django_assert_max_num_queries(BUDGET):
        response = artist_http.get(reverse(route))

    assert response.status_code == 200


@pytest.mark.parametrize(
    ("route", "params"),
    [
        ("order-list", {}),
        ("order-list", {"q": "bulk", "status": "open", "client": "1"}),
        ("order-board", {}),
        ("client-list", {}),
    ],
)
def test_query_count_does_not_grow_with_orders(owner_http, clients, artist, route, params):
    if "client" in params:
        params = {**params, "client": clients[0].pk}
    bulk_orders(10, clients=clients, assignee=artist)
    small = _count_queries(owner_http, reverse(route), params)
    bulk_orders(190, clients=clients, assignee=artist)

    large = _count_queries(owner_http, reverse(route), params)

    assert Order.objects.count() == 200
    assert large == small


def test_client_detail_query_count_does_not_grow(owner_http, clients, artist):
    bulk_orders(10, clients=clients[:1], assignee=artist)
    url = reverse("client-detail", args=[clients[0].pk])
    small = _count_queries(owner_http, url)
    bulk_orders(190, clients=clients[:1], assignee=artist)

    assert _count_queries(owner_http, url) == small <= BUDGET


def test_board_with_200_orders_shows_capped_columns_with_full_counts(owner_http, clients):
    bulk_orders(200, clients=clients, statuses=[Order.Status.IN_PRODUCTION])

    response = owner_http.get(reverse("order-board"))

    column = next(c for c in response.context["columns"] if c.status == "in_production")
    assert column.count == 200
    assert len(column.cards) == 50
    assert column.has_more
