"""Invoice reminders: a 20-day invoice life in the client's language, exactly once."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from billing import delivery, services
from billing.models import Invoice
from billing.reminders import invoices as invoice_reminders
from orders import portal
from studio import reminders
from studio.models import Notification, Reminder
from tests.billing.helpers import draft, issued, order_for, set_billing
from tests.factories import ClientFactory
from tests.studio.test_reminders import all_kinds_form

pytestmark = pytest.mark.django_db

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
# Day 0: the invoice is issued at 10:00 in the studio's zone, net 7 days (due on day 7).
DAY0 = dt.datetime(2026, 6, 1, 10, 0, tzinfo=SHANGHAI)
FAKE_PDF = b"%PDF-1.7 reminder test"
INVOICE_KINDS = ("invoice.due_soon", "invoice.overdue", "invoice.overdue_studio")


@pytest.fixture(autouse=True)
def _fast_pdf(monkeypatch):
    """A stand-in for WeasyPrint: the render job stores these bytes."""
    monkeypatch.setattr(delivery, "_render", lambda invoice: FAKE_PDF)


@pytest.fixture
def studio(studio_profile, owner):
    set_billing(bank_name="Bank of Moonlight", bank_account="6222 0000 1111")
    return studio_profile


def at(day: int, hour: int = 9, minute: int = 0) -> dt.datetime:
    start = DAY0.date() + dt.timedelta(days=day)
    return dt.datetime.combine(start, dt.time(hour, minute), tzinfo=SHANGHAI)


def issue(owner, django_capture_on_commit_callbacks, *, language="en", email=None, **fields):
    extra = {} if email is None else {"email": email}
    client = ClientFactory(language=language, contact_name="Li Wei", **extra)
    order = order_for(client=client)
    with (
        time_machine.travel(DAY0, tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        invoice = issued(owner, client=client, order=order, net_days=7, **fields)
    invoice.refresh_from_db()
    return invoice


def tick(moment: dt.datetime, django_capture_on_commit_callbacks, times: int = 1) -> None:
    """A beat tick (or several at once): the sweep records and sends what is due."""
    with (
        time_machine.travel(moment, tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        for _run in range(times):
            reminders.sweep()


def live(days, django_capture_on_commit_callbacks, hours=(9,)) -> list[tuple[int, str]]:
    """Sweep each day at the given hours; (day, subject) of every e-mail sent."""
    sent: list[tuple[int, str]] = []
    for day in days:
        for hour in hours:
            before = len(client_mail())
            tick(at(day, hour), django_capture_on_commit_callbacks)
            sent += [(day, m.subject) for m in client_mail()[before:]]
    return sent


def client_mail() -> list:
    """The e-mails to clients (the owners' notification e-mails left out)."""
    return [m for m in mail.outbox if m.to and m.to[0].startswith("client")]


# --- The life of an invoice ------------------------------------------------------------------


def test_a_twenty_day_life_sends_the_configured_reminders_in_order(
    studio, owner, django_capture_on_commit_callbacks
):
    invoice = issue(owner, django_capture_on_commit_callbacks, language="en")
    assert invoice.due_date == dt.date(2026, 6, 8)
    assert invoice.pdf_ready

    sent = live(range(22), django_capture_on_commit_callbacks, hours=(0, 9, 23))

    number = invoice.number
    assert sent == [
        (4, f"Reminder: invoice {number} is due on 2026-06-08"),
        (8, f"Overdue: invoice {number} from Moonlight Frames"),
        (14, f"Overdue: invoice {number} from Moonlight Frames"),
        (21, f"Overdue: invoice {number} from Moonlight Frames"),
    ]
    stages = list(
        Reminder.objects.filter(kind__startswith="invoice.", object_id=invoice.pk)
        .order_by("due_at", "kind")
        .values_list("kind", "stage", "state")
    )
    assert stages == [
        ("invoice.due_soon", "3d-before@20260608", "sent"),
        ("invoice.overdue", "1d-after@20260608", "sent"),
        ("invoice.overdue_studio", "1d-after@20260608", "sent"),
        ("invoice.overdue", "7d-after@20260608", "sent"),
        ("invoice.overdue_studio", "7d-after@20260608", "sent"),
        ("invoice.overdue", "14d-after@20260608", "sent"),
        ("invoice.overdue_studio", "14d-after@20260608", "sent"),
    ]
    # The studio is told once per overdue stage, in the owners' notifications.
    titles = list(
        Notification.objects.filter(user=owner)
        .order_by("created_at")
        .values_list("title", flat=True)
    )
    assert titles == [
        f"Invoice {number} is 1 day overdue",
        f"Invoice {number} is 7 days overdue",
        f"Invoice {number} is 14 days overdue",
    ]


def test_the_english_reminders_carry_the_portal_link_the_pdf_and_the_amount_due(
    studio, owner, django_capture_on_commit_callbacks
):
    invoice = issue(owner, django_capture_on_commit_callbacks, language="en")
    link = portal.active_link(invoice.order)
    assert link is not None
    url = "http://127.0.0.1:8000" + portal.portal_path(link)

    live([4, 8], django_capture_on_commit_callbacks)

    soon, overdue = client_mail()
    assert soon.to == [invoice.client.email]
    assert "Hello Li Wei," in soon.body
    assert "is due on 2026-06-08, in 3 days." in soon.body
    assert url in soon.body
    assert "The invoice is attached as a PDF." in soon.body
    assert soon.attachments == [(f"{invoice.number}.pdf", FAKE_PDF, "application/pdf")]
    html, mimetype = soon.alternatives[0]
    assert mimetype == "text/html"
    assert f'href="{url}"' in html
    assert "Bank of Moonlight" in soon.body
    assert soon.extra_headers["Auto-Submitted"] == "auto-generated"

    assert "was due on 2026-06-08 and is now 1 day overdue." in overdue.body
    assert "Amount still due: ¥1,000.00." in overdue.body
    assert overdue.attachments[0][1] == FAKE_PDF


def test_a_chinese_client_gets_the_reminder_in_chinese(
    studio, owner, django_capture_on_commit_callbacks
):
    invoice = issue(owner, django_capture_on_commit_callbacks, language="zh-hans")
    assert invoice.language == "zh-hans"

    live([4, 8], django_capture_on_commit_callbacks)

    soon, overdue = client_mail()
    with translation.override("zh-hans"):
        expected = _("Overdue: invoice %(number)s from %(studio)s") % {
            "number": invoice.number,
            "studio": "Moonlight Frames",
        }
        hello = _("Hello %(name)s,") % {"name": "Li Wei"}
    assert overdue.subject == expected
    assert hello in soon.body
    assert hello in overdue.body
    assert "您好" in overdue.body
    assert "付款方式" in overdue.body  # "How to pay"
    assert 'lang="zh-Hans"' in overdue.alternatives[0][0]
    # The team is told in its own language (English here).
    assert Notification.objects.get(user=owner).title.startswith("Invoice ")


def test_a_paid_invoice_is_not_reminded_any_more(studio, owner, django_capture_on_commit_callbacks):
    invoice = issue(owner, django_capture_on_commit_callbacks)
    sent = live(range(9), django_capture_on_commit_callbacks)
    assert [day for day, _subject in sent] == [4, 8]

    with time_machine.travel(at(9), tick=False):
        services.record_payment(
            actor=owner, invoice=invoice, amount="1000.00", method="bank_transfer"
        )
    assert live(range(9, 25), django_capture_on_commit_callbacks) == []


def test_a_payment_between_recording_and_sending_skips_the_reminder(
    studio, owner, django_capture_on_commit_callbacks
):
    invoice = issue(owner, django_capture_on_commit_callbacks)
    with time_machine.travel(at(8), tick=False):
        reminders.record_due()
        services.record_payment(
            actor=owner, invoice=invoice, amount="1000.00", method="bank_transfer"
        )
        results = {
            r.kind: reminders.send_reminder(reminder_id=r.pk) for r in Reminder.objects.all()
        }
    assert results == {"invoice.overdue": "skipped", "invoice.overdue_studio": "skipped"}
    assert mail.outbox == []
    assert Notification.objects.count() == 0  # nor the studio


def test_a_partly_paid_invoice_is_reminded_of_what_is_left(
    studio, owner, django_capture_on_commit_callbacks
):
    invoice = issue(owner, django_capture_on_commit_callbacks)
    with time_machine.travel(at(2), tick=False):
        services.record_payment(
            actor=owner, invoice=invoice, amount="400.00", method="bank_transfer"
        )

    live([4, 8], django_capture_on_commit_callbacks)

    soon, overdue = client_mail()
    assert "Amount still due: ¥600.00." in soon.body
    assert "Amount still due: ¥600.00." in overdue.body


def test_a_void_invoice_is_never_reminded(studio, owner, django_capture_on_commit_callbacks):
    invoice = issue(owner, django_capture_on_commit_callbacks)
    with time_machine.travel(at(1), tick=False):
        services.void_invoice(actor=owner, invoice=invoice, reason="Wrong client")

    assert live(range(25), django_capture_on_commit_callbacks) == []
    assert Reminder.objects.count() == 0


def test_a_client_without_an_address_is_not_e_mailed_but_the_studio_is_told(
    studio, owner, django_capture_on_commit_callbacks
):
    issue(owner, django_capture_on_commit_callbacks, email="")

    assert live(range(10), django_capture_on_commit_callbacks) == []
    note = Notification.objects.get(user=owner)
    assert "The client has no e-mail address" in note.body
    assert set(Reminder.objects.values_list("kind", flat=True)) == {"invoice.overdue_studio"}


def test_the_address_removed_after_recording_skips_the_e_mail(
    studio, owner, django_capture_on_commit_callbacks
):
    invoice = issue(owner, django_capture_on_commit_callbacks)
    with time_machine.travel(at(4), tick=False):
        reminders.record_due()
        invoice.client.email = ""
        invoice.client.save()
        reminder = Reminder.objects.get(kind="invoice.due_soon")
        assert reminders.send_reminder(reminder_id=reminder.pk) == "skipped"
    assert mail.outbox == []


# --- Exactly once --------------------------------------------------------------------------


def test_two_sweeps_at_once_and_a_retried_send_give_one_e_mail(
    studio, owner, django_capture_on_commit_callbacks
):
    issue(owner, django_capture_on_commit_callbacks)

    tick(at(8), django_capture_on_commit_callbacks, times=2)
    with time_machine.travel(at(8, 10), tick=False):
        for reminder in Reminder.objects.all():
            assert reminders.send_reminder(reminder_id=reminder.pk) == "already sent"
    tick(at(8, 11), django_capture_on_commit_callbacks, times=3)

    assert len(client_mail()) == 1
    assert Reminder.objects.filter(kind="invoice.overdue").count() == 1
    assert Notification.objects.filter(user=owner).count() == 1


# --- Catch-up after downtime ---------------------------------------------------------------


def test_a_catch_up_after_the_due_date_sends_no_due_soon_only_the_current_stage(
    studio, owner, django_capture_on_commit_callbacks
):
    issue(owner, django_capture_on_commit_callbacks)
    assert live(range(4), django_capture_on_commit_callbacks) == []

    # Beat stopped from day 3 to day 16: only "7 days overdue" is still relevant.
    sent = live([16], django_capture_on_commit_callbacks)

    assert [subject.split(":")[0] for _day, subject in sent] == ["Overdue"]
    assert set(Reminder.objects.values_list("kind", "stage")) == {
        ("invoice.overdue_studio", "7d-after@20260608"),
        ("invoice.overdue", "7d-after@20260608"),
    }
    assert "is now 9 days overdue" in client_mail()[0].body


def test_a_due_soon_recorded_before_downtime_is_skipped_once_overdue(
    studio, owner, django_capture_on_commit_callbacks
):
    issue(owner, django_capture_on_commit_callbacks)
    with time_machine.travel(at(4), tick=False):
        reminders.record_due()  # recorded; the workers stop before sending
    with time_machine.travel(at(9), tick=False):
        soon = Reminder.objects.get(kind="invoice.due_soon")
        assert reminders.send_reminder(reminder_id=soon.pk) == "skipped"
    assert mail.outbox == []


def test_the_last_stage_goes_stale_a_week_after_its_day(
    studio, owner, django_capture_on_commit_callbacks
):
    issue(owner, django_capture_on_commit_callbacks)
    assert live([30], django_capture_on_commit_callbacks) == []


def test_no_due_soon_on_the_day_the_invoice_is_issued(
    studio, owner, django_capture_on_commit_callbacks
):
    client = ClientFactory(language="en")
    with (
        time_machine.travel(DAY0, tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        issued(owner, client=client, order=order_for(client=client), net_days=2)

    sent = live(range(4), django_capture_on_commit_callbacks)

    assert [subject.split(":")[0] for _day, subject in sent] == ["Overdue"]


def test_the_stages_follow_the_studio_calendar_across_a_dst_change(
    studio_profile, owner, django_capture_on_commit_callbacks
):
    studio_profile.time_zone = "Europe/Berlin"
    studio_profile.save()
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    client = ClientFactory(language="en")
    # Due on Monday 30 March 2026; clocks go forward on Sunday 29 March.
    with (
        time_machine.travel(dt.datetime(2026, 3, 20, 12, tzinfo=berlin), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        invoice = issued(owner, client=client, order=order_for(client=client), net_days=10)
    assert invoice.due_date == dt.date(2026, 3, 30)

    sent: list[dt.datetime] = []
    moment = dt.datetime(2026, 3, 26, 0, tzinfo=dt.UTC)
    while moment < dt.datetime(2026, 4, 7, tzinfo=dt.UTC):
        before = len(client_mail())
        tick(moment, django_capture_on_commit_callbacks)
        sent += [moment] * (len(client_mail()) - before)
        moment += dt.timedelta(hours=1)

    local = [m.astimezone(berlin) for m in sent]
    # 00:00 Berlin on 27 March (UTC+1) and on 31 March and 6 April (UTC+2).
    assert [(m.date().isoformat(), m.hour) for m in local] == [
        ("2026-03-27", 0),
        ("2026-03-31", 0),
        ("2026-04-06", 0),
    ]


# --- Without a PDF, drafts and credit notes ---------------------------------------------


def test_a_reminder_without_a_rendered_pdf_points_to_the_order_page(
    studio, owner, django_capture_on_commit_callbacks
):
    client = ClientFactory(language="en")
    with time_machine.travel(DAY0, tick=False):  # the render job never ran
        invoice = issued(owner, client=client, order=order_for(client=client), net_days=7)
    assert not invoice.pdf_ready

    live([4], django_capture_on_commit_callbacks)

    (message,) = client_mail()
    assert message.attachments == []
    assert "The invoice PDF can be downloaded from your order page." in message.body
    invoice.refresh_from_db()
    assert not invoice.pdf_ready  # the reminder never renders it itself


def test_drafts_and_credit_notes_are_not_reminded(studio, owner):
    client = ClientFactory(language="en")
    with time_machine.travel(DAY0, tick=False):
        invoice = issued(owner, client=client, net_days=7)
        services.create_credit_note(actor=owner, invoice=invoice)  # a draft
        paid = issued(owner, client=client, net_days=0)
        services.record_payment(actor=owner, invoice=paid, amount="1000.00", method="bank_transfer")
        draft(owner, client=client, net_days=7)
    with time_machine.travel(at(8), tick=False):
        due = list(invoice_reminders.invoices_overdue(now=at(8), offsets=(1, 7, 14)))
    assert [d.object_id for d in due] == [invoice.pk]
    assert Invoice.objects.count() == 4


# --- The owner's settings -----------------------------------------------------------------


def test_the_settings_page_lists_the_invoice_kinds_with_their_defaults(owner_http):
    html = owner_http.get(reverse("reminder-settings")).content.decode()
    assert "Invoice due soon" in html
    assert "Invoice overdue" in html
    assert "Invoice overdue (tell the studio)" in html
    assert 'name="invoice_due_soon__offsets"' in html
    assert 'value="14, 7, 1"' in html


def test_offsets_set_by_the_owner_are_honoured(
    studio, owner, owner_http, django_capture_on_commit_callbacks
):
    response = owner_http.post(
        reverse("reminder-settings"),
        all_kinds_form(
            invoice_due_soon__offsets="5, 1",
            invoice_overdue__offsets="2, 5",
            invoice_overdue_studio__offsets="10",
        ),
    )
    assert response.status_code == 302
    invoice = issue(owner, django_capture_on_commit_callbacks)

    sent = live(range(22), django_capture_on_commit_callbacks)

    assert [(day, subject.split(":")[0]) for day, subject in sent] == [
        (2, "Reminder"),
        (6, "Reminder"),
        (9, "Overdue"),
        (12, "Overdue"),
    ]
    assert list(
        Reminder.objects.filter(kind="invoice.overdue_studio").values_list("stage", flat=True)
    ) == [f"10d-after@{invoice.due_date:%Y%m%d}"]


def test_a_kind_switched_off_sends_nothing(
    studio, owner, owner_http, django_capture_on_commit_callbacks
):
    data = all_kinds_form()
    data.pop("invoice_overdue__enabled")
    assert owner_http.post(reverse("reminder-settings"), data).status_code == 302
    issue(owner, django_capture_on_commit_callbacks)

    sent = live(range(22), django_capture_on_commit_callbacks)

    assert [day for day, _subject in sent] == [4]
    assert Notification.objects.filter(user=owner).count() == 3


def test_stage_helpers_on_calendar_days():
    due = dt.date(2026, 6, 8)
    stage = invoice_reminders.due_soon_stage
    assert stage(due_date=due, issue_date=None, offsets=(3,), today=dt.date(2026, 6, 4)) is None
    assert stage(due_date=due, issue_date=None, offsets=(3,), today=dt.date(2026, 6, 5)) == (
        3,
        dt.date(2026, 6, 5),
    )
    assert stage(due_date=due, issue_date=None, offsets=(3,), today=due) is None
    after = invoice_reminders.overdue_stage
    assert after(due_date=due, offsets=(1, 7, 14), today=dt.date(2026, 6, 20)) == (
        7,
        dt.date(2026, 6, 15),
    )
    assert after(due_date=due, offsets=(1, 7, 14), today=dt.date(2026, 6, 29)) == (
        14,
        dt.date(2026, 6, 22),
    )
    assert after(due_date=due, offsets=(1, 7, 14), today=dt.date(2026, 6, 30)) is None
