"""GET /healthz: is the database reachable, is the broker reachable, is a worker alive,
are jobs being consumed.

`jobs` tells whether workers keep up: the age of the oldest job that is waiting (a
notification e-mail, a reminder, a webhook delivery whose turn has come) — a worker
that stopped consuming makes it grow while the heartbeat may still look fine for a few
minutes — and how many webhook deliveries, reminders and e-mails failed for good.
Neither makes the check fail (503 is kept for the database and the broker), so a load
balancer does not take the web servers out because of a slow worker; monitoring should
alert on `jobs.ok == false` and on failures.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from kombu import Connection

WORKER_STALE_AFTER = dt.timedelta(minutes=5)
# A job waiting longer than this (past its turn) means nobody is consuming.
JOB_STALE_AFTER = dt.timedelta(minutes=15)


def check_database() -> dict[str, Any]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means "down"
        return {"ok": False, "error": exc.__class__.__name__}
    return {"ok": True, "vendor": connection.vendor}


def check_broker() -> dict[str, Any]:
    url = settings.CELERY_BROKER_URL
    options = dict(settings.CELERY_BROKER_TRANSPORT_OPTIONS)
    options["max_retries"] = 0
    try:
        with Connection(url, connect_timeout=2, transport_options=options) as conn:
            conn.ensure_connection(max_retries=0, timeout=2)
            if conn.transport.driver_type == "filesystem":
                from pathlib import Path

                folder = Path(str(options["data_folder_out"]))
                if not folder.is_dir():
                    raise OSError(f"{folder} missing")
    except Exception as exc:  # the broker library raises many kinds
        return {"ok": False, "error": exc.__class__.__name__}
    return {"ok": True, "transport": url.split("://", 1)[0]}


def check_worker() -> dict[str, Any]:
    from studio.models import Heartbeat

    try:
        beat = Heartbeat.objects.filter(name="worker").values_list("beat_at", flat=True).first()
    except Exception as exc:
        return {"ok": False, "error": exc.__class__.__name__}
    if beat is None:
        return {"ok": None, "last_seen": None}
    age = timezone.now() - beat
    return {"ok": age < WORKER_STALE_AFTER, "last_seen": beat.isoformat()}


def check_jobs() -> dict[str, Any]:
    from studio.models import Notification, Reminder, WebhookDelivery

    try:
        now = timezone.now()
        waiting = [
            Notification.objects.filter(
                email_state__in=[Notification.EmailState.PENDING, Notification.EmailState.CLAIMED]
            )
            .order_by("created_at")
            .values_list("created_at", flat=True)
            .first(),
            Reminder.objects.filter(state__in=[Reminder.State.PENDING, Reminder.State.CLAIMED])
            .order_by("created_at")
            .values_list("created_at", flat=True)
            .first(),
            WebhookDelivery.objects.filter(
                state__in=[WebhookDelivery.State.PENDING, WebhookDelivery.State.SENDING],
                next_attempt_at__lte=now,
            )
            .order_by("next_attempt_at")
            .values_list("next_attempt_at", flat=True)
            .first(),
        ]
        failed = {
            "failed_webhook_deliveries": WebhookDelivery.objects.filter(
                state=WebhookDelivery.State.FAILED
            ).count(),
            "failed_reminders": Reminder.objects.filter(state=Reminder.State.FAILED).count(),
            "failed_emails": Notification.objects.filter(
                email_state=Notification.EmailState.FAILED
            ).count(),
        }
    except Exception as exc:
        return {"ok": False, "error": exc.__class__.__name__}
    moments = [m for m in waiting if m is not None]
    oldest = max((now - m).total_seconds() for m in moments) if moments else None
    return {
        "ok": oldest is None or oldest < JOB_STALE_AFTER.total_seconds(),
        "oldest_waiting_seconds": None if oldest is None else max(0, int(oldest)),
        **failed,
    }


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    database = check_database()
    broker = check_broker()
    worker = check_worker() if database["ok"] else {"ok": None}
    jobs = check_jobs() if database["ok"] else {"ok": None}
    down = [name for name, part in (("database", database), ("broker", broker)) if not part["ok"]]
    body = {
        "status": "ok" if not down else "down",
        "down": down,
        "database": database,
        "broker": broker,
        "worker": worker,
        "jobs": jobs,
    }
    return JsonResponse(body, status=503 if down else 200)
