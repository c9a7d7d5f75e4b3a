"""The "Margin" section of the staff order page: the line-by-line breakdown of what the
order earned (registered in BillingConfig.ready through orders.extensions).

Owners and producers only — None for artists, who never see money. A fixed number of
queries whatever the size of the studio (tests/orders/test_views_queries.py), with the
order's takes and invoices shared with the page's production summary and invoice
section (orders.production_selectors.read_once), so none of their own:

- stored rows computed (the usual case): their freshness (1), the order's direct
  expenses (1), the rates its amounts need (1, none when every amount is in the
  reporting currency) and its stored overhead shares (1);
- before the first recompute, at any size: the state (1), then its share of the
  overhead computed live, exactly as the engine computes it (billing.margin.order_detail
  with overhead): its expenses and those of the overhead months (1), the rates (0 or 1)
  and the other orders of those months with their seconds (1, none without overhead).

Never writes.
"""

from __future__ import annotations

from decimal import Decimal

from django.http import HttpRequest

from billing.margin import order_detail
from billing.services import margins as stored
from orders.extensions import Section
from orders.models import Order
from studio import roles
from studio.models import StudioProfile


def staff_order_section(request: HttpRequest, order: Order) -> Section | None:
    if not roles.can_see_money(request.user):
        return None
    profile = getattr(request, "studio_profile", None) or StudioProfile.load()
    # The state row alone (stored.freshness would count the orders before the first
    # recompute, which this section does not need: it computes live at any size).
    state = stored.read_state()
    note: stored.Freshness | None = None  # computed now: nothing is behind or still to come
    if state.computed:
        note = stored.Freshness(
            computed=True,
            fresh=state.is_fresh(stored.studio_today(profile)),
            computed_at=state.computed_at,
            live=False,
            currency=state.currency,
        )
    margin = order_detail(order=order, profile=profile, overhead=not state.computed)
    if note is not None and note.currency == margin.currency:
        # else the reporting currency just changed: no share until the next recompute
        margin.shares = stored.stored_shares(order.pk)
        margin.overhead = sum((share.amount for share in margin.shares), Decimal(0))
    return Section(
        template="billing/includes/margin_section.html",
        context={
            "order": order,
            "margin": margin,
            "currency": margin.currency,
            "expenses": margin.expense_lines,
            "missing": margin.missing,
            "freshness": note,
        },
    )
