"""Thin Celery tasks: ids in, one service call."""

from __future__ import annotations

import datetime as dt

from celery import shared_task
from django.utils import timezone

from orders import services
from orders.models import Deliverable
from studio.tasks import enqueue_many


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=120, time_limit=180)
def fingerprint_deliverable(deliverable_id: int) -> str | None:
    return services.fingerprint_deliverable(deliverable_id=deliverable_id)


@shared_task(acks_late=True)
def sweep_deliverable_fingerprints() -> int:
    """Re-enqueue files whose fingerprint job vanished (older than ten minutes)."""
    cutoff = timezone.now() - dt.timedelta(minutes=10)
    ids = list(
        Deliverable.objects.filter(
            kind=Deliverable.Kind.FILE, sha256="", created_at__lt=cutoff
        ).values_list("pk", flat=True)[:500]
    )
    enqueue_many(fingerprint_deliverable, ids)
    return len(ids)
