"""Client pages: owners and producers only; list, search, archive, totals per currency."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client as HttpClient
from django.urls import reverse
from django.utils import timezone

from orders.models import Client, Order
from tests.factories import ClientFactory
from tests.orders.factories_pages import make_order

S = Order.Status
PERSONAS = ["owner", "producer", "artist", "outsider", "anonymous"]
GET_ROUTES = ["client-list", "client-create", "client-detail", "client-edit"]
POST_ROUTES = ["client-archive", "client-restore"]


def _http(request, persona: str) -> HttpClient:
    http = HttpClient()
    if persona != "anonymous":
        http.force_login(request.getfixturevalue(persona))
    return http


def _url(route: str, client: Client) -> str:
    if route in {"client-list", "client-create"}:
        return reverse(route)
    return reverse(route, args=[client.pk])


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("route", GET_ROUTES)
def test_client_pages_permission_matrix(request, db, persona, route):
    client = ClientFactory(name="Lotus Tea")
    make_order(client=client, assignee=request.getfixturevalue("artist"))
    http = _http(request, persona)

    response = http.get(_url(route, client))

    expected = {"owner": 200, "producer": 200, "artist": 403, "outsider": 403, "anonymous": 302}
    assert response.status_code == expected[persona]
    if persona == "anonymous":
        assert response["Location"].startswith(reverse("login") + "?next=")
    if expected[persona] != 200:
        assert "Lotus Tea" not in response.content.decode()


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("route", POST_ROUTES)
def test_client_actions_permission_matrix(request, db, persona, route):
    archived_at = timezone.now() if route == "client-restore" else None
    client = ClientFactory(archived_at=archived_at)
    http = _http(request, persona)

    response = http.post(_url(route, client))

    client.refresh_from_db()
    expected = {"owner": 302, "producer": 302, "artist": 403, "outsider": 403, "anonymous": 302}
    assert response.status_code == expected[persona]
    allowed = persona in {"owner", "producer"}
    if route == "client-archive":
        assert client.is_archived is allowed
    else:
        assert client.is_archived is not allowed


@pytest.mark.parametrize("route", POST_ROUTES)
def test_client_actions_refuse_get(owner_http, route):
    client = ClientFactory()

    assert owner_http.get(_url(route, client)).status_code == 405


def test_unknown_client_is_404(owner_http):
    assert owner_http.get(reverse("client-detail", args=[999999])).status_code == 404


# --- List -----------------------------------------------------------------------------------


def test_client_list_shows_order_counts(owner_http):
    tea = ClientFactory(name="Lotus Tea")
    ClientFactory(name="Quiet Co")
    make_order(client=tea, status=S.IN_PRODUCTION)
    make_order(client=tea, status=S.INQUIRY)
    make_order(client=tea, status=S.COMPLETED)
    make_order(client=tea, status=S.CANCELLED)

    response = owner_http.get(reverse("client-list"))

    rows = {c.name: (c.orders_count, c.open_orders_count) for c in response.context["clients"]}
    assert rows == {"Lotus Tea": (4, 2), "Quiet Co": (0, 0)}


def test_client_list_search_and_archived_toggle(owner_http):
    ClientFactory(name="Lotus Tea", wechat_id="lotus_wx")
    ClientFactory(name="Swift Cars")
    ClientFactory(name="Old Lotus", archived_at=timezone.now())

    active = owner_http.get(reverse("client-list"))
    searched = owner_http.get(reverse("client-list"), {"q": "lotus"})
    by_wechat = owner_http.get(reverse("client-list"), {"q": "lotus_wx"})
    archived = owner_http.get(reverse("client-list"), {"archived": "1"})
    archived_search = owner_http.get(reverse("client-list"), {"archived": "1", "q": "swift"})

    def names(response):
        return [c.name for c in response.context["clients"]]

    assert names(active) == ["Lotus Tea", "Swift Cars"]
    assert names(searched) == ["Lotus Tea"]
    assert names(by_wechat) == ["Lotus Tea"]
    assert names(archived) == ["Old Lotus"]
    assert names(archived_search) == []
    assert "No clients match “swift”." in archived_search.content.decode()


def test_client_list_paginates(owner_http):
    for i in range(27):
        ClientFactory(name=f"Client {i:02d}")

    first = owner_http.get(reverse("client-list"))
    last = owner_http.get(reverse("client-list"), {"page": "2"})
    bad = owner_http.get(reverse("client-list"), {"page": "oops"})

    assert len(first.context["clients"]) == 25
    assert len(last.context["clients"]) == 2
    assert bad.status_code == 200


# --- Create, edit, archive -------------------------------------------------------------------


def _client_form(**changes) -> dict:
    data = {
        "name": "Lotus Tea",
        "contact_name": "Wang Fang",
        "email": "fang@lotus.example",
        "phone": "+86 138 0000 0000",
        "wechat_id": "lotus_wx",
        "country": "cn",
        "language": "zh-hans",
        "currency": "CNY",
        "billing_address": "Hangzhou",
        "tax_id": "",
        "notes": "",
    }
    data.update(changes)
    return data


def test_create_client_through_the_page(producer_http):
    response = producer_http.post(reverse("client-create"), _client_form())

    client = Client.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("client-detail", args=[client.pk])
    assert (client.name, client.email, client.country, client.currency) == (
        "Lotus Tea",
        "fang@lotus.example",
        "CN",
        "CNY",
    )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": ""}, "name"),
        ({"email": "not-an-email"}, "email"),
        ({"country": "China"}, "country"),
        ({"currency": "ABC"}, "currency"),
        ({"language": "klingon"}, "language"),
    ],
)
def test_create_client_refuses_bad_input(owner_http, changes, field):
    response = owner_http.post(reverse("client-create"), _client_form(**changes))

    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert not Client.objects.exists()


def test_edit_client_through_the_page(owner_http):
    client = ClientFactory(name="Lotus Tea", currency="CNY")

    response = owner_http.post(
        reverse("client-edit", args=[client.pk]), _client_form(name="Lotus Tea Co", currency="USD")
    )

    client.refresh_from_db()
    assert response.status_code == 302
    assert (client.name, client.currency) == ("Lotus Tea Co", "USD")


def test_edit_client_refuses_bad_input_and_changes_nothing(owner_http):
    client = ClientFactory(name="Lotus Tea", email="a@example.com")

    response = owner_http.post(
        reverse("client-edit", args=[client.pk]), _client_form(email="broken")
    )

    client.refresh_from_db()
    assert response.status_code == 400
    assert client.email == "a@example.com"


def test_archive_and_restore_messages(owner_http):
    client = ClientFactory(name="Lotus Tea")

    archived = owner_http.post(reverse("client-archive", args=[client.pk]), follow=True)
    again = owner_http.post(reverse("client-archive", args=[client.pk]), follow=True)
    restored = owner_http.post(reverse("client-restore", args=[client.pk]), follow=True)

    def texts(response):
        return [m.message for m in response.context["messages"]]

    assert texts(archived) == ["Lotus Tea was archived. Its orders are kept."]
    assert texts(again) == ["This client was already archived."]
    assert texts(restored) == ["Lotus Tea was restored."]
    client.refresh_from_db()
    assert not client.is_archived


def test_archived_client_detail_offers_restore_not_new_order(owner_http):
    client = ClientFactory(archived_at=timezone.now())

    body = owner_http.get(reverse("client-detail", args=[client.pk])).content.decode()

    assert reverse("client-restore", args=[client.pk]) in body
    assert f"{reverse('order-create')}?client={client.pk}" not in body


# --- Detail -----------------------------------------------------------------------------------


def test_client_detail_totals_per_currency_and_status_group(owner_http):
    client = ClientFactory(name="Lotus Tea")
    other = ClientFactory(name="Other")
    make_order(client=client, status=S.IN_PRODUCTION, price=Decimal("0.10"), currency="CNY")
    make_order(client=client, status=S.DELIVERED, price=Decimal("0.20"), currency="CNY")
    make_order(client=client, status=S.COMPLETED, price=Decimal("1999.99"), currency="CNY")
    make_order(client=client, status=S.CANCELLED, price=Decimal("777"), currency="CNY")
    make_order(client=client, status=S.QUOTED, price=Decimal("120"), currency="USD")
    make_order(client=client, status=S.CANCELLED, price=Decimal("5"), currency="EUR")
    make_order(client=other, status=S.QUOTED, price=Decimal("9999"), currency="CNY")

    response = owner_http.get(reverse("client-detail", args=[client.pk]))

    totals = [
        (t.currency, str(t.open), t.open_count, str(t.completed), t.completed_count)
        for t in response.context["totals"]
    ]
    assert totals == [
        ("CNY", "¥0.30", 2, "¥1,999.99", 1),
        ("USD", "$120.00", 1, "$0.00", 0),
    ]
    assert response.context["page_obj"].paginator.count == 6
    body = response.content.decode()
    assert "¥1,999.99" in body
    assert f"{reverse('order-create')}?client={client.pk}" in body


def test_client_totals_are_exact_over_many_orders(owner_http):
    client = ClientFactory()
    Order.objects.bulk_create(
        [
            Order(
                reference=f"SUM-{i:05d}",
                client=client,
                title="Clip",
                price=Decimal("0.10") + Decimal("0.01") * (i % 7),
                currency="CNY",
                turnaround_days=7,
                revision_rounds_included=2,
                status=S.IN_PRODUCTION,
            )
            for i in range(1000)
        ]
    )
    expected = sum((Decimal("0.10") + Decimal("0.01") * (i % 7) for i in range(1000)), Decimal(0))

    response = owner_http.get(reverse("client-detail", args=[client.pk]))

    (totals,) = response.context["totals"]
    assert totals.open.amount == expected
    assert totals.open_count == 1000


def test_client_detail_lists_its_orders_paginated(owner_http):
    client = ClientFactory()
    for i in range(26):
        make_order(client=client, title=f"Clip {i:02d}")
    make_order(title="Someone else's")

    first = owner_http.get(reverse("client-detail", args=[client.pk]))
    second = owner_http.get(reverse("client-detail", args=[client.pk]), {"page": 2})

    assert len(first.context["orders"]) == 25
    assert [o.title for o in second.context["orders"]] == ["Clip 00"]
    assert "Someone else" not in first.content.decode()
