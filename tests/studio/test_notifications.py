"""The notification centre: rows, the crash-safe e-mail job, the bell and its pages."""

from __future__ import annotations

import datetime as dt
import smtplib
from unittest import mock

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from studio import notifications, tasks
from studio.models import Membership, Notification
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
State = Notification.EmailState


def _render() -> tuple[str, str]:
    return "ORD-2026-0001: quote accepted", "Wang Fang accepted the quote."


def _notify(users, **kwargs):
    return notifications.notify(users=users, kind="test.kind", render=_render, **kwargs)


# --- Creating and e-mailing ---------------------------------------------------------------


def test_notify_creates_one_row_per_active_member_and_e_mails_after_commit(
    owner, artist, django_capture_on_commit_callbacks
):
    gone = UserFactory(username="gone", role="artist", is_active=False)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        created = _notify([owner, artist, owner, gone, None], url="/orders/1/")
        assert len(mail.outbox) == 0  # nothing before the commit

    assert len(created) == 2
    assert len(callbacks) == 2
    assert sorted(m.to[0] for m in mail.outbox) == [artist.email, owner.email]
    message = mail.outbox[0]
    assert message.subject == "ORD-2026-0001: quote accepted"
    assert "Wang Fang accepted the quote." in message.body
    assert "http://127.0.0.1:8000/orders/1/" in message.body
    assert message.alternatives[0][1] == "text/html"
    assert set(Notification.objects.values_list("email_state", flat=True)) == {State.SENT}
    assert all(n.emailed_at for n in Notification.objects.all())


def test_a_member_who_turned_e_mails_off_gets_the_bell_only(
    owner, django_capture_on_commit_callbacks
):
    notifications.set_email_preference(user=owner, enabled=False)
    with django_capture_on_commit_callbacks(execute=True):
        _notify(notifications.studio_recipients())

    note = Notification.objects.get()
    assert (note.email_wanted, note.email_state) == (False, State.NONE)
    assert mail.outbox == []


def test_a_member_without_an_address_is_not_e_mailed(db):
    user = UserFactory(username="noaddress", email="", role="producer")
    _notify([user])
    assert Notification.objects.get().email_state == State.NONE


def test_turning_e_mails_off_drops_the_ones_still_waiting(owner):
    _notify([owner])
    assert notifications.set_email_preference(user=owner, enabled=False) is True
    assert notifications.set_email_preference(user=owner, enabled=False) is False

    note = Notification.objects.get()
    assert (note.email_wanted, note.email_state) == (False, State.NONE)
    assert notifications.email_notification(notification_id=note.pk) is False
    assert mail.outbox == []


def test_the_e_mail_job_run_twice_sends_one_e_mail(owner):
    note = _notify([owner])[0]

    assert tasks.email_notification(note.pk) is True
    assert tasks.email_notification(note.pk) is False
    tasks.email_notification.apply(args=[note.pk])

    assert len(mail.outbox) == 1
    note.refresh_from_db()
    assert (note.email_state, note.email_attempts) == (State.SENT, 1)


def test_a_claim_held_by_a_live_worker_is_not_sent_again(owner):
    note = _notify([owner])[0]
    Notification.objects.filter(pk=note.pk).update(
        email_state=State.CLAIMED, email_claimed_at=timezone.now()
    )

    assert notifications.sweep_emails(older_than_seconds=0) == 0
    assert tasks.email_notification(note.pk) is False
    assert mail.outbox == []


def test_a_worker_killed_after_claiming_loses_no_e_mail(owner, django_capture_on_commit_callbacks):
    """The old job claimed by setting emailed_at first: a SIGKILL then lost the mail."""
    note = _notify([owner])[0]
    # The worker claimed it six minutes ago and died before sending.
    Notification.objects.filter(pk=note.pk).update(
        email_state=State.CLAIMED,
        email_claimed_at=timezone.now() - dt.timedelta(minutes=6),
        email_attempts=1,
    )

    with django_capture_on_commit_callbacks(execute=True):
        enqueued = notifications.sweep_emails(older_than_seconds=0)

    assert enqueued == 1
    assert len(mail.outbox) == 1
    note.refresh_from_db()
    assert (note.email_state, note.email_attempts) == (State.SENT, 2)
    assert notifications.sweep_emails(older_than_seconds=0) == 0
    assert len(mail.outbox) == 1


def test_the_sweep_sends_e_mails_whose_message_vanished_once(
    owner, django_capture_on_commit_callbacks
):
    _notify([owner, UserFactory(username="pam", role="producer")])  # on_commit never ran

    with time_machine.travel(timezone.now() + dt.timedelta(minutes=3)):
        with django_capture_on_commit_callbacks(execute=True):
            assert notifications.sweep_emails() == 2
        assert notifications.sweep_emails() == 0

    assert len(mail.outbox) == 2


def test_the_sweep_leaves_fresh_e_mails_to_their_own_job(owner):
    _notify([owner])
    assert notifications.sweep_emails(older_than_seconds=120) == 0
    assert mail.outbox == []


def test_a_transient_error_puts_the_e_mail_back_for_a_retry(owner):
    note = _notify([owner])[0]
    with (
        mock.patch(
            "django.core.mail.EmailMessage.send", side_effect=smtplib.SMTPConnectError(421, "busy")
        ),
        pytest.raises(smtplib.SMTPConnectError),
    ):
        notifications.email_notification(notification_id=note.pk)

    note.refresh_from_db()
    assert (note.email_state, note.email_attempts) == (State.PENDING, 1)
    assert "SMTPConnectError" in note.email_error

    assert notifications.email_notification(notification_id=note.pk) is True
    assert len(mail.outbox) == 1


def test_an_e_mail_job_that_crashes_every_time_stops_after_its_retries_and_shows_failed(owner):
    note = _notify([owner])[0]
    assert tasks.email_notification.max_retries + 1 == notifications.MAX_EMAIL_ATTEMPTS
    assert smtplib.SMTPException in tasks.email_notification.autoretry_for

    with mock.patch(
        "django.core.mail.EmailMessage.send", side_effect=smtplib.SMTPServerDisconnected("gone")
    ):
        # The first run and each Celery retry (max_retries), as the worker would run them.
        for _run in range(notifications.MAX_EMAIL_ATTEMPTS):
            with pytest.raises(smtplib.SMTPServerDisconnected):
                notifications.email_notification(notification_id=note.pk)
        assert notifications.email_notification(notification_id=note.pk) is False

    note.refresh_from_db()
    assert (note.email_state, note.email_attempts) == (State.FAILED, 5)
    assert notifications.sweep_emails(older_than_seconds=0) == 0
    assert mail.outbox == []


def test_a_bug_while_building_the_e_mail_fails_it_at_once(owner):
    note = _notify([owner])[0]
    with (
        mock.patch("studio.notifications.build_email", side_effect=KeyError("template")),
        pytest.raises(KeyError),
    ):
        notifications.email_notification(notification_id=note.pk)

    note.refresh_from_db()
    assert (note.email_state, note.email_attempts) == (State.FAILED, 1)


def test_the_e_mail_is_written_in_the_recipients_language(owner):
    Membership.objects.filter(user=owner).update(language="zh-hans")
    note = _notify([owner], url="/orders/1/")[0]
    owner.refresh_from_db()

    notifications.email_notification(notification_id=note.pk)

    body = mail.outbox[0].body
    assert "Open it in ReelDesk" not in body or "ReelDesk" in body  # translated when compiled
    assert "http://127.0.0.1:8000/orders/1/" in body


# --- Reading: the bell and the list --------------------------------------------------------


def test_the_bell_shows_the_unread_count(owner, owner_http, studio_profile):
    _notify([owner])
    _notify([owner])
    Notification.objects.filter(pk=Notification.objects.first().pk).update(read_at=timezone.now())

    html = owner_http.get(reverse("dashboard")).content.decode()

    assert 'data-unread="1"' in html
    assert "Notifications: 1 unread" in html


def test_the_bell_shows_no_count_when_everything_is_read(owner_http, studio_profile):
    html = owner_http.get(reverse("dashboard")).content.decode()
    assert "data-unread" not in html
    assert reverse("notification-list") in html


def test_the_list_shows_only_my_notifications_newest_first(owner, artist, owner_http):
    first = _notify([owner])[0]
    second = notifications.notify(users=[owner], kind="k", render=lambda: ("Second title", ""))[0]
    notifications.notify(users=[artist], kind="k", render=lambda: ("Not for the owner", ""))

    response = owner_http.get(reverse("notification-list"))

    html = response.content.decode()
    assert response.status_code == 200
    assert "Not for the owner" not in html
    assert html.index(f'id="n{second.pk}"') < html.index(f'id="n{first.pk}"')


def test_the_list_can_show_unread_only(owner, owner_http):
    read, unread = _notify([owner])[0], _notify([owner])[0]
    notifications.mark_read(user=owner, notification_ids=[read.pk])

    html = owner_http.get(reverse("notification-list"), {"show": "unread"}).content.decode()

    assert f'id="n{unread.pk}"' in html
    assert f'id="n{read.pk}"' not in html


def test_the_list_page_keeps_its_query_budget(owner, owner_http, django_assert_max_num_queries):
    for _ in range(40):
        _notify([owner])
    owner_http.get(reverse("notification-list"))

    with django_assert_max_num_queries(10):
        response = owner_http.get(reverse("notification-list"))

    assert response.status_code == 200


def test_mark_one_read(owner, owner_http):
    one, other = _notify([owner])[0], _notify([owner])[0]

    response = owner_http.post(reverse("notification-mark-read"), {"id": one.pk})

    assert response.status_code == 302
    one.refresh_from_db()
    other.refresh_from_db()
    assert one.read_at is not None
    assert other.read_at is None


def test_mark_all_read(owner, artist, owner_http):
    _notify([owner, artist])
    _notify([owner])

    owner_http.post(reverse("notification-mark-read"), {"all": "1"})

    assert notifications.unread_count(owner) == 0
    assert notifications.unread_count(artist) == 1


def test_nobody_can_mark_someone_elses_notification(owner, artist, artist_http):
    note = _notify([owner])[0]

    artist_http.post(reverse("notification-mark-read"), {"id": note.pk})
    response = artist_http.post(reverse("notification-open", args=[note.pk]))

    assert response.status_code == 404
    note.refresh_from_db()
    assert note.read_at is None


def test_marking_read_is_post_only(owner, owner_http):
    note = _notify([owner])[0]
    assert owner_http.get(reverse("notification-mark-read"), {"all": "1"}).status_code == 405
    assert owner_http.get(reverse("notification-open", args=[note.pk])).status_code == 405
    note.refresh_from_db()
    assert note.read_at is None


def test_bad_ids_change_nothing(owner, owner_http):
    note = _notify([owner])[0]
    response = owner_http.post(
        reverse("notification-mark-read"), {"id": ["x", "99999999999999999999999", "-1"]}
    )
    assert response.status_code == 302
    note.refresh_from_db()
    assert note.read_at is None


def test_opening_a_notification_marks_it_read_and_follows_its_link(owner, owner_http):
    note = _notify([owner], url="/orders/7/")[0]

    response = owner_http.post(reverse("notification-open", args=[note.pk]))

    assert response.status_code == 302
    assert response["Location"] == "/orders/7/"
    note.refresh_from_db()
    assert note.read_at is not None


def test_opening_never_redirects_off_site(owner, owner_http):
    note = _notify([owner], url="https://evil.example/")[0]
    response = owner_http.post(reverse("notification-open", args=[note.pk]))
    assert response["Location"] == reverse("notification-list")


def test_a_member_turns_notification_e_mails_off_and_on(owner, owner_http):
    owner_http.post(reverse("notification-email"), {})
    assert Membership.objects.get(user=owner).email_notifications is False

    owner_http.post(reverse("notification-email"), {"email": "on"})
    assert Membership.objects.get(user=owner).email_notifications is True


def test_outsiders_get_403_and_anonymous_visitors_sign_in(outsider_http, client):
    assert outsider_http.get(reverse("notification-list")).status_code == 403
    assert outsider_http.post(reverse("notification-mark-read"), {"all": 1}).status_code == 403
    response = client.get(reverse("notification-list"))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_the_bell_is_read_with_the_user_and_follows_mark_read(owner, owner_http):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from studio.models import Notification

    for i in range(3):
        Notification.objects.create(user=owner, kind="order.created", title=f"n{i}")
    with CaptureQueriesContext(connection) as seen:
        page = owner_http.get(reverse("dashboard"))
    assert 'data-unread="3"' in page.content.decode()
    counts = [q["sql"] for q in seen.captured_queries if q["sql"].startswith("SELECT COUNT")]
    assert not [sql for sql in counts if "studio_notification" in sql]

    owner_http.post(reverse("notification-mark-read"), {"all": "1"})
    assert "data-unread=" not in owner_http.get(reverse("dashboard")).content.decode()
