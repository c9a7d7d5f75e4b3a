"""The reminder engine: registry, stages, client-facing e-mails, the owner's settings page."""

from __future__ import annotations

import datetime as dt
import smtplib
from unittest import mock

import pytest
import time_machine
from django.core import mail
from django.core.mail import EmailMessage
from django.urls import reverse
from django.utils import timezone

from studio import reminders
from studio.models import Reminder, ReminderSettings
from tests.factories import OrderFactory

UTC = dt.UTC
ANCHOR = dt.datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


# --- Stage helpers ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hours_before", "expected"),
    [
        (60, None),
        (47, "48h-before@20260601T120000Z"),
        (24, "24h-before@20260601T120000Z"),
        (1, "24h-before@20260601T120000Z"),
        (0, None),
        (-5, None),
    ],
)
def test_stages_before_gives_the_current_stage_only(hours_before, expected):
    now = ANCHOR - dt.timedelta(hours=hours_before)
    stage = reminders.stages_before(ANCHOR, [24, 48], unit="hours", now=now)
    assert (stage.key if stage else None) == expected


@pytest.mark.parametrize(
    ("days_after", "expected"),
    [
        (0.5, None),
        (1, "1d-after@20260601T120000Z"),
        (6, "3d-after@20260601T120000Z"),
        (7, "7d-after@20260601T120000Z"),
        (14, "7d-after@20260601T120000Z"),
        (14.1, None),  # a week past the last stage: stale
    ],
)
def test_stages_after_gives_the_current_stage_and_drops_stale_ones(days_after, expected):
    now = ANCHOR + dt.timedelta(days=days_after)
    stage = reminders.stages_after(ANCHOR, [7, 1, 3], unit="days", now=now)
    assert (stage.key if stage else None) == expected


def test_offsets_are_parsed_for_people():
    kind = reminders.get_kind("order.due_soon")
    assert reminders.parse_offsets("48, 24，24", kind=kind) == (24, 48)
    for bad in ("", "x", "0", "-3", "1.5", "99999"):
        with pytest.raises(ValueError, match=r"."):
            reminders.parse_offsets(bad, kind=kind)


def test_a_kind_must_say_how_it_delivers():
    with pytest.raises(ValueError, match="deliver"):
        reminders.ReminderKind(
            name="x",
            label="x",
            help="x",
            audience="studio",
            unit="days",
            default_offsets=(1,),
            find_due=lambda **kw: [],
        )


def test_the_order_kinds_are_registered():
    names = {kind.name for kind in reminders.kinds()}
    assert {"order.due_soon", "order.overdue", "quote.unanswered"} <= names


# --- A client-facing kind, as billing will add ------------------------------------------


@pytest.fixture
def client_kind(db):
    """Reminds an order's client N days after ANCHOR (a stand-in for invoices)."""

    def find_due(*, now, offsets, object_ids=None):
        qs = OrderFactory._meta.model.objects.all()
        if object_ids is not None:
            qs = qs.filter(pk__in=object_ids)
        for order in qs:
            stage = reminders.stages_after(ANCHOR, offsets, unit="days", now=now)
            if stage:
                yield reminders.Due(object_id=order.pk, stage=stage.key, due_at=stage.fire_at)

    def build_email(reminder):
        order = OrderFactory._meta.model.objects.select_related("client").get(pk=reminder.object_id)
        return EmailMessage(subject=f"Reminder {order.reference}", to=[order.client.email])

    kind = reminders.register(
        reminders.ReminderKind(
            name="test.client",
            label="Client",
            help="Days after.",
            audience="client",
            unit="days",
            default_offsets=(1,),
            find_due=find_due,
            build_email=build_email,
        )
    )
    yield kind
    reminders.unregister("test.client")


@pytest.mark.django_db
def test_a_client_reminder_is_e_mailed_once(client_kind, django_capture_on_commit_callbacks):
    order = OrderFactory()
    with time_machine.travel(ANCHOR + dt.timedelta(days=1, hours=1), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            reminders.sweep()
            reminders.sweep()
        reminder = Reminder.objects.get(kind="test.client")
        assert reminders.send_reminder(reminder_id=reminder.pk) == "already sent"

    assert [m.to for m in mail.outbox] == [[order.client.email]]
    reminder.refresh_from_db()
    assert (reminder.state, reminder.attempts) == ("sent", 1)


@pytest.mark.django_db
def test_a_client_reminder_whose_worker_died_is_sent_by_the_sweep(
    client_kind, django_capture_on_commit_callbacks
):
    OrderFactory()
    with time_machine.travel(ANCHOR + dt.timedelta(days=1, hours=1), tick=False):
        reminders.record_due()
        # A worker claimed it and was killed before sending.
        Reminder.objects.update(state="claimed", claimed_at=timezone.now(), attempts=1)
    with (
        time_machine.travel(ANCHOR + dt.timedelta(days=1, hours=1, minutes=6), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        reminders.sweep()

    assert len(mail.outbox) == 1
    assert Reminder.objects.get().state == "sent"


@pytest.mark.django_db
def test_a_client_reminder_that_fails_every_time_ends_failed(client_kind):
    OrderFactory()
    with time_machine.travel(ANCHOR + dt.timedelta(days=1, hours=1), tick=False):
        reminders.record_due()
        reminder = Reminder.objects.get()
        with mock.patch.object(EmailMessage, "send", side_effect=smtplib.SMTPDataError(451, "x")):
            for _run in range(reminders.MAX_ATTEMPTS):
                with pytest.raises(smtplib.SMTPDataError):
                    reminders.send_reminder(reminder_id=reminder.pk)
        assert reminders.send_reminder(reminder_id=reminder.pk) == "already failed"

    reminder.refresh_from_db()
    assert (reminder.state, reminder.attempts) == ("failed", reminders.MAX_ATTEMPTS)
    assert "SMTPDataError" in reminder.last_error
    assert mail.outbox == []


@pytest.mark.django_db
def test_a_kind_switched_off_after_recording_is_skipped(client_kind):
    OrderFactory()
    with time_machine.travel(ANCHOR + dt.timedelta(days=1, hours=1), tick=False):
        reminders.record_due()
        reminders.save_settings(
            configs={"test.client": reminders.KindConfig(enabled=False, offsets=(1,))}
        )
        assert reminders.send_reminder(reminder_id=Reminder.objects.get().pk) == "skipped"
    assert mail.outbox == []


@pytest.mark.django_db
def test_the_unique_row_holds_when_another_sweep_inserted_first(client_kind):
    OrderFactory()
    with time_machine.travel(ANCHOR + dt.timedelta(days=1, hours=1), tick=False):
        due = list(client_kind.find_due(now=timezone.now(), offsets=(1,)))
        row = Reminder(
            kind="test.client", object_id=due[0].object_id, stage=due[0].stage, due_at=due[0].due_at
        )
        # A racing sweep read "nothing recorded" too: its insert meets the constraint.
        with mock.patch.object(reminders, "kinds", return_value=[client_kind]):
            reminders.record_due()
        Reminder.objects.bulk_create([row], ignore_conflicts=True)
    assert Reminder.objects.count() == 1


@pytest.mark.django_db
def test_parallel_dispatchers_do_not_take_the_same_reminders_twice(client_kind):
    for _ in range(3):
        OrderFactory()
    with time_machine.travel(ANCHOR + dt.timedelta(days=1, hours=1), tick=False):
        reminders.record_due()
        first = reminders.dispatch_pending()
        second = reminders.dispatch_pending()
    assert len(first) == 3
    assert second == []


# --- The owner's settings page --------------------------------------------------------


@pytest.mark.django_db
def test_the_owner_sees_every_kind_with_its_defaults(owner_http):
    html = owner_http.get(reverse("reminder-settings")).content.decode()
    assert "Order due soon" in html
    assert 'value="48, 24"' in html
    assert "Quote not answered" in html


@pytest.mark.django_db
def all_kinds_form(**changes: str) -> dict[str, str]:
    """The settings form as the page shows it (every registered kind), with changes."""
    data: dict[str, str] = {}
    for kind in reminders.kinds():
        config = reminders.config_for(kind)
        key = kind.name.replace(".", "_")
        if config.enabled:
            data[f"{key}__enabled"] = "on"
        data[f"{key}__offsets"] = ", ".join(str(o) for o in config.offsets)
    data.update(changes)
    return data


def test_the_owner_changes_offsets_and_switches_a_kind_off(owner_http):
    form = all_kinds_form(
        order_due_soon__enabled="on",
        order_due_soon__offsets="72, 24",
        order_overdue__offsets="1, 3",
        quote_unanswered__enabled="on",
        quote_unanswered__offsets="2",
    )
    del form["order_overdue__enabled"]
    response = owner_http.post(reverse("reminder-settings"), form)

    assert response.status_code == 302
    kinds = ReminderSettings.load().kinds
    assert kinds["order.due_soon"] == {"enabled": True, "offsets": [24, 72]}
    assert kinds["order.overdue"] == {"enabled": False, "offsets": [1, 3]}
    assert kinds["quote.unanswered"] == {"enabled": True, "offsets": [2]}


@pytest.mark.django_db
def test_bad_offsets_save_nothing(owner_http):
    response = owner_http.post(
        reverse("reminder-settings"),
        {
            "order_due_soon__enabled": "on",
            "order_due_soon__offsets": "soon",
            "order_overdue__offsets": "1",
            "quote_unanswered__offsets": "3",
        },
    )

    assert response.status_code == 200
    assert "is not a whole number" in response.content.decode()
    assert ReminderSettings.load().kinds == {}


@pytest.mark.django_db
def test_only_the_owner_may_change_reminders(producer_http, artist_http, client):
    for http in (producer_http, artist_http):
        assert http.get(reverse("reminder-settings")).status_code == 403
        assert http.post(reverse("reminder-settings"), {}).status_code == 403
    assert client.get(reverse("reminder-settings")).status_code == 302
    assert ReminderSettings.objects.count() == 0
