"""Getting invoices to clients: rendering and storing the PDF, and e-mailing it.

Both are jobs written as rows by billing.services in the transaction that needs them
(InvoicePdfJob at issue, InvoiceEmail at send) and enqueued on commit. The Celery tasks
in billing.tasks call the functions here, which claim the row with a conditional update
(so two workers never do the same job), are idempotent on it, and leave it in a state
the sweeps (also here) can pick up if a message vanished or a worker died.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from billing.models import Invoice, InvoiceEmail, InvoiceEvent, InvoicePdfJob
from orders import portal
from orders.services import record_event

log = logging.getLogger(__name__)

MAX_PDF_ATTEMPTS = 5
MAX_EMAIL_ATTEMPTS = 5
PENDING_GRACE = dt.timedelta(minutes=2)
# Longer than the render task's hard time limit: a job running longer lost its worker.
RUNNING_TIMEOUT = dt.timedelta(minutes=5)
SENDING_TIMEOUT = dt.timedelta(minutes=15)


# --- Enqueueing (after commit; the broker must never break or block the request) ----------


def enqueue_pdf(job_id: int) -> None:
    """Hand the render to the broker off the request thread (studio.tasks.dispatch; the
    callers run after their commit): a paused or dead broker never holds the caller,
    and the sweep re-enqueues a lost one."""
    from billing import tasks
    from studio.tasks import dispatch

    dispatch(tasks.render_invoice_pdf, job_id)


def enqueue_email(email_id: int) -> None:
    """Like enqueue_pdf, for an invoice e-mail."""
    from billing import tasks
    from studio.tasks import dispatch

    dispatch(tasks.send_invoice_email, email_id)


# --- The PDF ------------------------------------------------------------------------------


def portal_url(invoice: Invoice) -> str:
    """The absolute address of the client's order page, or "" (no order, or link off)."""
    if invoice.order is None:
        return ""
    link = portal.active_link(invoice.order)
    if link is None:
        return ""
    return settings.SITE_URL.rstrip("/") + portal.portal_path(link)


def render_invoice_pdf(*, job_id: int) -> bool:
    """Claim the job, render the invoice's PDF and store it once. Idempotent: returns
    False when the job is not pending (done, or claimed by another worker) or gone."""
    now = timezone.now()
    claimed = InvoicePdfJob.objects.filter(pk=job_id, state=InvoicePdfJob.State.PENDING).update(
        state=InvoicePdfJob.State.RUNNING, claimed_at=now, attempts=F("attempts") + 1
    )
    if claimed != 1:
        return False
    job = InvoicePdfJob.objects.select_related("invoice").get(pk=job_id)
    invoice = job.invoice
    if invoice.pdf_ready:
        _finish_job(job_id)
        return True
    try:
        data = _render(invoice)
    except BaseException as exc:  # includes Celery's SoftTimeLimitExceeded
        _job_failed(job, exc)
        if not isinstance(exc, Exception):
            raise
        log.exception("rendering the PDF of invoice %s failed", invoice.pk)
        return False
    store_pdf(invoice=invoice, data=data)
    _finish_job(job_id)
    return True


def _render(invoice: Invoice) -> bytes:
    from billing import pdf

    return pdf.render_invoice(invoice, portal_url=portal_url(invoice))


def _finish_job(job_id: int) -> None:
    InvoicePdfJob.objects.filter(pk=job_id).update(
        state=InvoicePdfJob.State.DONE, finished_at=timezone.now(), last_error=""
    )


def _job_failed(job: InvoicePdfJob, exc: BaseException) -> None:
    attempts = job.attempts
    final = attempts >= MAX_PDF_ATTEMPTS
    InvoicePdfJob.objects.filter(pk=job.pk, state=InvoicePdfJob.State.RUNNING).update(
        state=InvoicePdfJob.State.FAILED if final else InvoicePdfJob.State.PENDING,
        enqueued_at=timezone.now(),
        last_error=f"{exc.__class__.__name__}: {exc}"[:2000],
    )
    if final:
        InvoiceEvent.objects.create(
            invoice_id=job.invoice_id,
            kind=InvoiceEvent.Kind.PDF_FAILED,
            message=_("The PDF could not be made after %(n)s attempts.") % {"n": attempts},
        )


def store_pdf(*, invoice: Invoice, data: bytes) -> Invoice:
    """Store the rendered PDF with its SHA-256, unless the invoice already has one (a
    second render of the same job loses quietly: the first stored file stays)."""
    digest = hashlib.sha256(data).hexdigest()
    with transaction.atomic():
        locked = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if locked.pdf_ready:
            return locked
        year = locked.year or timezone.now().year
        name = f"billing/invoices/{year}/{locked.number or locked.pk}-{digest[:12]}.pdf"
        saved = default_storage.save(name, ContentFile(data))
        locked.pdf.name = saved
        locked.pdf_sha256 = digest
        locked.pdf_size = len(data)
        locked.pdf_rendered_at = timezone.now()
        locked.save(
            update_fields=["pdf", "pdf_sha256", "pdf_size", "pdf_rendered_at", "updated_at"]
        )
        InvoiceEvent.objects.create(
            invoice=locked,
            kind=InvoiceEvent.Kind.PDF_READY,
            data={"sha256": digest, "size": len(data)},
        )
    invoice.pdf = locked.pdf
    invoice.pdf_sha256 = locked.pdf_sha256
    invoice.pdf_size = locked.pdf_size
    invoice.pdf_rendered_at = locked.pdf_rendered_at
    return locked


def ensure_pdf(invoice: Invoice) -> bytes:
    """The stored PDF's bytes, rendering and storing it now if no worker has yet."""
    if not invoice.pdf_ready:
        invoice.refresh_from_db()
    if not invoice.pdf_ready:
        store_pdf(invoice=invoice, data=_render(invoice))
        InvoicePdfJob.objects.filter(invoice=invoice).exclude(
            state=InvoicePdfJob.State.DONE
        ).update(state=InvoicePdfJob.State.DONE, finished_at=timezone.now())
    with invoice.pdf.open("rb") as handle:
        return handle.read()


def retry_pdf(*, actor: Any, invoice: Invoice) -> bool:
    """Queue a failed render again (owners and producers). Idempotent: False when the
    PDF is ready or its job is not failed."""
    from billing.services.common import require_business

    require_business(actor)
    with transaction.atomic():
        changed = InvoicePdfJob.objects.filter(
            invoice=invoice, state=InvoicePdfJob.State.FAILED
        ).update(state=InvoicePdfJob.State.PENDING, attempts=0, enqueued_at=timezone.now())
        if changed:
            job_id = InvoicePdfJob.objects.get(invoice=invoice).pk
            transaction.on_commit(lambda: enqueue_pdf(job_id))
    return changed == 1


def sweep_pdf_jobs() -> list[int]:
    """Re-enqueue renders whose message vanished (pending for a while) or whose worker
    died (running past the hard time limit). Returns the job ids enqueued."""
    now = timezone.now()
    stale = list(
        InvoicePdfJob.objects.filter(
            state=InvoicePdfJob.State.PENDING, enqueued_at__lt=now - PENDING_GRACE
        ).values_list("pk", flat=True)[:200]
    )
    stuck = list(
        InvoicePdfJob.objects.filter(
            state=InvoicePdfJob.State.RUNNING, claimed_at__lt=now - RUNNING_TIMEOUT
        ).values_list("pk", flat=True)[:200]
    )
    enqueued: list[int] = []
    for pk in stale:
        if InvoicePdfJob.objects.filter(
            pk=pk, state=InvoicePdfJob.State.PENDING, enqueued_at__lt=now - PENDING_GRACE
        ).update(enqueued_at=now):
            enqueued.append(pk)
    for pk in stuck:
        if InvoicePdfJob.objects.filter(
            pk=pk, state=InvoicePdfJob.State.RUNNING, claimed_at__lt=now - RUNNING_TIMEOUT
        ).update(state=InvoicePdfJob.State.PENDING, enqueued_at=now):
            enqueued.append(pk)
    for pk in enqueued:
        enqueue_pdf(pk)
    return enqueued


# --- The e-mail ---------------------------------------------------------------------------


def build_invoice_email(email: InvoiceEmail, pdf_bytes: bytes) -> EmailMultiAlternatives:
    """The message in the client's language: subject, text and HTML body, PDF attached."""
    return invoice_message(email.invoice, to=email.to, template="invoice", pdf_bytes=pdf_bytes)


def invoice_message(
    invoice: Invoice,
    *,
    to: str,
    template: str,
    pdf_bytes: bytes | None,
    extra: dict[str, Any] | None = None,
) -> EmailMultiAlternatives:
    """An e-mail about the invoice in its language, from emails/<template>_subject.txt,
    _body.txt and _body.html (the PDF's context, the portal link, `extra`), replying to
    the studio, with the PDF attached when given. Shared by sending and reminders."""
    from billing.pdf import document_context

    with translation.override(invoice.language):
        context = {
            **document_context(invoice, portal_url=portal_url(invoice)),
            "recipient": to,
            "pdf_attached": pdf_bytes is not None,
            **(extra or {}),
        }
        subject = " ".join(render_to_string(f"emails/{template}_subject.txt", context).split())
        text = render_to_string(f"emails/{template}_body.txt", context)
        html = render_to_string(f"emails/{template}_body.html", context)
    reply_to = [invoice.seller.get("email")] if invoice.seller.get("email") else None
    message = EmailMultiAlternatives(subject=subject, body=text, to=[to], reply_to=reply_to)
    message.attach_alternative(html, "text/html")
    if pdf_bytes is not None:
        message.attach(invoice.pdf_filename(), pdf_bytes, "application/pdf")
    return message


def send_invoice_email(*, email_id: int) -> bool:
    """Send one queued invoice e-mail. Claims the row first; returns False if it was sent
    (or claimed) already or is gone. On a failure the row goes back to the queue (after
    MAX_EMAIL_ATTEMPTS it is marked failed) and the error is raised for the task to retry."""
    now = timezone.now()
    claimed = InvoiceEmail.objects.filter(pk=email_id, state=InvoiceEmail.State.QUEUED).update(
        state=InvoiceEmail.State.SENDING, claimed_at=now, attempts=F("attempts") + 1
    )
    if claimed != 1:
        return False
    email = InvoiceEmail.objects.select_related("invoice", "invoice__order", "requested_by").get(
        pk=email_id
    )
    invoice = email.invoice
    try:
        message = build_invoice_email(email, ensure_pdf(invoice))
        message.send()
    except Exception as exc:
        final = email.attempts >= MAX_EMAIL_ATTEMPTS
        InvoiceEmail.objects.filter(pk=email_id, state=InvoiceEmail.State.SENDING).update(
            state=InvoiceEmail.State.FAILED if final else InvoiceEmail.State.QUEUED,
            last_error=f"{exc.__class__.__name__}: {exc}"[:2000],
        )
        if final:
            InvoiceEvent.objects.create(
                invoice=invoice,
                kind=InvoiceEvent.Kind.SEND_FAILED,
                message=_("The e-mail to %(to)s could not be sent.") % {"to": email.to},
            )
        raise
    sent_at = timezone.now()
    with transaction.atomic():
        InvoiceEmail.objects.filter(pk=email_id).update(
            state=InvoiceEmail.State.SENT, sent_at=sent_at, last_error=""
        )
        Invoice.objects.filter(pk=invoice.pk).update(sent_at=sent_at)
        actor = email.requested_by
        label = _("Sent %(number)s to %(to)s.") % {"number": invoice.number, "to": email.to}
        InvoiceEvent.objects.create(
            invoice=invoice,
            kind=InvoiceEvent.Kind.SENT,
            actor=actor,
            actor_label=(actor.get_full_name() or actor.get_username())[:120] if actor else "",
            message=label,
            data={"to": email.to, "email": email.pk},
        )
        if invoice.order is not None:
            from billing.services import ORDER_EVENT_KIND

            record_event(
                order=invoice.order,
                kind=ORDER_EVENT_KIND,
                actor=actor,
                message=label,
                public=False,
                data={"invoice": invoice.pk, "number": invoice.number, "to": email.to},
            )
    return True


def sweep_invoice_emails() -> list[int]:
    """Re-enqueue e-mails queued for a while (their message vanished). An e-mail stuck in
    "sending" (its worker died mid-send) is marked failed rather than sent again, since
    it may have gone out: the invoice's history says to check and send again."""
    now = timezone.now()
    queued = list(
        InvoiceEmail.objects.filter(
            state=InvoiceEmail.State.QUEUED, created_at__lt=now - PENDING_GRACE
        ).values_list("pk", flat=True)[:200]
    )
    for pk in queued:
        enqueue_email(pk)
    stuck = InvoiceEmail.objects.filter(
        state=InvoiceEmail.State.SENDING, claimed_at__lt=now - SENDING_TIMEOUT
    ).select_related("invoice")[:200]
    for email in stuck:
        if InvoiceEmail.objects.filter(pk=email.pk, state=InvoiceEmail.State.SENDING).update(
            state=InvoiceEmail.State.FAILED, last_error="worker lost while sending"
        ):
            InvoiceEvent.objects.create(
                invoice=email.invoice,
                kind=InvoiceEvent.Kind.SEND_FAILED,
                message=_(
                    "The e-mail to %(to)s may not have been sent (the worker stopped). "
                    "Check with the client and send it again if needed."
                )
                % {"to": email.to},
            )
    return queued
