"""Rendering, storing and e-mailing invoices: jobs as rows, claimed once, idempotent,
found again by the sweeps."""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal

import pytest
from django.core import mail
from django.core.files.storage import default_storage
from django.utils import timezone

from billing import delivery, services, tasks
from billing.models import Invoice, InvoiceEmail, InvoiceEvent, InvoicePdfJob
from orders import portal
from tests.billing.helpers import draft, issued, line, order_for
from tests.factories import ClientFactory

D = Decimal
KEY = "send-key-0001"
pytestmark = pytest.mark.django_db


@pytest.fixture
def enqueued(monkeypatch):
    """Record the tasks sent to the broker instead of running them."""
    sent: list[tuple[str, int]] = []
    monkeypatch.setattr(
        tasks.render_invoice_pdf, "apply_async", lambda args, **kw: sent.append(("pdf", *args))
    )
    monkeypatch.setattr(
        tasks.send_invoice_email, "apply_async", lambda args, **kw: sent.append(("email", *args))
    )
    return sent


def stored_files() -> list[str]:
    try:
        _dirs, files = default_storage.listdir("billing/invoices/" + str(timezone.now().year))
    except FileNotFoundError:
        return []
    return files


def test_issue_queues_the_render_only_after_commit(
    owner, enqueued, django_capture_on_commit_callbacks
):
    invoice = draft(owner)

    with django_capture_on_commit_callbacks() as callbacks:
        services.issue_invoice(actor=owner, invoice=invoice)
        assert enqueued == []

    for callback in callbacks:
        callback()
    job = InvoicePdfJob.objects.get(invoice=invoice)
    assert enqueued == [("pdf", job.pk)]


def test_a_broker_outage_does_not_break_issuing(
    owner, monkeypatch, django_capture_on_commit_callbacks
):
    def down(args, **options):
        raise ConnectionError("redis is down")

    monkeypatch.setattr(tasks.render_invoice_pdf, "apply_async", down)
    invoice = draft(owner)

    with django_capture_on_commit_callbacks(execute=True):
        services.issue_invoice(actor=owner, invoice=invoice)

    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.ISSUED
    assert InvoicePdfJob.objects.get(invoice=invoice).state == InvoicePdfJob.State.PENDING


def test_the_task_renders_and_stores_the_pdf_once_with_its_sha256(
    owner, django_capture_on_commit_callbacks
):
    invoice = draft(owner)
    with django_capture_on_commit_callbacks(execute=True):
        services.issue_invoice(actor=owner, invoice=invoice)

    invoice.refresh_from_db()
    assert invoice.pdf_ready
    with invoice.pdf.open("rb") as handle:
        data = handle.read()
    assert data.startswith(b"%PDF-")
    assert invoice.pdf_sha256 == hashlib.sha256(data).hexdigest()
    assert invoice.pdf_size == len(data)
    job = InvoicePdfJob.objects.get(invoice=invoice)
    assert (job.state, job.attempts) == (InvoicePdfJob.State.DONE, 1)
    assert invoice.events.filter(kind=InvoiceEvent.Kind.PDF_READY).count() == 1

    # A second delivery of the same message (acks_late redelivery) does nothing.
    assert tasks.render_invoice_pdf(job.pk) is False
    InvoicePdfJob.objects.filter(pk=job.pk).update(state=InvoicePdfJob.State.PENDING)
    assert tasks.render_invoice_pdf(job.pk) is True
    invoice.refresh_from_db()
    assert invoice.pdf_sha256 == hashlib.sha256(data).hexdigest()
    assert len(stored_files()) == 1
    assert invoice.events.filter(kind=InvoiceEvent.Kind.PDF_READY).count() == 1


def test_a_job_claimed_by_another_worker_is_left_alone(owner, enqueued):
    invoice = issued(owner)
    job = InvoicePdfJob.objects.get(invoice=invoice)
    InvoicePdfJob.objects.filter(pk=job.pk).update(
        state=InvoicePdfJob.State.RUNNING, claimed_at=timezone.now()
    )

    assert delivery.render_invoice_pdf(job_id=job.pk) is False
    invoice.refresh_from_db()
    assert not invoice.pdf_ready


def test_a_failed_render_goes_back_to_pending_then_fails_for_good(owner, enqueued, monkeypatch):
    invoice = issued(owner)
    job = InvoicePdfJob.objects.get(invoice=invoice)

    def broken(*args, **kwargs):
        raise RuntimeError("pathological document")

    monkeypatch.setattr(delivery, "_render", broken)
    assert delivery.render_invoice_pdf(job_id=job.pk) is False
    job.refresh_from_db()
    assert (job.state, job.attempts) == (InvoicePdfJob.State.PENDING, 1)
    assert "pathological document" in job.last_error

    InvoicePdfJob.objects.filter(pk=job.pk).update(attempts=delivery.MAX_PDF_ATTEMPTS - 1)
    assert delivery.render_invoice_pdf(job_id=job.pk) is False
    job.refresh_from_db()
    assert job.state == InvoicePdfJob.State.FAILED
    assert invoice.events.filter(kind=InvoiceEvent.Kind.PDF_FAILED).count() == 1


def test_the_render_task_has_soft_and_hard_time_limits():
    assert tasks.render_invoice_pdf.soft_time_limit == 60
    assert tasks.render_invoice_pdf.time_limit == 90
    assert tasks.render_invoice_pdf.acks_late is True


def test_sweep_requeues_vanished_and_stuck_renders(owner, enqueued):
    fresh, lost, stuck, done = (issued(owner) for _ in range(4))
    long_ago = timezone.now() - dt.timedelta(minutes=30)
    InvoicePdfJob.objects.filter(invoice=lost).update(enqueued_at=long_ago)
    InvoicePdfJob.objects.filter(invoice=stuck).update(
        state=InvoicePdfJob.State.RUNNING, claimed_at=long_ago
    )
    InvoicePdfJob.objects.filter(invoice=done).update(
        state=InvoicePdfJob.State.DONE, enqueued_at=long_ago
    )
    enqueued.clear()

    assert tasks.sweep_invoice_pdfs() == 2

    jobs = {job.invoice_id: job for job in InvoicePdfJob.objects.all()}
    assert sorted(pk for _kind, pk in enqueued) == sorted([jobs[lost.pk].pk, jobs[stuck.pk].pk])
    assert jobs[stuck.pk].state == InvoicePdfJob.State.PENDING
    assert jobs[fresh.pk].state == InvoicePdfJob.State.PENDING
    # Enqueued once: a second sweep right away finds nothing stale.
    enqueued.clear()
    assert tasks.sweep_invoice_pdfs() == 0


# --- E-mail -------------------------------------------------------------------------------


@pytest.fixture
def sent_invoice(owner, studio_profile, django_capture_on_commit_callbacks):
    order = order_for(client=ClientFactory(language="en", email="jane@northwind.example"))
    with django_capture_on_commit_callbacks(execute=True):
        invoice = issued(owner, order=order, lines=[line(price="500")])
    invoice.refresh_from_db()
    return invoice


def test_send_mails_the_pdf_and_the_portal_link_and_records_it(
    owner, sent_invoice, django_capture_on_commit_callbacks
):
    invoice = sent_invoice
    with django_capture_on_commit_callbacks(execute=True):
        result = services.send_invoice(actor=owner, invoice=invoice, key=KEY)

    assert result.created
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["jane@northwind.example"]
    assert message.subject == f"Invoice {invoice.number} from Moonlight Frames"
    link = portal.active_link(invoice.order)
    assert portal.portal_path(link) in message.body
    name, content, mimetype = message.attachments[0]
    assert (name, mimetype) == (f"{invoice.number}.pdf", "application/pdf")
    assert hashlib.sha256(content).hexdigest() == invoice.pdf_sha256
    html, html_type = message.alternatives[0]
    assert html_type == "text/html"
    assert invoice.number in html
    email = InvoiceEmail.objects.get()
    assert (email.state, email.to) == (InvoiceEmail.State.SENT, "jane@northwind.example")
    invoice.refresh_from_db()
    assert invoice.sent_at is not None
    assert invoice.events.filter(kind=InvoiceEvent.Kind.SENT).count() == 1
    assert invoice.order.events.filter(message__startswith=f"Sent {invoice.number}").count() == 1


def test_sending_twice_in_a_row_sends_once(owner, sent_invoice, django_capture_on_commit_callbacks):
    invoice = sent_invoice
    with django_capture_on_commit_callbacks(execute=True):
        first = services.send_invoice(actor=owner, invoice=invoice, key=KEY)
        same_form = services.send_invoice(actor=owner, invoice=invoice, key=KEY)
        other_click = services.send_invoice(actor=owner, invoice=invoice, key="another-key-02")

    assert (first.created, same_form.created, other_click.created) == (True, False, False)
    assert len(mail.outbox) == 1
    assert InvoiceEmail.objects.count() == 1


def test_a_later_send_or_another_address_sends_again(
    owner, sent_invoice, django_capture_on_commit_callbacks
):
    invoice = sent_invoice
    with django_capture_on_commit_callbacks(execute=True):
        services.send_invoice(actor=owner, invoice=invoice, key=KEY)
        services.send_invoice(
            actor=owner, invoice=invoice, key="key-accounts", to="ap@northwind.example"
        )
    InvoiceEmail.objects.update(created_at=timezone.now() - dt.timedelta(minutes=10))
    with django_capture_on_commit_callbacks(execute=True):
        services.send_invoice(actor=owner, invoice=invoice, key="key-reminder")

    assert [m.to for m in mail.outbox] == [
        ["jane@northwind.example"],
        ["ap@northwind.example"],
        ["jane@northwind.example"],
    ]


def test_the_email_is_in_the_clients_language(
    owner, studio_profile, django_capture_on_commit_callbacks
):
    order = order_for(client=ClientFactory(language="zh-hans", email="li@xinghe.example"))
    with django_capture_on_commit_callbacks(execute=True):
        invoice = issued(owner, order=order)
        services.send_invoice(actor=owner, invoice=invoice, key=KEY)

    from django.utils import translation

    with translation.override("zh-hans"):
        expected = translation.gettext("Invoice %(number)s from %(studio)s")
    if expected != "Invoice %(number)s from %(studio)s":
        assert mail.outbox[0].subject == expected % {
            "number": invoice.number,
            "studio": "Moonlight Frames",
        }


def test_send_renders_the_pdf_itself_when_no_worker_has_yet(owner, enqueued, studio_profile):
    invoice = issued(owner, client=ClientFactory(email="x@example.com"))
    email = InvoiceEmail.objects.create(invoice=invoice, key=KEY, to="x@example.com")

    assert delivery.send_invoice_email(email_id=email.pk) is True

    invoice.refresh_from_db()
    assert invoice.pdf_ready
    assert len(mail.outbox) == 1
    assert InvoicePdfJob.objects.get(invoice=invoice).state == InvoicePdfJob.State.DONE


@pytest.mark.parametrize("state", ["draft", "void"])
def test_drafts_and_void_invoices_are_not_sent(owner, state):
    invoice = draft(owner, client=ClientFactory(email="x@example.com"))
    if state == "void":
        invoice = services.issue_invoice(actor=owner, invoice=invoice)
        services.void_invoice(actor=owner, invoice=invoice, reason="x")
    from studio.errors import Conflict

    with pytest.raises(Conflict):
        services.send_invoice(actor=owner, invoice=invoice, key=KEY)
    assert not InvoiceEmail.objects.exists()


def test_a_client_without_email_needs_an_address(owner):
    from studio.errors import InvalidInput

    invoice = issued(owner, client=ClientFactory(email=""))
    with pytest.raises(InvalidInput) as caught:
        services.send_invoice(actor=owner, invoice=invoice, key=KEY)
    assert "to" in caught.value.fields
    with pytest.raises(InvalidInput):
        services.send_invoice(actor=owner, invoice=invoice, key=KEY, to="not an address")
    assert not InvoiceEmail.objects.exists()


def test_a_failed_send_goes_back_to_the_queue_and_is_retried(owner, enqueued, monkeypatch):
    invoice = issued(owner, client=ClientFactory(email="x@example.com"))
    email = InvoiceEmail.objects.create(invoice=invoice, key=KEY, to="x@example.com")

    def refuse(self, *args, **kwargs):
        raise ConnectionRefusedError("SMTP down")

    monkeypatch.setattr("django.core.mail.EmailMultiAlternatives.send", refuse)
    with pytest.raises(ConnectionRefusedError):
        delivery.send_invoice_email(email_id=email.pk)

    email.refresh_from_db()
    assert (email.state, email.attempts) == (InvoiceEmail.State.QUEUED, 1)
    monkeypatch.undo()
    assert delivery.send_invoice_email(email_id=email.pk) is True
    assert len(mail.outbox) == 1
    assert delivery.send_invoice_email(email_id=email.pk) is False
    assert len(mail.outbox) == 1


def test_email_sweep_requeues_queued_and_fails_stuck_sends(owner, enqueued):
    invoice = issued(owner, client=ClientFactory(email="x@example.com"))
    long_ago = timezone.now() - dt.timedelta(hours=1)
    queued = InvoiceEmail.objects.create(
        invoice=invoice, key="k-queued-1", to="x@example.com", created_at=long_ago
    )
    stuck = InvoiceEmail.objects.create(
        invoice=invoice,
        key="k-stuck-01",
        to="x@example.com",
        state=InvoiceEmail.State.SENDING,
        claimed_at=long_ago,
        created_at=long_ago,
    )
    enqueued.clear()

    assert tasks.sweep_invoice_emails() == 1

    assert enqueued == [("email", queued.pk)]
    stuck.refresh_from_db()
    assert stuck.state == InvoiceEmail.State.FAILED
    assert invoice.events.filter(kind=InvoiceEvent.Kind.SEND_FAILED).count() == 1
