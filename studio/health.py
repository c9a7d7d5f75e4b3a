"""GET /healthz: is the database reachable, is the broker reachable, is a worker alive."""

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


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    database = check_database()
    broker = check_broker()
    worker = check_worker() if database["ok"] else {"ok": None}
    down = [name for name, part in (("database", database), ("broker", broker)) if not part["ok"]]
    body = {
        "status": "ok" if not down else "down",
        "down": down,
        "database": database,
        "broker": broker,
        "worker": worker,
    }
    return JsonResponse(body, status=503 if down else 200)
