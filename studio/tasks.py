"""Studio-level periodic tasks."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from studio.models import Heartbeat


@shared_task(acks_late=True)
def heartbeat() -> str:
    """Record that a worker consumed a task now (read by /healthz)."""
    now = timezone.now()
    Heartbeat.objects.update_or_create(name="worker", defaults={"beat_at": now})
    return now.isoformat()


@shared_task(
    acks_late=True,
    autoretry_for=(ConnectionError, TimeoutError, OSError),
    retry_backoff=True,
    max_retries=5,
)
def email_notification(notification_id: int) -> bool:
    from studio.notifications import email_notification as send

    return send(notification_id=notification_id)


@shared_task(acks_late=True)
def sweep_notification_emails() -> int:
    """Re-enqueue notification e-mails whose job vanished."""
    import datetime as dt

    from studio.notifications import unsent_email_ids

    ids = unsent_email_ids(older_than=dt.timedelta(minutes=10))
    for pk in ids:
        email_notification.delay(pk)
    return len(ids)
