"""Staff pages for expenses: the filtered list with its totals and CSV export, the form,
the detail with its history, and the receipt file. Owners and producers only."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import BigIntegerField, Count, F, QuerySet
from django.db.models.functions import Cast, Round
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from billing import services
from billing.forms_costs import (
    ExpenseFilterForm,
    ExpenseFilters,
    ExpenseForm,
    filter_expenses,
    order_suggestions,
)
from billing.fx import RateTable, reporting_currency
from billing.models import CostEvent, Expense
from billing.selectors import exact_sum, from_cents
from billing.services.subscriptions import renewal_note_for_display
from orders.forms import attach_domain_error
from orders.views.access import business_required
from orders.views.files import serve_stored_file
from studio.errors import DomainError
from studio.money import Money

PAGE_SIZE = 25
# Characters that make a spreadsheet read a cell as a formula (OWASP CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def page_reporting(request: HttpRequest) -> str:
    """The reporting currency, from the profile the middleware loaded (no query)."""
    profile = getattr(request, "studio_profile", None)
    return profile.reporting_currency if profile is not None else reporting_currency()


# --- Totals -------------------------------------------------------------------------------


@dataclass
class MissingGroup:
    currency: str
    count: int
    amount: Money
    first_day: dt.date


@dataclass
class ExpenseTotals:
    reporting: str
    per_currency: list[tuple[Money, int]]
    converted: Money
    converted_count: int
    table: RateTable
    missing: list[MissingGroup] = field(default_factory=list)

    @property
    def missing_count(self) -> int:
        return sum(group.count for group in self.missing)


def expense_totals(qs: QuerySet[Expense], reporting: str) -> ExpenseTotals:
    """Sums per currency, and the total in the reporting currency converted expense by
    expense at its date's rate (rounded per expense, then summed). Expenses with no
    rate on or before their date are counted apart, never guessed. Three queries."""
    base = qs.order_by()
    per_currency = [
        (Money(from_cents(row["cents"]), row["currency"]), row["n"])
        for row in base.values("currency")
        .annotate(cents=exact_sum("amount"), n=Count("pk"))
        .order_by("currency")
    ]
    table = RateTable.load(reporting, [money.currency for money, _n in per_currency])
    total = Money.zero(reporting)
    converted = 0
    missing: dict[str, MissingGroup] = {}
    rows = base.annotate(cents=Cast(Round(F("amount") * 100), BigIntegerField())).values_list(
        "currency", "spent_on", "cents"
    )
    for currency, day, cents in rows.iterator(chunk_size=2000):
        money = Money(from_cents(cents), currency)
        value = table.try_convert(money, day)
        if value is not None:
            total += value
            converted += 1
            continue
        group = missing.get(currency)
        if group is None:
            missing[currency] = MissingGroup(currency, 1, money, day)
        else:
            group.count += 1
            group.amount += money
            group.first_day = min(group.first_day, day)
    return ExpenseTotals(
        reporting=reporting,
        per_currency=per_currency,
        converted=total,
        converted_count=converted,
        table=table,
        missing=sorted(missing.values(), key=lambda g: g.currency),
    )


def expense_rows(qs: QuerySet[Expense]) -> QuerySet[Expense]:
    return qs.select_related("tool", "order", "subscription").order_by("-spent_on", "-pk")


def _filtered(request: HttpRequest) -> tuple[ExpenseFilterForm, ExpenseFilters, QuerySet[Expense]]:
    form = ExpenseFilterForm(request.GET)
    filters = form.filters()
    return form, filters, filter_expenses(Expense.objects.all(), filters)


# --- List and export ----------------------------------------------------------------------


@business_required
@require_safe
def expense_list(request: HttpRequest) -> HttpResponse:
    form, _filters, qs = _filtered(request)
    reporting = page_reporting(request)
    page = Paginator(expense_rows(qs), PAGE_SIZE).get_page(request.GET.get("page"))
    totals = expense_totals(qs, reporting)
    rows = [
        {"expense": e, "converted": totals.table.try_convert(e.money, e.spent_on)}
        for e in page.object_list
    ]
    return render(
        request,
        "billing/expense_list.html",
        {
            "nav": "costs",
            "tab": "expenses",
            "form": form,
            "page_obj": page,
            "rows": rows,
            "totals": totals,
            "reporting": reporting,
            "export_query": request.GET.urlencode(),
        },
    )


class _Echo:
    """A file-like object whose write returns the line, for streaming csv.writer output."""

    def write(self, value: str) -> str:
        return value


def safe_cell(value: Any) -> str:
    """The cell as text, a leading = + - @ defused with an apostrophe."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def plain_amount(amount: Decimal, currency: str) -> str:
    """1500.00 (CNY), 1200 (JPY): a plain decimal string, no symbol or separators."""
    return str(Money(amount, currency).rounded().amount)


def export_lines(qs: QuerySet[Expense], reporting: str) -> Iterator[str]:
    writer = csv.writer(_Echo(), lineterminator="\r\n")
    yield "\ufeff"  # BOM: Excel and WPS then read the file as UTF-8 (Chinese intact)
    yield writer.writerow(
        [
            _("Date"),
            _("Category"),
            _("Amount"),
            _("Currency"),
            _("Amount in %(currency)s") % {"currency": reporting},
            _("Rate missing"),
            _("Vendor"),
            _("Tool"),
            _("Order"),
            _("Direct or overhead"),
            _("Note"),
            _("Receipt"),
            _("Id"),
        ]
    )
    table = RateTable.load(reporting)
    yes, no = _("yes"), _("no")
    for expense in expense_rows(qs).iterator(chunk_size=500):
        converted = table.try_convert(expense.money, expense.spent_on)
        yield writer.writerow(
            [
                expense.spent_on.isoformat(),
                safe_cell(expense.get_category_display()),
                plain_amount(expense.amount, expense.currency),
                expense.currency,
                str(converted.amount) if converted is not None else "",
                no if converted is not None else yes,
                safe_cell(expense.vendor),
                safe_cell(expense.tool.name if expense.tool else ""),
                safe_cell(expense.order.reference if expense.order else ""),
                _("Overhead") if expense.is_overhead else _("Direct"),
                safe_cell(renewal_note_for_display(expense.note)),
                yes if expense.receipt else no,
                str(expense.pk),
            ]
        )


@business_required
@require_safe
def expense_export(request: HttpRequest) -> StreamingHttpResponse:
    _form, _filters, qs = _filtered(request)
    reporting = page_reporting(request)
    response = StreamingHttpResponse(
        export_lines(qs, reporting), content_type="text/csv; charset=utf-8"
    )
    name = f"expenses-{timezone.localdate().isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- Detail, form, delete -------------------------------------------------------------------


def access_expense(pk: int) -> Expense:
    """The expense with what its pages show (404 if missing). Views check the role."""
    return get_object_or_404(
        Expense.objects.select_related("tool", "order", "subscription", "created_by"), pk=pk
    )


@business_required
@require_safe
def expense_detail(request: HttpRequest, pk: int) -> HttpResponse:
    expense = access_expense(pk)
    reporting = page_reporting(request)
    table = RateTable.load(reporting, [expense.currency])
    history = CostEvent.objects.filter(
        subject=CostEvent.Subject.EXPENSE, object_id=expense.pk
    ).select_related("actor")[:100]
    return render(
        request,
        "billing/expense_detail.html",
        {
            "nav": "costs",
            "tab": "expenses",
            "expense": expense,
            "reporting": reporting,
            "converted": table.try_convert(expense.money, expense.spent_on),
            "rate_text": _plain(table.rate_on(expense.currency, expense.spent_on)),
            "history": list(history),
        },
    )


def _plain(number: Decimal | None) -> str:
    return format(number.normalize(), "f") if number is not None else ""


def _render_form(
    request: HttpRequest, form: ExpenseForm, expense: Expense | None, status: int = 200
) -> HttpResponse:
    return render(
        request,
        "billing/expense_form.html",
        {
            "nav": "costs",
            "tab": "expenses",
            "form": form,
            "expense": expense,
            "order_suggestions": order_suggestions(),
        },
        status=status,
    )


@business_required
@require_http_methods(["GET", "POST"])
def expense_create(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        profile = getattr(request, "studio_profile", None)
        initial: dict[str, Any] = {
            "spent_on": timezone.localdate(),
            "currency": profile.default_currency if profile is not None else "CNY",
            "category": Expense.Category.GENERATION_CREDITS,
        }
        if request.GET.get("order"):
            initial["order"] = request.GET["order"][:20]
        return _render_form(request, ExpenseForm(initial=initial), None)
    form = ExpenseForm(request.POST, request.FILES)
    if form.is_valid():
        data = form.cleaned_data
        try:
            expense = services.create_expense(
                actor=request.user,
                spent_on=data["spent_on"],
                amount=data["amount"],
                currency=data["currency"],
                category=data["category"],
                vendor=data["vendor"],
                tool=data["tool"],
                order=data["order"],
                note=data["note"],
                receipt=data.get("receipt"),
            )
        except DomainError as exc:
            attach_domain_error(form, exc)
        else:
            messages.success(request, _("Expense recorded."))
            if request.POST.get("another"):
                return redirect("expense-create")
            return redirect("expense-detail", pk=expense.pk)
    return _render_form(request, form, None, status=400)


@business_required
@require_http_methods(["GET", "POST"])
def expense_edit(request: HttpRequest, pk: int) -> HttpResponse:
    expense = access_expense(pk)
    if request.method != "POST":
        form = ExpenseForm(initial=ExpenseForm.initial_for(expense), expense=expense)
        return _render_form(request, form, expense)
    form = ExpenseForm(
        request.POST, request.FILES, initial=ExpenseForm.initial_for(expense), expense=expense
    )
    if form.is_valid():
        data = form.cleaned_data
        changes: dict[str, Any] = {"amount": data["amount"], "note": data["note"]}
        if not form.booked:
            changes.update(
                spent_on=data["spent_on"],
                currency=data["currency"],
                category=data["category"],
                vendor=data["vendor"],
                tool=data["tool"],
                order=data["order"],
            )
        try:
            services.update_expense(
                actor=request.user,
                expense=expense,
                receipt=data.get("receipt"),
                remove_receipt=bool(data.get("remove_receipt")),
                **changes,
            )
        except DomainError as exc:
            attach_domain_error(form, exc)
        else:
            messages.success(request, _("Expense saved."))
            return redirect("expense-detail", pk=expense.pk)
    return _render_form(request, form, expense, status=400)


@business_required
@require_POST
def expense_delete(request: HttpRequest, pk: int) -> HttpResponse:
    expense = access_expense(pk)
    try:
        services.delete_expense(actor=request.user, expense=expense)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("expense-detail", pk=expense.pk)
    messages.success(request, _("Expense deleted."))
    return redirect("expense-list")


@business_required
@require_safe
def expense_receipt(request: HttpRequest, pk: int) -> HttpResponseBase:
    """The stored receipt, inline as the type its content was checked to be."""
    expense = access_expense(pk)
    return serve_stored_file(
        request,
        expense.receipt,
        content_type=expense.receipt_content_type,
        filename=expense.receipt_original_name or "receipt",
    )
