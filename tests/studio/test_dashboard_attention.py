"""The dashboard's "Needs attention" panel: failed background work, to who may act on it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from billing.models import Invoice, InvoiceEmail, InvoiceEvent, InvoicePdfJob
from studio.models import Notification, Reminder, WebhookDelivery, WebhookEndpoint
from tests.billing.helpers import issued

pytestmark = pytest.mark.django_db


def endpoint(n: int = 0) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(
        url=f"https://hooks.example.com/{n}", secret="whsec_test", events=["order.created"]
    )


def failed_delivery(ep: WebhookEndpoint, n: int = 0) -> WebhookDelivery:
    return WebhookDelivery.objects.create(
        endpoint=ep,
        event_id=f"msg_{ep.pk}_{n}",
        event_type="order.created",
        body="{}",
        state=WebhookDelivery.State.FAILED,
    )


def failed_pdf(owner) -> Invoice:
    invoice = issued(owner)
    InvoicePdfJob.objects.filter(invoice=invoice).update(state=InvoicePdfJob.State.FAILED)
    return invoice


def late_pdf(owner) -> Invoice:
    invoice = issued(owner)  # its render never ran
    InvoiceEvent.objects.filter(invoice=invoice).update(
        created_at=timezone.now() - dt.timedelta(minutes=11)
    )
    return invoice


def failed_email(invoice: Invoice, key: str = "k-0001") -> InvoiceEmail:
    return InvoiceEmail.objects.create(
        invoice=invoice, key=key, to="a@example.com", state=InvoiceEmail.State.FAILED
    )


def failed_reminder(kind: str, n: int = 1) -> Reminder:
    return Reminder.objects.create(
        kind=kind, object_id=n, stage="1d-after@x", due_at=timezone.now(), state="failed"
    )


def failed_notification(user) -> Notification:
    return Notification.objects.create(
        user=user, kind="x", title="x", email_state=Notification.EmailState.FAILED
    )


def everything_failed(owner) -> None:
    failed_delivery(endpoint())
    failed_pdf(owner)
    failed_email(issued(owner))
    failed_reminder("invoice.overdue")
    failed_reminder("order.overdue")
    failed_notification(owner)


def attention(response) -> dict[str, tuple[int, str]]:
    return {item.key: (item.count, item.url) for item in response.context["attention"]}


def test_the_owner_sees_every_kind_of_failure_with_counts_and_links(owner, owner_http):
    everything_failed(owner)

    response = owner_http.get(reverse("dashboard"))

    found = attention(response)
    assert set(found) == {"webhooks", "pdfs", "invoice_emails", "reminders", "notification_emails"}
    ep = WebhookEndpoint.objects.get()
    assert found["webhooks"] == (1, reverse("webhook-detail", args=[ep.pk]) + "?state=failed")
    pdf_invoice = InvoicePdfJob.objects.get(state="failed").invoice_id
    assert found["pdfs"][0] == 1
    assert found["pdfs"][1] == reverse("invoice-detail", args=[pdf_invoice])
    assert found["reminders"] == (2, reverse("reminder-settings"))
    assert found["notification_emails"] == (1, reverse("team"))
    body = response.content.decode()
    assert "Needs attention" in body
    assert "1 webhook delivery failed" in body
    assert "2 reminders could not be sent in the last 7 days" in body
    assert "1 invoice could not be e-mailed" in body


def test_a_producer_sees_only_the_money_side(owner, producer_http):
    everything_failed(owner)

    found = attention(producer_http.get(reverse("dashboard")))

    assert set(found) == {"pdfs", "invoice_emails", "reminders"}
    assert found["reminders"] == (1, reverse("invoice-list"))


def test_an_artist_sees_no_panel(owner, artist_http):
    everything_failed(owner)

    response = artist_http.get(reverse("dashboard"))

    assert response.context["attention"] == []
    assert "Needs attention" not in response.content.decode()


def test_nothing_failed_shows_no_panel(owner, owner_http):
    issued(owner)  # its PDF is still being made: not late yet
    response = owner_http.get(reverse("dashboard"))
    assert response.context["attention"] == []
    assert "Needs attention" not in response.content.decode()


def test_an_issued_invoice_without_its_pdf_after_ten_minutes_counts(owner, owner_http):
    invoice = late_pdf(owner)
    found = attention(owner_http.get(reverse("dashboard")))
    assert found["pdfs"] == (1, reverse("invoice-detail", args=[invoice.pk]))


def test_an_e_mail_sent_again_successfully_clears_its_failure(owner, owner_http):
    invoice = issued(owner)
    failed_email(invoice)
    InvoiceEmail.objects.create(
        invoice=invoice, key="k-0002", to="a@example.com", state=InvoiceEmail.State.SENT
    )
    assert "invoice_emails" not in attention(owner_http.get(reverse("dashboard")))


def test_old_failed_reminders_and_e_mails_drop_off_after_a_week(owner, owner_http):
    failed_reminder("order.overdue")
    failed_notification(owner)
    week_ago = timezone.now() - dt.timedelta(days=8)
    Reminder.objects.update(created_at=week_ago)
    Notification.objects.update(created_at=week_ago)
    assert attention(owner_http.get(reverse("dashboard"))) == {}


def test_failures_at_several_endpoints_link_to_the_list(owner_http):
    failed_delivery(endpoint(1))
    failed_delivery(endpoint(2))
    found = attention(owner_http.get(reverse("dashboard")))
    assert found["webhooks"] == (2, reverse("webhook-list"))


def _many_failures(owner, n: int, start: int = 0) -> None:
    ep = endpoint(start)
    for i in range(start, start + n):
        failed_delivery(ep, i)
        failed_reminder("invoice.overdue", i)
        failed_notification(owner)
    for i in range(max(1, n // 5)):
        failed_email(failed_pdf(owner), key=f"k-{start}-{i}")


@pytest.mark.parametrize("persona", ["owner", "producer"])
def test_the_panel_keeps_the_dashboard_query_count_flat(
    request, owner, persona, django_assert_max_num_queries
):
    http = request.getfixturevalue(f"{persona}_http")
    _many_failures(owner, 3)
    http.get(reverse("dashboard"))  # fills the cached business snapshot (studio/dashboard.py)
    with CaptureQueriesContext(connection) as small:
        assert http.get(reverse("dashboard")).status_code == 200
    _many_failures(owner, 40, start=100)
    http.get(reverse("dashboard"))  # new invoices invalidated it: fill it again

    with django_assert_max_num_queries(17):
        response = http.get(reverse("dashboard"))

    assert response.status_code == 200
    with CaptureQueriesContext(connection) as large:
        http.get(reverse("dashboard"))
    assert len(large) == len(small)


def test_the_whole_panel_is_one_query(owner, producer):
    from studio import roles
    from studio.attention import needs_attention

    _many_failures(owner, 5)
    for user in (owner, producer):
        roles.role_of(user)  # read with the user on a request (studio.auth_backends)
        with CaptureQueriesContext(connection) as seen:
            lines = needs_attention(user)
        assert len(seen) == 1
        assert lines  # the failures are there, read by that one query
