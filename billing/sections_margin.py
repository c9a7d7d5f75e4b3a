"""The "Margin" section of the staff order page: the line-by-line breakdown of what the
order earned (registered in BillingConfig.ready through orders.extensions).

Owners and producers only — None for artists, who never see money. A fixed number of
queries whatever the size of the studio (tests/orders/test_views_queries.py):

- stored rows computed (the usual case): their freshness (1), the order's own figures
  line by line (billing.margin.order_detail: its row, takes, expenses and invoices, 4,
  and the rates they need, 1 when some amount is in another currency) and its stored
  overhead shares (1);
- before the first recompute, at any size: their freshness (2) and the engine focused
  on this order (billing.margin.compute_margins, 5 to 7 by what the order's months
  hold, never by how many orders there are). It used to take this path only up to
  margins.SYNC_LIMIT orders and the order's own lines without overhead above it, so the
  count changed with the size of the studio; the focused engine reads only the orders
  and takes of this order's months, which is cheap at any size.

Never writes.
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
        note: stored.Freshness | None = fresh
    else:
        book = compute_margins(
            orders=Order.objects.filter(pk=order.pk), by_tool=True, profile=profile
        )
        found = book.get(order.pk)
        if found is None:
            return None
        margin, currency = found, book.currency
        note = None  # computed now: nothing is behind or still to come
    return Section(
        template="billing/includes/margin_section.html",
        context={
            "order": order,
            "margin": margin,
            "currency": currency,
            "expenses": margin.expense_lines,
            "missing": margin.missing,
            "freshness": note,
        },
    )
