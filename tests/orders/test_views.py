"""Staff order pages: who may open what, filters, the order form and transitions."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.test import Client as HttpClient
from django.urls import reverse

from orders.models import Client, Deliverable, Order, OrderEvent
from tests.factories import ClientFactory, UserFactory
from tests.orders.factories_pages import add_file, due_in, make_order

S = Order.Status
PERSONAS = ["owner", "producer", "artist_assigned", "artist_unassigned", "outsider", "anonymous"]


@pytest.fixture
def world(owner, producer, artist, outsider):
    """Two orders in production: one assigned to the artist, one to nobody, each with a file."""
    client = ClientFactory(name="Lotus Tea")
    assigned = make_order(
        client=client, title="Tea ad", status=S.IN_PRODUCTION, assignee=artist, due_at=due_in(3)
    )
    other = make_order(client=client, title="Secret teaser", status=S.IN_PRODUCTION)
    return {
        "assigned": assigned,
        "other": other,
        "assigned_file": add_file(assigned, owner),
        "other_file": add_file(other, owner),
    }


def _persona(request, name: str, world) -> tuple[HttpClient, Order, Deliverable]:
    """The signed-in client for a persona and the order that persona is tried on."""
    if name == "anonymous":
        http = HttpClient()
    else:
        user_fixture = "artist" if name.startswith("artist") else name
        http = HttpClient()
        http.force_login(request.getfixturevalue(user_fixture))
    if name == "artist_unassigned":
        return http, world["other"], world["other_file"]
    return http, world["assigned"], world["assigned_file"]


# (route, method, expected status per persona). Pages that do not name an order ignore
# which order the persona is tried on.
ALLOW_ALL = dict.fromkeys(PERSONAS[:4], 200) | {"outsider": 403, "anonymous": 302}
BUSINESS = {
    "owner": 200,
    "producer": 200,
    "artist_assigned": 403,
    "artist_unassigned": 403,
    "outsider": 403,
    "anonymous": 302,
}
ORDER_PAGE = {
    "owner": 200,
    "producer": 200,
    "artist_assigned": 200,
    "artist_unassigned": 404,
    "outsider": 403,
    "anonymous": 302,
}
ORDER_ACTION = {k: (302 if v == 200 else v) for k, v in ORDER_PAGE.items()}
MATRIX = [
    ("order-board", "get", ALLOW_ALL),
    ("order-list", "get", ALLOW_ALL),
    ("order-create", "get", BUSINESS),
    ("order-detail", "get", ORDER_PAGE),
    ("order-edit", "get", BUSINESS),
    ("deliverable-file", "get", ORDER_PAGE),
    ("order-transition", "post", ORDER_ACTION),
    ("order-note", "post", ORDER_ACTION),
    ("deliverable-create", "post", ORDER_ACTION),
]
POST_DATA = {
    "order-transition": {"status": S.IN_REVIEW, "note": "Ready"},
    "order-note": {"text": "Client called"},
    "deliverable-create": {"title": "Storyboard", "url": "https://example.com/board"},
}


def _url(route: str, order: Order, deliverable: Deliverable) -> str:
    if route in {"order-board", "order-list", "order-create"}:
        return reverse(route)
    if route == "deliverable-file":
        return reverse(route, args=[order.pk, deliverable.pk])
    return reverse(route, args=[order.pk])


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize(("route", "method", "expected"), MATRIX, ids=[m[0] for m in MATRIX])
def test_order_routes_permission_matrix(request, world, persona, route, method, expected):
    http, order, deliverable = _persona(request, persona, world)
    before_events = OrderEvent.objects.filter(order=order).count()
    before_deliverables = Deliverable.objects.filter(order=order).count()

    response = getattr(http, method)(_url(route, order, deliverable), POST_DATA.get(route, {}))

    assert response.status_code == expected[persona]
    if persona == "anonymous":
        assert response["Location"].startswith(reverse("login") + "?next=")
    order.refresh_from_db()
    changed = expected[persona] == 302 and persona != "anonymous" and method == "post"
    assert order.status == (
        S.IN_REVIEW if changed and route == "order-transition" else S.IN_PRODUCTION
    )
    added_event = OrderEvent.objects.filter(order=order).count() - before_events
    assert added_event == (1 if changed else 0)
    added = Deliverable.objects.filter(order=order).count() - before_deliverables
    assert added == (1 if changed and route == "deliverable-create" else 0)


@pytest.mark.parametrize("route", ["order-transition", "order-note", "deliverable-create"])
def test_action_routes_refuse_get(owner_http, world, route):
    response = owner_http.get(reverse(route, args=[world["assigned"].pk]))

    assert response.status_code == 405


def test_unknown_order_is_404(owner_http, db):
    assert owner_http.get(reverse("order-detail", args=[999999])).status_code == 404


# --- Money is never shown to artists ---------------------------------------------------------


@pytest.mark.parametrize("route", ["order-board", "order-list", "order-detail"])
def test_artist_pages_contain_no_price(artist_http, artist, route):
    order = make_order(
        title="Noodle ad", status=S.IN_PRODUCTION, assignee=artist, price=Decimal("4321.98")
    )
    url = reverse(route, args=[order.pk]) if route == "order-detail" else reverse(route)

    response = artist_http.get(url)

    body = response.content.decode()
    assert response.status_code == 200
    assert "Noodle ad" in body
    assert "4,321.98" not in body
    assert "4321.98" not in body
    assert "¥" not in body
    assert "Deposit" not in body


@pytest.mark.parametrize("route", ["order-board", "order-list", "order-detail"])
def test_owner_pages_show_price(owner_http, route):
    order = make_order(title="Noodle ad", status=S.IN_PRODUCTION, price=Decimal("4321.98"))
    url = reverse(route, args=[order.pk]) if route == "order-detail" else reverse(route)

    body = owner_http.get(url).content.decode()

    assert "¥4,321.98" in body


def test_artist_sees_only_assigned_orders_on_board_and_list(artist_http, artist):
    make_order(title="Mine", status=S.ACCEPTED, assignee=artist)
    make_order(title="Not mine", status=S.ACCEPTED)

    for route in ("order-board", "order-list"):
        body = artist_http.get(reverse(route)).content.decode()
        assert "Mine" in body
        assert "Not mine" not in body


# --- Board -------------------------------------------------------------------------------------


def test_board_columns_count_and_sum_per_currency(owner_http):
    make_order(status=S.ACCEPTED, price=Decimal("0.10"), currency="CNY")
    make_order(status=S.ACCEPTED, price=Decimal("0.20"), currency="CNY")
    make_order(status=S.ACCEPTED, price=Decimal("99.99"), currency="USD")
    make_order(status=S.COMPLETED, price=Decimal("5000"), currency="CNY")

    response = owner_http.get(reverse("order-board"))

    columns = {c.status: c for c in response.context["columns"]}
    assert [c.status for c in response.context["columns"]] == Order.BOARD_COLUMNS
    accepted = columns[S.ACCEPTED]
    assert accepted.count == 3
    assert [str(m) for m in accepted.totals] == ["¥0.30", "$99.99"]
    assert columns[S.INQUIRY].count == 0
    assert "¥0.30" in response.content.decode()


def test_board_marks_late_and_soon_cards(owner_http):
    make_order(title="Late one", status=S.IN_PRODUCTION, due_at=due_in(-2))
    make_order(title="Soon one", status=S.IN_PRODUCTION, due_at=due_in(1))
    make_order(title="Calm one", status=S.IN_PRODUCTION, due_at=due_in(9))

    body = owner_http.get(reverse("order-board")).content.decode()

    assert 'class="card late"' in body
    assert 'class="card soon"' in body
    assert body.count('class="card"') == 1
    assert "2 days late" in body


def test_board_caps_cards_and_links_to_the_full_list(owner_http, monkeypatch):
    monkeypatch.setattr("orders.selectors.BOARD_CARD_LIMIT", 2)
    client = ClientFactory()
    for days in (5, 1, 3):
        make_order(client=client, title=f"Due in {days}", status=S.ACCEPTED, due_at=due_in(days))

    response = owner_http.get(reverse("order-board"))

    column = next(c for c in response.context["columns"] if c.status == S.ACCEPTED)
    assert column.count == 3
    assert [o.title for o in column.cards] == ["Due in 1", "Due in 3"]
    assert f"{reverse('order-list')}?status=accepted&amp;sort=due" in response.content.decode()


# --- List: filters, search, sort, paging ----------------------------------------------------


@pytest.fixture
def catalogue(artist):
    tea = ClientFactory(name="Lotus Tea")
    cars = ClientFactory(name="Swift Cars")
    return {
        "late": make_order(
            client=tea,
            title="Late tea spot",
            status=S.IN_PRODUCTION,
            due_at=due_in(-1),
            assignee=artist,
            tags=["douyin"],
            price=Decimal("800"),
        ),
        "week": make_order(
            client=cars,
            title="Car teaser",
            status=S.ACCEPTED,
            due_at=due_in(3),
            kind=Order.Kind.AD,
            price=Decimal("3000"),
        ),
        "later": make_order(
            client=cars,
            title="Car drama",
            status=S.ACCEPTED,
            due_at=due_in(20),
            kind=Order.Kind.SHORT_DRAMA,
            tags=["series"],
            price=Decimal("9000"),
        ),
        "done": make_order(
            client=tea,
            title="Old tea clip",
            status=S.COMPLETED,
            due_at=due_in(-30),
            price=Decimal("100"),
        ),
    }


def _titles(response) -> set[str]:
    return {o.title for o in response.context["orders"]}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, {"late", "week", "later", "done"}),
        ({"status": "accepted"}, {"week", "later"}),
        ({"status": "open"}, {"late", "week", "later"}),
        ({"kind": "ad"}, {"week"}),
        ({"due": "late"}, {"late"}),
        ({"due": "week"}, {"week"}),
        ({"tag": "series"}, {"later"}),
        ({"tag": "SERIES"}, {"later"}),
        ({"q": "teaser"}, {"week"}),
        ({"q": "lotus"}, {"late", "done"}),
        ({"q": "douyin"}, {"late"}),
        ({"assignee": "none"}, {"week", "later", "done"}),
        ({"status": "accepted", "q": "drama"}, {"later"}),
    ],
)
def test_order_list_filters(owner_http, catalogue, params, expected):
    response = owner_http.get(reverse("order-list"), params)

    assert response.status_code == 200
    assert _titles(response) == {catalogue[k].title for k in expected}


def test_order_list_filters_by_client_assignee_and_reference(owner_http, catalogue, artist):
    tea = catalogue["late"].client
    by_client = owner_http.get(reverse("order-list"), {"client": tea.pk})
    by_assignee = owner_http.get(reverse("order-list"), {"assignee": artist.pk})
    by_reference = owner_http.get(reverse("order-list"), {"q": catalogue["later"].reference})

    assert _titles(by_client) == {"Late tea spot", "Old tea clip"}
    assert _titles(by_assignee) == {"Late tea spot"}
    assert _titles(by_reference) == {"Car drama"}


@pytest.mark.parametrize("typed", ["Lotus Tea", "  lotus   TEA ", "<number>", "#<number>"])
def test_order_list_finds_the_client_by_name_or_number(owner_http, catalogue, typed):
    tea = catalogue["late"].client
    typed = typed.replace("<number>", str(tea.pk))

    response = owner_http.get(reverse("order-list"), {"client": typed})

    assert response.status_code == 200
    assert _titles(response) == {"Late tea spot", "Old tea clip"}
    assert response.context["form"].errors == {}


def test_order_list_client_given_by_number_shows_its_name(owner_http, catalogue):
    tea = catalogue["late"].client

    body = owner_http.get(reverse("order-list"), {"client": tea.pk}).content.decode()

    assert f'value="Lotus Tea #{tea.pk}"' in body


def test_order_list_suggests_clients_without_a_select_of_every_client(owner_http, catalogue):
    ClientFactory(name="Swift Cars")  # a second client of that name
    ClientFactory(name="Gone <Ltd>", archived_at=due_in(-30))

    body = owner_http.get(reverse("order-list")).content.decode()

    assert '<datalist id="client-suggestions">' in body
    assert 'list="client-suggestions"' in body
    assert '<option value="Lotus Tea">' in body
    cars = sorted(c.pk for c in Client.objects.filter(name="Swift Cars"))
    assert all(f'<option value="Swift Cars #{pk}">' in body for pk in cars)
    assert "Gone" not in body  # archived clients are not suggested
    assert '<select name="client"' not in body


@pytest.mark.parametrize(
    ("typed", "error"),
    [
        ("Nobody Ltd", "No client is called “Nobody Ltd”. Pick one from the suggestions."),
        ("999999", "No client has the number 999999."),
        ("#999999", "No client has the number 999999."),
    ],
)
def test_order_list_unknown_client_is_a_clear_error_and_lists_nothing(
    owner_http, catalogue, typed, error
):
    response = owner_http.get(reverse("order-list"), {"client": typed})

    assert response.status_code == 200
    assert response.context["form"].errors["client"] == [error]
    assert list(response.context["orders"]) == []
    body = response.content.decode()
    assert error.replace("“", "&ldquo;") in body or error in body
    assert "No orders match these filters." in body


def test_order_list_two_clients_of_one_name_ask_for_the_number(owner_http, catalogue):
    tea = catalogue["late"].client
    twin = ClientFactory(name="LOTUS TEA")
    make_order(client=twin, title="Twin order")

    ambiguous = owner_http.get(reverse("order-list"), {"client": "Lotus tea"})
    numbered = owner_http.get(reverse("order-list"), {"client": f"Lotus Tea #{twin.pk}"})
    exact = owner_http.get(reverse("order-list"), {"client": "Lotus Tea"})

    assert ambiguous.context["form"].errors["client"] == [
        "2 clients are called “Lotus tea”: pick one from the suggestions, which add their numbers."
    ]
    assert _titles(numbered) == {"Twin order"}
    # Case-insensitive names: "Lotus Tea" matches both, so it needs the number too.
    assert "client" in exact.context["form"].errors
    assert tea.pk != twin.pk


def test_order_list_client_field_takes_any_text_without_a_500(owner_http, catalogue):
    for typed in ["%", "' OR 1=1 --", "x" * 500, "#", "Lotus Tea #", "\uff11\uff12"]:
        response = owner_http.get(reverse("order-list"), {"client": typed})
        assert response.status_code == 200, typed


def test_order_list_sorts_by_due_and_price(owner_http, catalogue):
    by_due = owner_http.get(reverse("order-list"), {"sort": "due"})
    by_price = owner_http.get(reverse("order-list"), {"sort": "-price"})

    assert [o.title for o in by_due.context["orders"]] == [
        "Old tea clip",
        "Late tea spot",
        "Car teaser",
        "Car drama",
    ]
    assert [o.title for o in by_price.context["orders"]] == [
        "Car drama",
        "Car teaser",
        "Late tea spot",
        "Old tea clip",
    ]


def test_artist_cannot_sort_by_price(artist_http, artist, catalogue):
    make_order(title="Cheap", assignee=artist, price=Decimal("1"))

    response = artist_http.get(reverse("order-list"), {"sort": "price"})

    assert response.status_code == 200
    assert "price" not in dict(response.context["form"].fields["sort"].choices)
    assert response.context["filters"].sort == "-created"
    assert "assignee" not in response.context["form"].fields
    assert "client" not in response.context["form"].fields


@pytest.mark.parametrize(
    "params",
    [
        {"status": "bogus"},
        {"client": "abc"},
        {"client": "999999"},
        {"assignee": "x"},
        {"due": "yesterday"},
        {"sort": "password"},
        {"page": "zzz"},
        {"page": "9999"},
        {"q": "x" * 500},
    ],
)
def test_order_list_ignores_bad_parameters(owner_http, catalogue, params):
    response = owner_http.get(reverse("order-list"), params)

    assert response.status_code == 200


def test_order_list_paginates_by_25(owner_http):
    client = ClientFactory()
    for i in range(30):
        make_order(client=client, title=f"Clip {i:02d}")

    first = owner_http.get(reverse("order-list"))
    second = owner_http.get(reverse("order-list"), {"page": 2})

    assert len(first.context["orders"]) == 25
    assert len(second.context["orders"]) == 5
    assert "Page 1 of 2" in first.content.decode()


# --- Create and edit -----------------------------------------------------------------------


def _order_form(for_client, **changes) -> dict:
    data = {
        "client": for_client.pk,
        "title": "Spring campaign",
        "kind": "ad",
        "brief": "Three 15s cuts",
        "price": "2400.50",
        "currency": "CNY",
        "deposit_percent": "30",
        "turnaround_days": "10",
        "revision_rounds_included": "2",
        "assignee": "",
        "tags": "spring, douyin\uff0cspring",
    }
    data.update(changes)
    return data


def test_create_order_through_the_page(producer_http, producer, artist):
    client = ClientFactory(name="Lotus Tea")

    response = producer_http.post(reverse("order-create"), _order_form(client, assignee=artist.pk))

    order = Order.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("order-detail", args=[order.pk])
    assert order.reference.startswith("ORD-")
    assert (order.title, order.kind, order.price, order.currency) == (
        "Spring campaign",
        "ad",
        Decimal("2400.50"),
        "CNY",
    )
    assert order.deposit_percent == Decimal(30)
    assert order.assignee == artist
    assert order.created_by == producer
    assert sorted(order.tags.values_list("name", flat=True)) == ["douyin", "spring"]
    assert list(order.events.values_list("kind", flat=True)) == [OrderEvent.Kind.CREATED]


def test_create_form_preselects_client_and_its_currency(owner_http):
    client = ClientFactory(currency="USD")

    response = owner_http.get(reverse("order-create"), {"client": client.pk})

    form = response.context["form"]
    assert form.initial["client"] == client.pk
    assert form.initial["currency"] == "USD"


def test_create_form_offers_only_active_clients_and_team_members(owner_http, artist, outsider):
    active = ClientFactory(name="Active Co")
    archived = ClientFactory(name="Gone Co")
    archived.archived_at = due_in(-1)
    archived.save()

    form = owner_http.get(reverse("order-create")).context["form"]

    assert list(form.fields["client"].queryset) == [active]
    assignees = set(form.fields["assignee"].queryset)
    assert artist in assignees
    assert outsider not in assignees


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"price": "-5"}, "price"),
        ({"price": "abc"}, "price"),
        ({"title": ""}, "title"),
        ({"deposit_percent": "150"}, "deposit_percent"),
        ({"turnaround_days": "0"}, "turnaround_days"),
        ({"currency": "XXX"}, "currency"),
        ({"tags": "x" * 41}, "tags"),
        ({"client": "999999"}, "client"),
    ],
)
def test_create_order_refuses_bad_input(owner_http, changes, field):
    client = ClientFactory()

    response = owner_http.post(reverse("order-create"), _order_form(client, **changes))

    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert Order.objects.count() == 0


def test_create_order_refuses_archived_client_and_outsider_assignee(owner_http, outsider):
    client = ClientFactory()
    client.archived_at = due_in(-1)
    client.save()

    response = owner_http.post(reverse("order-create"), _order_form(client, assignee=outsider.pk))

    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"client", "assignee"}
    assert Order.objects.count() == 0


def test_edit_order_through_the_page_records_changed_fields(owner_http):
    order = make_order(title="Old title", price=Decimal("1000"), tags=["old"])

    response = owner_http.post(
        reverse("order-edit", args=[order.pk]),
        _order_form(order.client, title="New title", price="1000.00", tags="new"),
    )

    order.refresh_from_db()
    assert response.status_code == 302
    assert order.title == "New title"
    assert list(order.tags.values_list("name", flat=True)) == ["new"]
    event = order.events.get(kind=OrderEvent.Kind.UPDATED)
    assert "title" in event.data["fields"]
    assert "price" not in event.data["fields"]
    assert event.public is False


def test_edit_form_shows_current_tags(owner_http):
    order = make_order(tags=["alpha", "beta"])

    form = owner_http.get(reverse("order-edit", args=[order.pk])).context["form"]

    assert form.initial["tags"] == "alpha, beta"


def test_edit_keeps_an_archived_client_selectable(owner_http):
    order = make_order()
    order.client.archived_at = due_in(-1)
    order.client.save()

    response = owner_http.post(
        reverse("order-edit", args=[order.pk]), _order_form(order.client, title="Renamed")
    )

    order.refresh_from_db()
    assert response.status_code == 302
    assert order.title == "Renamed"


def test_edit_of_closed_order_is_refused_and_changes_nothing(owner_http):
    order = make_order(title="Done deal", status=S.COMPLETED)

    response = owner_http.post(
        reverse("order-edit", args=[order.pk]), _order_form(order.client, title="Sneaky")
    )

    order.refresh_from_db()
    assert response.status_code == 400
    assert "cannot be edited" in str(response.context["form"].non_field_errors())
    assert order.title == "Done deal"
    assert not order.events.exists()


# --- Detail and transitions --------------------------------------------------------------------


def test_detail_shows_facts_timeline_and_grouped_deliverables(owner_http, owner):
    order = make_order(
        title="Tea ad",
        status=S.IN_REVIEW,
        due_at=due_in(-3),
        revision_rounds_used=3,
        revision_rounds_included=2,
    )
    add_file(order, owner, title="Final cut")
    add_file(order, owner, title="Final cut")
    add_file(
        order, owner, title="Poster", name="poster.png", content=b"\x89PNG\r\n\x1a\n" + b"0" * 50
    )

    response = owner_http.get(reverse("order-detail", args=[order.pk]))

    body = response.content.decode()
    groups = response.context["deliverable_groups"]
    assert [g.title for g in groups] == ["Poster", "Final cut"]
    assert [d.version for d in groups[1].versions] == [2, 1]
    assert "3 days late" in body
    assert "3 used of 2 included" in body
    assert "1 round over what the price includes" in body
    timeline = response.context["timeline"]
    assert [e.message for e in timeline] == ["Poster v1", "Final cut v2", "Final cut v1"]


def test_detail_offers_only_permitted_transitions(owner_http, artist_http, artist):
    order = make_order(status=S.IN_PRODUCTION, assignee=artist)

    owner_buttons = owner_http.get(reverse("order-detail", args=[order.pk])).context["transitions"]
    artist_buttons = artist_http.get(reverse("order-detail", args=[order.pk])).context[
        "transitions"
    ]

    assert [b["status"] for b in owner_buttons] == [S.IN_REVIEW, S.ON_HOLD, S.CANCELLED]
    assert [b["status"] for b in artist_buttons] == [S.IN_REVIEW]


def test_detail_of_on_hold_order_offers_resume(owner_http):
    order = make_order(status=S.ON_HOLD, status_before_hold=S.IN_PRODUCTION)

    buttons = owner_http.get(reverse("order-detail", args=[order.pk])).context["transitions"]

    assert [b["status"] for b in buttons] == [S.IN_PRODUCTION, S.CANCELLED]
    assert buttons[0]["label"] == "Resume as “In production”"


def test_internal_events_are_marked(owner_http, owner):
    order = make_order()
    owner_http.post(reverse("order-note", args=[order.pk]), {"text": "Only for us"})

    body = owner_http.get(reverse("order-detail", args=[order.pk])).content.decode()

    assert '<li class="internal">' in body
    assert "Only for us" in body


def test_valid_transition_changes_status_and_writes_event(owner_http, owner):
    order = make_order(status=S.QUOTED, turnaround_days=7)

    response = owner_http.post(
        reverse("order-transition", args=[order.pk]), {"status": S.ACCEPTED, "note": "Signed"}
    )

    order.refresh_from_db()
    assert response.status_code == 302
    assert response["Location"] == reverse("order-detail", args=[order.pk])
    assert order.status == S.ACCEPTED
    assert order.due_at is not None
    event = order.events.get()
    assert (event.kind, event.from_status, event.to_status, event.message) == (
        OrderEvent.Kind.STATUS_CHANGED,
        S.QUOTED,
        S.ACCEPTED,
        "Signed",
    )
    assert [m.message for m in get_messages(response.wsgi_request)] == [
        "The order is now “Accepted”."
    ]


@pytest.mark.parametrize(
    ("start", "target", "text"),
    [
        (S.INQUIRY, S.DELIVERED, "An order that is Inquiry cannot become Delivered."),
        (S.COMPLETED, S.REVISION, "An order that is Completed cannot become Revision requested."),
        (S.INQUIRY, "nonsense", "“nonsense” is not a status."),
        (S.INQUIRY, "", "“” is not a status."),
    ],
)
def test_invalid_transition_shows_message_and_changes_nothing(owner_http, start, target, text):
    order = make_order(status=start)

    response = owner_http.post(reverse("order-transition", args=[order.pk]), {"status": target})

    order.refresh_from_db()
    assert response.status_code == 302
    assert order.status == start
    assert not order.events.exists()
    messages = list(get_messages(response.wsgi_request))
    assert [(m.level_tag, m.message) for m in messages] == [("error", text)]


def test_artist_cannot_make_a_business_transition(artist_http, artist):
    order = make_order(status=S.IN_PRODUCTION, assignee=artist)

    response = artist_http.post(
        reverse("order-transition", args=[order.pk]), {"status": S.CANCELLED}
    )

    order.refresh_from_db()
    assert order.status == S.IN_PRODUCTION
    assert not order.events.exists()
    assert [m.message for m in get_messages(response.wsgi_request)] == [
        "You are not allowed to make this change."
    ]


def test_revision_past_included_rounds_shows_warning(owner_http):
    order = make_order(status=S.IN_REVIEW, revision_rounds_included=1, revision_rounds_used=1)

    response = owner_http.post(reverse("order-transition", args=[order.pk]), {"status": S.REVISION})

    order.refresh_from_db()
    assert order.status == S.REVISION
    assert order.revision_rounds_used == 2
    messages = [(m.level_tag, m.message) for m in get_messages(response.wsgi_request)]
    assert messages[1] == (
        "warning",
        "This is revision round 2; only 1 are included in the price.",
    )


def test_note_through_the_page(artist_http, artist):
    order = make_order(assignee=artist)

    response = artist_http.post(reverse("order-note", args=[order.pk]), {"text": "  Draft ok  "})

    event = order.events.get()
    assert response.status_code == 302
    assert (event.kind, event.message, event.public, event.actor) == (
        OrderEvent.Kind.NOTE,
        "Draft ok",
        False,
        artist,
    )


def test_empty_note_is_refused(owner_http):
    order = make_order()

    response = owner_http.post(reverse("order-note", args=[order.pk]), {"text": "   "})

    assert response.status_code == 400
    assert response.context["note_form"].errors["text"] == [
        "Write something before adding the note."
    ]
    assert not order.events.exists()


def test_inactive_member_is_treated_as_outsider(db):
    user = UserFactory(username="gone", role="owner", is_active=False)
    http = HttpClient()
    http.force_login(user)

    response = http.get(reverse("order-list"))

    assert response.status_code in {302, 403}


def test_edit_keeps_a_former_team_member_as_assignee(owner_http, db):
    former = UserFactory(username="left")  # no membership any more
    order = make_order(title="Old", assignee=former)

    response = owner_http.post(
        reverse("order-edit", args=[order.pk]),
        _order_form(order.client, title="Renamed", assignee=former.pk),
    )

    order.refresh_from_db()
    assert response.status_code == 302
    assert (order.title, order.assignee) == ("Renamed", former)


@pytest.mark.django_db
def test_artists_never_see_invoice_events_on_the_timeline_or_dashboard(artist, artist_http):
    from orders.models import Order, OrderEvent
    from tests.factories import OrderFactory

    order = OrderFactory(status=Order.Status.IN_PRODUCTION, assignee=artist)
    OrderEvent.objects.create(
        order=order, kind=OrderEvent.Kind.INVOICE, message="INV-2026-0007 sent to boss@client.cn"
    )
    OrderEvent.objects.create(order=order, kind=OrderEvent.Kind.NOTE, message="Use the blue logo")
    detail = artist_http.get(f"/orders/{order.pk}/").content.decode()
    assert "Use the blue logo" in detail
    assert "INV-2026-0007" not in detail
    assert "INV-2026-0007" not in artist_http.get("/").content.decode()
