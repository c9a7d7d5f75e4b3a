"""Staff pages for exchange rates: the latest rate per currency and the history, entry
by hand, corrections, and the CSV import with its preview. Owners and producers only.

The import's preview is kept in the session (only the rows that would be saved), so
that confirming saves exactly what was shown and nothing travels in the form.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import OuterRef, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from billing import services
from billing.forms_costs import RateEditForm, RateForm, RateHistoryFilterForm, RateImportForm
from billing.models import ExchangeRate, Expense, Invoice, Subscription
from billing.services.rates import RatePreview, RateRow
from billing.views.expenses import page_reporting
from orders.forms import attach_domain_error
from orders.models import Order
from orders.views.access import business_required
from studio.errors import DomainError

PAGE_SIZE = 50
SESSION_KEY = "billing_rate_import"


def latest_rates(reporting: str) -> list[ExchangeRate]:
    """The newest rate of every currency to the reporting currency (one query)."""
    newest = (
        ExchangeRate.objects.filter(quote_currency=reporting, currency=OuterRef("currency"))
        .order_by("-on", "-pk")
        .values("pk")[:1]
    )
    return list(
        ExchangeRate.objects.filter(quote_currency=reporting, pk=Subquery(newest)).order_by(
            "currency"
        )
    )


def currencies_without_rates(reporting: str) -> list[str]:
    """Currencies used by expenses, subscriptions, invoices or orders that have no rate
    to the reporting currency at all (five queries, whatever the data size)."""
    used: set[str] = set()
    for model in (Expense, Subscription, Invoice, Order):
        used.update(model.objects.order_by().values_list("currency", flat=True).distinct())
    have = set(
        ExchangeRate.objects.filter(quote_currency=reporting)
        .order_by()
        .values_list("currency", flat=True)
        .distinct()
    )
    return sorted(used - have - {reporting})


def _render_list(
    request: HttpRequest, form: RateForm, reporting: str, *, status: int = 200
) -> HttpResponse:
    history_filter = RateHistoryFilterForm(request.GET)
    history = ExchangeRate.objects.order_by("-on", "currency", "-pk")
    currency = history_filter.currency_code()
    if currency:
        history = history.filter(currency=currency)
    page = Paginator(history, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "billing/rate_list.html",
        {
            "nav": "costs",
            "tab": "rates",
            "form": form,
            "history_filter": history_filter,
            "reporting": reporting,
            "latest": latest_rates(reporting),
            "missing": currencies_without_rates(reporting),
            "page_obj": page,
        },
        status=status,
    )


@business_required
@require_http_methods(["GET", "POST"])
def rate_list(request: HttpRequest) -> HttpResponse:
    reporting = page_reporting(request)
    if request.method != "POST":
        initial: dict[str, Any] = {"on": timezone.localdate()}
        if request.GET.get("add", "").isalpha():
            initial["currency"] = request.GET["add"][:3].upper()
        return _render_list(request, RateForm(initial=initial, reporting=reporting), reporting)
    form = RateForm(request.POST, reporting=reporting)
    if form.is_valid():
        data = form.cleaned_data
        try:
            result = services.set_rate(
                actor=request.user, currency=data["currency"], on=data["on"], rate=data["rate"]
            )
        except DomainError as exc:
            attach_domain_error(form, exc)
        else:
            rate = result.rate
            text = (
                _("Rate added: 1 %(currency)s = %(rate)s %(quote)s on %(day)s.")
                if result.created
                else _("Rate updated: 1 %(currency)s = %(rate)s %(quote)s on %(day)s.")
            )
            messages.success(
                request,
                text
                % {
                    "currency": rate.currency,
                    "rate": format(rate.rate.normalize(), "f"),
                    "quote": rate.quote_currency,
                    "day": rate.on.isoformat(),
                },
            )
            return redirect("exchange-rate-list")
    return _render_list(request, form, reporting, status=400)


@business_required
@require_http_methods(["GET", "POST"])
def rate_edit(request: HttpRequest, pk: int) -> HttpResponse:
    rate = get_object_or_404(ExchangeRate, pk=pk)
    form = RateEditForm(
        request.POST if request.method == "POST" else None,
        initial={"on": rate.on, "rate": format(rate.rate.normalize(), "f")},
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.update_rate(
                actor=request.user,
                exchange_rate=rate,
                rate=form.cleaned_data["rate"],
                on=form.cleaned_data["on"],
            )
        except DomainError as exc:
            attach_domain_error(form, exc)
        else:
            messages.success(request, _("Rate saved."))
            return redirect("exchange-rate-list")
    return render(
        request,
        "billing/rate_form.html",
        {"nav": "costs", "tab": "rates", "form": form, "rate": rate},
        status=400 if form.errors else 200,
    )


@business_required
@require_POST
def rate_delete(request: HttpRequest, pk: int) -> HttpResponse:
    rate = get_object_or_404(ExchangeRate, pk=pk)
    services.delete_rate(actor=request.user, exchange_rate=rate)
    messages.success(
        request,
        _("Rate of %(currency)s on %(day)s deleted.")
        % {"currency": rate.currency, "day": rate.on.isoformat()},
    )
    return redirect("exchange-rate-list")


# --- CSV import -------------------------------------------------------------------------------


def _keep_preview(request: HttpRequest, preview: RatePreview) -> str:
    token = secrets.token_urlsafe(16)
    request.session[SESSION_KEY] = {
        "token": token,
        "filename": preview.filename,
        "rows": [row.as_json() for row in preview.rows],
    }
    return token


def _kept_rows(request: HttpRequest, token: str) -> list[RateRow] | None:
    kept = request.session.get(SESSION_KEY)
    if (
        not isinstance(kept, dict)
        or not token
        or not secrets.compare_digest(str(kept.get("token", "")), token)
    ):
        return None
    return [RateRow.from_json(row) for row in kept.get("rows", [])]


@business_required
@require_http_methods(["GET", "POST"])
def rate_import(request: HttpRequest) -> HttpResponse:
    reporting = page_reporting(request)
    context: dict[str, Any] = {"nav": "costs", "tab": "rates", "reporting": reporting}
    if request.method == "POST" and "confirm" in request.POST:
        return _confirm(request)
    if request.method == "POST" and "discard" in request.POST:
        request.session.pop(SESSION_KEY, None)
        messages.info(request, _("Import discarded; nothing was saved."))
        return redirect("exchange-rate-import")
    form = RateImportForm(
        request.POST if request.method == "POST" else None,
        request.FILES if request.method == "POST" else None,
        initial={"quote_currency": reporting},
    )
    if request.method == "POST" and form.is_valid():
        try:
            preview = services.preview_rates_csv(
                actor=request.user,
                upload=form.cleaned_data["file"],
                quote_currency=form.cleaned_data["quote_currency"],
            )
        except DomainError as exc:
            attach_domain_error(form, exc)
        else:
            context.update(
                preview=preview,
                token=_keep_preview(request, preview),
                new_count=preview.count("new"),
                update_count=preview.count("update"),
                same_count=preview.count("same"),
            )
    context["form"] = form
    return render(request, "billing/rate_import.html", context, status=400 if form.errors else 200)


def _confirm(request: HttpRequest) -> HttpResponse:
    rows = _kept_rows(request, str(request.POST.get("confirm", "")))
    if rows is None:
        messages.error(request, _("This preview is no longer available. Upload the file again."))
        return redirect("exchange-rate-import")
    try:
        result = services.import_rates(actor=request.user, rows=rows)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("exchange-rate-import")
    request.session.pop(SESSION_KEY, None)
    messages.success(
        request,
        _("Imported: %(created)s new, %(updated)s updated, %(unchanged)s already so.")
        % {"created": result.created, "updated": result.updated, "unchanged": result.unchanged},
    )
    return redirect("exchange-rate-list")
