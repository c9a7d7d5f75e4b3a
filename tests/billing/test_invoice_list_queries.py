"""The invoice list keeps one query budget at two data sizes (issue 8): 12 documents
and 3 clients cost the same queries as 72 documents and 18 clients, at most BUDGET;
the client filter is a text field with suggestions, not a <select> of every client."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from billing.models import Invoice
from tests.billing.helpers import issued, line
from tests.factories import ClientFactory

BUDGET = 15
SMALL, LARGE = (12, 3), (60, 15)


@pytest.fixture(autouse=True)
def _profile_exists(studio_profile):
    """A running studio has its profile row; its creation is not part of a page's cost."""


def _grow(owner, size: tuple[int, int], clients: list | None = None) -> list:
    documents, count = size
    clients = clients or []
    clients += [ClientFactory(name=f"Billing client {len(clients) + i:03d}") for i in range(count)]
    for n in range(documents):
        issued(owner, client=clients[n % len(clients)], lines=[line(price=f"{100 + n}.10")])
    return clients


PAGES = [
    {},
    {"status": "open"},
    {"status": "overdue", "currency": "CNY", "period": "this_year"},
    {"client": "<name>"},
    {"client": "<number>", "kind": "invoice"},
    {"client": "No such client"},
    {"q": "INV", "page": "2"},
]


def _params(params: dict, clients: list) -> dict:
    out = dict(params)
    if out.get("client") == "<name>":
        out["client"] = clients[0].name
    elif out.get("client") == "<number>":
        out["client"] = str(clients[0].pk)
    return out


def _count(http, params: dict, assert_max) -> int:
    http.get(reverse("invoice-list"), params)
    with assert_max(BUDGET), CaptureQueriesContext(connection) as ctx:
        response = http.get(reverse("invoice-list"), params)
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("params", PAGES)
def test_invoice_list_query_count_is_the_same_small_and_large(
    owner, producer_http, django_assert_max_num_queries, params
):
    clients = _grow(owner, SMALL)
    small = _count(producer_http, _params(params, clients), django_assert_max_num_queries)

    _grow(owner, LARGE, clients)
    large = _count(producer_http, _params(params, clients), django_assert_max_num_queries)

    assert Invoice.objects.count() == SMALL[0] + LARGE[0]
    assert large == small <= BUDGET


def test_invoice_list_filters_by_client_name_and_explains_an_unknown_one(owner, producer_http):
    clients = _grow(owner, (6, 3))
    url = reverse("invoice-list")

    by_name = producer_http.get(url, {"client": clients[1].name.upper()})
    unknown = producer_http.get(url, {"client": "Nobody Ltd"})

    assert {row["invoice"].client_id for row in by_name.context["rows"]} == {clients[1].pk}
    assert len(by_name.context["rows"]) == 2
    assert unknown.status_code == 200
    assert unknown.context["rows"] == []
    assert unknown.context["totals"] == []
    assert unknown.context["form"].errors["client"] == [
        "No client is called “Nobody Ltd”. Pick one from the suggestions."
    ]
    body = unknown.content.decode()
    assert '<datalist id="client-suggestions">' in body
    assert f'<option value="{clients[0].name}">' in body
    assert '<select name="client"' not in body
