"""The subscription pages: who may open them, the monthly burn, forms and actions."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from billing import services
from billing.models import CostEvent, ExchangeRate, Expense, Subscription, add_months
from studio.models import StudioProfile
from tests.billing.test_subscriptions import make_sub, make_tool

pytestmark = pytest.mark.django_db
D = dt.date
TODAY = dt.datetime(2026, 3, 10, 4, tzinfo=dt.UTC)  # 12:00 in Shanghai


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(TODAY, tick=False):
        yield


def url(name: str, *args: object) -> str:
    return reverse(name, args=args)


def form_data(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "tool": make_tool().pk,
        "plan_name": "Pro",
        "amount": "66.00",
        "currency": "CNY",
        "period": "monthly",
        "started_on": "2026-03-10",
        "next_renewal_on": "",
        "auto_renew": "on",
        "included_units": "660",
        "included_unit": "credits",
        "notes": "",
        "book_first_payment": "on",
    }
    data.update(overrides)
    return data


# --- Who may see them -------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["owner_http", "producer_http"])
def test_owners_and_producers_open_every_page(request, persona, owner, studio_profile):
    http = request.getfixturevalue(persona)
    sub = make_sub(owner)

    for address in (
        url("subscription-list"),
        url("subscription-list") + "?status=ended",
        url("subscription-list") + "?status=all",
        url("subscription-create"),
        url("subscription-detail", sub.pk),
        url("subscription-edit", sub.pk),
    ):
        response = http.get(address)
        assert response.status_code == 200, address
        assert response.context["nav"] == "costs"
        assert 'aria-current="page">Subscriptions<' in response.content.decode()


def test_artists_and_outsiders_get_403_and_change_nothing(
    artist_http, outsider_http, owner, studio_profile
):
    sub = make_sub(owner)
    for http in (artist_http, outsider_http):
        for address in (
            url("subscription-list"),
            url("subscription-create"),
            url("subscription-detail", sub.pk),
            url("subscription-edit", sub.pk),
        ):
            assert http.get(address).status_code == 403
        for name in ("subscription-cancel", "subscription-resume", "subscription-delete"):
            assert http.post(url(name, sub.pk), {"from_date": "2026-04-01"}).status_code == 403
        assert http.post(url("subscription-create"), form_data()).status_code == 403
    sub.refresh_from_db()
    assert sub.cancelled_from is None
    assert Subscription.objects.count() == 1


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get(url("subscription-list"))
    assert response.status_code == 302
    assert "/login" in response["Location"] or "next=" in response["Location"]


# --- The list and the burn ----------------------------------------------------------------


def test_burn_converts_a_usd_plan_at_todays_rate(owner, owner_http, studio_profile):
    ExchangeRate.objects.create(currency="USD", quote_currency="CNY", on=D(2026, 3, 1), rate="7.2")
    ExchangeRate.objects.create(currency="USD", quote_currency="CNY", on=D(2026, 3, 20), rate="9")
    make_sub(owner, amount=Decimal("66"), started_on=D(2026, 1, 1))
    make_sub(
        owner,
        tool=make_tool("Veo", "Google"),
        amount=Decimal("120"),
        currency="USD",
        period="yearly",
        started_on=D(2026, 1, 1),
    )

    response = owner_http.get(url("subscription-list"))

    assert response.status_code == 200
    # 66 + 120 / 12 x 7.2 (the rate of 1 March; the later one is not in force yet)
    assert response.context["burn_total"].amount == Decimal("138.00")
    assert response.context["missing_count"] == 0
    html = response.content.decode()
    assert "¥138.00" in html
    assert "¥72.00" in html
    assert "$120.00" in html
    assert 'id="burn-missing"' not in html


def test_a_missing_rate_is_shown_and_left_out_of_the_total(owner, owner_http, studio_profile):
    make_sub(owner, amount=Decimal("66"), started_on=D(2026, 1, 1))
    make_sub(
        owner,
        tool=make_tool("Suno", "Suno"),
        amount=Decimal("10"),
        currency="USD",
        started_on=D(2026, 1, 1),
    )

    response = owner_http.get(url("subscription-list"))

    assert response.context["burn_total"].amount == Decimal("66.00")
    assert response.context["missing_rates"] == [("USD", 1)]
    html = response.content.decode()
    assert 'id="burn-missing"' in html
    assert "No USD→CNY rate: not in the total" in html
    assert "USD→CNY" in html


def test_reporting_currency_comes_from_the_studio(owner, owner_http, studio_profile):
    StudioProfile.objects.filter(pk=studio_profile.pk).update(reporting_currency="USD")
    ExchangeRate.objects.create(currency="CNY", quote_currency="USD", on=D(2026, 1, 1), rate="0.14")
    make_sub(owner, amount=Decimal("100"), started_on=D(2026, 1, 1))

    response = owner_http.get(url("subscription-list"))
    assert response.context["reporting_currency"] == "USD"
    assert response.context["burn_total"].amount == Decimal("14.00")


def test_list_shows_next_renewals_ends_and_cancellations(owner, owner_http, studio_profile):
    soon = make_sub(owner, plan_name="Soon", started_on=D(2026, 1, 20))
    ending = make_sub(
        owner,
        plan_name="Ending",
        auto_renew=False,
        started_on=D(2026, 2, 1),
        next_renewal_on=D(2026, 4, 1),
    )
    later = make_sub(owner, plan_name="Later", period="yearly", started_on=D(2026, 1, 1))
    gone = make_sub(owner, plan_name="Gone", started_on=D(2026, 1, 1))
    services.cancel_subscription(actor=owner, subscription=gone, from_date=D(2026, 3, 1))

    response = owner_http.get(url("subscription-list"))
    html = response.content.decode()

    assert [item["sub"].pk for item in response.context["next_renewals"]] == [soon.pk]
    assert {row["sub"].pk for row in response.context["rows"]} == {soon.pk, ending.pk, later.pk}
    assert "ends on 2026-04-01" in html
    assert "Gone" not in html

    ended = owner_http.get(url("subscription-list"), {"status": "ended"})
    assert [row["sub"].pk for row in ended.context["rows"]] == [gone.pk]
    assert "cancelled from 2026-03-01" in ended.content.decode()


def test_bad_filter_and_page_values_are_not_a_500(owner_http, studio_profile):
    response = owner_http.get(url("subscription-list"), {"status": "nope", "page": "999"})
    assert response.status_code == 200


@pytest.mark.parametrize("size", [2, 40])
def test_list_page_query_count_does_not_grow(
    owner, owner_http, django_assert_max_num_queries, studio_profile, size
):
    ExchangeRate.objects.create(currency="USD", quote_currency="CNY", on=D(2026, 1, 1), rate="7")
    for n in range(size):
        sub = make_sub(
            owner,
            tool=make_tool(f"Tool {n % 7}", "Vendor"),
            plan_name=f"Plan {n}",
            currency="USD" if n % 2 else "CNY",
            started_on=D(2026, 1, 1 + n % 28),
            book_first_payment=True,
        )
        if n % 5 == 0:
            services.cancel_subscription(actor=owner, subscription=sub, from_date=D(2026, 3, 1))

    for status in ("active", "ended", "all"):
        with django_assert_max_num_queries(12):
            response = owner_http.get(url("subscription-list"), {"status": status})
        assert response.status_code == 200


@pytest.mark.parametrize("size", [1, 30])
def test_detail_page_query_count_does_not_grow(
    owner, owner_http, django_assert_max_num_queries, studio_profile, size
):
    start = add_months(D(2026, 3, 5), -size)
    sub = make_sub(owner, started_on=start, next_renewal_on=add_months(start, 1))
    assert services.book_due_renewals(today=D(2026, 3, 10)) == size

    with django_assert_max_num_queries(12):
        response = owner_http.get(url("subscription-detail", sub.pk))
    assert response.status_code == 200
    assert len(response.context["expenses"]) == size


# --- Forms ------------------------------------------------------------------------------------


def test_create_through_the_form_books_the_first_payment(owner_http, owner, studio_profile):
    response = owner_http.post(url("subscription-create"), form_data())

    sub = Subscription.objects.get()
    assert response.status_code == 302
    assert response["Location"] == url("subscription-detail", sub.pk)
    assert sub.next_renewal_on == D(2026, 4, 10)
    assert sub.included_units == Decimal("660")
    assert Expense.objects.get().renewal_on == D(2026, 3, 10)
    detail = owner_http.get(response["Location"])
    assert "The subscription was added." in detail.content.decode()
    assert "Renewal booked" in detail.content.decode()


def test_the_form_starts_with_the_first_payment_ticked(owner_http, studio_profile):
    response = owner_http.get(url("subscription-create"))
    assert response.context["form"]["book_first_payment"].initial is True


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"amount": "-5"}, "greater than or equal to 0"),
        ({"amount": "abc"}, "Enter a number."),
        ({"currency": "XYZ"}, "Select a valid choice"),
        ({"tool": "999999"}, "Select a valid choice"),
        ({"started_on": "2026-02-30"}, "Enter a valid date."),
        ({"next_renewal_on": "2026-03-10"}, "must come after it"),
        ({"next_renewal_on": "2026-03-01", "book_first_payment": ""}, "cannot be before the start"),
        ({"currency": "JPY", "amount": "10.50"}, "at most 0 decimals"),
        ({"plan_name": ""}, "This field is required."),
    ],
)
def test_bad_input_shows_the_error_and_changes_nothing(
    owner_http, studio_profile, overrides, message
):
    response = owner_http.post(url("subscription-create"), form_data(**overrides))

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Subscription.objects.exists()
    assert not Expense.objects.exists()
    assert not CostEvent.objects.exists()


def test_edit_saves_and_bad_edit_changes_nothing(owner, owner_http, studio_profile):
    sub = make_sub(owner, started_on=D(2026, 1, 31))
    data = form_data(plan_name="Ultra", amount="99", started_on="2026-01-31")
    data.pop("book_first_payment")
    data["next_renewal_on"] = "2026-03-31"

    assert owner_http.post(url("subscription-edit", sub.pk), data).status_code == 302
    sub.refresh_from_db()
    assert (sub.plan_name, sub.amount) == ("Ultra", Decimal("99.00"))

    bad = {**data, "next_renewal_on": "2025-12-01", "plan_name": "Changed"}
    response = owner_http.post(url("subscription-edit", sub.pk), bad)
    assert response.status_code == 400
    assert "cannot be before the start date" in response.content.decode()
    sub.refresh_from_db()
    assert sub.plan_name == "Ultra"


# --- Actions ----------------------------------------------------------------------------------


def test_cancel_resume_and_delete_buttons(owner, owner_http, studio_profile):
    sub = make_sub(owner, started_on=D(2026, 1, 20))

    response = owner_http.post(
        url("subscription-cancel", sub.pk), {"from_date": "2026-03-20"}, follow=True
    )
    assert "The plan is cancelled from 2026-03-20." in response.content.decode()
    sub.refresh_from_db()
    assert sub.cancelled_from == D(2026, 3, 20)

    response = owner_http.post(url("subscription-resume", sub.pk), follow=True)
    assert "The plan is resumed" in response.content.decode()
    again = owner_http.post(url("subscription-resume", sub.pk), follow=True)
    assert "This plan is not cancelled." in again.content.decode()

    response = owner_http.post(url("subscription-delete", sub.pk), follow=True)
    assert response.redirect_chain[-1][0] == url("subscription-list")
    assert "The subscription was deleted." in response.content.decode()
    assert not Subscription.objects.exists()


def test_bad_cancel_date_shows_the_error_and_changes_nothing(owner, owner_http, studio_profile):
    sub = make_sub(owner, started_on=D(2026, 1, 20))
    for value, message in (
        ("2025-01-01", "cannot be cancelled before it starts"),
        ("x", "Enter a valid date."),
    ):
        response = owner_http.post(url("subscription-cancel", sub.pk), {"from_date": value})
        assert response.status_code == 400
        assert message in response.content.decode()
    sub.refresh_from_db()
    assert sub.cancelled_from is None


def test_delete_of_a_booked_plan_is_refused_with_a_message(owner, owner_http, studio_profile):
    sub = make_sub(owner, book_first_payment=True)

    detail = owner_http.get(url("subscription-detail", sub.pk))
    assert url("subscription-delete", sub.pk) not in detail.content.decode()
    response = owner_http.post(url("subscription-delete", sub.pk), follow=True)
    assert "cannot be deleted. Cancel it instead." in response.content.decode()
    assert Subscription.objects.filter(pk=sub.pk).exists()


def test_get_on_an_action_is_not_allowed(owner, owner_http, studio_profile):
    sub = make_sub(owner)
    assert owner_http.get(url("subscription-cancel", sub.pk)).status_code == 405
    assert owner_http.get(url("subscription-detail", 10**9)).status_code == 404


# --- Admin ------------------------------------------------------------------------------------


def _staff(user):
    from django.test import Client as HttpClient

    user.is_staff = True
    user.save(update_fields=["is_staff"])
    http = HttpClient()
    http.force_login(user)
    return http


def test_admin_edits_unbooked_plans_through_the_service_and_booked_ones_are_read_only(
    owner, producer, artist, studio_profile
):
    free = make_sub(owner, plan_name="Trial")
    booked = make_sub(owner, plan_name="Pro", book_first_payment=True)
    http = _staff(producer)

    assert http.get(reverse("admin:billing_subscription_changelist")).status_code == 200
    assert http.get(reverse("admin:billing_subscription_add")).status_code == 403
    page = http.get(reverse("admin:billing_subscription_change", args=[booked.pk]))
    assert page.status_code == 200
    assert b'name="amount"' not in page.content
    assert (
        http.get(reverse("admin:billing_subscription_delete", args=[booked.pk])).status_code == 403
    )

    page = http.get(reverse("admin:billing_subscription_change", args=[free.pk]))
    assert b'name="amount"' in page.content
    data = {
        "tool": free.tool_id,
        "plan_name": "Trial+",
        "amount": "12.00",
        "currency": "CNY",
        "period": "monthly",
        "started_on": "2026-01-31",
        "next_renewal_on": free.next_renewal_on.isoformat(),
        "auto_renew": "on",
        "included_units": "",
        "included_unit": "",
        "notes": "",
    }
    response = http.post(reverse("admin:billing_subscription_change", args=[free.pk]), data)
    assert response.status_code == 302
    free.refresh_from_db()
    assert (free.plan_name, free.amount) == ("Trial+", Decimal("12.00"))
    update = CostEvent.objects.get(object_id=free.pk, kind="updated")
    assert update.actor == producer
    assert update.data["fields"] == ["amount", "plan_name"]
    assert _staff(artist).get(reverse("admin:billing_subscription_changelist")).status_code == 302


def test_a_free_plan_counts_zero_and_is_not_a_missing_rate(owner, owner_http, studio_profile):
    make_sub(owner, amount=Decimal(0), started_on=D(2026, 1, 1))
    response = owner_http.get(url("subscription-list"))
    html = response.content.decode()
    assert response.context["missing_count"] == 0
    assert "rate: not in the total" not in html
    assert "rate missing" not in html


def test_edit_needs_a_next_renewal_date(owner, owner_http, studio_profile):
    sub = make_sub(owner)
    data = form_data(next_renewal_on="", started_on="2026-01-31")
    data.pop("book_first_payment")
    response = owner_http.post(url("subscription-edit", sub.pk), data)
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert CostEvent.objects.filter(object_id=sub.pk, kind="updated").count() == 0
