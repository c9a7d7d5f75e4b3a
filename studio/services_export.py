"""Full-data export jobs: start one, run it, hand out its zip once, sweep old files.

The job is a row first (written with the owner's request, queued on commit), claimed
by the task with a conditional update, and its download token is a 256-bit secret of
which only the SHA-256 is stored; the link works once and expires after EXPORT_TTL.
"""

from __future__ import annotations

import datetime as dt
import hmac
import logging
import secrets
import time
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from studio.data.exporter import Progress, write_export
from studio.errors import Conflict, DomainError
from studio.models import ExportJob, hash_token

logger = logging.getLogger(__name__)

EXPORT_TTL = dt.timedelta(hours=24)
STALE_PENDING = dt.timedelta(minutes=2)
STALE_RUNNING = dt.timedelta(minutes=30)
PROGRESS_EVERY_SECONDS = 1.0
S = ExportJob.State


class ExportNotFound(DomainError):
    status_code = 404
    code = "not_found"


class ExportGone(DomainError):
    status_code = 410
    code = "gone"


def export_root() -> Path:
    """Where export zips wait for their download: private, outside MEDIA_ROOT."""
    root = Path(getattr(settings, "EXPORT_ROOT", None) or Path(settings.VAR_DIR) / "exports")
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    return root


def start_export(*, actor: Any) -> tuple[ExportJob, str]:
    """Write a pending export job and queue it; refused while another one is unfinished.

    Returns the job and its download token (shown to the owner only, never stored).
    """
    from studio.tasks import enqueue, run_export_job

    with transaction.atomic():
        if ExportJob.objects.filter(state__in=[S.PENDING, S.RUNNING]).exists():
            raise Conflict(_("An export is already being made. Wait for it to finish."))
        token = secrets.token_urlsafe(32)
        job = ExportJob.objects.create(requested_by=actor, token_digest=hash_token(token))
        enqueue(run_export_job, job.pk)
    return job, token


def run_export(*, job_id: int) -> str:
    """Claim a pending job and write its zip; idempotent (a claimed or finished job is left)."""
    now = timezone.now()
    filename = f"reeldesk-export-{job_id}-{secrets.token_hex(8)}.zip"
    claimed = ExportJob.objects.filter(pk=job_id, state=S.PENDING).update(
        state=S.RUNNING, claimed_at=now, progress_at=now, filename=filename
    )
    if not claimed:
        return "skipped"
    last = 0.0

    def report(progress: Progress) -> None:
        nonlocal last
        if time.monotonic() - last < PROGRESS_EVERY_SECONDS:
            return
        last = time.monotonic()
        ExportJob.objects.filter(pk=job_id, state=S.RUNNING).update(
            tables_done=progress.tables_done,
            tables_total=progress.tables_total,
            rows_done=progress.rows_done,
            files_done=progress.files_done,
            progress_at=timezone.now(),
        )

    try:
        result = write_export(path=export_root() / filename, report=report)
    except Exception as exc:  # the job row must say it failed, whatever broke
        logger.exception("export %s failed", job_id)
        ExportJob.objects.filter(pk=job_id, state=S.RUNNING).update(
            state=S.FAILED, finished_at=timezone.now(), error=str(exc)[:500]
        )
        return "failed"
    done = timezone.now()
    ExportJob.objects.filter(pk=job_id, state=S.RUNNING).update(
        state=S.DONE,
        finished_at=done,
        expires_at=done + EXPORT_TTL,
        size=result.size,
        sha256=result.sha256,
        tables_done=len(result.counts),
        tables_total=len(result.counts),
        rows_done=sum(result.counts.values()),
        files_done=result.files,
        progress_at=done,
    )
    return "done"


def claim_download(*, token: str) -> tuple[ExportJob, IO[bytes]]:
    """Use a download token once: returns the job and its open zip, the file unlinked.

    Unknown token: ExportNotFound. Used, expired or deleted: ExportGone. Not idempotent.
    """
    digest = hash_token(token)
    job = ExportJob.objects.filter(token_digest=digest).first()
    if job is None or not hmac.compare_digest(job.token_digest, digest):
        raise ExportNotFound(_("This download link is not valid."))
    now = timezone.now()
    if job.state in {S.PENDING, S.RUNNING}:
        raise ExportNotFound(_("This export is not ready yet."))
    if job.state != S.DONE or job.downloaded_at or (job.expires_at and job.expires_at <= now):
        raise ExportGone(
            _("This download link was already used or has expired. Start a new export.")
        )
    won = ExportJob.objects.filter(
        pk=job.pk, state=S.DONE, downloaded_at__isnull=True, expires_at__gt=now
    ).update(downloaded_at=now)
    if not won:
        raise ExportGone(
            _("This download link was already used or has expired. Start a new export.")
        )
    path = export_root() / job.filename
    try:
        handle = path.open("rb")
    except FileNotFoundError as exc:
        raise ExportGone(_("This export's file was deleted. Start a new export.")) from exc
    # The open handle keeps the data readable; the zip is gone from disk at once.
    path.unlink(missing_ok=True)
    ExportJob.objects.filter(pk=job.pk).update(deleted_at=now)
    job.refresh_from_db()
    return job, handle


def _delete_file(job: ExportJob) -> None:
    if job.filename:
        (export_root() / job.filename).unlink(missing_ok=True)
        (export_root() / (job.filename + ".partial")).unlink(missing_ok=True)


def sweep_exports() -> int:
    """Expire old exports and delete their files, fail stalled jobs, requeue lost ones."""
    from studio.tasks import enqueue, run_export_job

    now = timezone.now()
    changed = 0
    for job in ExportJob.objects.filter(state=S.DONE, expires_at__lte=now):
        _delete_file(job)
        changed += ExportJob.objects.filter(pk=job.pk, state=S.DONE).update(
            state=S.EXPIRED, deleted_at=now
        )
    for job in ExportJob.objects.filter(state=S.RUNNING, progress_at__lt=now - STALE_RUNNING):
        _delete_file(job)
        changed += ExportJob.objects.filter(pk=job.pk, state=S.RUNNING).update(
            state=S.FAILED, finished_at=now, error="the export stopped making progress"
        )
    for pk in ExportJob.objects.filter(
        state=S.PENDING, created_at__lt=now - STALE_PENDING
    ).values_list("pk", flat=True):
        enqueue(run_export_job, pk)
    # Files no job will hand out any more (downloaded, failed, or left by a crash).
    live = set(
        ExportJob.objects.filter(
            state__in=[S.RUNNING, S.DONE], downloaded_at__isnull=True
        ).values_list("filename", flat=True)
    )
    cutoff = time.time() - STALE_RUNNING.total_seconds()
    for path in export_root().glob("reeldesk-export-*"):
        name = path.name.removesuffix(".partial")
        if name not in live and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            changed += 1
    return changed
