"""Staff pages for invoices: list, create, edit drafts, detail and the actions on it.

Owners and producers only (artists never see money). Every change goes through
billing.services; a refusal is shown as a message and changes nothing.
"""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from billing import selectors, services
from billing.forms import (
    BaseLineFormSet,
    CreditForm,
    DraftForm,
    FapiaoForm,
    InvoiceFilterForm,
    InvoiceStartForm,
    LineFormSet,
    PaymentForm,
    SendForm,
    VoidForm,
    line_initial,
    new_form_key,
    tax_rate_presets,
)
from billing.models import BillingSettings, Invoice, InvoiceEmail
from billing.models.invoices import today_in_studio
from orders.forms import attach_domain_error, client_suggestions
from orders.models import Order
from orders.views.access import business_required
from studio.errors import DomainError

PAGE_SIZE = 25
# Badge colours from the shared stylesheet, by invoice status.
BADGE = {
    "draft": "on_hold",
    "issued": "accepted",
    "partially_paid": "in_review",
    "paid": "completed",
    "credited": "delivered",
    "void": "cancelled",
    "overdue": "revision",
}


def detail_url(invoice: Invoice, anchor: str = "") -> str:
    url = reverse("invoice-detail", args=[invoice.pk])
    return f"{url}#{anchor}" if anchor else url


def _badge(invoice: Invoice) -> dict[str, str]:
    key, label = invoice.display_status()
    return {"css": BADGE.get(key, key), "label": label, "key": key}


# --- List and start -------------------------------------------------------------------------


@business_required
def invoice_list(request: HttpRequest) -> HttpResponse:
    form = InvoiceFilterForm(request.GET)
    filters = form.filters()
    qs = selectors.filter_invoices(filters)
    page = Paginator(selectors.invoice_rows(qs), PAGE_SIZE).get_page(request.GET.get("page"))
    today = today_in_studio()
    rows = []
    for invoice in page.object_list:
        key, label = invoice.display_status(today)
        rows.append({"invoice": invoice, "badge": {"css": BADGE.get(key, ""), "label": label}})
    return render(
        request,
        "billing/invoice_list.html",
        {
            "nav": "invoices",
            "form": form,
            "page_obj": page,
            "rows": rows,
            "totals": selectors.totals_per_currency(qs),
            "client_suggestions": client_suggestions(),
        },
    )


@business_required
@require_http_methods(["GET", "POST"])
def invoice_create(request: HttpRequest) -> HttpResponse:
    data = request.POST if request.method == "POST" else None
    initial = {}
    if request.GET.get("client", "").isdigit():
        initial["client"] = int(request.GET["client"])
    form = InvoiceStartForm(data, initial=initial)
    if data is not None and form.is_valid():
        try:
            invoice = services.create_invoice(
                actor=request.user,
                client=form.cleaned_data["client"],
                currency=form.cleaned_data.get("currency") or None,
            )
        except DomainError as exc:
            attach_domain_error(form, exc)
        else:
            messages.success(request, _("Draft created. Add its lines, then issue it."))
            return redirect("invoice-edit", pk=invoice.pk)
    return render(
        request,
        "billing/invoice_start.html",
        {"nav": "invoices", "form": form},
        status=400 if form.errors else 200,
    )


@business_required
@require_POST
def invoice_from_order(request: HttpRequest, order_pk: int) -> HttpResponse:
    order = get_object_or_404(Order.objects.select_related("client"), pk=order_pk)
    purpose = request.POST.get("purpose", "")
    try:
        if purpose == Invoice.Purpose.DEPOSIT:
            invoice = services.create_deposit_invoice(actor=request.user, order=order)
        elif purpose == Invoice.Purpose.FINAL:
            invoice = services.create_final_invoice(actor=request.user, order=order)
        else:
            invoice = services.create_invoice(actor=request.user, client=order.client, order=order)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(reverse("order-detail", args=[order.pk]) + "#invoices")
    messages.success(request, _("Draft created. Check its lines, then issue it."))
    return redirect("invoice-edit", pk=invoice.pk)


# --- Detail ---------------------------------------------------------------------------------


def render_detail(
    request: HttpRequest,
    invoice: Invoice,
    *,
    payment_form: PaymentForm | None = None,
    send_form: SendForm | None = None,
    void_form: VoidForm | None = None,
    fapiao_form: FapiaoForm | None = None,
    status: int = 200,
) -> HttpResponse:
    today = today_in_studio()
    payments = list(invoice.payments.select_related("recorded_by"))
    credit_notes = [] if invoice.is_credit_note else list(invoice.credit_notes.order_by("-pk"))
    last_email = invoice.emails.first()
    rendering = not invoice.is_draft and not invoice.pdf_ready
    context: dict[str, Any] = {
        "nav": "invoices",
        "invoice": invoice,
        "badge": _badge(invoice),
        "lines": list(invoice.lines.all()),
        "payments": payments,
        "credit_notes": credit_notes,
        "events": selectors.invoice_history(invoice),
        "amount_due": invoice.amount_due,
        "overdue": invoice.is_overdue_on(today),
        "rendering": rendering,
        "pdf_failed": rendering
        and getattr(getattr(invoice, "pdf_job", None), "state", "") == "failed",
        "last_email": last_email,
        "email_pending": last_email is not None
        and last_email.state in {InvoiceEmail.State.QUEUED, InvoiceEmail.State.SENDING},
        "can_pay": invoice.status in Invoice.OPEN_STATUSES and not invoice.is_credit_note,
        "can_void": invoice.status == Invoice.Status.ISSUED
        and invoice.amount_paid == 0
        and invoice.amount_credited == 0,
        "can_credit": not invoice.is_credit_note
        and invoice.status in Invoice.COUNTING_STATUSES
        and invoice.creditable > 0,
        "can_send": invoice.status in Invoice.COUNTING_STATUSES,
        "payment_form": payment_form
        or PaymentForm(
            initial={"amount": invoice.amount_due, "paid_on": today, "method": "bank_transfer"}
        ),
        "send_form": send_form
        or SendForm(initial={"to": invoice.client.email, "key": new_form_key()}),
        "void_form": void_form or VoidForm(),
        "credit_form": CreditForm(),
        "fapiao_form": fapiao_form
        or FapiaoForm(
            initial={
                "fapiao_status": invoice.fapiao_status,
                "fapiao_number": invoice.fapiao_number,
                "fapiao_issued_on": invoice.fapiao_issued_on,
            }
        ),
    }
    return render(request, "billing/invoice_detail.html", context, status=status)


@business_required
def invoice_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render_detail(request, selectors.access_invoice(pk))


# --- Drafts ---------------------------------------------------------------------------------


@business_required
@require_http_methods(["GET", "POST"])
def invoice_edit(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = selectors.access_invoice(pk)
    if not invoice.is_draft:
        messages.error(
            request,
            _("%(number)s is issued and can no longer be changed.") % {"number": invoice.number},
        )
        return redirect(detail_url(invoice))
    prefs = BillingSettings.load()
    if request.method == "POST":
        form = DraftForm(request.POST)
        formset = cast(BaseLineFormSet, LineFormSet(request.POST, prefix="lines"))
        if form.is_valid() and formset.is_valid():
            try:
                services.update_draft(
                    actor=request.user,
                    invoice=invoice,
                    lines=formset.lines(prefs.default_tax_rate),
                    subject=form.cleaned_data["subject"],
                    notes=form.cleaned_data["notes"],
                    net_days=form.cleaned_data["net_days"],
                )
            except DomainError as exc:
                attach_domain_error(form, exc)
                _attach_line_errors(formset, exc)
            else:
                messages.success(request, _("The draft was saved."))
                if request.POST.get("then") == "issue":
                    return _issue(request, invoice)
                return redirect(detail_url(invoice))
    else:
        form = DraftForm(
            initial={
                "subject": invoice.subject,
                "notes": invoice.notes,
                "net_days": invoice.net_days,
            }
        )
        formset = cast(BaseLineFormSet, LineFormSet(initial=line_initial(invoice), prefix="lines"))
    return render(
        request,
        "billing/invoice_edit.html",
        {
            "nav": "invoices",
            "invoice": invoice,
            "form": form,
            "formset": formset,
            "tax_rates": tax_rate_presets(),
            "default_rate": prefs.default_tax_rate,
            "prices_include_tax": invoice.prices_include_tax,
        },
        status=400 if request.method == "POST" else 200,
    )


def _attach_line_errors(formset: Any, exc: DomainError) -> None:
    """Put lines.<i>.<field> errors from the service on the matching line form. The
    service numbers the non-blank lines, which may skip blank forms."""
    filled = [
        form
        for form in formset.forms
        if form.is_valid() and not form.is_blank() and not form.cleaned_data.get("DELETE")
    ]
    for key, messages_ in exc.fields.items():
        parts = key.split(".")
        if len(parts) == 3 and parts[0] == "lines" and parts[1].isdigit():
            index = int(parts[1])
            if index < len(filled) and parts[2] in filled[index].fields:
                for message in messages_:
                    filled[index].add_error(parts[2], message)


@business_required
@require_POST
def invoice_delete(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = selectors.access_invoice(pk)
    order = invoice.order
    try:
        services.delete_draft(actor=request.user, invoice=invoice)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(detail_url(invoice))
    messages.success(request, _("The draft was deleted."))
    if order is not None:
        return redirect(reverse("order-detail", args=[order.pk]) + "#invoices")
    return redirect("invoice-list")


def _issue(request: HttpRequest, invoice: Invoice) -> HttpResponse:
    had_link = invoice.order is not None and invoice.order.portal_links.active().exists()
    try:
        issued = services.issue_invoice(actor=request.user, invoice=invoice)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(detail_url(invoice))
    messages.success(
        request,
        _("%(number)s is issued. Its PDF is being made.") % {"number": issued.number},
    )
    if issued.order is not None and not had_link and not issued.is_credit_note:
        messages.info(
            request,
            _(
                "The order's client link was off and is now on: the invoice's QR code "
                "and e-mail lead your client to their order page."
            ),
        )
    return redirect(detail_url(issued))


@business_required
@require_POST
def invoice_issue(request: HttpRequest, pk: int) -> HttpResponse:
    return _issue(request, selectors.access_invoice(pk))


# --- Actions on issued invoices ---------------------------------------------------------------


@business_required
@require_POST
def invoice_void(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = selectors.access_invoice(pk)
    form = VoidForm(request.POST)
    if form.is_valid():
        try:
            services.void_invoice(
                actor=request.user, invoice=invoice, reason=form.cleaned_data["reason"]
            )
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("%(number)s is void.") % {"number": invoice.number})
            return redirect(detail_url(invoice))
    messages.error(request, _("The invoice was not voided. See the error below."))
    return render_detail(request, invoice, void_form=form, status=400)


@business_required
@require_POST
def invoice_credit(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = selectors.access_invoice(pk)
    form = CreditForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        note = services.create_credit_note(actor=request.user, invoice=invoice, reason=reason)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(detail_url(invoice))
    messages.success(
        request,
        _("Draft credit note created for %(number)s. Adjust its lines, then issue it.")
        % {"number": invoice.number},
    )
    return redirect("invoice-edit", pk=note.pk)


@business_required
@require_POST
def invoice_payment(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = selectors.access_invoice(pk)
    form = PaymentForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            result = services.record_payment(
                actor=request.user,
                invoice=invoice,
                amount=data["amount"],
                method=data["method"],
                paid_on=data["paid_on"],
                reference=data["reference"],
                note=data["note"],
            )
        except DomainError as exc:
            attach_domain_error(form, exc)
        else:
            if result.created:
                messages.success(
                    request,
                    _("Payment of %(amount)s recorded.")
                    % {"amount": result.payment.money.format()},
                )
            else:
                messages.info(
                    request,
                    _("A payment with this reference was already recorded; nothing was added."),
                )
            return redirect(detail_url(invoice, "payments"))
    messages.error(request, _("The payment was not recorded. See the error below."))
    return render_detail(request, selectors.access_invoice(pk), payment_form=form, status=400)


@business_required
@require_POST
def invoice_send(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = selectors.access_invoice(pk)
    form = SendForm(request.POST)
    if form.is_valid():
        try:
            result = services.send_invoice(
                actor=request.user,
                invoice=invoice,
                key=form.cleaned_data["key"],
                to=form.cleaned_data["to"],
            )
        except DomainError as exc:
            attach_domain_error(form, exc)
        else:
            if result.created:
                messages.success(
                    request,
                    _("%(number)s is on its way to %(to)s.")
                    % {"number": invoice.number, "to": result.email.to},
                )
            else:
                messages.info(
                    request,
                    _("This e-mail to %(to)s was already sent a moment ago; it was not sent again.")
                    % {"to": result.email.to},
                )
            return redirect(detail_url(invoice, "send"))
    messages.error(request, _("The invoice was not sent. See the error below."))
    return render_detail(request, invoice, send_form=form, status=400)


@business_required
@require_POST
def invoice_fapiao(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = selectors.access_invoice(pk)
    form = FapiaoForm(request.POST, request.FILES)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.update_fapiao(
                actor=request.user,
                invoice=invoice,
                status=data.get("fapiao_status") or "",
                number=data.get("fapiao_number") or "",
                issued_on=data.get("fapiao_issued_on"),
                upload=data.get("fapiao_file"),
                remove_file=bool(data.get("remove_file")),
            )
        except DomainError as exc:
            attach_domain_error(form, exc)
        else:
            messages.success(request, _("The fapiao details were saved."))
            return redirect(detail_url(invoice, "fapiao"))
    messages.error(request, _("The fapiao details were not saved. See the error below."))
    return render_detail(request, invoice, fapiao_form=form, status=400)
