"""The subscription.renewal reminder through time: once per renewal, to the owners, only
for plans that will really renew, nothing stale after downtime."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from billing import services
from billing.reminders.subscriptions import KIND
from studio import reminders
from studio.models import Notification, Reminder
from tests.billing.test_subscriptions import make_sub, make_tool
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
D = dt.date
UTC = dt.UTC
# 20 March 2026 starts at 19 March 16:00 UTC in Shanghai; 3 days before is 16 March 16:00.
RENEWAL = D(2026, 3, 20)
STAGE_AT = dt.datetime(2026, 3, 16, 16, 0, tzinfo=UTC)


@pytest.fixture
def team(owner, producer, studio_profile):
    return owner, producer


def sweep(capture) -> None:
    with capture(execute=True):
        services.book_due_renewals()
        reminders.sweep()


def run(traveller, start: dt.datetime, end: dt.datetime, step: dt.timedelta, capture) -> None:
    moment = start
    while moment <= end:
        traveller.move_to(moment)
        sweep(capture)
        moment += step


def notes(user) -> list[tuple[str, str, str]]:
    return list(
        Notification.objects.filter(user=user).order_by("pk").values_list("kind", "title", "url")
    )


def test_the_kind_is_registered_as_documented():
    kind = reminders.get_kind(KIND)
    assert kind is not None
    assert (kind.audience, kind.unit, kind.default_offsets) == ("studio", "days", (3,))


def test_one_reminder_per_renewal_even_when_the_sweep_runs_twice(
    team, django_capture_on_commit_callbacks
):
    owner, producer = team
    capture = django_capture_on_commit_callbacks
    sub = make_sub(
        owner,
        tool=make_tool("Hailuo", "MiniMax"),
        plan_name="Standard",
        amount=Decimal("94.99"),
        started_on=D(2026, 2, 20),
        next_renewal_on=RENEWAL,
    )
    with time_machine.travel(STAGE_AT - dt.timedelta(hours=1), tick=False) as traveller:
        sweep(capture)
        assert not Reminder.objects.exists()
        traveller.move_to(STAGE_AT + dt.timedelta(minutes=5))
        sweep(capture)
        sweep(capture)
        # Through the booking of 20 March and on to the next month's stage.
        run(
            traveller,
            STAGE_AT + dt.timedelta(hours=6),
            dt.datetime(2026, 4, 18, tzinfo=UTC),
            dt.timedelta(hours=6),
            capture,
        )

    detail = reverse("subscription-detail", args=[sub.pk])
    assert notes(owner) == [
        (f"reminder.{KIND}", "Hailuo renews in 3 days", detail),
        (f"reminder.{KIND}", "Hailuo renews in 3 days", detail),
    ]
    assert notes(producer) == []  # the owners only
    rows = list(Reminder.objects.order_by("due_at").values_list("state", "due_at"))
    assert rows == [
        ("sent", STAGE_AT),
        ("sent", dt.datetime(2026, 4, 16, 16, 0, tzinfo=UTC)),
    ]
    body = Notification.objects.filter(user=owner).order_by("pk").first().body
    assert "“Standard”" in body
    assert "¥94.99" in body
    assert "2026-03-20" in body
    sub.refresh_from_db()
    assert sub.next_renewal_on == D(2026, 4, 20)


@pytest.mark.parametrize("plan", ["cancelled", "not_renewing", "cancelled_later"])
def test_no_reminder_for_plans_that_will_not_renew_then(
    team, django_capture_on_commit_callbacks, plan
):
    owner, _producer = team
    sub = make_sub(
        owner, started_on=D(2026, 2, 20), next_renewal_on=RENEWAL, auto_renew=plan != "not_renewing"
    )
    if plan == "cancelled":
        services.cancel_subscription(actor=owner, subscription=sub, from_date=RENEWAL)
    elif plan == "cancelled_later":
        services.cancel_subscription(actor=owner, subscription=sub, from_date=D(2026, 3, 25))
    with time_machine.travel(STAGE_AT + dt.timedelta(hours=1), tick=False):
        sweep(django_capture_on_commit_callbacks)

    expected = 1 if plan == "cancelled_later" else 0
    assert Reminder.objects.count() == expected
    assert Notification.objects.count() == expected


def test_a_catch_up_after_downtime_sends_nothing_stale(team, django_capture_on_commit_callbacks):
    owner, _producer = team
    make_sub(owner, started_on=D(2026, 2, 20), next_renewal_on=RENEWAL)
    # Down from before the stage until after the renewal: the first run books the renewal
    # and must not remind of a charge that has already happened.
    with time_machine.travel(dt.datetime(2026, 3, 21, 2, tzinfo=UTC), tick=False):
        sweep(django_capture_on_commit_callbacks)

    assert not Reminder.objects.exists()
    assert not Notification.objects.exists()


def test_a_pending_reminder_is_skipped_when_the_plan_is_cancelled_before_sending(
    team, django_capture_on_commit_callbacks
):
    owner, _producer = team
    sub = make_sub(owner, started_on=D(2026, 2, 20), next_renewal_on=RENEWAL)
    with time_machine.travel(STAGE_AT + dt.timedelta(hours=1), tick=False):
        reminders.record_due(now=timezone.now())
        reminder = Reminder.objects.get()
        services.cancel_subscription(actor=owner, subscription=sub, from_date=RENEWAL)
        assert reminders.send_reminder(reminder_id=reminder.pk) == "skipped"
    assert not Notification.objects.exists()


def test_moving_the_renewal_gives_it_a_reminder_of_its_own(
    team, django_capture_on_commit_callbacks
):
    owner, _producer = team
    capture = django_capture_on_commit_callbacks
    sub = make_sub(owner, started_on=D(2026, 2, 20), next_renewal_on=RENEWAL)
    with time_machine.travel(STAGE_AT + dt.timedelta(hours=1), tick=False):
        sweep(capture)
        services.update_subscription(actor=owner, subscription=sub, next_renewal_on=D(2026, 3, 18))
        sweep(capture)

    stages = list(Reminder.objects.order_by("pk").values_list("stage", flat=True))
    assert len(stages) == 2
    assert stages[0] != stages[1]
    assert Notification.objects.filter(user=owner).count() == 2


def test_a_new_owner_gets_it_too_and_artists_never(team, django_capture_on_commit_callbacks):
    owner, _producer = team
    second = UserFactory(username="sam", role="owner")
    artist = UserFactory(username="ada", role="artist")
    make_sub(owner, started_on=D(2026, 2, 20), next_renewal_on=RENEWAL)
    with time_machine.travel(STAGE_AT + dt.timedelta(hours=1), tick=False):
        sweep(django_capture_on_commit_callbacks)
    assert Notification.objects.filter(user=second).count() == 1
    assert Notification.objects.filter(user=artist).count() == 0
