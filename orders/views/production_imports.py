"""Shot list CSV export, CSV and Fountain imports (preview, then confirm), and the
AI-content label checks of deliverables with the owner's "deliver anyway"."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from orders import production, production_import, selectors, services
from orders.forms import attach_domain_error
from orders.models import Deliverable, ImportBatch, Order
from orders.production_forms import AiLabelForm, CsvImportForm, FountainImportForm
from orders.views.access import business_required, member_required
from studio.errors import DomainError


def _import_page(
    request: HttpRequest,
    order: Order,
    *,
    csv_form: CsvImportForm | None = None,
    script_form: FountainImportForm | None = None,
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "orders/production/import.html",
        {
            "nav": "orders",
            "order": order,
            "csv_form": csv_form or CsvImportForm(),
            "script_form": script_form or FountainImportForm(),
            "columns": production_import.COLUMNS,
            "recent": ImportBatch.objects.filter(order=order).select_related("created_by")[:10],
        },
        status=status,
    )


@business_required
def breakdown_import(request: HttpRequest, pk: int) -> HttpResponse:
    order = selectors.access_order(request.user, pk)
    if request.method != "POST":
        return _import_page(request, order)
    form = CsvImportForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            batch = production_import.preview_csv(
                actor=request.user,
                order=order,
                upload=form.cleaned_data["file"],
                mode=form.cleaned_data["mode"],
            )
        except DomainError as exc:
            attach_domain_error(form, exc)
        else:
            return redirect(reverse("import-preview", args=[batch.pk]))
    messages.error(request, _("The file was not read. See the error below."))
    return _import_page(request, order, csv_form=form, status=400)


@business_required
@require_POST
def breakdown_import_script(request: HttpRequest, pk: int) -> HttpResponse:
    order = selectors.access_order(request.user, pk)
    form = FountainImportForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            batch = production_import.preview_fountain(
                actor=request.user,
                order=order,
                upload=form.cleaned_data["file"],
                episode_number=form.cleaned_data.get("episode"),
                per=form.cleaned_data["per"],
            )
        except DomainError as exc:
            attach_domain_error(form, exc)
        else:
            return redirect(reverse("import-preview", args=[batch.pk]))
    messages.error(request, _("The screenplay was not read. See the error below."))
    return _import_page(request, order, script_form=form, status=400)


@business_required
def import_preview(request: HttpRequest, pk: int) -> HttpResponse:
    batch = get_object_or_404(ImportBatch.objects.select_related("order", "created_by"), pk=pk)
    order = batch.order
    if request.method == "POST":
        try:
            if request.POST.get("action") == "discard":
                production_import.discard_import(actor=request.user, batch=batch)
                messages.info(request, _("The import was discarded; nothing was changed."))
                return redirect(reverse("breakdown-import", args=[order.pk]))
            summary = production_import.apply_import(actor=request.user, batch=batch)
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect(reverse("import-preview", args=[batch.pk]))
        if batch.kind == ImportBatch.Kind.FOUNTAIN:
            messages.success(
                request,
                _("%(shots)s shots were added to episode %(episode)s.")
                % {"shots": summary["shots"], "episode": summary["episode"]},
            )
        else:
            messages.success(
                request,
                _("Imported: %(create)s new shots, %(update)s updated, %(unchanged)s unchanged.")
                % summary,
            )
        return redirect(reverse("breakdown", args=[order.pk]))
    payload = batch.payload
    rows = payload.get("rows", [])
    return render(
        request,
        "orders/production/import_preview.html",
        {
            "nav": "orders",
            "order": order,
            "batch": batch,
            "payload": payload,
            "error_rows": [r for r in rows if r.get("errors")][
                : production_import.MAX_ERRORS_SHOWN
            ],
            "rows": rows,
            "pending": batch.status == ImportBatch.Status.PENDING,
        },
    )


@business_required
def breakdown_export(request: HttpRequest, pk: int) -> HttpResponse:
    order = selectors.access_order(request.user, pk)
    data = production_import.export_csv(actor=request.user, order=order)
    name = slugify(order.reference) or "order"
    response = HttpResponse(data, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}-shots.csv"'
    return response


# --- AI-content labels ---------------------------------------------------------------------


@member_required
@require_POST
def deliverable_ai_labels(request: HttpRequest, pk: int, did: int) -> HttpResponse:
    order = selectors.access_order(request.user, pk)
    deliverable = get_object_or_404(Deliverable, pk=did, order_id=order.pk)
    deliverable.order = order
    form = AiLabelForm(request.POST)
    form.is_valid()
    try:
        production.set_ai_label_checks(
            actor=request.user,
            deliverable=deliverable,
            visible=bool(form.cleaned_data.get("visible")),
            metadata=bool(form.cleaned_data.get("metadata")),
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("The AI-content label checks of “%(title)s” v%(version)s were saved.")
            % {"title": deliverable.title, "version": deliverable.version},
        )
    return redirect(f"{reverse('order-detail', args=[order.pk])}#ai-labels")


@member_required
@require_POST
def order_deliver_anyway(request: HttpRequest, pk: int) -> HttpResponse:
    """The owner marks the order delivered although AI-content labels are unchecked; the
    timeline records the override."""
    order = selectors.access_order(request.user, pk)
    try:
        services.change_status(
            actor=request.user,
            order=order,
            to_status=Order.Status.DELIVERED,
            note=request.POST.get("note", "")[:2000],
            override_ai_labels=True,
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.warning(
            request,
            _(
                "The order is now “Delivered”. The timeline records that its AI-content "
                "labels were not all checked."
            ),
        )
    return redirect(reverse("order-detail", args=[order.pk]))
