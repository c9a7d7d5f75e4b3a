"""REST API for clients and orders: CRUD, roles, bad input, transitions, filters, queries."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from orders.models import Client, Order, OrderEvent, Tag
from studio.services import create_api_token
from tests.factories import ClientFactory, UserFactory
from tests.orders.factories_api import bearer_client, error_of, make_order, session_client

MONEY_FIELDS = {"price", "currency", "deposit_percent", "deposit_amount"}
ORDER_FIELDS = {
    "id",
    "reference",
    "client",
    "client_name",
    "title",
    "kind",
    "brief",
    *MONEY_FIELDS,
    "turnaround_days",
    "revision_rounds_included",
    "revision_rounds_used",
    "assignee",
    "tags",
    "status",
    "accepted_at",
    "due_at",
    "delivered_at",
    "completed_at",
    "created_at",
    "updated_at",
    "url",
    "portal_url",
    "allowed_transitions",
}


@pytest.fixture
def http_as(request, db):
    """An API client for a persona name: Bearer token, or the browser's session."""

    def make(persona: str, *, session: bool = False) -> APIClient:
        if persona == "anonymous":
            return APIClient()  # no token, no session
        user = request.getfixturevalue(persona)
        return session_client(user) if session else bearer_client(user)

    return make


# --- Clients -----------------------------------------------------------------------------


def test_producer_creates_a_client(producer):
    http = bearer_client(producer)

    response = http.post(
        "/api/clients/",
        {
            "name": "Bright Tea Co.",
            "contact_name": "Li Wei",
            "email": "li@brighttea.cn",
            "wechat_id": "liwei88",
            "country": "cn",
            "language": "zh-hans",
            "currency": "CNY",
        },
        format="json",
    )

    assert response.status_code == 201
    client = Client.objects.get()
    body = response.json()
    assert response["Location"] == f"http://testserver/api/clients/{client.pk}/"
    assert body["id"] == client.pk
    assert body["country"] == "CN"
    assert body["archived"] is False
    assert set(body) == {
        "id",
        "name",
        "contact_name",
        "email",
        "phone",
        "wechat_id",
        "country",
        "language",
        "currency",
        "billing_address",
        "tax_id",
        "notes",
        "archived",
        "created_at",
        "updated_at",
    }


def test_client_list_retrieve_put_and_patch(owner):
    http = bearer_client(owner)
    client = ClientFactory(name="Acme", currency="CNY")

    listed = http.get("/api/clients/").json()
    assert listed["count"] == 1
    assert listed["results"][0]["name"] == "Acme"
    assert http.get(f"/api/clients/{client.pk}/").json()["name"] == "Acme"

    put = http.put(
        f"/api/clients/{client.pk}/", {"name": "Acme Films", "currency": "USD"}, format="json"
    )
    assert put.status_code == 200
    patch = http.patch(f"/api/clients/{client.pk}/", {"notes": "Pays fast"}, format="json")
    assert patch.status_code == 200

    client.refresh_from_db()
    assert (client.name, client.currency, client.notes) == ("Acme Films", "USD", "Pays fast")
    assert patch.json()["name"] == "Acme Films"


def test_clients_cannot_be_deleted_only_archived_and_restored(owner):
    http = bearer_client(owner)
    client = ClientFactory()

    deleted = http.delete(f"/api/clients/{client.pk}/")
    assert deleted.status_code == 405
    assert error_of(deleted)["code"] == "method_not_allowed"
    assert Client.objects.filter(pk=client.pk).exists()

    archived = http.post(f"/api/clients/{client.pk}/archive/")
    assert archived.status_code == 200
    assert archived.json()["archived"] is True
    assert http.post(f"/api/clients/{client.pk}/archive/").status_code == 200  # idempotent
    client.refresh_from_db()
    assert client.is_archived

    restored = http.post(f"/api/clients/{client.pk}/restore/")
    assert restored.status_code == 200
    assert restored.json()["archived"] is False
    client.refresh_from_db()
    assert not client.is_archived


def test_client_filters_search_and_ordering(owner):
    http = bearer_client(owner)
    ClientFactory(name="Zeta", language="en", currency="USD", country="US")
    beta = ClientFactory(name="Beta", language="zh-hans", currency="CNY", country="CN")
    ClientFactory(name="Alpha", wechat_id="alpha_wx", archived_at=timezone.now())

    def names(query: str) -> list[str]:
        response = http.get(f"/api/clients/?{query}")
        assert response.status_code == 200
        return [row["name"] for row in response.json()["results"]]

    assert names("") == ["Alpha", "Beta", "Zeta"]
    assert names("archived=true") == ["Alpha"]
    assert names("archived=false") == ["Beta", "Zeta"]
    assert names("language=en") == ["Zeta"]
    assert names("currency=CNY") == ["Alpha", "Beta"]
    assert names("country=cn") == ["Beta"]
    assert names("search=alpha_wx") == ["Alpha"]
    assert names(f"search={beta.email}") == ["Beta"]
    assert names("ordering=-name") == ["Zeta", "Beta", "Alpha"]


@pytest.mark.parametrize(
    ("persona", "status"),
    [("owner", 200), ("producer", 200), ("artist", 403), ("outsider", 403), ("anonymous", 401)],
)
def test_client_endpoints_by_role(http_as, persona, status):
    client = ClientFactory()
    http = http_as(persona)

    assert http.get("/api/clients/").status_code == status
    assert http.get(f"/api/clients/{client.pk}/").status_code == status
    created = http.post("/api/clients/", {"name": "New"}, format="json")
    assert created.status_code == (201 if status == 200 else status)
    archived = http.post(f"/api/clients/{client.pk}/archive/")
    assert archived.status_code == status
    if status != 200:
        assert Client.objects.count() == 1
        client.refresh_from_db()
        assert not client.is_archived


def test_artist_is_told_why_clients_are_refused(artist):
    response = bearer_client(artist).get("/api/clients/")

    assert error_of(response)["message"] == "Only owners and producers can use this."


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": ["Acme"]}, "name"),
        ({"name": "Acme", "email": "not-an-address"}, "email"),
        ({"name": "Acme", "country": "CHN"}, "country"),
        ({"name": "Acme", "country": "1!"}, "country"),
        ({"name": "Acme", "language": "fr"}, "language"),
        ({"name": "Acme", "currency": "XYZ"}, "currency"),
        ({"name": "Acme\x00"}, "name"),
        ({"name": "A" * 161}, "name"),
    ],
)
def test_bad_client_input_is_400_with_fields_and_saves_nothing(owner, body, field):
    response = bearer_client(owner).post("/api/clients/", body, format="json")

    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid"
    assert field in error["fields"]
    assert error["message"] == error["fields"][field][0]
    assert Client.objects.count() == 0


def test_bad_client_update_changes_nothing(owner):
    client = ClientFactory(name="Acme", email="a@acme.test")

    response = bearer_client(owner).patch(
        f"/api/clients/{client.pk}/", {"name": "Renamed", "email": "broken"}, format="json"
    )

    assert response.status_code == 400
    client.refresh_from_db()
    assert (client.name, client.email) == ("Acme", "a@acme.test")


# --- Orders: create and update -----------------------------------------------------------


def test_producer_creates_an_order_through_the_service(producer, artist):
    client = ClientFactory(name="Bright Tea Co.", currency="USD")
    http = bearer_client(producer)

    response = http.post(
        "/api/orders/",
        {
            "client": client.pk,
            "title": "Spring teaser",
            "kind": "ad",
            "price": "1200.00",
            "deposit_percent": "30",
            "assignee": artist.pk,
            "tags": ["tea", " spring ", "tea"],
        },
        format="json",
    )

    assert response.status_code == 201
    order = Order.objects.get()
    body = response.json()
    assert set(body) == ORDER_FIELDS
    year = timezone.now().year
    assert body["reference"] == order.reference == f"ORD-{year}-0001"
    assert body["client_name"] == "Bright Tea Co."
    assert body["currency"] == "USD"  # the client's
    assert body["price"] == "1200.00"
    assert body["deposit_amount"] == "360.00"
    assert body["turnaround_days"] == 7
    assert body["assignee"] == artist.pk
    assert body["tags"] == ["spring", "tea"]
    assert body["status"] == "inquiry"
    assert body["allowed_transitions"] == ["quoted", "on_hold", "cancelled"]
    assert body["url"] == f"http://testserver/orders/{order.pk}/"
    assert response["Location"] == f"http://testserver/api/orders/{order.pk}/"
    assert order.created_by == producer
    assert OrderEvent.objects.filter(order=order, kind=OrderEvent.Kind.CREATED).count() == 1


def test_an_order_may_start_as_a_quote(owner):
    client = ClientFactory()

    response = bearer_client(owner).post(
        "/api/orders/",
        {"client": client.pk, "title": "Clip", "price": 800, "status": "quoted"},
        format="json",
    )

    assert response.status_code == 201
    assert Order.objects.get().status == Order.Status.QUOTED


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"price": "-1"}, "price"),
        ({"price": "abc"}, "price"),
        ({"price": "10.005"}, "price"),
        ({"price": "NaN"}, "price"),
        ({"price": "1e400"}, "price"),
        ({"price": None}, "price"),
        ({"price": "1234567890123"}, "price"),
        ({"currency": "XYZ"}, "currency"),
        ({"deposit_percent": "150"}, "deposit_percent"),
        ({"deposit_percent": "-5"}, "deposit_percent"),
        ({"client": None}, "client"),
        ({"client": 987654}, "client"),
        ({"client": 10**20}, "client"),
        ({"client": "one"}, "client"),
        ({"client": True}, "client"),
        ({"title": ""}, "title"),
        ({"title": {"en": "Clip"}}, "title"),
        ({"kind": "film"}, "kind"),
        ({"turnaround_days": 0}, "turnaround_days"),
        ({"turnaround_days": 400}, "turnaround_days"),
        ({"turnaround_days": "x"}, "turnaround_days"),
        ({"turnaround_days": 2.5}, "turnaround_days"),
        ({"revision_rounds_included": 21}, "revision_rounds_included"),
        ({"tags": "tea"}, "tags"),
        ({"tags": [{"name": "tea"}]}, "tags.0"),
        ({"tags": [""]}, "tags.0"),
        ({"tags": ["x" * 41]}, "tags.0"),
        ({"tags": [str(n) for n in range(21)]}, "tags"),
        ({"assignee": 987654}, "assignee"),
        ({"status": "accepted"}, "status"),
        ({"status": "bogus"}, "status"),
    ],
)
def test_bad_order_input_is_400_with_fields_and_saves_nothing(owner, change, field):
    client = ClientFactory()
    body = {"client": client.pk, "title": "Clip", "price": "1500", **change}

    response = bearer_client(owner).post("/api/orders/", body, format="json")

    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid"
    assert field in error["fields"]
    assert Order.objects.count() == 0
    assert Tag.objects.count() == 0
    assert OrderEvent.objects.count() == 0


def test_missing_required_order_fields_are_each_named(owner):
    response = bearer_client(owner).post("/api/orders/", {}, format="json")

    assert response.status_code == 400
    assert set(error_of(response)["fields"]) == {"client", "title", "price"}


def test_archived_client_takes_no_new_orders(owner):
    client = ClientFactory(archived_at=timezone.now())

    response = bearer_client(owner).post(
        "/api/orders/", {"client": client.pk, "title": "Clip", "price": "10"}, format="json"
    )

    assert response.status_code == 400
    error = error_of(response)
    assert error["message"] == "This client is archived; restore it before adding orders."
    assert error["fields"] == {"client": ["Archived client."]}
    assert Order.objects.count() == 0


def test_assignee_must_be_on_the_team(owner, outsider):
    client = ClientFactory()

    response = bearer_client(owner).post(
        "/api/orders/",
        {"client": client.pk, "title": "Clip", "price": "10", "assignee": outsider.pk},
        format="json",
    )

    assert response.status_code == 400
    assert error_of(response)["fields"] == {"assignee": ["Not a team member."]}
    assert Order.objects.count() == 0


def test_patch_changes_terms_and_replaces_tags(producer, artist):
    order = make_order(tags=["old"])
    http = bearer_client(producer)

    response = http.patch(
        f"/api/orders/{order.pk}/",
        {"title": "Longer cut", "price": "2000", "tags": ["cut", "long"], "assignee": artist.pk},
        format="json",
    )

    assert response.status_code == 200
    body = response.json()
    assert body["title"] == "Longer cut"
    assert body["price"] == "2000.00"
    assert body["deposit_amount"] == "1000.00"
    assert body["tags"] == ["cut", "long"]
    order.refresh_from_db()
    assert (order.title, order.price, order.assignee) == ("Longer cut", Decimal(2000), artist)
    assert sorted(order.tags.values_list("name", flat=True)) == ["cut", "long"]
    event = OrderEvent.objects.get(order=order, kind=OrderEvent.Kind.UPDATED)
    assert event.data == {"fields": ["assignee", "price", "title"]}


def test_patch_without_tags_keeps_them(owner):
    order = make_order(tags=["keep"])

    response = bearer_client(owner).patch(
        f"/api/orders/{order.pk}/", {"brief": "More detail"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["tags"] == ["keep"]


def test_put_replaces_the_terms(owner):
    order = make_order()
    other_client = ClientFactory()

    response = bearer_client(owner).put(
        f"/api/orders/{order.pk}/",
        {"client": other_client.pk, "title": "New title", "price": "99.50", "currency": "EUR"},
        format="json",
    )

    assert response.status_code == 200
    order.refresh_from_db()
    assert (order.client, order.title, order.price, order.currency) == (
        other_client,
        "New title",
        Decimal("99.50"),
        "EUR",
    )


def test_put_needs_the_required_fields(owner):
    order = make_order(title="Kept")

    response = bearer_client(owner).put(f"/api/orders/{order.pk}/", {}, format="json")

    assert response.status_code == 400
    assert set(error_of(response)["fields"]) == {"client", "title", "price"}
    order.refresh_from_db()
    assert order.title == "Kept"


def test_status_cannot_be_changed_by_editing(owner):
    order = make_order(status=Order.Status.QUOTED)
    http = bearer_client(owner)

    refused = http.patch(f"/api/orders/{order.pk}/", {"status": "accepted"}, format="json")
    unchanged = http.patch(f"/api/orders/{order.pk}/", {"status": "quoted"}, format="json")

    assert refused.status_code == 400
    assert error_of(refused)["fields"] == {
        "status": [f"Change the status with POST /api/orders/{order.pk}/transition/."]
    }
    assert unchanged.status_code == 200
    order.refresh_from_db()
    assert order.status == Order.Status.QUOTED


def test_bad_update_changes_nothing(owner):
    order = make_order(title="Kept", price=Decimal(100))

    response = bearer_client(owner).patch(
        f"/api/orders/{order.pk}/", {"title": "Changed", "price": "-5"}, format="json"
    )

    assert response.status_code == 400
    order.refresh_from_db()
    assert (order.title, order.price) == ("Kept", Decimal(100))
    assert OrderEvent.objects.count() == 0


def test_closed_orders_cannot_be_edited(owner):
    order = make_order(status=Order.Status.COMPLETED, title="Done")

    response = bearer_client(owner).patch(
        f"/api/orders/{order.pk}/", {"title": "Reopened"}, format="json"
    )

    assert response.status_code == 409
    error = error_of(response)
    assert error["code"] == "conflict"
    assert error["message"] == "A completed or cancelled order cannot be edited."
    order.refresh_from_db()
    assert order.title == "Done"


def test_orders_cannot_be_deleted(owner):
    order = make_order()

    response = bearer_client(owner).delete(f"/api/orders/{order.pk}/")

    assert response.status_code == 405
    assert Order.objects.filter(pk=order.pk).exists()


# --- Orders: who sees what -----------------------------------------------------------------


@pytest.mark.parametrize("session", [False, True], ids=["bearer", "session"])
@pytest.mark.parametrize(
    ("persona", "list_status", "visible"),
    [
        ("owner", 200, 2),
        ("producer", 200, 2),
        ("artist", 200, 1),
        ("outsider", 403, None),
        ("anonymous", 401, None),
    ],
)
def test_order_list_by_role(http_as, artist, persona, list_status, visible, session):
    make_order(assignee=artist)
    make_order()

    response = http_as(persona, session=session).get("/api/orders/")

    assert response.status_code == list_status
    if visible is not None:
        assert response.json()["count"] == visible


@pytest.mark.parametrize(
    ("persona", "own", "other"),
    [
        ("owner", 200, 200),
        ("producer", 200, 200),
        ("artist", 200, 404),
        ("outsider", 403, 403),
        ("anonymous", 401, 401),
    ],
)
def test_order_detail_by_role(http_as, artist, persona, own, other):
    mine = make_order(assignee=artist)
    theirs = make_order()
    http = http_as(persona)

    assert http.get(f"/api/orders/{mine.pk}/").status_code == own
    assert http.get(f"/api/orders/{theirs.pk}/").status_code == other


@pytest.mark.parametrize(
    ("persona", "status"),
    [("owner", 201), ("producer", 201), ("artist", 403), ("outsider", 403), ("anonymous", 401)],
)
def test_order_create_by_role(http_as, persona, status):
    client = ClientFactory()

    response = http_as(persona).post(
        "/api/orders/", {"client": client.pk, "title": "Clip", "price": "10"}, format="json"
    )

    assert response.status_code == status
    assert Order.objects.count() == (1 if status == 201 else 0)


def test_artist_cannot_edit_even_their_own_order(artist):
    order = make_order(assignee=artist, title="Kept")

    response = bearer_client(artist).patch(
        f"/api/orders/{order.pk}/", {"title": "Changed"}, format="json"
    )

    assert response.status_code == 403
    assert error_of(response)["message"] == "Only owners and producers can use this."
    order.refresh_from_db()
    assert order.title == "Kept"


def test_artist_never_sees_money(artist):
    order = make_order(assignee=artist, price=Decimal("1888.00"))
    http = bearer_client(artist)

    listed = http.get("/api/orders/").json()["results"][0]
    detail = http.get(f"/api/orders/{order.pk}/").json()

    for body in (listed, detail):
        assert set(body) == ORDER_FIELDS - MONEY_FIELDS - {"portal_url"}
        assert "1888" not in str(body)


def test_owner_sees_money(owner):
    order = make_order(price=Decimal("1888.00"), deposit_percent=Decimal("25"))

    body = bearer_client(owner).get(f"/api/orders/{order.pk}/").json()

    assert set(body) == ORDER_FIELDS
    assert (body["price"], body["deposit_percent"], body["deposit_amount"]) == (
        "1888.00",
        "25.00",
        "472.00",
    )


def test_artist_cannot_sort_by_price(artist):
    now = timezone.now()
    cheap = make_order(assignee=artist, price=Decimal(10))
    dear = make_order(assignee=artist, price=Decimal(99))
    Order.objects.filter(pk=cheap.pk).update(created_at=now)
    Order.objects.filter(pk=dear.pk).update(created_at=now - dt.timedelta(days=1))
    http = bearer_client(artist)

    by_price = http.get("/api/orders/?ordering=-price").json()["results"]

    # The money ordering is ignored: newest first, as without ?ordering.
    assert [row["id"] for row in by_price] == [cheap.pk, dear.pk]


# --- Orders: transitions ---------------------------------------------------------------------


def test_valid_transition_changes_status_and_writes_the_timeline(producer):
    order = make_order(status=Order.Status.INQUIRY)

    response = bearer_client(producer).post(
        f"/api/orders/{order.pk}/transition/",
        {"status": "quoted", "note": "Sent the quote by WeChat"},
        format="json",
    )

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "quoted"
    assert body["allowed_transitions"] == ["inquiry", "accepted", "on_hold", "cancelled"]
    assert "warning" not in body
    order.refresh_from_db()
    assert order.status == Order.Status.QUOTED
    event = OrderEvent.objects.get(order=order)
    assert (event.kind, event.from_status, event.to_status, event.message) == (
        OrderEvent.Kind.STATUS_CHANGED,
        "inquiry",
        "quoted",
        "Sent the quote by WeChat",
    )


def test_accepting_sets_the_due_date(owner):
    order = make_order(status=Order.Status.QUOTED, turnaround_days=7)

    response = bearer_client(owner).post(
        f"/api/orders/{order.pk}/transition/", {"status": "accepted"}, format="json"
    )

    assert response.status_code == 200
    body = response.json()
    assert body["accepted_at"] is not None
    assert body["due_at"] is not None
    order.refresh_from_db()
    assert order.due_at > order.accepted_at


def test_invalid_transition_is_409_and_changes_nothing(owner):
    order = make_order(status=Order.Status.INQUIRY)

    response = bearer_client(owner).post(
        f"/api/orders/{order.pk}/transition/", {"status": "completed"}, format="json"
    )

    assert response.status_code == 409
    error = error_of(response)
    assert error["code"] == "invalid_transition"
    assert error["message"] == "An order that is Inquiry cannot become Completed."
    order.refresh_from_db()
    assert order.status == Order.Status.INQUIRY
    assert OrderEvent.objects.count() == 0


def test_transition_to_the_current_status_is_409(owner):
    order = make_order(status=Order.Status.QUOTED)

    response = bearer_client(owner).post(
        f"/api/orders/{order.pk}/transition/", {"status": "quoted"}, format="json"
    )

    assert response.status_code == 409
    assert OrderEvent.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [({"status": "shipped"}, "status"), ({}, "status"), ({"status": None}, "status")],
)
def test_unknown_status_is_400(owner, body, field):
    order = make_order()

    response = bearer_client(owner).post(f"/api/orders/{order.pk}/transition/", body, format="json")

    assert response.status_code == 400
    assert field in error_of(response)["fields"]
    order.refresh_from_db()
    assert order.status == Order.Status.INQUIRY


def test_artist_moves_their_own_order_through_production(artist):
    order = make_order(assignee=artist, status=Order.Status.ACCEPTED)
    http = bearer_client(artist)
    assert http.get(f"/api/orders/{order.pk}/").json()["allowed_transitions"] == ["in_production"]

    response = http.post(
        f"/api/orders/{order.pk}/transition/", {"status": "in_production"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["allowed_transitions"] == ["in_review"]
    assert MONEY_FIELDS.isdisjoint(response.json())
    order.refresh_from_db()
    assert order.status == Order.Status.IN_PRODUCTION


def test_artist_may_not_make_business_transitions(artist):
    order = make_order(assignee=artist, status=Order.Status.QUOTED)

    response = bearer_client(artist).post(
        f"/api/orders/{order.pk}/transition/", {"status": "accepted"}, format="json"
    )

    assert response.status_code == 403
    assert error_of(response)["message"] == "You are not allowed to make this change."
    order.refresh_from_db()
    assert order.status == Order.Status.QUOTED
    assert OrderEvent.objects.count() == 0


def test_artist_cannot_touch_orders_of_others(artist):
    order = make_order(status=Order.Status.ACCEPTED)

    response = bearer_client(artist).post(
        f"/api/orders/{order.pk}/transition/", {"status": "in_production"}, format="json"
    )

    assert response.status_code == 404
    order.refresh_from_db()
    assert order.status == Order.Status.ACCEPTED


def test_revision_past_included_rounds_answers_with_a_warning(owner):
    order = make_order(
        status=Order.Status.IN_REVIEW, revision_rounds_included=1, revision_rounds_used=1
    )

    response = bearer_client(owner).post(
        f"/api/orders/{order.pk}/transition/", {"status": "revision"}, format="json"
    )

    assert response.status_code == 200
    body = response.json()
    assert body["revision_rounds_used"] == 2
    assert body["warning"] == ("This is revision round 2; only 1 are included in the price.")


# --- Orders: filters, search, ordering, pages ------------------------------------------------


@pytest.fixture
def catalogue(owner, artist):
    """Four orders that differ in everything the filters look at."""
    now = timezone.now()
    acme = ClientFactory(name="Acme Films")
    tea = ClientFactory(name="Bright Tea")
    late = make_order(
        client=acme,
        title="Late teaser",
        status=Order.Status.IN_PRODUCTION,
        due_at=now - dt.timedelta(days=2),
        price=Decimal(300),
        assignee=artist,
        tags=["teaser"],
    )
    soon = make_order(
        client=acme,
        title="Soon ad",
        kind=Order.Kind.AD,
        status=Order.Status.ACCEPTED,
        due_at=now + dt.timedelta(days=3),
        price=Decimal(100),
    )
    later = make_order(
        client=tea,
        title="Drama pilot",
        kind=Order.Kind.SHORT_DRAMA,
        status=Order.Status.IN_REVIEW,
        due_at=now + dt.timedelta(days=20),
        price=Decimal(200),
        tags=["drama", "teaser"],
    )
    new = make_order(client=tea, title="New inquiry", status=Order.Status.INQUIRY)
    return {"late": late, "soon": soon, "later": later, "new": new, "acme": acme, "now": now}


def _ids(http: APIClient, query: str) -> set[int]:
    response = http.get(f"/api/orders/?{query}")
    assert response.status_code == 200, response.json()
    return {row["id"] for row in response.json()["results"]}


def test_order_filters(owner, artist, catalogue):
    http = bearer_client(owner)
    c = catalogue
    when = (c["now"] + dt.timedelta(days=10)).isoformat()

    assert _ids(http, "status=inquiry&status=accepted") == {c["new"].pk, c["soon"].pk}
    assert _ids(http, "status=inquiry,accepted") == {c["new"].pk, c["soon"].pk}
    assert _ids(http, "kind=short_drama") == {c["later"].pk}
    assert _ids(http, f"client={c['acme'].pk}") == {c["late"].pk, c["soon"].pk}
    assert _ids(http, f"assignee={artist.pk}") == {c["late"].pk}
    assert _ids(http, "tag=teaser") == {c["late"].pk, c["later"].pk}
    assert _ids(http, "tag=Drama") == {c["later"].pk}
    assert _ids(http, f"due_before={when}".replace("+", "%2B")) == {c["late"].pk, c["soon"].pk}
    assert _ids(http, f"due_after={when}".replace("+", "%2B")) == {c["later"].pk}
    assert _ids(http, "late=true") == {c["late"].pk}
    assert _ids(http, "late=false") == {c["soon"].pk, c["later"].pk, c["new"].pk}


def test_order_search(owner, catalogue):
    http = bearer_client(owner)
    c = catalogue

    assert _ids(http, f"search={c['soon'].reference}") == {c["soon"].pk}
    assert _ids(http, "search=pilot") == {c["later"].pk}
    assert _ids(http, "search=bright") == {c["later"].pk, c["new"].pk}


def test_order_ordering(owner, catalogue):
    http = bearer_client(owner)
    c = catalogue

    def order_of(query: str) -> list[int]:
        return [row["id"] for row in http.get(f"/api/orders/?{query}").json()["results"]]

    assert order_of("ordering=price") == [c["soon"].pk, c["later"].pk, c["late"].pk, c["new"].pk]
    assert order_of("ordering=-price")[0] == c["new"].pk
    # Orders without a due date come last, whichever the direction.
    assert order_of("ordering=due_at") == [c["late"].pk, c["soon"].pk, c["later"].pk, c["new"].pk]
    assert order_of("ordering=-due_at") == [c["later"].pk, c["soon"].pk, c["late"].pk, c["new"].pk]
    assert order_of("ordering=-reference") == [
        c["new"].pk,
        c["later"].pk,
        c["soon"].pk,
        c["late"].pk,
    ]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=shipped", "status"),
        ("status=inquiry,shipped", "status"),
        ("kind=film", "kind"),
        ("client=abc", "client"),
        (f"client={10**20}", "client"),
        ("assignee=-1", "assignee"),
        ("due_before=yesterday", "due_before"),
        ("due_after=9999-12-31T23:59:59-23:00", "due_after"),
        ("due_before=0001-01-01T00:00:00%2B14:00", "due_before"),
        ("tag=" + "x" * 41, "tag"),
        ("search=%00", "search"),
    ],
)
def test_bad_filters_are_400_not_500(owner, query, field):
    make_order()

    response = bearer_client(owner).get(f"/api/orders/?{query}")

    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid"
    assert field in error["fields"]


def test_pages_are_25_by_default_and_at_most_200(owner):
    client = ClientFactory()
    for _ in range(205):
        make_order(client=client)
    http = bearer_client(owner)

    first = http.get("/api/orders/").json()
    big = http.get("/api/orders/?page_size=500").json()
    small = http.get("/api/orders/?page_size=10&page=3").json()

    assert (first["count"], len(first["results"])) == (205, 25)
    assert first["next"] == "http://testserver/api/orders/?page=2"
    assert len(big["results"]) == 200
    assert len(small["results"]) == 10
    assert small["previous"] == "http://testserver/api/orders/?page=2&page_size=10"


def test_page_past_the_end_is_a_404(owner):
    make_order()

    response = bearer_client(owner).get("/api/orders/?page=9")

    assert response.status_code == 404
    assert error_of(response)["message"] == "Invalid page."


# --- Query budget --------------------------------------------------------------------------


def _bulk_orders(count: int, *, assignee=None) -> None:
    tags = [Tag.objects.get_or_create(name=name)[0] for name in ("a", "b", "c")]
    clients = [ClientFactory() for _ in range(3)]
    for index in range(count):
        order = make_order(client=clients[index % 3], assignee=assignee)
        order.tags.set(tags[: index % 4])


@pytest.mark.parametrize("rows", [10, 100])
def test_order_list_queries_do_not_grow_with_rows(
    owner, studio_profile, django_assert_max_num_queries, rows
):
    _bulk_orders(rows)
    http = bearer_client(owner)

    # profile, token, token's last use, role, count, page, tags of the page
    with django_assert_max_num_queries(8):
        response = http.get("/api/orders/?page_size=200")

    assert len(response.json()["results"]) == rows


@pytest.mark.parametrize("rows", [10, 100])
def test_artist_order_list_queries_do_not_grow_with_rows(
    artist, studio_profile, django_assert_max_num_queries, rows
):
    _bulk_orders(rows, assignee=artist)
    http = session_client(artist)

    # session, user, profile, role, count, page, tags of the page
    with django_assert_max_num_queries(8):
        response = http.get("/api/orders/?page_size=200&status=inquiry&search=clip")

    assert len(response.json()["results"]) == rows


@pytest.mark.parametrize("rows", [10, 100])
def test_client_list_queries_do_not_grow_with_rows(
    owner, studio_profile, django_assert_max_num_queries, rows
):
    for _ in range(rows):
        ClientFactory()
    http = bearer_client(owner)

    # profile, token, token's last use, role, count, page
    with django_assert_max_num_queries(6):
        response = http.get("/api/clients/?page_size=200")

    assert len(response.json()["results"]) == rows


def test_token_owner_is_the_actor(db):
    producer = UserFactory(username="pat", role="producer")
    _token, raw = create_api_token(user=producer, name="shop")
    client = ClientFactory()

    APIClient().post(
        "/api/orders/",
        {"client": client.pk, "title": "Clip", "price": "10"},
        format="json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )

    event = OrderEvent.objects.get()
    assert (event.actor, event.actor_label) == (producer, "pat")
