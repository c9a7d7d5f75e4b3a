"""Template filters of the breakdown pages: seconds and amounts in several currencies."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django import template

from studio.money import Money

register = template.Library()


@register.filter
def seconds(value: Any) -> str:
    """Decimal("7.50") -> "7.5", Decimal("120.00") -> "120" (no unit)."""
    if value is None or value == "":
        return "—"
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        return "—"
    text = f"{number.normalize():f}"
    return "0" if text in {"-0", ""} else text


@register.filter
def amounts(values: Any) -> str:
    """A list of Money (one per currency) as "¥12.50 + $3.00", or "—" when empty."""
    items = [v for v in values or [] if isinstance(v, Money)]
    if not items:
        return "—"
    return " + ".join(m.format() for m in items)
