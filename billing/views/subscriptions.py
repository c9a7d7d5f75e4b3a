"""Staff pages for tool subscriptions: list with the monthly burn, detail, forms, actions.

Owners and producers only (artists never see money). Every change goes through
billing.services.subscriptions; a refusal is shown on the form or as a message and
changes nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import F, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from billing.forms_subscriptions import (
    CancelForm,
    SubscriptionFilterForm,
    SubscriptionForm,
    initial_for,
)
from billing.fx import RateTable
from billing.models import CostEvent, Subscription
from billing.models.invoices import today_in_studio
from billing.services import subscriptions as services
from orders.forms import attach_domain_error
from orders.views.access import business_required
from studio.errors import DomainError
from studio.models import StudioProfile
from studio.money import Money

PAGE_SIZE = 50
UPCOMING_DAYS = 30
HISTORY_LIMIT = 100
# Badge colours from the shared stylesheet, by subscription status.
BADGE = {
    "active": "accepted",
    "cancelling": "in_review",
    "ending": "in_review",
    "upcoming": "on_hold",
    "ended": "delivered",
    "cancelled": "cancelled",
}


def status_label(key: str) -> str:
    return {
        "active": _("Active"),
        "cancelling": _("Cancelling"),
        "ending": _("Ending"),
        "upcoming": _("Not started"),
        "ended": _("Ended"),
        "cancelled": _("Cancelled"),
    }[key]


def access_subscription(pk: int) -> Subscription:
    return get_object_or_404(Subscription.objects.select_related("tool"), pk=pk)


def _row(subscription: Subscription, today: dt.date, rates: RateTable) -> dict[str, Any]:
    key = services.subscription_status(subscription, today)
    monthly = Money(subscription.monthly_amount, subscription.currency)
    counts = key in {"active", "cancelling", "ending"}
    return {
        "sub": subscription,
        "status": key,
        "badge": {"css": BADGE[key], "label": status_label(key)},
        "monthly": monthly.rounded(),
        "reporting": rates.try_convert(monthly, today) if counts else None,
        "counts": counts,
    }


def _ended(today: dt.date) -> Any:
    return Subscription.objects.filter(
        Q(cancelled_from__lte=today) | Q(auto_renew=False, next_renewal_on__lte=today)
    )


# --- List -----------------------------------------------------------------------------------


@business_required
def subscription_list(request: HttpRequest) -> HttpResponse:
    today = today_in_studio()
    quote = StudioProfile.load().reporting_currency
    form = SubscriptionFilterForm(request.GET)
    show = form.status_value()
    active = list(
        services.active_subscriptions(today)
        .select_related("tool")
        .order_by("tool__name", "plan_name", "pk")
    )
    horizon = today + dt.timedelta(days=UPCOMING_DAYS)
    upcoming = list(
        Subscription.objects.filter(auto_renew=True, next_renewal_on__lte=horizon)
        .filter(Q(cancelled_from__isnull=True) | Q(cancelled_from__gt=F("next_renewal_on")))
        .select_related("tool")
        .order_by("next_renewal_on", "pk")[:PAGE_SIZE]
    )
    if show == "active":
        source: Any = active
    elif show == "ended":
        source = _ended(today).select_related("tool").order_by("-next_renewal_on", "-pk")
    else:
        source = Subscription.objects.select_related("tool").order_by("tool__name", "pk")
    page = Paginator(source, PAGE_SIZE).get_page(request.GET.get("page"))
    currencies = {s.currency for s in [*active, *upcoming, *page.object_list]}
    rates = RateTable.load(quote, currencies)

    burn = [_row(s, today, rates) for s in active]
    total = Money.zero(quote)
    missing: dict[str, int] = {}
    for row in burn:
        if row["reporting"] is None:
            missing[row["sub"].currency] = missing.get(row["sub"].currency, 0) + 1
        else:
            total += row["reporting"]
    next_renewals = [
        {
            "sub": s,
            "money": s.money,
            "reporting": rates.try_convert(s.money, today),
            "late": s.next_renewal_on < today,
        }
        for s in upcoming
    ]
    return render(
        request,
        "billing/subscription_list.html",
        {
            "nav": "costs",
            "tab": "subscriptions",
            "form": form,
            "show": show,
            "page_obj": page,
            "rows": [_row(s, today, rates) for s in page.object_list],
            "active_count": len(active),
            "burn_total": total,
            "missing_rates": sorted(missing.items()),
            "missing_count": sum(missing.values()),
            "reporting_currency": quote,
            "next_renewals": next_renewals,
            "upcoming_days": UPCOMING_DAYS,
            "today": today,
        },
    )


# --- Detail and actions -----------------------------------------------------------------------


def render_detail(
    request: HttpRequest,
    subscription: Subscription,
    *,
    cancel_form: CancelForm | None = None,
    status: int = 200,
) -> HttpResponse:
    today = today_in_studio()
    quote = StudioProfile.load().reporting_currency
    rates = RateTable.load(quote, [subscription.currency])
    expenses = list(subscription.expenses.order_by("-renewal_on", "-pk")[:HISTORY_LIMIT])
    events = list(
        CostEvent.objects.filter(
            subject=CostEvent.Subject.SUBSCRIPTION, object_id=subscription.pk
        ).order_by("-created_at", "-pk")[:HISTORY_LIMIT]
    )
    row = _row(subscription, today, rates)
    return render(
        request,
        "billing/subscription_detail.html",
        {
            "nav": "costs",
            "tab": "subscriptions",
            "sub": subscription,
            "row": row,
            "reporting_currency": quote,
            "expenses": expenses,
            "events": events,
            "renews": subscription.renews_on(subscription.next_renewal_on),
            "cancel_form": cancel_form
            or CancelForm(initial={"from_date": max(today, subscription.started_on)}),
            "can_delete": not expenses,
        },
        status=status,
    )


@business_required
def subscription_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render_detail(request, access_subscription(pk))


@business_required
@require_http_methods(["GET", "POST"])
def subscription_create(request: HttpRequest) -> HttpResponse:
    data = request.POST if request.method == "POST" else None
    initial: dict[str, Any] = {
        "started_on": today_in_studio(),
        "currency": StudioProfile.load().default_currency,
    }
    if request.GET.get("tool", "").isdigit():
        initial["tool"] = int(request.GET["tool"])
    form = SubscriptionForm(data, initial=initial)
    if data is not None and form.is_valid():
        try:
            subscription = services.create_subscription(actor=request.user, **form.values())
        except DomainError as exc:
            attach_domain_error(form, exc)
        else:
            messages.success(request, _("The subscription was added."))
            return redirect("subscription-detail", pk=subscription.pk)
    return render(
        request,
        "billing/subscription_form.html",
        {"nav": "costs", "tab": "subscriptions", "form": form, "sub": None},
        status=400 if form.errors else 200,
    )


@business_required
@require_http_methods(["GET", "POST"])
def subscription_edit(request: HttpRequest, pk: int) -> HttpResponse:
    subscription = access_subscription(pk)
    data = request.POST if request.method == "POST" else None
    form = SubscriptionForm(data, initial=initial_for(subscription), creating=False)
    if data is not None and form.is_valid():
        try:
            services.update_subscription(
                actor=request.user, subscription=subscription, **form.values()
            )
        except DomainError as exc:
            attach_domain_error(form, exc)
        else:
            messages.success(request, _("The subscription was saved."))
            return redirect("subscription-detail", pk=subscription.pk)
    return render(
        request,
        "billing/subscription_form.html",
        {"nav": "costs", "tab": "subscriptions", "form": form, "sub": subscription},
        status=400 if form.errors else 200,
    )


@business_required
@require_POST
def subscription_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    subscription = access_subscription(pk)
    form = CancelForm(request.POST)
    if form.is_valid():
        try:
            services.cancel_subscription(
                actor=request.user,
                subscription=subscription,
                from_date=form.cleaned_data["from_date"],
            )
        except DomainError as exc:
            attach_domain_error(form, exc)
        else:
            messages.success(
                request,
                _("The plan is cancelled from %(date)s.")
                % {"date": form.cleaned_data["from_date"].isoformat()},
            )
            return redirect("subscription-detail", pk=subscription.pk)
    messages.error(request, _("The plan was not cancelled. See the error below."))
    return render_detail(request, access_subscription(pk), cancel_form=form, status=400)


@business_required
@require_POST
def subscription_resume(request: HttpRequest, pk: int) -> HttpResponse:
    subscription = access_subscription(pk)
    try:
        resumed = services.resume_subscription(actor=request.user, subscription=subscription)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("The plan is resumed; it renews next on %(date)s.")
            % {"date": resumed.next_renewal_on.isoformat()},
        )
    return redirect("subscription-detail", pk=subscription.pk)


@business_required
@require_POST
def subscription_delete(request: HttpRequest, pk: int) -> HttpResponse:
    subscription = access_subscription(pk)
    try:
        services.delete_subscription(actor=request.user, subscription=subscription)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("subscription-detail", pk=subscription.pk)
    messages.success(request, _("The subscription was deleted."))
    return redirect("subscription-list")
