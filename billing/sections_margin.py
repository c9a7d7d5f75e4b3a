"""The "Margin" section of the staff order page: the line-by-line breakdown of what the
order earned (registered in BillingConfig.ready through orders.extensions).

Owners and producers only — None for artists, who never see money. A fixed number of
queries whatever the size of the studio: the order's own figures line by line
(billing.margin.order_detail: its takes, expenses and invoices, and only the rates they
need) plus its stored overhead shares (billing.services.margins). Before the first
recompute of a small studio, the engine focused on this order instead. Never writes.
"""

from __future__ import annotations

from decimal import Decimal

from django.http import HttpRequest

from billing.margin import compute_margins, order_detail
from billing.services import margins as stored
from orders.extensions import Section
from orders.models import Order
from studio import roles
from studio.models import StudioProfile


def staff_order_section(request: HttpRequest, order: Order) -> Section | None:
    if not roles.can_see_money(request.user):
        return None
    profile = getattr(request, "studio_profile", None) or StudioProfile.load()
    fresh = stored.freshness(profile)
    if fresh.computed:
        margin = order_detail(order_id=order.pk, profile=profile)
        if margin is None:
            return None
        if fresh.currency == margin.currency:  # else the reporting currency just changed
            margin.shares = stored.stored_shares(order.pk)
            margin.overhead = sum((share.amount for share in margin.shares), Decimal(0))
        currency = margin.currency
    elif fresh.live:
        book = compute_margins(
            orders=Order.objects.filter(pk=order.pk), by_tool=True, profile=profile
        )
        found = book.get(order.pk)
        if found is None:
            return None
        margin, currency = found, book.currency
    else:
        margin = order_detail(order_id=order.pk, profile=profile)
        if margin is None:
            return None
        currency = margin.currency
    return Section(
        template="billing/includes/margin_section.html",
        context={
            "order": order,
            "margin": margin,
            "currency": currency,
            "expenses": margin.expense_lines,
            "missing": margin.missing,
            "freshness": fresh,
        },
    )
