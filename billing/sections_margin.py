"""The "Margin" section of the staff order page: the line-by-line breakdown of what the
order earned (registered in BillingConfig.ready through orders.extensions).

Owners and producers only — None for artists, who never see money. A fixed number of
queries: the margin engine focused on this order (which lists its direct expenses).
"""

from __future__ import annotations

from django.http import HttpRequest

from billing.margin import compute_margins
from orders.extensions import Section
from orders.models import Order
from studio import roles


def staff_order_section(request: HttpRequest, order: Order) -> Section | None:
    if not roles.can_see_money(request.user):
        return None
    book = compute_margins(
        orders=Order.objects.filter(pk=order.pk),
        by_tool=True,
        profile=getattr(request, "studio_profile", None),
    )
    margin = book.get(order.pk)
    if margin is None:
        return None
    return Section(
        template="billing/includes/margin_section.html",
        context={
            "order": order,
            "margin": margin,
            "currency": book.currency,
            "expenses": margin.expense_lines,
            "missing": margin.missing,
        },
    )
