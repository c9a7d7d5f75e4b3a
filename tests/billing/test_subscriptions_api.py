"""REST API for tool subscriptions: roles, create/change/cancel/resume/delete, filters,
the monthly figures, the one error shape, the schema."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
import schemathesis
import time_machine
from django.test import Client as HttpClient
from hypothesis import HealthCheck, settings
from rest_framework.test import APIClient
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from billing import services
from billing.models import CostEvent, ExchangeRate, Expense, Subscription
from studio.services import create_api_token
from studio.wsgi import application
from tests.billing.test_api_schema import _keep_test_connection  # noqa: F401 (fixture)
from tests.billing.test_subscriptions import make_sub, make_tool
from tests.orders.factories_api import bearer_client, error_of
from tests.studio.test_api_schema import GENERATED_SCHEMA

pytestmark = pytest.mark.django_db
D = dt.date
SUBS = "/api/subscriptions/"
TODAY = dt.datetime(2026, 3, 10, 4, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(TODAY, tick=False):
        yield


@pytest.fixture
def api(owner):
    return bearer_client(owner)


def body(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "tool": make_tool().pk,
        "plan_name": "Pro",
        "amount": "30.00",
        "currency": "USD",
        "period": "quarterly",
        "started_on": "2026-03-10",
    }
    data.update(overrides)
    return data


def test_anonymous_gets_401_and_artists_and_outsiders_403(owner, artist, outsider):
    sub = make_sub(owner)
    assert APIClient().get(SUBS).status_code == 401
    for user in (artist, outsider):
        http = bearer_client(user)
        for method, path in (
            ("get", SUBS),
            ("post", SUBS),
            ("get", f"{SUBS}{sub.pk}/"),
            ("patch", f"{SUBS}{sub.pk}/"),
            ("delete", f"{SUBS}{sub.pk}/"),
            ("post", f"{SUBS}{sub.pk}/cancel/"),
            ("post", f"{SUBS}{sub.pk}/resume/"),
        ):
            response = getattr(http, method)(path, {}, format="json")
            assert response.status_code == 403, (user, method, path)
            assert error_of(response)["code"] == "permission_denied"
    assert Subscription.objects.get().cancelled_from is None


def test_create_books_the_first_payment_and_shows_the_monthly_figures(
    api, producer, studio_profile
):
    ExchangeRate.objects.create(currency="USD", quote_currency="CNY", on=D(2026, 3, 1), rate="7.2")

    response = api.post(SUBS, body(), format="json")

    assert response.status_code == 201, response.json()
    data = response.json()
    assert response["Location"].endswith(f"{SUBS}{data['id']}/")
    assert data["next_renewal_on"] == "2026-06-10"
    assert data["monthly_amount"] == "10.00"
    assert data["reporting_currency"] == "CNY"
    assert data["monthly_reporting_amount"] == "72.00"
    assert data["rate_missing"] is False
    assert data["status"] == "active"
    assert data["active"] is True
    assert data["tool_name"] == "Kling"
    assert data["url"].endswith(f"/subscriptions/{data['id']}/")
    assert Expense.objects.get().renewal_on == D(2026, 3, 10)


def test_a_missing_rate_is_null_not_a_guess(api, studio_profile):
    data = api.post(SUBS, body(book_first_payment=False), format="json").json()
    assert data["monthly_reporting_amount"] is None
    assert data["rate_missing"] is True
    assert not Expense.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"amount": "-1"}, "amount"),
        ({"amount": "1.999"}, "amount"),
        ({"currency": "XYZ"}, "currency"),
        ({"tool": 999999}, "tool"),
        ({"tool": 2**70}, "tool"),
        ({"started_on": "2026-02-30"}, "started_on"),
        ({"next_renewal_on": "2026-03-10"}, "next_renewal_on"),
        ({"started_on": "1990-01-01"}, "started_on"),
        ({"currency": "JPY", "amount": "10.50"}, "amount"),
    ],
)
def test_bad_input_is_a_400_in_the_error_shape_and_changes_nothing(
    api, studio_profile, overrides, field
):
    response = api.post(SUBS, body(**overrides), format="json")

    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid"
    assert field in error["fields"]
    assert not Subscription.objects.exists()
    assert not CostEvent.objects.exists()


def test_patch_changes_only_what_is_sent(api, owner, studio_profile):
    sub = make_sub(owner)
    response = api.patch(f"{SUBS}{sub.pk}/", {"amount": "99", "notes": "team seat"}, format="json")

    assert response.status_code == 200
    assert response.json()["amount"] == "99.00"
    sub.refresh_from_db()
    assert (sub.amount, sub.notes, sub.plan_name) == (Decimal("99.00"), "team seat", "Pro")
    assert api.put(f"{SUBS}{sub.pk}/", body(), format="json").status_code == 405


def test_cancel_and_resume_actions(api, owner, studio_profile):
    sub = make_sub(owner, started_on=D(2026, 1, 20))

    response = api.post(f"{SUBS}{sub.pk}/cancel/", {"from": "2026-04-20"}, format="json")
    assert response.status_code == 200
    assert response.json()["cancelled_from"] == "2026-04-20"
    assert response.json()["status"] == "cancelling"

    before = api.post(f"{SUBS}{sub.pk}/cancel/", {"from": "2025-01-01"}, format="json")
    assert before.status_code == 400
    assert "cancelled_from" in error_of(before)["fields"]

    resumed = api.post(f"{SUBS}{sub.pk}/resume/", format="json")
    assert resumed.status_code == 200
    assert resumed.json()["cancelled_from"] is None
    again = api.post(f"{SUBS}{sub.pk}/resume/", format="json")
    assert again.status_code == 409
    assert error_of(again)["code"] == "not_cancelled"

    today = api.post(f"{SUBS}{sub.pk}/cancel/", {}, format="json")
    assert today.json()["cancelled_from"] == "2026-03-10"
    assert today.json()["status"] == "cancelled"


def test_cancel_before_a_booked_renewal_is_a_409(api, owner, studio_profile):
    sub = make_sub(owner, started_on=D(2026, 1, 20), next_renewal_on=D(2026, 2, 20))
    services.book_due_renewals(today=D(2026, 3, 1))

    response = api.post(f"{SUBS}{sub.pk}/cancel/", {"from": "2026-02-01"}, format="json")
    assert response.status_code == 409
    assert error_of(response)["code"] == "renewal_booked"


def test_delete_only_without_expenses(api, owner, studio_profile):
    booked = make_sub(owner, book_first_payment=True)
    fresh = make_sub(owner, plan_name="Trial")

    refused = api.delete(f"{SUBS}{booked.pk}/")
    assert refused.status_code == 409
    assert error_of(refused)["code"] == "has_expenses"
    assert api.delete(f"{SUBS}{fresh.pk}/").status_code == 204
    assert list(Subscription.objects.values_list("pk", flat=True)) == [booked.pk]


def test_filters_by_tool_period_and_active(api, owner, studio_profile):
    veo = make_tool("Veo", "Google")
    monthly = make_sub(owner, started_on=D(2026, 1, 1))
    yearly = make_sub(owner, tool=veo, period="yearly", started_on=D(2026, 1, 1))
    ended = make_sub(owner, plan_name="Old", started_on=D(2026, 1, 1))
    services.cancel_subscription(actor=owner, subscription=ended, from_date=D(2026, 2, 1))

    def ids(**params: object) -> set[int]:
        response = api.get(SUBS, params)
        assert response.status_code == 200
        return {item["id"] for item in response.json()["results"]}

    assert ids() == {monthly.pk, yearly.pk, ended.pk}
    assert ids(tool=veo.pk) == {yearly.pk}
    assert ids(period="yearly") == {yearly.pk}
    assert ids(active="true") == {monthly.pk, yearly.pk}
    assert ids(active="false") == {ended.pk}
    assert api.get(SUBS, {"period": "weekly"}).status_code == 400
    assert api.get(SUBS, {"tool": "x"}).status_code == 400


@pytest.mark.parametrize("size", [2, 30])
def test_list_query_count_does_not_grow(
    api, owner, studio_profile, django_assert_max_num_queries, size
):
    ExchangeRate.objects.create(currency="USD", quote_currency="CNY", on=D(2026, 1, 1), rate="7")
    for n in range(size):
        make_sub(owner, tool=make_tool(f"T{n % 5}"), currency="USD" if n % 2 else "CNY")
    with django_assert_max_num_queries(12):
        response = api.get(SUBS)
    assert response.status_code == 200
    assert response.json()["count"] == size


def test_the_schema_documents_every_subscription_operation(db):
    schema = HttpClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    paths = schema["paths"]
    assert set(paths[SUBS]) >= {"get", "post"}
    assert set(paths[SUBS + "{id}/"]) >= {"get", "patch", "delete"}
    assert "put" not in paths[SUBS + "{id}/"]
    cancel = paths[SUBS + "{id}/cancel/"]["post"]
    assert "409" in cancel["responses"]
    assert "from" in schema["components"]["schemas"]["CancelRequest"]["properties"]
    item = schema["components"]["schemas"]["Subscription"]["properties"]
    assert {"monthly_amount", "monthly_reporting_amount", "rate_missing"} <= set(item)
    assert "409" in paths[SUBS + "{id}/resume/"]["post"]["responses"]


# --- Schemathesis -------------------------------------------------------------------------

subscriptions_schema = schemathesis.openapi.from_dict(GENERATED_SCHEMA).include(
    path_regex=r"^/api/subscriptions/"
)


@pytest.fixture
def subscription_world(owner, studio_profile) -> dict[str, Any]:
    ExchangeRate.objects.create(currency="USD", quote_currency="CNY", on=D(2026, 1, 1), rate="7")
    tools = [make_tool(), make_tool("Veo", "Google")]
    booked = make_sub(owner, book_first_payment=True, started_on=D(2026, 1, 31))
    usd = make_sub(owner, tool=tools[1], currency="USD", period="yearly", started_on=D(2026, 1, 1))
    cancelled = make_sub(owner, plan_name="Old", started_on=D(2026, 1, 1))
    services.cancel_subscription(actor=owner, subscription=cancelled, from_date=D(2026, 2, 1))
    ending = make_sub(owner, plan_name="Ends", auto_renew=False, started_on=D(2026, 1, 5))
    _token, raw = create_api_token(user=owner, name="schemathesis")
    return {
        "headers": {"Authorization": f"Bearer {raw}"},
        "subscriptions": [booked.pk, usd.pk, cancelled.pk, ending.pk],
        "tools": [tool.pk for tool in tools],
    }


def _aim(case: Any, world: dict[str, Any]) -> None:
    """Point ids in the path and the body at real rows most of the time."""
    if isinstance(case.body, dict):
        value = case.body.get("tool")
        if isinstance(value, int) and not isinstance(value, bool) and value % 4:
            case.body["tool"] = world["tools"][value % len(world["tools"])]
    params = case.path_parameters or {}
    value = str(params.get("id", ""))
    if value.isdigit() and int(value) % 3 != 0:
        params["id"] = str(world["subscriptions"][int(value) % len(world["subscriptions"])])


@subscriptions_schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@pytest.mark.usefixtures("_keep_test_connection")
def test_subscriptions_api_conforms_to_its_schema(case, subscription_world):
    _aim(case, subscription_world)
    response = case.call(app=application, headers=subscription_world["headers"])
    case.validate_response(
        response,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )
