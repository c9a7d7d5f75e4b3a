"""Studio-level tasks and the one way to queue a job.

Every job is first a row (a notification e-mail, a reminder, a webhook delivery); the
Celery message only rings the doorbell. `enqueue()` sends it after commit and never
makes the caller wait on the broker: a web request hands the message to a background
thread, so a paused or dead Redis cannot hold it. A message lost on the way is found
again by the sweeps below, which look at the rows.

Tasks are thin (ids in, one service call), idempotent (each claims its row with a
conditional update), `acks_late` with `reject_on_worker_lost` (a killed worker's task
runs again and finds its row already claimed or done), and retried by Celery only for
named transient errors.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import smtplib
import threading
import time
from collections.abc import Sequence
from typing import Any

from celery import current_task, shared_task
from django.db import transaction
from django.utils import timezone

from studio.models import Heartbeat

logger = logging.getLogger(__name__)

# How long a process that exits waits for its queued messages to reach the broker.
EXIT_DRAIN_SECONDS = 10.0

# Named transient errors: the network or the mail server, nothing else.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    smtplib.SMTPException,
    ConnectionError,
    TimeoutError,
    OSError,
)


# --- Queueing -----------------------------------------------------------------------------


class _Publisher:
    """A daemon thread that publishes messages, so callers never block on the broker.

    One per process (made again after a fork). Bounded: when the broker is gone for long
    enough to fill the queue, further messages are dropped and logged; their rows are
    still in the database and the sweeps enqueue them again.
    """

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.queue: queue.Queue[tuple[Any, tuple[Any, ...], dict[str, Any]]] = queue.Queue(
            maxsize=10_000
        )
        self.thread = threading.Thread(target=self._run, name="reeldesk-publisher", daemon=True)
        self.thread.start()
        # A command (seed_demo, an import) exits right after its commit: hand over what
        # is still queued first, for a bounded time so a dead broker cannot hold the exit.
        atexit.register(self.drain, timeout=EXIT_DRAIN_SECONDS)

    def put(self, task: Any, args: tuple[Any, ...], options: dict[str, Any]) -> None:
        try:
            self.queue.put_nowait((task, args, options))
        except queue.Full:
            logger.warning("publisher queue full; %s%r left to the sweep", task.name, args)

    def _run(self) -> None:
        while True:
            task, args, options = self.queue.get()
            _publish_now(task, args, options)
            self.queue.task_done()

    def wait_until_empty(self) -> None:
        self.queue.join()

    def drain(self, *, timeout: float) -> None:
        """Wait until the queue is handed over, or timeout seconds at most."""
        if self.pid != os.getpid():
            return
        deadline = time.monotonic() + timeout
        while self.queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.02)


_publisher: _Publisher | None = None
_publisher_lock = threading.Lock()


def _background_publisher() -> _Publisher:
    global _publisher
    with _publisher_lock:
        if _publisher is None or _publisher.pid != os.getpid():
            _publisher = _Publisher()
        return _publisher


def _publish_now(task: Any, args: tuple[Any, ...], options: dict[str, Any]) -> bool:
    try:
        task.apply_async(args=args, **options)
    except Exception:  # the broker library raises many kinds; the sweep redoes the job
        logger.warning("could not queue %s%r; the sweep will", task.name, args, exc_info=True)
        return False
    return True


def _dispatch(task: Any, args: tuple[Any, ...], options: dict[str, Any]) -> None:
    app = task.app
    if app.conf.task_always_eager:
        # Tests and single-process setups: run now, and let errors show.
        task.apply_async(args=args, **options)
    elif current_task and current_task.request.id is not None:
        # Inside a worker nobody waits on us: publish directly.
        _publish_now(task, args, options)
    else:
        _background_publisher().put(task, args, options)


def enqueue(task: Any, *args: Any, countdown: float | None = None) -> None:
    """Queue task(*args) once the current transaction commits (now, outside one).

    The job's row must already be written in that transaction. Never raises for a
    broker problem and never blocks the caller on the broker.
    """
    options: dict[str, Any] = {}
    if countdown:
        options["countdown"] = countdown
    transaction.on_commit(lambda: _dispatch(task, tuple(args), options), robust=True)


def dispatch(task: Any, *args: Any) -> None:
    """Queue task(*args) now, for callers already running after their commit (an
    on_commit callback, a sweep). Never raises for a broker problem and never blocks
    the caller on the broker, like enqueue()."""
    try:
        _dispatch(task, tuple(args), {})
    except Exception:  # eager mode in tests, a broken broker: the sweeps catch up
        logger.warning("could not queue %s%r; its sweep will retry", task.name, args, exc_info=True)


def enqueue_many(task: Any, ids: Sequence[Any]) -> None:
    for pk in ids:
        enqueue(task, pk)


def flush_publisher() -> None:
    """Wait until the background thread handed every message to the broker (tests, bench)."""
    if _publisher is not None and _publisher.pid == os.getpid():
        _publisher.wait_until_empty()


# --- Tasks --------------------------------------------------------------------------------


@shared_task(acks_late=True)
def heartbeat() -> str:
    """Record that a worker consumed a task now (read by /healthz)."""
    now = timezone.now()
    Heartbeat.objects.update_or_create(name="worker", defaults={"beat_at": now})
    return now.isoformat()


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=30,
    retry_backoff_max=600,
    max_retries=4,
)
def email_notification(notification_id: int) -> bool:
    from studio.notifications import email_notification as send

    return send(notification_id=notification_id)


@shared_task(acks_late=True)
def sweep_notification_emails(
    older_than_seconds: float = 120, stale_claim_seconds: float = 300
) -> int:
    """Re-enqueue notification e-mails whose job vanished, and hand back stale claims."""
    from studio.notifications import sweep_emails

    return sweep_emails(
        older_than_seconds=older_than_seconds, stale_claim_seconds=stale_claim_seconds
    )


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=30,
    retry_backoff_max=600,
    max_retries=4,
)
def send_reminder(reminder_id: int) -> str:
    from studio.reminders import send_reminder as send

    return send(reminder_id=reminder_id)


@shared_task(acks_late=True)
def sweep_reminders(stale_claim_seconds: float = 300, redispatch_seconds: float = 600) -> int:
    """Record the reminders that are due now and enqueue every one not yet sent."""
    from studio.reminders import sweep

    return sweep(stale_claim_seconds=stale_claim_seconds, redispatch_seconds=redispatch_seconds)


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=60, time_limit=90)
def deliver_webhook(delivery_id: int) -> str:
    from studio.webhooks import attempt_delivery

    return attempt_delivery(delivery_id=delivery_id)


@shared_task(acks_late=True)
def sweep_webhook_deliveries(stale_claim_seconds: float = 180) -> int:
    """Enqueue deliveries whose next attempt is due and hand back stale claims."""
    from studio.webhooks import sweep_deliveries

    return sweep_deliveries(stale_claim_seconds=stale_claim_seconds)


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=3600, time_limit=3660)
def run_export_job(job_id: int) -> str:
    """Write one full-data export zip (long: its own time limits)."""
    from studio.services_export import run_export

    return run_export(job_id=job_id)


@shared_task(acks_late=True)
def sweep_exports() -> int:
    """Delete expired or downloaded export files, fail stalled jobs, requeue lost ones."""
    from studio.services_export import sweep_exports as sweep

    return sweep()
