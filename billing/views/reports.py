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
from django.forms.utils import flatatt
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import formats
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from billing.forms import PERIOD_CHOICES
from billing.margin import MarginFilters, MissingRateNote, OrderMargin, filtered_margins
from billing.reports import MAX_MONTHS, MonthlyReport, monthly_report, parse_month, report_csv
from billing.services import margins as stored
from orders.models import Client, Order
from orders.views.access import business_required
from studio.charts import Chart, Series, bar_line_chart
from studio.models import StudioProfile
from studio.money import Money

PAGE_SIZE = 25
ALL = "all"  # the status filter's "any status" (the default is accepted work only)
MONTH_COUNTS = [(3, "3"), (6, "6"), (12, "12"), (24, "24"), (36, "36")]


# --- Forms ------------------------------------------------------------------------------


class ClientSelect(forms.Select):
    """The client <select>, rendered in one pass from (id, name) rows: Django's model
    choices build an instance and a template per option, over a second at 2,000
    clients."""

    def render(self, name: str, value: Any, attrs: Any = None, renderer: Any = None) -> SafeString:
        final = self.build_attrs(self.attrs, {**(attrs or {}), "name": name})
        chosen = "" if value is None else str(value)
        field = getattr(self.choices, "field", None)
        queryset = getattr(self.choices, "queryset", None)
        pairs: Any = queryset.values_list("pk", "name") if queryset is not None else self.choices
        empty = [("", field.empty_label)] if field is not None and field.empty_label else []
        options = "".join(
            f'<option value="{escape(key)}"{" selected" if str(key) == chosen else ""}>'
            f"{escape(label)}</option>"
            for key, label in [*empty, *pairs]
        )
        return format_html("<select{}>{}</select>", flatatt(final), mark_safe(options))


class MarginFilterForm(forms.Form):
    """The margin list's query string. Bad values count as not given, never a 500."""

    period = forms.ChoiceField(
        required=False, choices=PERIOD_CHOICES, label=gettext_lazy("Active during")
    )
    status = forms.ChoiceField(
        required=False,
        choices=[
            ("", gettext_lazy("Accepted work")),
            (ALL, gettext_lazy("Any status, quotes included")),
            *Order.Status.choices,
        ],
        label=gettext_lazy("Status"),
        help_text=gettext_lazy("Accepted work: orders accepted once, or invoiced."),
    )
    client = forms.ModelChoiceField(
        queryset=Client.objects.none(),
        required=False,
        label=gettext_lazy("Client"),
        empty_label=gettext_lazy("Any client"),
        widget=ClientSelect,
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


def _profile(request: HttpRequest) -> StudioProfile:
    return getattr(request, "studio_profile", None) or StudioProfile.load()


def _filters(data: dict[str, Any]) -> MarginFilters:
    client = data.get("client")
    status = data.get("status") or ""
    return MarginFilters(
        period=data.get("period") or "",
        status="" if status == ALL else status,
        client_id=client.pk if client is not None else None,
        sort=data.get("sort") or "-margin",
        scope="all" if status == ALL else "accepted",
    )


@business_required
def margin_list(request: HttpRequest) -> HttpResponse:
    form = MarginFilterForm(request.GET)
    filters = _filters(form.clean_values())
    profile = _profile(request)
    today = stored.studio_today(profile)
    fresh = stored.freshness(profile)
    context: dict[str, Any] = {"nav": "costs", "tab": "margins", "form": form, "sort": filters.sort}
    context["freshness"] = fresh
    if fresh.computed:
        context |= _stored_list(request, filters, today, currency=fresh.currency)
    elif fresh.live:
        context |= _live_list(request, filters, today, profile)
    else:
        context |= _empty_list(profile)
    return render(request, "billing/margin_list.html", context)


def _percent(totals: dict[str, Decimal]) -> Decimal | None:
    revenue = totals["revenue"]
    return (totals["margin"] * 100 / revenue).quantize(Decimal("0.1")) if revenue else None


def _stored_list(
    request: HttpRequest, filters: MarginFilters, today: dt.date, *, currency: str
) -> dict[str, Any]:
    """The list from the stored rows: a fixed number of queries whatever the size."""
    rows = stored.filtered_rows(filters, today=today)
    found = stored.totals_of(rows)
    count, totals = found.count, found.sums
    paginator = Paginator(rows, PAGE_SIZE)
    paginator.count = count  # counted with the totals already
    page = paginator.get_page(request.GET.get("page"))
    notes = stored.month_notes()
    page_rows = stored.page_margins(list(page.object_list))
    return {
        "page_obj": page,
        "rows": page_rows,
        "count": count,
        "currency": page_rows[0].currency if page_rows else currency,
        "totals": totals,
        "totals_percent": _percent(totals),
        "unallocated": [_month(m) for m in notes.unallocated],
        "incomplete_months": notes.incomplete,
        "missing": stored.missing_summary(rows),
        "incomplete_orders": found.incomplete,
    }


def _month(month: Any) -> dict[str, Any]:
    return {"month": month.month, "amount": month.overhead}


def _live_list(
    request: HttpRequest, filters: MarginFilters, today: dt.date, profile: StudioProfile
) -> dict[str, Any]:
    """Before the first recompute, for a small studio: compute in memory (no write)."""
    book, rows = filtered_margins(filters, today=today, profile=profile)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    totals = {name: _sum(rows, name) for name in stored.MONEY_COLUMNS}
    return {
        "page_obj": page,
        "rows": page.object_list,
        "count": len(rows),
        "currency": book.currency,
        "totals": totals,
        "totals_percent": _percent(totals),
        "unallocated": book.unallocated_months,
        "incomplete_months": [
            m for m in sorted(book.months.values(), key=lambda m: m.month) if m.incomplete
        ],
        "missing": merged_missing(book.missing),
        "incomplete_orders": sum(1 for row in rows if not row.complete),
    }


def _empty_list(profile: StudioProfile) -> dict[str, Any]:
    zero = dict.fromkeys(stored.MONEY_COLUMNS, Decimal(0))
    return {
        "page_obj": None,
        "rows": [],
        "count": 0,
        "currency": profile.reporting_currency,
        "totals": zero,
        "totals_percent": None,
        "unallocated": [],
        "incomplete_months": [],
        "missing": [],
        "incomplete_orders": 0,
    }


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
    profile = _profile(request)
    end, months = form.values(stored.studio_today(profile))
    fresh = stored.freshness(profile)
    if fresh.computed:
        report = stored.stored_report(end=end, months=months, currency=fresh.currency)
    else:
        # Never computed: the live report is a fixed number of queries at any size.
        report = monthly_report(end=end, months=months, profile=profile)
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
            "freshness": fresh if fresh.computed else None,
        },
    )
