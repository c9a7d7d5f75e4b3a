"""REST API for expenses and exchange rates: access, filters, amount_reporting with
rate_missing, receipts, the booked-expense rule, rate upserts, idempotency keys."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import pytest
import schemathesis
import time_machine
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from rest_framework.test import APIClient
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from billing import services
from billing.models import CostEvent, ExchangeRate, Expense, IdempotencyRecord, Subscription
from studio.models import AITool
from studio.services import create_api_token
from studio.wsgi import application
from tests.billing.test_expense_files import PDF, PNG, upload
from tests.factories import OrderFactory
from tests.orders.factories_api import bearer_client, error_of
from tests.studio.test_api_schema import GENERATED_SCHEMA

D = Decimal
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("studio_profile")]
EXPENSES = "/api/expenses/"
RATES = "/api/exchange-rates/"


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(dt.datetime(2026, 3, 10, 4, 0, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def api(owner):
    return bearer_client(owner)


@pytest.fixture
def kling(db):
    return AITool.objects.get_or_create(name="Kling", defaults={"kind": "video_model"})[0]


def spend(actor, **fields) -> Expense:
    values = {
        "spent_on": dt.date(2026, 3, 5),
        "amount": D("100.00"),
        "currency": "CNY",
        "category": "generation_credits",
    }
    values.update(fields)
    return services.create_expense(actor=actor, **values)


def body(**fields) -> dict:
    return {
        "spent_on": "2026-03-05",
        "amount": "12.50",
        "currency": "USD",
        "category": "dubbing",
        **fields,
    }


# --- Access ---------------------------------------------------------------------------------


def test_anonymous_401_artists_and_outsiders_403(owner, artist, outsider):
    item = spend(owner)
    assert APIClient().get(EXPENSES).status_code == 401
    for user in (artist, outsider):
        http = bearer_client(user)
        for method, path in (
            ("get", EXPENSES),
            ("get", f"{EXPENSES}{item.pk}/"),
            ("get", f"{EXPENSES}{item.pk}/receipt/"),
            ("post", EXPENSES),
            ("get", RATES),
            ("post", RATES),
        ):
            response = getattr(http, method)(path, {}, format="json")
            assert response.status_code == 403, (user, path)
            assert error_of(response)["code"] == "permission_denied"


# --- Expenses -------------------------------------------------------------------------------


def test_create_and_read_back_with_reporting_amount(api, kling):
    ExchangeRate.objects.create(currency="USD", on=dt.date(2026, 3, 1), rate=D("7.125"))
    order = OrderFactory(reference="ORD-2026-0003")

    response = api.post(
        EXPENSES, body(tool=kling.pk, order=order.pk, vendor="ElevenLabs"), format="json"
    )

    assert response.status_code == 201
    data = response.json()
    assert response["Location"].endswith(f"{EXPENSES}{data['id']}/")
    assert data["amount"] == "12.50"
    assert data["amount_reporting"] == "89.06"  # 12.50 x 7.125 = 89.0625
    assert (data["reporting_currency"], data["rate_missing"]) == ("CNY", False)
    assert (data["order_reference"], data["tool_name"], data["overhead"]) == (
        "ORD-2026-0003",
        "Kling",
        False,
    )
    assert data["receipt_url"] is None
    assert api.get(f"{EXPENSES}{data['id']}/").json() == data


def test_missing_rate_is_null_with_rate_missing(api, owner):
    item = spend(owner, currency="EUR", amount=D("5.00"))

    data = api.get(f"{EXPENSES}{item.pk}/").json()

    assert (data["amount_reporting"], data["rate_missing"]) == (None, True)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"amount": "0"}, "amount"),
        ({"amount": "1500.5", "currency": "JPY"}, "amount"),
        ({"currency": "XXX"}, "currency"),
        ({"category": "lunch"}, "category"),
        ({"spent_on": "1990-01-01"}, "spent_on"),
        ({"order": 999999}, "order"),
        ({"tool": 999999}, "tool"),
    ],
)
def test_bad_expense_is_a_400_naming_the_field(api, fields, field):
    response = api.post(EXPENSES, body(**fields), format="json")

    assert response.status_code == 400
    assert field in error_of(response)["fields"]
    assert not Expense.objects.exists()


def test_list_filters(api, owner, kling):
    order = OrderFactory(reference="ORD-2026-0077")
    direct = spend(owner, order=order, tool=kling, vendor="Kling")
    feb = spend(owner, spent_on=dt.date(2026, 2, 3), category="hardware", note="GPU fan")
    spend(owner, currency="USD", amount=D("3.00"))

    def ids(query: str) -> set[int]:
        response = api.get(EXPENSES + query)
        assert response.status_code == 200, response.json()
        return {row["id"] for row in response.json()["results"]}

    assert ids("?order_reference=0077") == {direct.pk}
    assert ids(f"?order={order.pk}") == {direct.pk}
    assert ids(f"?tool={kling.pk}") == {direct.pk}
    assert ids("?kind=direct") == {direct.pk}
    assert len(ids("?kind=overhead")) == 2
    assert ids("?month=2026-02") == {feb.pk}
    assert ids("?spent_before=2026-02-28") == {feb.pk}
    assert ids("?category=hardware&search=gpu") == {feb.pk}
    assert len(ids("?currency=USD")) == 1
    response = api.get(EXPENSES + "?month=2026-13")
    assert response.status_code == 400
    assert "month" in error_of(response)["fields"]


def test_list_query_count_is_flat(api, owner, django_assert_max_num_queries):
    for n in range(30):
        spend(owner, order=OrderFactory(), currency=("USD", "CNY")[n % 2])

    with django_assert_max_num_queries(8):
        response = api.get(EXPENSES)

    assert response.status_code == 200
    assert response.json()["count"] == 30


def test_patch_changes_only_what_is_sent_and_clears_order(api, owner):
    item = spend(owner, order=OrderFactory(), vendor="Suno")

    response = api.patch(f"{EXPENSES}{item.pk}/", {"amount": "9.90", "order": None}, format="json")

    assert response.status_code == 200
    data = response.json()
    assert (data["amount"], data["order"], data["vendor"], data["overhead"]) == (
        "9.90",
        None,
        "Suno",
        True,
    )


def test_booked_expense_patch_of_other_fields_is_409(api, owner, kling):
    plan = Subscription.objects.create(
        tool=kling,
        plan_name="Pro",
        amount=D("66"),
        currency="USD",
        started_on=dt.date(2026, 1, 5),
        next_renewal_on=dt.date(2026, 4, 5),
    )
    item = Expense.objects.create(
        spent_on=dt.date(2026, 3, 5),
        amount=D("66"),
        currency="USD",
        category="subscription",
        tool=kling,
        subscription=plan,
        renewal_on=dt.date(2026, 3, 5),
    )

    refused = api.patch(f"{EXPENSES}{item.pk}/", {"category": "other"}, format="json")
    accepted = api.patch(f"{EXPENSES}{item.pk}/", {"amount": "70.00"}, format="json")
    ignored = api.patch(
        f"{EXPENSES}{item.pk}/", {"subscription": None, "renewal_on": None}, format="json"
    )
    deleted = api.delete(f"{EXPENSES}{item.pk}/")

    assert refused.status_code == 409
    assert error_of(refused)["code"] == "booked_by_subscription"
    assert accepted.status_code == 200
    assert ignored.status_code == 200
    assert deleted.status_code == 409
    item.refresh_from_db()
    assert (item.amount, item.category, item.subscription_id, item.renewal_on) == (
        D("70.00"),
        "subscription",
        plan.pk,
        dt.date(2026, 3, 5),
    )


def test_delete_expense(api, owner):
    item = spend(owner)

    assert api.delete(f"{EXPENSES}{item.pk}/").status_code == 204
    assert not Expense.objects.exists()
    assert CostEvent.objects.filter(kind="deleted", object_id=item.pk).exists()


# --- Receipts -------------------------------------------------------------------------------


def test_multipart_create_with_receipt_then_download(api):
    response = api.post(
        EXPENSES, {**body(), "receipt": upload("scan.pdf", PNG)}, format="multipart"
    )

    assert response.status_code == 201
    data = response.json()
    assert (data["receipt_content_type"], data["receipt_original_name"]) == (
        "image/png",
        "scan.pdf",
    )
    download = api.get(data["receipt_url"], HTTP_ACCEPT="application/json")
    assert download.status_code == 200
    assert download["Content-Type"] == "image/png"
    assert b"".join(download.streaming_content) == PNG


def test_receipt_action_attaches_refuses_and_removes(api, owner):
    item = spend(owner)
    url = f"{EXPENSES}{item.pk}/receipt/"

    refused = api.post(url, {"receipt": upload("x.pdf", b"hello, not a pdf")}, format="multipart")
    assert refused.status_code == 400
    assert error_of(refused)["fields"] == {
        "receipt": ["Upload the receipt as a PDF, JPEG or PNG file."]
    }
    attached = api.post(url, {"receipt": upload("x.pdf", PDF)}, format="multipart")
    assert attached.status_code == 200
    assert attached.json()["receipt_content_type"] == "application/pdf"
    removed = api.delete(url)
    assert removed.status_code == 200
    assert removed.json()["receipt_url"] is None
    assert api.get(url).status_code == 404


# --- Idempotency ----------------------------------------------------------------------------


def test_idempotency_key_replays_the_first_expense(api):
    headers = {"HTTP_IDEMPOTENCY_KEY": "b1946ac9-2f6e-4c5a-8f0b-0d2b5e1c8a11"}

    first = api.post(EXPENSES, body(), format="json", **headers)
    again = api.post(EXPENSES, body(), format="json", **headers)
    other = api.post(EXPENSES, body(amount="99.00"), format="json", **headers)

    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert other.status_code == 409
    assert error_of(other)["code"] == "idempotency_key_reused"
    assert Expense.objects.count() == 1
    assert IdempotencyRecord.objects.count() == 1


# --- Exchange rates -------------------------------------------------------------------------


def test_rate_upsert_201_then_200(api):
    created = api.post(
        RATES, {"currency": "USD", "on": "2026-03-05", "rate": "7.19"}, format="json"
    )
    updated = api.post(RATES, {"currency": "USD", "on": "2026-03-05", "rate": "7.2"}, format="json")

    assert created.status_code == 201
    assert updated.status_code == 200
    assert updated.json()["id"] == created.json()["id"]
    assert updated.json()["rate"] == "7.20000000"
    assert updated.json()["source"] == "api"
    assert ExchangeRate.objects.count() == 1


def test_rate_with_idempotency_key_is_created_once(api):
    headers = {"HTTP_IDEMPOTENCY_KEY": "rate-2026-03-05-usd"}
    data = {"currency": "USD", "on": "2026-03-05", "rate": "7.19"}

    first = api.post(RATES, data, format="json", **headers)
    again = api.post(RATES, data, format="json", **headers)

    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"


@pytest.mark.parametrize(
    "data",
    [
        {"currency": "CNY", "on": "2026-03-05", "rate": "1"},
        {"currency": "USD", "on": "2026-03-05", "rate": "0"},
        {"currency": "USD", "on": "2026-03-05", "rate": "7.123456789"},
        {"currency": "USD", "on": "1980-03-05", "rate": "7"},
        {"currency": "USD", "on": "2026-03-05", "rate": "7", "quote_currency": "USD"},
    ],
)
def test_bad_rate_is_a_400(api, data):
    response = api.post(RATES, data, format="json")

    assert response.status_code == 400
    error_of(response)
    assert not ExchangeRate.objects.exists()


def test_rate_list_filters_patch_and_delete(api):
    usd = ExchangeRate.objects.create(currency="USD", on=dt.date(2026, 3, 5), rate=D("7.19"))
    ExchangeRate.objects.create(currency="USD", on=dt.date(2026, 2, 5), rate=D("7.1"))
    ExchangeRate.objects.create(currency="EUR", on=dt.date(2026, 3, 5), rate=D("7.8"))

    assert api.get(RATES + "?currency=USD").json()["count"] == 2
    assert api.get(RATES + "?on_after=2026-03-01").json()["count"] == 2
    assert api.get(RATES + "?currency=USD&on_before=2026-02-28").json()["count"] == 1
    clash = api.patch(f"{RATES}{usd.pk}/", {"on": "2026-02-05"}, format="json")
    assert clash.status_code == 409
    patched = api.patch(f"{RATES}{usd.pk}/", {"rate": "7.25"}, format="json")
    assert patched.status_code == 200
    assert patched.json()["rate"] == "7.25000000"
    assert api.delete(f"{RATES}{usd.pk}/").status_code == 204
    assert ExchangeRate.objects.count() == 2


# --- Schemathesis, aimed at real expenses and rates -----------------------------------------

costs_schema = schemathesis.openapi.from_dict(GENERATED_SCHEMA).include(
    path_regex=r"^/api/(expenses|exchange-rates)/"
)


@pytest.fixture
def costs_world(owner, kling) -> dict[str, Any]:
    ExchangeRate.objects.create(currency="USD", on=dt.date(2026, 3, 1), rate=D("7.2"))
    rate = ExchangeRate.objects.create(currency="EUR", on=dt.date(2026, 3, 1), rate=D("7.8"))
    order = OrderFactory()
    with_receipt = spend(owner, order=order, tool=kling, receipt=upload("r.pdf", PDF))
    plain = spend(owner, currency="USD", amount=D("3.00"))
    missing = spend(owner, currency="JPY", amount=D("900"))
    _token, raw = create_api_token(user=owner, name="schemathesis")
    return {
        "headers": {"Authorization": f"Bearer {raw}"},
        "expenses": [with_receipt.pk, plain.pk, missing.pk],
        "exchange-rates": [rate.pk],
        "orders": [order.pk],
        "tool": [kling.pk],
    }


def _aim(case: Any, world: dict[str, Any]) -> None:
    if isinstance(case.body, dict):
        for field, resource in (("order", "orders"), ("tool", "tool")):
            value = case.body.get(field)
            if isinstance(value, int) and not isinstance(value, bool):
                case.body[field] = world[resource][value % len(world[resource])]
    params = case.path_parameters or {}
    segments = case.path.strip("/").split("/")
    for index, segment in enumerate(segments):
        match = re.fullmatch(r"\{(\w+)\}", segment)
        value = str(params.get(match.group(1), "")) if match else ""
        resource = segments[index - 1]
        if match and resource in world and value.isdigit() and int(value) % 3 != 0:
            params[match.group(1)] = str(world[resource][int(value) % len(world[resource])])


@pytest.fixture
def _keep_test_connection():
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@costs_schema.parametrize()
@hypothesis_settings(
    max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
)
@pytest.mark.usefixtures("_keep_test_connection")
def test_costs_api_conforms_to_its_schema(case, costs_world):
    _aim(case, costs_world)
    response = case.call(app=application, headers=costs_world["headers"])
    case.validate_response(
        response,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )
