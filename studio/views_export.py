"""The owner's "Export all data" page: start an export job, watch it, download it once."""

from __future__ import annotations

from django.contrib import messages
from django.http import FileResponse, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from studio.access import owner_required
from studio.errors import DomainError
from studio.models import ExportJob
from studio.services_export import ExportGone, claim_download, start_export

SESSION_KEY = "export_tokens"
JOBS_SHOWN = 10
REFRESH_SECONDS = 3


@require_GET
@owner_required
@never_cache
def export_page(request: HttpRequest) -> HttpResponse:
    jobs = list(ExportJob.objects.select_related("requested_by")[:JOBS_SHOWN])
    tokens: dict[str, str] = request.session.get(SESSION_KEY, {})
    now = timezone.now()
    rows = [
        {
            "job": job,
            "token": tokens.get(str(job.pk))
            if job.state == ExportJob.State.DONE
            and not job.downloaded_at
            and job.expires_at
            and job.expires_at > now
            else None,
        }
        for job in jobs
    ]
    working = ExportJob.objects.filter(
        state__in=[ExportJob.State.PENDING, ExportJob.State.RUNNING]
    ).exists()
    return render(
        request,
        "studio/export.html",
        {
            "rows": rows,
            "working": working,
            "refresh_seconds": REFRESH_SECONDS,
            "tab": "export",
        },
    )


@require_POST
@owner_required
def export_start(request: HttpRequest) -> HttpResponse:
    try:
        job, token = start_export(actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("studio-export")
    tokens: dict[str, str] = request.session.get(SESSION_KEY, {})
    # The token only lives here and in the link; keep the last few jobs' tokens.
    tokens = dict(list(tokens.items())[-(JOBS_SHOWN - 1) :])
    tokens[str(job.pk)] = token
    request.session[SESSION_KEY] = tokens
    messages.success(request, _("The export has started. This page shows its progress."))
    return redirect("studio-export")


@require_GET
@owner_required
@never_cache
def export_download(request: HttpRequest, token: str) -> HttpResponseBase:
    try:
        job, handle = claim_download(token=token)
    except DomainError as exc:
        status = 410 if isinstance(exc, ExportGone) else 404
        response: HttpResponseBase = render(
            request, "studio/export_gone.html", {"message": exc.message}, status=status
        )
    else:
        stamp = (job.finished_at or timezone.now()).strftime("%Y%m%d-%H%M%S")
        response = FileResponse(
            handle,
            as_attachment=True,
            filename=f"reeldesk-export-{stamp}.zip",
            content_type="application/zip",
        )
        tokens: dict[str, str] = request.session.get(SESSION_KEY, {})
        if tokens.pop(str(job.pk), None):
            request.session[SESSION_KEY] = tokens
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex"
    return response
