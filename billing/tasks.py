"""Thin Celery tasks: ids in, one call into billing.delivery.

Beat entries the settings need (the sweeps find jobs whose message vanished):

    "sweep-invoice-pdfs": {"task": "billing.tasks.sweep_invoice_pdfs",
                           "schedule": 120.0, "options": {"expires": 110}},
    "sweep-invoice-emails": {"task": "billing.tasks.sweep_invoice_emails",
                             "schedule": 120.0, "options": {"expires": 110}},
    "recompute-margins": {"task": "billing.tasks.recompute_margins",
                          "schedule": 300.0, "options": {"expires": 290}},
"""

from __future__ import annotations

import gc
import logging
import smtplib
from typing import Any

from celery import shared_task
from celery.signals import worker_process_init

from billing import delivery

log = logging.getLogger(__name__)

# A pathological document must not hang a worker: the soft limit raises inside the
# render (the job goes back to pending, or failed after five attempts), the hard limit
# kills the process (acks_late + reject_on_worker_lost redeliver; the sweep also finds it).
RENDER_SOFT_LIMIT = 60
RENDER_HARD_LIMIT = 90


@worker_process_init.connect
def _warm_up_pdf_renderer(**kwargs: Any) -> None:
    """Each worker process loads WeasyPrint and the fonts before its first invoice, then
    moves everything it holds so far (Django, WeasyPrint, fonts) out of the garbage
    collector's reach: a render allocates millions of short-lived objects, and full
    collections that rescan the long-lived ones made one render in ten take twice as long
    (measured by bench/pdf.py)."""
    from billing import pdf

    try:
        pdf.warm_up()
    except Exception:  # a worker that cannot warm up still serves other tasks
        log.warning("PDF warm-up failed", exc_info=True)
    gc.collect()
    gc.freeze()


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=RENDER_SOFT_LIMIT,
    time_limit=RENDER_HARD_LIMIT,
)
def render_invoice_pdf(job_id: int) -> bool:
    return delivery.render_invoice_pdf(job_id=job_id)


@shared_task(
    acks_late=True,
    soft_time_limit=RENDER_SOFT_LIMIT + 30,
    time_limit=RENDER_HARD_LIMIT + 30,
    autoretry_for=(ConnectionError, TimeoutError, OSError, smtplib.SMTPException),
    retry_backoff=True,
    max_retries=4,
)
def send_invoice_email(email_id: int) -> bool:
    return delivery.send_invoice_email(email_id=email_id)


@shared_task(acks_late=True)
def sweep_invoice_pdfs() -> int:
    """Re-enqueue PDF renders whose message vanished or whose worker died."""
    return len(delivery.sweep_pdf_jobs())


@shared_task(acks_late=True)
def sweep_invoice_emails() -> int:
    """Re-enqueue invoice e-mails whose message vanished."""
    return len(delivery.sweep_invoice_emails())


@shared_task(acks_late=True, soft_time_limit=300, time_limit=360)
def book_subscription_renewals(subscription_id: int | None = None) -> int:
    """Book the tool subscriptions' due renewals (all, or one plan's). Idempotent, so
    beat runs it hourly: a catch-up after downtime books each missed renewal once."""
    from billing.models.invoices import today_in_studio
    from billing.services import subscriptions

    if subscription_id is None:
        return subscriptions.book_due_renewals()
    return subscriptions.book_renewals_of(subscription_id=subscription_id, today=today_in_studio())


@shared_task(acks_late=True, soft_time_limit=600, time_limit=660)
def recompute_margins(force: bool = False) -> int:
    """Recompute the stored margin rows if they are stale (the doorbell of every change
    and, every five minutes, the safety net). Claims first, so concurrent runs are
    no-ops; returns how many recomputes ran."""
    from billing.services import margins

    return margins.refresh(force=force)
