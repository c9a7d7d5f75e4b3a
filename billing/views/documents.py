"""Files: an invoice's PDF (staff and, through the secret link, the client) and the
fapiao file. A stored PDF is served from storage as it was rendered; while it is being
rendered the page says so and refreshes itself."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from billing import delivery, selectors
from billing.models import Invoice
from orders.models import PortalLink
from orders.portal_views import portal_view
from orders.views.access import business_required
from orders.views.files import serve_stored_file

RETRY_SECONDS = 3


def _pdf_response(request: HttpRequest, invoice: Invoice) -> HttpResponseBase:
    response = serve_stored_file(
        request, invoice.pdf, content_type="application/pdf", filename=invoice.pdf_filename()
    )
    response["ETag"] = f'"{invoice.pdf_sha256}"'
    return response


@business_required
@require_safe
def invoice_pdf(request: HttpRequest, pk: int) -> HttpResponseBase:
    """The stored PDF; for a draft, a preview rendered now (marked DRAFT, never stored)."""
    invoice = selectors.access_invoice(pk)
    if invoice.is_draft:
        from billing import pdf

        data = pdf.render_invoice(invoice)
        response = HttpResponse(data, content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="{invoice.pdf_filename()}"'
        response["Cache-Control"] = "private, no-store"
        return response
    if not invoice.pdf_ready:
        response = render(
            request,
            "billing/pdf_pending.html",
            {"nav": "invoices", "invoice": invoice, "retry": RETRY_SECONDS},
            status=202,
        )
        response["Retry-After"] = str(RETRY_SECONDS)
        response["Refresh"] = str(RETRY_SECONDS)  # browsers reload the page by themselves
        return response
    return _pdf_response(request, invoice)


@business_required
@require_POST
def invoice_pdf_retry(request: HttpRequest, pk: int) -> HttpResponseBase:
    """Try a failed render again."""
    invoice = selectors.access_invoice(pk)
    if delivery.retry_pdf(actor=request.user, invoice=invoice):
        messages.success(request, _("The PDF is being made again."))
    return redirect(reverse("invoice-detail", args=[invoice.pk]))


@business_required
@require_safe
def invoice_fapiao_file(request: HttpRequest, pk: int) -> HttpResponseBase:
    invoice = selectors.access_invoice(pk)
    if not invoice.fapiao_file:
        from django.http import Http404

        raise Http404
    extension = invoice.fapiao_file.name.rsplit(".", 1)[-1]
    return serve_stored_file(
        request,
        invoice.fapiao_file,
        content_type=invoice.fapiao_file_type or "application/octet-stream",
        filename=f"fapiao-{invoice.number}.{extension}",
    )


@require_safe
@portal_view
def portal_invoice_pdf(request: HttpRequest, link: PortalLink, invoice_id: int) -> HttpResponseBase:
    """The client's copy, through their link: only issued documents of their order."""
    invoice = (
        Invoice.objects.filter(pk=invoice_id, order_id=link.order_id)
        .exclude(status=Invoice.Status.DRAFT)
        .first()
    )
    if invoice is None:
        return render(request, "orders/portal/not_found.html", status=404)
    if not invoice.pdf_ready:
        response = render(
            request,
            "billing/portal_pdf_pending.html",
            {"invoice": invoice, "token": link.token, "retry": RETRY_SECONDS},
            status=202,
        )
        response["Retry-After"] = str(RETRY_SECONDS)
        response["Refresh"] = str(RETRY_SECONDS)  # browsers reload the page by themselves
        return response
    return _pdf_response(request, invoice)


@require_safe
@portal_view
def portal_fapiao_file(request: HttpRequest, link: PortalLink, invoice_id: int) -> HttpResponseBase:
    invoice = (
        Invoice.objects.filter(pk=invoice_id, order_id=link.order_id)
        .exclude(status=Invoice.Status.DRAFT)
        .exclude(fapiao_file="")
        .first()
    )
    if invoice is None:
        return render(request, "orders/portal/not_found.html", status=404)
    extension = invoice.fapiao_file.name.rsplit(".", 1)[-1]
    return serve_stored_file(
        request,
        invoice.fapiao_file,
        content_type=invoice.fapiao_file_type or "application/octet-stream",
        filename=f"fapiao-{invoice.number}.{extension}",
    )
