"""Staff pages for margins and the monthly report (owners and producers; artists 403).

Both pages are pure reads over billing.margin and billing.reports, with a fixed number
of queries whatever the number of orders. Bad query strings count as not given.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django import forms
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from billing.forms import PERIOD_CHOICES
from billing.margin import MarginFilters, MissingRateNote, OrderMargin, filtered_margins
from billing.models.invoices import today_in_studio
from billing.reports import MAX_MONTHS, MonthlyReport, monthly_report, parse_month, report_csv
from orders.models import Client, Order
from orders.views.access import business_required
from studio.charts import Chart, Series, bar_line_chart
from studio.money import Money

PAGE_SIZE = 25
MONTH_COUNTS = [(3, "3"), (6, "6"), (12, "12"), (24, "24"), (36, "36")]


# --- Forms ------------------------------------------------------------------------------


class MarginFilterForm(forms.Form):
    """The margin list's query string. Bad values count as not given, never a 500."""

    period = forms.ChoiceField(
        required=False, choices=PERIOD_CHOICES, label=gettext_lazy("Active during")
    )
    status = forms.ChoiceField(
        required=False,
        choices=[("", gettext_lazy("Any status")), *Order.Status.choices],
        label=gettext_lazy("Status"),
    )
    client = forms.ModelChoiceField(
        queryset=Client.objects.none(),
        required=False,
        label=gettext_lazy("Client"),
        empty_label=gettext_lazy("Any client"),
    )
    sort = forms.ChoiceField(
        required=False,
        choices=[
            ("-margin", gettext_lazy("Highest margin first")),
            ("margin", gettext_lazy("Lowest margin first")),
            ("-margin_percent", gettext_lazy("Highest margin percentage first")),
            ("margin_percent", gettext_lazy("Lowest margin percentage first")),
        ],
        label=gettext_lazy("Sort"),
    )

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        field = self.fields["client"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = Client.objects.order_by("name", "pk").only("id", "name")

    def clean_values(self) -> dict[str, Any]:
        self.is_valid()
        return {k: v for k, v in self.cleaned_data.items() if k not in self.errors}

    @property
    def has_filters(self) -> bool:
        return any(self.data.get(name) for name in ("period", "status", "client"))


class ReportForm(forms.Form):
    end = forms.CharField(
        required=False,
        label=gettext_lazy("Report ends with"),
        widget=forms.TextInput(attrs={"type": "month", "placeholder": "2026-12"}),
    )
    months = forms.TypedChoiceField(
        required=False,
        coerce=int,
        choices=MONTH_COUNTS,
        label=gettext_lazy("Months"),
        empty_value=None,
    )

    def values(self, today: dt.date) -> tuple[dt.date, int]:
        self.is_valid()
        data = {k: v for k, v in self.cleaned_data.items() if k not in self.errors}
        end = parse_month(data.get("end")) or today.replace(day=1)
        months = data.get("months") or 12
        return end, min(max(int(months), 1), MAX_MONTHS)


# --- Shared reads -----------------------------------------------------------------------


def merged_missing(notes: list[MissingRateNote]) -> list[dict[str, Any]]:
    """Missing conversions per currency: how many amounts, how much, between which days."""
    merged: dict[str, dict[str, Any]] = {}
    for note in notes:
        entry = merged.setdefault(
            note.currency,
            {
                "currency": note.currency,
                "count": 0,
                "amount": Decimal(0),
                "first": note.day,
                "last": note.day,
            },
        )
        entry["count"] += 1
        entry["amount"] += note.amount
        entry["first"] = min(entry["first"], note.day)
        entry["last"] = max(entry["last"], note.day)
    return sorted(merged.values(), key=lambda e: e["currency"])


def _sum(rows: list[OrderMargin], name: str) -> Decimal:
    return sum((getattr(row, name) for row in rows), Decimal(0))


# --- Pages ------------------------------------------------------------------------------


@business_required
def margin_list(request: HttpRequest) -> HttpResponse:
    form = MarginFilterForm(request.GET)
    data = form.clean_values()
    client = data.get("client")
    filters = MarginFilters(
        period=data.get("period") or "",
        status=data.get("status") or "",
        client_id=client.pk if client is not None else None,
        sort=data.get("sort") or "-margin",
    )
    today = today_in_studio()
    book, rows = filtered_margins(
        filters, today=today, profile=getattr(request, "studio_profile", None)
    )
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    totals = {
        name: _sum(rows, name) for name in ("revenue", "generation", "direct", "overhead", "margin")
    }
    total_revenue = totals["revenue"]
    totals_percent = (
        (totals["margin"] * 100 / total_revenue).quantize(Decimal("0.1")) if total_revenue else None
    )
    return render(
        request,
        "billing/margin_list.html",
        {
            "nav": "costs",
            "tab": "margins",
            "form": form,
            "page_obj": page,
            "rows": page.object_list,
            "count": len(rows),
            "currency": book.currency,
            "totals": totals,
            "totals_percent": totals_percent,
            "sort": filters.sort,
            "unallocated": book.unallocated_months,
            "incomplete_months": [
                m for m in sorted(book.months.values(), key=lambda m: m.month) if m.incomplete
            ],
            "missing": merged_missing(book.missing),
            "incomplete_orders": sum(1 for row in rows if not row.complete),
        },
    )


def report_chart(report: MonthlyReport) -> Chart:
    labels = [m.month.strftime("%Y-%m") for m in report.months]

    def show(value: Decimal) -> str:
        return Money(value, report.currency).format()

    return bar_line_chart(
        labels=labels,
        bars=[
            Series(_("Revenue invoiced (net)"), [m.invoiced for m in report.months]),
            Series(_("Costs"), [m.costs for m in report.months]),
        ],
        lines=[Series(_("Gross margin"), [m.gross_margin for m in report.months])],
        title=_("Revenue, costs and gross margin per month"),
        description=_(
            "Bars: net revenue invoiced and costs (generation, subscriptions, other "
            "expenses) per month; line: gross margin, in %(currency)s."
        )
        % {"currency": report.currency},
        unit=report.currency,
        value_format=show,
    )


@business_required
def monthly_report_view(request: HttpRequest) -> HttpResponse:
    form = ReportForm(request.GET)
    today = today_in_studio()
    end, months = form.values(today)
    report = monthly_report(
        end=end, months=months, profile=getattr(request, "studio_profile", None)
    )
    if request.GET.get("format") == "csv":
        response = HttpResponse(report_csv(report), content_type="text/csv; charset=utf-8")
        name = f"reeldesk-monthly-{report.start:%Y-%m}-{report.end:%Y-%m}.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
    if not form.data.get("end"):
        form = ReportForm({"end": end.strftime("%Y-%m"), "months": months})
    return render(
        request,
        "billing/monthly_report.html",
        {
            "nav": "costs",
            "tab": "report",
            "form": form,
            "report": report,
            "totals": report.totals,
            "chart": report_chart(report),
            "end_label": formats.date_format(report.end, "YEAR_MONTH_FORMAT"),
            "start_label": formats.date_format(report.start, "YEAR_MONTH_FORMAT"),
            "missing": merged_missing(report.missing),
            "csv_query": f"end={end:%Y-%m}&months={months}&format=csv",
        },
    )
