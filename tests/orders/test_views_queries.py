"""The staff order pages keep one query budget at two data sizes: a small studio and one
several times larger cost the same number of queries, at most BUDGET (the page target of
issue 8), the whole order page with billing's sections included."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from billing import sections_margin
from billing.models import Expense
from billing.services import margins
from orders import extensions, portal
from orders.models import Client, Order, OrderEvent
from orders.selectors import BOARD_CARD_LIMIT
from tests.billing.helpers import issued, line
from tests.factories import ClientFactory
from tests.orders.factories_pages import add_file, bulk_orders, make_order
from tests.orders.factories_production import make_episode, make_shot, make_take, make_tool

BUDGET = 15

# (orders, clients): the large size has six times the orders and five times the clients
# (the client filter used to render one <option> per client).
SMALL, LARGE = (20, 8), (120, 40)
SIZES = [SMALL, LARGE]


@pytest.fixture(autouse=True)
def _profile_exists(studio_profile):
    """A running studio has its profile row; its creation is not part of a page's cost."""


def _grow(size: tuple[int, int], *, assignee, clients: list[Client] | None = None) -> list[Client]:
    orders, count = size
    clients = clients or []
    clients += [ClientFactory(name=f"Client {len(clients) + i:03d}") for i in range(count)]
    bulk_orders(orders, clients=clients, assignee=assignee)
    return clients


def _count_queries(http, url: str, params: dict | None = None) -> int:
    http.get(url, params or {})  # the first request of a session may set up its state
    with CaptureQueriesContext(connection) as ctx:
        response = http.get(url, params or {})
    assert response.status_code == 200
    return len(ctx.captured_queries)


def _params(params: dict, clients: list[Client]) -> dict:
    """Fill in the client placeholders: by name, by number."""
    out = dict(params)
    if out.get("client") == "<name>":
        out["client"] = clients[0].name
    elif out.get("client") == "<number>":
        out["client"] = str(clients[0].pk)
    return out


OWNER_PAGES = [
    ("order-list", {}),
    ("order-list", {"q": "bulk", "status": "open", "sort": "due", "tag": "bulk"}),
    ("order-list", {"due": "late", "sort": "-price"}),
    ("order-list", {"client": "<name>", "status": "open"}),
    ("order-list", {"client": "<number>"}),
    ("order-list", {"client": "Nobody we know"}),
    ("order-board", {}),
    ("client-list", {}),
]


@pytest.mark.parametrize("size", SIZES, ids=["small", "large"])
@pytest.mark.parametrize(("route", "params"), OWNER_PAGES)
def test_owner_list_pages_stay_within_budget(
    owner_http, artist, django_assert_max_num_queries, size, route, params
):
    clients = _grow(size, assignee=artist)
    owner_http.get(reverse(route))

    with django_assert_max_num_queries(BUDGET):
        response = owner_http.get(reverse(route), _params(params, clients))

    assert response.status_code == 200


@pytest.mark.parametrize("size", SIZES, ids=["small", "large"])
@pytest.mark.parametrize("route", ["order-list", "order-board"])
def test_artist_list_pages_stay_within_budget(
    artist_http, artist, django_assert_max_num_queries, size, route
):
    _grow(size, assignee=artist)
    artist_http.get(reverse(route))

    with django_assert_max_num_queries(BUDGET):
        response = artist_http.get(reverse(route))

    assert response.status_code == 200


@pytest.mark.parametrize(("route", "params"), OWNER_PAGES)
def test_query_count_does_not_grow_with_orders_and_clients(owner_http, artist, route, params):
    clients = _grow(SMALL, assignee=artist)
    small = _count_queries(owner_http, reverse(route), _params(params, clients))

    _grow(LARGE, assignee=artist, clients=clients)
    large = _count_queries(owner_http, reverse(route), _params(params, clients))

    assert Order.objects.count() == SMALL[0] + LARGE[0]
    assert large == small <= BUDGET


def test_client_detail_query_count_does_not_grow(owner_http, artist):
    client = ClientFactory()
    bulk_orders(10, clients=[client], assignee=artist)
    url = reverse("client-detail", args=[client.pk])
    small = _count_queries(owner_http, url)
    bulk_orders(190, clients=[client], assignee=artist)

    assert _count_queries(owner_http, url) == small <= BUDGET


def test_board_with_200_orders_shows_capped_columns_with_full_counts(owner_http):
    bulk_orders(200, clients=[ClientFactory()], statuses=[Order.Status.IN_PRODUCTION])

    response = owner_http.get(reverse("order-board"))

    column = next(c for c in response.context["columns"] if c.status == "in_production")
    entry = next(e for e in response.context["board"] if e["column"] is column)
    assert column.count == 200
    assert len(column.cards) == len(entry["cards"]) == BOARD_CARD_LIMIT == 25
    assert column.has_more
    body = response.content.decode()
    assert f"Showing {BOARD_CARD_LIMIT}: all 200 in the list" in body
    assert f'href="{reverse("order-list")}?status=in_production&amp;sort=due"' in body
    first = column.cards[0]
    assert f'href="{reverse("order-detail", args=[first.pk])}"' in body


# --- The order page ---------------------------------------------------------------------

# The whole staff order page for an owner, billing's sections included, within the page
# target: 15 queries with the stored margin rows and 15 before their first recompute, at
# both sizes. The page's own reads: profile, session, user with its role (3); the order
# with its client link, deliverables, tags, timeline, client actions (5); the order's
# invoices (1) and takes (1), read once and shared by the invoice section, the margin
# section and the production summary (orders.production_selectors.read_once); episodes
# and shots (1); the bell (1). The margin section: the state of the stored rows (1) and
# the order's expenses (1), then its stored overhead shares (1), or before the first
# recompute the other orders of its overhead months (1), its share computed live. One
# more when an amount needs an exchange rate (billing.margin.load_rates).
ORDER_PAGE_BUDGET = BUDGET
FIRST_ORDER_PAGE_BUDGET = BUDGET
ORDER_SIZES = [
    {"events": 3, "files": 1, "takes": 2, "others": 0},
    {"events": 60, "files": 9, "takes": 40, "others": 120},
]


@pytest.fixture
def without_margin_section(monkeypatch):
    """The order page without billing's margin section."""
    # The page's own sections register when its views are first imported, which may be
    # during this test's first request: import them now, or the list restored after the
    # test would lack them.
    from orders.views import production_pages  # noqa: F401

    providers = [
        p for p in extensions._staff_order_sections if p is not sections_margin.staff_order_section
    ]
    monkeypatch.setattr(extensions, "_staff_order_sections", providers)


def _busy_order(owner, *, events: int, files: int, takes: int = 0, others: int = 0) -> Order:
    """An order in production with timeline events, files, takes, a direct expense, an
    issued invoice and a client link, in a studio with `others` more orders."""
    day = timezone.localdate()
    order = make_order(
        status=Order.Status.IN_PRODUCTION,
        tags=["promo", "抖音"],
        accepted_at=timezone.now() - dt.timedelta(days=20),
        currency="CNY",
    )
    OrderEvent.objects.bulk_create(
        [
            OrderEvent(order=order, kind=OrderEvent.Kind.NOTE, actor=owner, message=f"Note {i}")
            for i in range(events)
        ]
    )
    for i in range(files):
        add_file(order, owner, title=f"Cut {i % 3}")
    shot = make_shot(make_episode(order))
    tool = make_tool()
    for i in range(takes):
        make_take(shot, tool, number=i + 1, generated_on=day - dt.timedelta(days=i % 15))
    direct, overhead = Expense.Category.MUSIC_LICENCE, Expense.Category.OTHER
    Expense.objects.create(
        spent_on=day,
        amount=Decimal("30"),
        currency="CNY",
        category=direct,
        order=order,
        vendor="Epidemic",
    )
    Expense.objects.create(spent_on=day, amount=Decimal("99"), currency="CNY", category=overhead)
    issued(owner, order=order, lines=[line(price="800.00")])
    portal.rotate_link(actor=owner, order=order)
    if others:
        bulk_orders(others, clients=[ClientFactory()])
    return order


def _order_page_queries(http, order: Order, assert_at_most, budget: int) -> int:
    url = reverse("order-detail", args=[order.pk])
    http.get(url)  # the first request of a session may set up its state
    with assert_at_most(budget), CaptureQueriesContext(connection) as ctx:
        assert http.get(url).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("size", ORDER_SIZES, ids=["small", "large"])
def test_order_page_without_the_margin_section_stays_within_budget(
    owner, owner_http, without_margin_section, django_assert_max_num_queries, size
):
    order = _busy_order(owner, **size)
    url = reverse("order-detail", args=[order.pk])
    owner_http.get(url)

    with django_assert_max_num_queries(BUDGET):
        response = owner_http.get(url)

    assert response.status_code == 200


def test_order_page_query_count_does_not_grow(owner, owner_http, django_assert_max_num_queries):
    """Margin rows stored (the usual state): the same queries at both sizes."""
    counts = []
    for size in ORDER_SIZES:
        order = _busy_order(owner, **size)
        margins.recompute()
        counts.append(
            _order_page_queries(owner_http, order, django_assert_max_num_queries, ORDER_PAGE_BUDGET)
        )
        body = owner_http.get(reverse("order-detail", args=[order.pk])).content.decode()
        assert 'id="margin"' in body
        assert "Epidemic" in body
        link = portal.active_link(order)
        assert link is not None
        assert portal.portal_path(link) in body  # the client link, from the order's query

    assert counts[0] == counts[1] <= ORDER_PAGE_BUDGET


def test_order_page_query_count_does_not_grow_before_the_first_recompute(
    owner, owner_http, monkeypatch, django_assert_max_num_queries
):
    """Never recomputed: the margin section is computed live whatever the number of
    orders (it used to switch at margins.SYNC_LIMIT orders, one query fewer above it)."""
    monkeypatch.setattr(margins, "SYNC_LIMIT", 50)  # the small studio below, the large above
    counts = []
    for size in ORDER_SIZES:
        order = _busy_order(owner, **size)
        counts.append(
            _order_page_queries(
                owner_http, order, django_assert_max_num_queries, FIRST_ORDER_PAGE_BUDGET
            )
        )
        section = next(
            s
            for s in owner_http.get(reverse("order-detail", args=[order.pk])).context[
                "extra_sections"
            ]
            if s.context.get("margin")
        )
        assert section.context["margin"].shares  # its share of the month's overhead

    assert Order.objects.count() > margins.SYNC_LIMIT
    assert counts[0] == counts[1] <= FIRST_ORDER_PAGE_BUDGET
