"""Small template helpers shared by every page."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django import template
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from studio.money import MINOR_UNITS, Money

register = template.Library()


@register.filter
def money(amount: Any, currency: str) -> str:
    """{{ order.price|money:order.currency }} -> ¥1,500.00"""
    if amount is None or amount == "":
        return "—"
    try:
        value = amount if isinstance(amount, Decimal) else Decimal(str(amount))
    except InvalidOperation:
        return "—"
    if currency not in MINOR_UNITS:
        return f"{value} {currency}"
    return Money(value, currency).format()


@register.filter
def days_left_label(due_at: dt.datetime | None) -> str:
    """'3 days left', 'due today', '2 days late' in the studio's zone."""
    if due_at is None:
        return ""
    today = timezone.localdate()
    days = (timezone.localtime(due_at).date() - today).days
    if days == 0:
        return _("due today")
    if days > 0:
        return ngettext("%(n)s day left", "%(n)s days left", days) % {"n": days}
    return ngettext("%(n)s day late", "%(n)s days late", -days) % {"n": -days}


@register.filter
def due_state(due_at: dt.datetime | None) -> str:
    """CSS modifier: 'late', 'soon' (within 2 days) or ''."""
    if due_at is None:
        return ""
    days = (timezone.localtime(due_at).date() - timezone.localdate()).days
    if days < 0:
        return "late"
    if days <= 2:
        return "soon"
    return ""


@register.simple_tag(takes_context=True)
def query_with(context: dict[str, Any], **changes: Any) -> str:
    """The current query string with some parameters replaced (for paging links)."""
    request = context["request"]
    params: QueryDict = request.GET.copy()
    for key, value in changes.items():
        if value in (None, ""):
            params.pop(key, None)
        else:
            params[key] = value
    encoded = params.urlencode()
    return f"?{encoded}" if encoded else "?"
