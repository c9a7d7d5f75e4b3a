"""Spreadsheet imports of clients and orders: upload, choose columns, preview, confirm.
The page helpers take the kind of import (a SheetSpec), so billing's expense import
uses the same pages."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from orders import spreadsheet_import as sheets
from orders.csv_tools import DayOrder
from orders.forms import attach_domain_error
from orders.models import SheetImport
from orders.views.access import business_required
from studio.errors import DomainError

NOT_IMPORTED = ""


class SheetUploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("CSV file"),
        help_text=gettext_lazy(
            "Save the sheet as CSV (UTF-8, GB18030 or UTF-16; commas, semicolons or tabs). "
            "At most 5 MB."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,text/csv"}),
    )


class MappingForm(forms.Form):
    """One choice of column per field, and the options of the kind of import."""

    def __init__(self, *args: Any, spec: sheets.SheetSpec, batch: SheetImport, **kwargs: Any):
        super().__init__(*args, **kwargs)
        choices = [(NOT_IMPORTED, _("— not imported —"))] + [
            (str(index), cell or _("(column %(n)s)") % {"n": index + 1})
            for index, cell in enumerate(batch.header)
        ]
        for column in spec.columns:
            current = batch.mapping.get(column.name)
            self.fields[f"col_{column.name}"] = forms.ChoiceField(
                label=f"{column.label}{' *' if column.required else ''}",
                choices=choices,
                required=False,
                initial="" if current is None else str(current),
            )
        if "day_order" in spec.options:
            self.fields["day_order"] = forms.ChoiceField(
                label=_("Dates like 3/5/2026"),
                choices=[
                    (DayOrder.AUTO, _("Only when clear (refuse 3/5/2026)")),
                    (DayOrder.DAY_FIRST, _("Day first: 3/5/2026 is 3 May")),
                    (DayOrder.MONTH_FIRST, _("Month first: 3/5/2026 is 5 March")),
                ],
                initial=batch.options.get("day_order", DayOrder.AUTO),
            )
        if "create_clients" in spec.options:
            self.fields["create_clients"] = forms.BooleanField(
                label=_("Create missing clients"),
                required=False,
                initial=batch.options.get("create_clients", False),
                help_text=_("Rows whose client does not exist yet create it by that name."),
            )

    def mapping(self, spec: sheets.SheetSpec) -> dict[str, int | None]:
        chosen: dict[str, int | None] = {}
        for column in spec.columns:
            value = self.cleaned_data.get(f"col_{column.name}") or NOT_IMPORTED
            chosen[column.name] = int(value) if value.isdigit() else None
        return chosen

    def options(self) -> dict[str, Any]:
        return {k: self.cleaned_data.get(k) for k in ("day_order", "create_clients")}


def upload_page(request: HttpRequest, spec: sheets.SheetSpec, *, nav: str) -> HttpResponse:
    form = SheetUploadForm()
    status = 200
    if request.method == "POST":
        form = SheetUploadForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                batch = sheets.upload_sheet(
                    actor=request.user, spec=spec, upload=form.cleaned_data["file"]
                )
            except DomainError as exc:
                attach_domain_error(form, exc)
            else:
                return redirect(reverse(spec.batch_url, args=[batch.pk]))
        status = 400
    recent = SheetImport.objects.filter(kind=spec.kind).only(
        "pk", "filename", "status", "created_at", "kind"
    )[:5]
    return render(
        request,
        "orders/import_upload.html",
        {"nav": nav, "spec": spec, "form": form, "recent": recent},
        status=status,
    )


def batch_page(
    request: HttpRequest, spec: sheets.SheetSpec, batch: SheetImport, *, nav: str
) -> HttpResponse:
    here = reverse(spec.batch_url, args=[batch.pk])
    form = MappingForm(spec=spec, batch=batch)
    status = 200
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "discard":
                sheets.discard_sheet(actor=request.user, batch=batch)
                messages.info(request, _("The import was discarded; nothing was changed."))
                return redirect(reverse(spec.upload_url))
            if action == "confirm":
                summary = sheets.apply_sheet(actor=request.user, spec=spec, batch=batch)
                messages.success(
                    request,
                    _(
                        "Imported: %(new)s new, %(update)s updated, %(unchanged)s unchanged, "
                        "%(skipped)s rows with errors skipped."
                    )
                    % summary,
                )
                return redirect(reverse(spec.list_url))
            form = MappingForm(request.POST, spec=spec, batch=batch)
            if form.is_valid():
                sheets.set_mapping(
                    actor=request.user,
                    spec=spec,
                    batch=batch,
                    mapping=form.mapping(spec),
                    options=form.options(),
                )
                messages.info(request, _("The preview was made again with these columns."))
                return redirect(here)
            status = 400
        except DomainError as exc:
            if action in {"confirm", "discard"}:
                messages.error(request, exc.message)
                return redirect(here)
            attach_domain_error(form, exc)
            status = 400
    plan = batch.plan
    rows = plan.get("rows", [])
    page = Paginator(rows, sheets.ROWS_PER_PAGE).get_page(request.GET.get("page"))
    shown_columns = [c for c in spec.columns if c.name in batch.mapping]
    return render(
        request,
        "orders/import_sheet.html",
        {
            "nav": nav,
            "spec": spec,
            "batch": batch,
            "plan": plan,
            "form": form,
            "page_obj": page,
            "rows": [
                {**row, "cells": [row["shown"].get(c.name, "") for c in shown_columns]}
                for row in page.object_list
            ],
            "shown_columns": shown_columns,
            "error_rows": [r for r in rows if r.get("errors")][: sheets.MAX_ERRORS_SHOWN],
            "valid_count": len(rows) - plan.get("errors", 0),
            "pending": batch.status == SheetImport.Status.PENDING,
            "to_save": plan.get("counts", {}).get("new", 0)
            + plan.get("counts", {}).get("update", 0),
        },
        status=status,
    )


def access_batch(pk: int, kinds: set[str]) -> SheetImport:
    batch = get_object_or_404(SheetImport, pk=pk)
    if batch.kind not in kinds:
        raise Http404
    return batch


@business_required
def client_import(request: HttpRequest) -> HttpResponse:
    return upload_page(request, sheets.CLIENTS, nav="clients")


@business_required
def order_import(request: HttpRequest) -> HttpResponse:
    return upload_page(request, sheets.ORDERS, nav="orders")


@business_required
def sheet_import(request: HttpRequest, pk: int) -> HttpResponse:
    batch = access_batch(pk, set(sheets.SPECS))
    spec = sheets.SPECS[batch.kind]
    return batch_page(request, spec, batch, nav="clients" if spec is sheets.CLIENTS else "orders")
