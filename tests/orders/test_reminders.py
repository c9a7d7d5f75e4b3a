"""Order and quote reminders through time: exactly the configured ones, once, in order,
in each recipient's language; stale stages skipped after downtime."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.utils import translation

from orders import services
from orders.models import Order
from studio import reminders
from studio.models import Membership, Notification, Reminder, StudioProfile
from tests.factories import ClientFactory, OrderFactory, UserFactory

pytestmark = pytest.mark.django_db
S = Order.Status
UTC = dt.UTC
T0 = dt.datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


@pytest.fixture
def team(db):
    owner = UserFactory(username="olivia", role="owner")
    Membership.objects.filter(user=owner).update(language="zh-hans")
    artist = UserFactory(username="ada", role="artist")
    Membership.objects.filter(user=artist).update(language="en")
    StudioProfile.load()
    return owner, artist


def _sweep(django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        reminders.sweep()


def _run(traveller, start, end, step, capture) -> None:
    moment = start
    while moment <= end:
        traveller.move_to(moment)
        _sweep(capture)
        moment += step


def _titles(user) -> list[tuple[str, str]]:
    return list(
        Notification.objects.filter(user=user)
        .order_by("created_at", "pk")
        .values_list("kind", "title")
    )


def test_an_orders_life_gets_exactly_the_configured_reminders_in_order(
    team, django_capture_on_commit_callbacks
):
    owner, artist = team
    capture = django_capture_on_commit_callbacks
    with time_machine.travel(T0, tick=False) as traveller:
        order = services.create_order(
            actor=owner,
            client=ClientFactory(name="Lotus Tea"),
            title="Spring launch",
            price=Decimal("1500"),
            assignee=artist,
            status=S.QUOTED,
        )
        step = dt.timedelta(hours=2)
        _run(traveller, T0, T0 + dt.timedelta(days=4), step, capture)
        services.change_status(actor=owner, order=order, to_status=S.ACCEPTED)
        services.change_status(actor=artist, order=order, to_status=S.IN_PRODUCTION)
        order.refresh_from_db()
        # Accepted on 6 March (Shanghai): due at the end of 13 March, 15:59:59 UTC.
        assert order.due_at == dt.datetime(2026, 3, 13, 15, 59, 59, tzinfo=UTC)
        _run(traveller, traveller_now(), T0 + dt.timedelta(days=14), step, capture)
        services.change_status(actor=artist, order=order, to_status=S.IN_REVIEW)
        services.change_status(actor=owner, order=order, to_status=S.DELIVERED)
        _run(traveller, traveller_now(), T0 + dt.timedelta(days=20), step, capture)

    ref = order.reference
    assert _titles(artist) == [
        ("reminder.order.due_soon", f"{ref} is due in 48 hours"),
        ("reminder.order.due_soon", f"{ref} is due in 24 hours"),
        ("reminder.order.overdue", f"{ref} is overdue"),
    ]
    assert [kind for kind, _title in _titles(owner)] == [
        "reminder.quote.unanswered",
        "reminder.order.due_soon",
        "reminder.order.due_soon",
        "reminder.order.overdue",
    ]
    sent = list(Reminder.objects.order_by("due_at").values_list("kind", "state", "due_at"))
    assert sent == [
        ("quote.unanswered", "sent", T0 + dt.timedelta(days=3)),
        ("order.due_soon", "sent", dt.datetime(2026, 3, 11, 15, 59, 59, tzinfo=UTC)),
        ("order.due_soon", "sent", dt.datetime(2026, 3, 12, 15, 59, 59, tzinfo=UTC)),
        ("order.overdue", "sent", dt.datetime(2026, 3, 14, 15, 59, 59, tzinfo=UTC)),
    ]
    assert sorted(m.to[0] for m in mail.outbox) == sorted([owner.email] * 4 + [artist.email] * 3)
    # Each recipient reads it in their own language.
    artist_body = Notification.objects.filter(user=artist).first().body
    owner_body = Notification.objects.filter(user=owner, kind="reminder.order.due_soon")[0].body
    assert "In production" in artist_body
    assert "2026-03-13 23:59" in artist_body  # the studio's zone
    with translation.override("zh-hans"):
        chinese = translation.gettext("In production")
    if chinese != "In production":  # when the catalogue is compiled
        assert chinese in owner_body


def traveller_now() -> dt.datetime:
    from django.utils import timezone

    return timezone.now()


def _accepted_order(owner, artist, *, due_at: dt.datetime, status: str = S.IN_PRODUCTION):
    return OrderFactory(
        status=status, assignee=artist, due_at=due_at, accepted_at=due_at - dt.timedelta(days=7)
    )


def test_a_catch_up_after_downtime_sends_only_the_stage_that_is_still_relevant(
    team, django_capture_on_commit_callbacks
):
    owner, artist = team
    due = dt.datetime(2026, 5, 10, 12, 0, tzinfo=UTC)
    order = _accepted_order(owner, artist, due_at=due)

    # Beat was down from 50 h before until 20 h before the due time.
    with time_machine.travel(due - dt.timedelta(hours=20), tick=False):
        _sweep(django_capture_on_commit_callbacks)
        _sweep(django_capture_on_commit_callbacks)

    assert list(Reminder.objects.values_list("object_id", "stage")) == [
        (order.pk, "24h-before@20260510T120000Z")
    ]
    assert Notification.objects.filter(user=artist).count() == 1


def test_no_due_soon_reminder_for_an_order_already_overdue(
    team, django_capture_on_commit_callbacks
):
    owner, artist = team
    due = dt.datetime(2026, 5, 10, 12, 0, tzinfo=UTC)
    _accepted_order(owner, artist, due_at=due)

    with time_machine.travel(due + dt.timedelta(days=1, hours=3), tick=False):
        _sweep(django_capture_on_commit_callbacks)

    assert list(Reminder.objects.values_list("kind", flat=True)) == ["order.overdue"]


def test_a_stage_that_went_stale_before_it_was_sent_is_skipped(
    team, django_capture_on_commit_callbacks
):
    owner, artist = team
    due = dt.datetime(2026, 5, 10, 12, 0, tzinfo=UTC)
    _accepted_order(owner, artist, due_at=due)
    with time_machine.travel(due - dt.timedelta(hours=30), tick=False):
        reminders.record_due()  # recorded, but its message was lost
    reminder = Reminder.objects.get()

    with time_machine.travel(due - dt.timedelta(hours=10), tick=False):
        assert reminders.send_reminder(reminder_id=reminder.pk) == "skipped"
        _sweep(django_capture_on_commit_callbacks)

    assert sorted(Reminder.objects.values_list("stage", "state")) == [
        ("24h-before@20260510T120000Z", "sent"),
        ("48h-before@20260510T120000Z", "skipped"),
    ]
    assert Notification.objects.filter(user=artist).count() == 1


def test_a_delivered_order_gets_no_more_reminders(team, django_capture_on_commit_callbacks):
    owner, artist = team
    due = dt.datetime(2026, 5, 10, 12, 0, tzinfo=UTC)
    order = _accepted_order(owner, artist, due_at=due)
    with time_machine.travel(due - dt.timedelta(hours=30), tick=False):
        reminders.record_due()
    Order.objects.filter(pk=order.pk).update(status=S.DELIVERED)

    with time_machine.travel(due + dt.timedelta(days=2), tick=False):
        _sweep(django_capture_on_commit_callbacks)

    assert list(Reminder.objects.values_list("state", flat=True)) == ["skipped"]
    assert not Notification.objects.exists()


def test_a_new_due_date_gets_reminders_of_its_own(team, django_capture_on_commit_callbacks):
    owner, artist = team
    due = dt.datetime(2026, 5, 10, 12, 0, tzinfo=UTC)
    order = _accepted_order(owner, artist, due_at=due)
    with time_machine.travel(due - dt.timedelta(hours=20), tick=False):
        _sweep(django_capture_on_commit_callbacks)
        Order.objects.filter(pk=order.pk).update(due_at=due + dt.timedelta(days=3))
    with time_machine.travel(due + dt.timedelta(days=3) - dt.timedelta(hours=20), tick=False):
        _sweep(django_capture_on_commit_callbacks)

    assert sorted(Reminder.objects.values_list("stage", flat=True)) == [
        "24h-before@20260510T120000Z",
        "24h-before@20260513T120000Z",
    ]


def test_every_sweep_of_the_same_moment_sends_once(team, django_capture_on_commit_callbacks):
    owner, artist = team
    due = dt.datetime(2026, 5, 10, 12, 0, tzinfo=UTC)
    for _ in range(5):
        _accepted_order(owner, artist, due_at=due)

    with time_machine.travel(due - dt.timedelta(hours=40), tick=False):
        for _ in range(4):  # two beats, a retried task, a manual run
            _sweep(django_capture_on_commit_callbacks)
        # A duplicated message for each reminder finds it sent.
        for pk in Reminder.objects.values_list("pk", flat=True):
            assert reminders.send_reminder(reminder_id=pk) == "already sent"

    assert Reminder.objects.filter(state="sent").count() == 5
    assert Notification.objects.filter(user=artist).count() == 5
    assert Notification.objects.filter(user=owner).count() == 5


def test_a_dst_change_in_the_studios_zone_still_gives_one_reminder_per_stage(
    team, django_capture_on_commit_callbacks
):
    owner, artist = team
    StudioProfile.objects.filter(pk=1).update(time_zone="Europe/Berlin")
    # Clocks go forward at 02:00 on 29 March 2026 in Berlin; due at the end of that day.
    due = dt.datetime(2026, 3, 29, 21, 59, 59, tzinfo=UTC)
    _accepted_order(owner, artist, due_at=due)

    with time_machine.travel(due - dt.timedelta(hours=60), tick=False) as traveller:
        _run(
            traveller,
            due - dt.timedelta(hours=60),
            due + dt.timedelta(days=3),
            dt.timedelta(minutes=30),
            django_capture_on_commit_callbacks,
        )

    assert sorted(Reminder.objects.values_list("stage", flat=True)) == [
        "1d-after@20260329T215959Z",
        "24h-before@20260329T215959Z",
        "48h-before@20260329T215959Z",
    ]
    assert Notification.objects.filter(user=artist).count() == 3


def test_owner_settings_turn_a_kind_off_and_change_offsets(
    team, django_capture_on_commit_callbacks
):
    owner, artist = team
    reminders.save_settings(
        configs={
            "order.due_soon": reminders.KindConfig(enabled=True, offsets=(72,)),
            "order.overdue": reminders.KindConfig(enabled=False, offsets=(1,)),
        }
    )
    due = dt.datetime(2026, 5, 10, 12, 0, tzinfo=UTC)
    _accepted_order(owner, artist, due_at=due)
    with time_machine.travel(due - dt.timedelta(hours=70), tick=False):
        _sweep(django_capture_on_commit_callbacks)
    with time_machine.travel(due + dt.timedelta(days=2), tick=False):
        _sweep(django_capture_on_commit_callbacks)

    assert list(Reminder.objects.values_list("stage", flat=True)) == ["72h-before@20260510T120000Z"]
    assert Notification.objects.get(user=artist).title.endswith("is due in 72 hours")


def test_an_unanswered_quote_reminds_only_the_owners_once(team, django_capture_on_commit_callbacks):
    owner, artist = team
    producer = UserFactory(username="pete", role="producer")
    order = OrderFactory(status=S.QUOTED, assignee=artist, status_changed_at=T0)

    with time_machine.travel(T0 + dt.timedelta(days=3, minutes=5), tick=False):
        _sweep(django_capture_on_commit_callbacks)
        _sweep(django_capture_on_commit_callbacks)

    note = Notification.objects.get()
    assert note.user == owner
    with translation.override("zh-hans"):  # the owner reads Chinese
        expected = translation.gettext("%(ref)s: quote not answered") % {"ref": order.reference}
    assert note.title == expected
    assert not Notification.objects.filter(user__in=[artist, producer]).exists()


def test_an_answered_quote_is_not_chased(team, django_capture_on_commit_callbacks):
    OrderFactory(status=S.ACCEPTED, status_changed_at=T0)
    with time_machine.travel(T0 + dt.timedelta(days=3, minutes=5), tick=False):
        _sweep(django_capture_on_commit_callbacks)
    assert not Reminder.objects.exists()
