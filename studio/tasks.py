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
