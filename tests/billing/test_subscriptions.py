"""Tool subscriptions: the services, and booking renewals exactly once through time."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.db import connection

from billing import services
from billing.models import CostEvent, Expense, Subscription
from billing.services import subscriptions as subs
from billing.tasks import book_subscription_renewals
from studio.errors import Conflict, InvalidInput, NotPermitted
from studio.models import AITool

pytestmark = pytest.mark.django_db
D = dt.date


def make_tool(name: str = "Kling", vendor: str = "Kuaishou", kind: str = "video_model") -> AITool:
    tool, _created = AITool.objects.get_or_create(
        name=name, defaults={"vendor": vendor, "kind": kind}
    )
    return tool


def make_sub(actor: Any, **fields: Any) -> Subscription:
    fields.setdefault("tool", make_tool())
    fields.setdefault("plan_name", "Pro")
    fields.setdefault("amount", Decimal("66.00"))
    fields.setdefault("currency", "CNY")
    fields.setdefault("period", "monthly")
    fields.setdefault("started_on", D(2026, 1, 31))
    return services.create_subscription(actor=actor, **fields)


def renewals(subscription: Subscription) -> list[dt.date]:
    return list(
        Expense.objects.filter(subscription=subscription)
        .order_by("renewal_on")
        .values_list("renewal_on", flat=True)
    )


def events(subscription: Subscription) -> list[str]:
    return list(
        CostEvent.objects.filter(subject="subscription", object_id=subscription.pk)
        .order_by("pk")
        .values_list("kind", flat=True)
    )


# --- Create -------------------------------------------------------------------------------


def test_create_books_the_first_payment_on_the_start_date(owner, studio_profile):
    with time_machine.travel(dt.datetime(2026, 1, 31, 4, tzinfo=dt.UTC), tick=False):
        sub = make_sub(owner, book_first_payment=True)

    assert sub.next_renewal_on == D(2026, 2, 28)
    expense = Expense.objects.get(subscription=sub)
    assert (expense.spent_on, expense.renewal_on, expense.amount, expense.currency) == (
        D(2026, 1, 31),
        D(2026, 1, 31),
        Decimal("66.00"),
        "CNY",
    )
    assert expense.category == "subscription"
    assert expense.tool == sub.tool
    assert expense.vendor == "Kuaishou"
    assert "Pro" in expense.note
    assert expense.created_by == owner
    assert events(sub) == ["created", "renewal_booked"]
    assert CostEvent.objects.filter(object_id=sub.pk).first().actor == owner


def test_first_payment_needs_the_next_renewal_after_the_start(owner, studio_profile):
    with pytest.raises(InvalidInput) as caught:
        make_sub(owner, book_first_payment=True, next_renewal_on=D(2026, 1, 31))

    assert "next_renewal_on" in caught.value.fields
    assert not Subscription.objects.exists()
    assert not Expense.objects.exists()
    assert not CostEvent.objects.exists()


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"amount": Decimal("-1")}, "amount"),
        ({"amount": Decimal("1.234")}, "amount"),
        ({"currency": "XYZ"}, "currency"),
        ({"currency": "JPY", "amount": Decimal("1500.5")}, "amount"),
        ({"period": "weekly"}, "period"),
        ({"plan_name": "   "}, "plan_name"),
        ({"next_renewal_on": D(2026, 1, 1)}, "next_renewal_on"),
        ({"started_on": D(1999, 12, 31)}, "started_on"),
        ({"included_units": Decimal("-5")}, "included_units"),
        ({"tool": AITool(name="unsaved", kind="llm")}, "tool"),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_changes_nothing(owner, fields, field):
    with pytest.raises(InvalidInput) as caught:
        make_sub(owner, **fields)

    assert field in caught.value.fields
    assert not Subscription.objects.exists()
    assert not CostEvent.objects.exists()


def test_artists_cannot_manage_subscriptions(artist):
    with pytest.raises(NotPermitted):
        make_sub(artist)
    assert not Subscription.objects.exists()


def test_default_next_renewal_is_the_first_on_the_schedule_from_today(owner, studio_profile):
    with time_machine.travel(dt.datetime(2026, 5, 10, 4, tzinfo=dt.UTC), tick=False):
        past = make_sub(owner, started_on=D(2026, 1, 31))
        future = make_sub(owner, started_on=D(2026, 6, 1), plan_name="Later")

    assert past.next_renewal_on == D(2026, 5, 31)
    assert future.next_renewal_on == D(2026, 6, 1)
    assert not Expense.objects.exists()


def test_a_free_plan_books_no_expense(owner, studio_profile):
    sub = make_sub(
        owner, amount=Decimal(0), book_first_payment=True, next_renewal_on=D(2026, 2, 28)
    )
    assert sub.amount == 0
    assert not Expense.objects.exists()
    assert services.book_due_renewals(today=D(2026, 3, 31)) == 0
    sub.refresh_from_db()
    assert sub.next_renewal_on == D(2026, 4, 30)


# --- Booking renewals ---------------------------------------------------------------------


def test_month_end_anchoring_jan_31_feb_28_mar_31(owner, studio_profile):
    sub = make_sub(owner, book_first_payment=True, next_renewal_on=D(2026, 2, 28))

    assert services.book_due_renewals(today=D(2026, 2, 28)) == 1
    sub.refresh_from_db()
    assert sub.next_renewal_on == D(2026, 3, 31)
    assert services.book_due_renewals(today=D(2026, 3, 31)) == 1
    sub.refresh_from_db()
    assert sub.next_renewal_on == D(2026, 4, 30)
    assert renewals(sub) == [D(2026, 1, 31), D(2026, 2, 28), D(2026, 3, 31)]
    assert [e.spent_on for e in Expense.objects.order_by("spent_on")] == renewals(sub)


def test_nothing_is_booked_before_its_date(owner, studio_profile):
    sub = make_sub(owner, next_renewal_on=D(2026, 2, 28))
    assert services.book_due_renewals(today=D(2026, 2, 27)) == 0
    assert renewals(sub) == []


def test_a_catch_up_after_40_days_books_each_missed_renewal_once(owner, studio_profile):
    weekly_ish = make_sub(owner, started_on=D(2026, 1, 10), next_renewal_on=D(2026, 2, 10))
    quarterly = make_sub(
        owner,
        plan_name="Team",
        period="quarterly",
        amount=Decimal("300"),
        started_on=D(2025, 12, 15),
        next_renewal_on=D(2026, 3, 15),
    )

    # Down from 9 Feb to 21 March: 40 days without a run.
    assert services.book_due_renewals(today=D(2026, 3, 21)) == 3
    assert renewals(weekly_ish) == [D(2026, 2, 10), D(2026, 3, 10)]
    assert renewals(quarterly) == [D(2026, 3, 15)]
    weekly_ish.refresh_from_db()
    quarterly.refresh_from_db()
    assert weekly_ish.next_renewal_on == D(2026, 4, 10)
    assert quarterly.next_renewal_on == D(2026, 6, 15)
    assert events(weekly_ish).count("renewal_booked") == 2

    # Running again books nothing more.
    assert services.book_due_renewals(today=D(2026, 3, 21)) == 0
    assert Expense.objects.count() == 3


def test_yearly_plan_renews_a_year_later(owner, studio_profile):
    sub = make_sub(
        owner,
        period="yearly",
        amount=Decimal("1200"),
        started_on=D(2024, 2, 29),
        next_renewal_on=D(2025, 2, 28),
    )
    assert services.book_due_renewals(today=D(2026, 3, 1)) == 2
    assert renewals(sub) == [D(2025, 2, 28), D(2026, 2, 28)]
    assert sub.monthly_amount == Decimal(100)


def test_an_already_booked_renewal_is_skipped_not_duplicated(owner, studio_profile):
    """The unique constraint is the last line of defence: a renewal booked behind the
    service's back (or by a racing worker) is not booked again, and the plan moves on."""
    sub = make_sub(owner, next_renewal_on=D(2026, 2, 28))
    Expense.objects.create(
        spent_on=D(2026, 2, 28),
        amount=Decimal("66"),
        currency="CNY",
        category="subscription",
        subscription=sub,
        renewal_on=D(2026, 2, 28),
    )

    assert services.book_due_renewals(today=D(2026, 3, 1)) == 0
    sub.refresh_from_db()
    assert sub.next_renewal_on == D(2026, 3, 31)
    assert Expense.objects.count() == 1


def test_two_runs_at_once_book_each_renewal_once(owner, studio_profile, transactional_db):
    sub = make_sub(owner, started_on=D(2025, 1, 31), next_renewal_on=D(2025, 2, 28))
    name = str(connection.settings_dict["NAME"])
    if connection.vendor == "sqlite" and (not name or "memory" in name):
        # An in-memory database is private to its connection: run the two "workers" as
        # interleaved calls instead of threads.
        first = subs.book_renewals_of(subscription_id=sub.pk, today=D(2026, 1, 31))
        second = subs.book_renewals_of(subscription_id=sub.pk, today=D(2026, 1, 31))
        counts = [first, second]
    else:
        counts = []
        barrier = threading.Barrier(2)

        def worker() -> None:
            barrier.wait()
            try:
                counts.append(services.book_due_renewals(today=D(2026, 1, 31)))
            finally:
                connection.close()

        threads = [threading.Thread(target=worker) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sum(counts) == 12
    assert len(renewals(sub)) == 12
    assert len(set(renewals(sub))) == 12


def test_the_task_books_due_renewals_and_is_idempotent(owner, studio_profile):
    sub = make_sub(owner, started_on=D(2026, 1, 5), next_renewal_on=D(2026, 2, 5))
    with time_machine.travel(dt.datetime(2026, 3, 6, 1, tzinfo=dt.UTC), tick=False):
        assert book_subscription_renewals.delay().get() == 2
        assert book_subscription_renewals.delay().get() == 0
        assert book_subscription_renewals.delay(sub.pk).get() == 0
        assert book_subscription_renewals.delay(10**9).get() == 0
    assert renewals(sub) == [D(2026, 2, 5), D(2026, 3, 5)]


def test_the_task_uses_the_studio_date_not_utc(owner, studio_profile):
    sub = make_sub(owner, started_on=D(2026, 1, 5), next_renewal_on=D(2026, 2, 5))
    # 4 Feb 17:00 UTC is already 5 Feb 01:00 in Shanghai.
    with time_machine.travel(dt.datetime(2026, 2, 4, 17, tzinfo=dt.UTC), tick=False):
        assert book_subscription_renewals.delay().get() == 1
    assert renewals(sub) == [D(2026, 2, 5)]


def test_beat_runs_the_booking_with_an_expiry(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["book-subscription-renewals"]
    assert entry["task"] == "billing.tasks.book_subscription_renewals"
    assert entry["schedule"] <= 24 * 3600
    assert 0 < entry["options"]["expires"] < entry["schedule"]


# --- Cancel, resume, non-renewing ---------------------------------------------------------


def test_a_cancelled_plan_books_nothing_on_or_after_the_date(owner, studio_profile):
    sub = make_sub(owner, started_on=D(2026, 1, 10), next_renewal_on=D(2026, 2, 10))
    services.cancel_subscription(actor=owner, subscription=sub, from_date=D(2026, 3, 10))

    assert services.book_due_renewals(today=D(2026, 6, 1)) == 1
    assert renewals(sub) == [D(2026, 2, 10)]
    sub.refresh_from_db()
    assert sub.cancelled_from == D(2026, 3, 10)
    assert sub.next_renewal_on == D(2026, 3, 10)
    assert events(sub) == ["created", "cancelled", "renewal_booked"]
    assert subs.subscription_status(sub, D(2026, 6, 1)) == "cancelled"


def test_cancelling_again_on_the_same_date_changes_nothing(owner, studio_profile):
    sub = make_sub(owner)
    services.cancel_subscription(actor=owner, subscription=sub, from_date=D(2026, 3, 1))
    services.cancel_subscription(actor=owner, subscription=sub, from_date=D(2026, 3, 1))
    assert events(sub) == ["created", "cancelled"]


def test_cancel_before_the_start_or_before_a_booked_renewal_is_refused(owner, studio_profile):
    sub = make_sub(owner, book_first_payment=True, next_renewal_on=D(2026, 2, 28))
    services.book_due_renewals(today=D(2026, 2, 28))

    with pytest.raises(InvalidInput):
        services.cancel_subscription(actor=owner, subscription=sub, from_date=D(2026, 1, 30))
    with pytest.raises(Conflict) as caught:
        services.cancel_subscription(actor=owner, subscription=sub, from_date=D(2026, 2, 1))
    assert "2026-02-28" in caught.value.message
    sub.refresh_from_db()
    assert sub.cancelled_from is None
    assert "cancelled" not in events(sub)


def test_resume_moves_a_past_renewal_to_the_first_one_from_today(owner, studio_profile):
    sub = make_sub(owner, started_on=D(2026, 1, 10), next_renewal_on=D(2026, 2, 10))
    services.cancel_subscription(actor=owner, subscription=sub, from_date=D(2026, 2, 10))
    with time_machine.travel(dt.datetime(2026, 5, 1, 4, tzinfo=dt.UTC), tick=False):
        resumed = services.resume_subscription(actor=owner, subscription=sub)
        assert services.book_due_renewals() == 0

    assert resumed.cancelled_from is None
    assert resumed.next_renewal_on == D(2026, 5, 10)
    assert renewals(sub) == []
    assert events(sub)[-1] == "resumed"
    with pytest.raises(Conflict):
        services.resume_subscription(actor=owner, subscription=resumed)


def test_a_plan_without_auto_renew_ends_at_its_next_renewal(owner, studio_profile):
    sub = make_sub(owner, auto_renew=False, next_renewal_on=D(2026, 2, 28))

    assert services.book_due_renewals(today=D(2026, 6, 1)) == 0
    sub.refresh_from_db()
    assert sub.next_renewal_on == D(2026, 2, 28)
    assert subs.subscription_status(sub, D(2026, 2, 27)) == "ending"
    assert subs.subscription_status(sub, D(2026, 2, 28)) == "ended"
    assert sub.is_active_on(D(2026, 2, 27))
    assert not sub.is_active_on(D(2026, 2, 28))


# --- Update and delete --------------------------------------------------------------------


def test_update_records_what_changed_and_same_values_change_nothing(owner, studio_profile):
    sub = make_sub(owner)
    services.update_subscription(
        actor=owner, subscription=sub, amount=Decimal("88"), plan_name="Pro+"
    )
    services.update_subscription(actor=owner, subscription=sub, amount=Decimal("88.00"))

    sub.refresh_from_db()
    assert (sub.amount, sub.plan_name) == (Decimal("88.00"), "Pro+")
    update = CostEvent.objects.get(object_id=sub.pk, kind="updated")
    assert update.data["fields"] == ["amount", "plan_name"]
    assert update.data["before"]["amount"] == "66.00"
    assert update.actor == owner


def test_update_refuses_incoherent_dates_and_changes_nothing(owner, studio_profile):
    sub = make_sub(owner, next_renewal_on=D(2026, 2, 28))
    with pytest.raises(InvalidInput) as caught:
        services.update_subscription(actor=owner, subscription=sub, started_on=D(2026, 3, 1))
    assert "next_renewal_on" in caught.value.fields
    sub.refresh_from_db()
    assert sub.started_on == D(2026, 1, 31)
    assert events(sub) == ["created"]


def test_turning_auto_renew_back_on_skips_the_missed_renewals(owner, studio_profile):
    sub = make_sub(owner, auto_renew=False, next_renewal_on=D(2026, 2, 28))
    with time_machine.travel(dt.datetime(2026, 4, 15, 4, tzinfo=dt.UTC), tick=False):
        services.update_subscription(actor=owner, subscription=sub, auto_renew=True)
        assert services.book_due_renewals() == 0
    sub.refresh_from_db()
    assert sub.next_renewal_on == D(2026, 4, 30)


def test_delete_is_refused_once_an_expense_was_booked(owner, studio_profile):
    booked = make_sub(owner, book_first_payment=True)
    with pytest.raises(Conflict) as caught:
        services.delete_subscription(actor=owner, subscription=booked)
    assert "Cancel it instead" in caught.value.message
    assert Subscription.objects.filter(pk=booked.pk).exists()

    fresh = make_sub(owner, plan_name="Trial")
    services.delete_subscription(actor=owner, subscription=fresh)
    assert not Subscription.objects.filter(pk=fresh.pk).exists()
    assert CostEvent.objects.filter(object_id=fresh.pk, kind="deleted").exists()


# --- Burn ---------------------------------------------------------------------------------


def test_burn_spreads_yearly_and_quarterly_plans_and_converts(owner, studio_profile):
    from billing.models import ExchangeRate

    ExchangeRate.objects.create(currency="USD", quote_currency="CNY", on=D(2026, 1, 1), rate="7.2")
    yearly = make_sub(owner, period="yearly", amount=Decimal("120"), currency="USD")
    quarterly = make_sub(owner, period="quarterly", amount=Decimal("100"), plan_name="Q")
    euro = make_sub(owner, currency="EUR", amount=Decimal("10"), plan_name="E")

    rows = {
        r.subscription.pk: r for r in subs.burn_rows([yearly, quarterly, euro], day=D(2026, 3, 1))
    }
    assert rows[yearly.pk].monthly.amount == Decimal("10.00")
    assert rows[yearly.pk].reporting.amount == Decimal("72.00")
    assert rows[quarterly.pk].monthly.amount == Decimal("33.33")
    assert rows[quarterly.pk].reporting.amount == Decimal("33.33")
    assert rows[euro.pk].reporting is None
