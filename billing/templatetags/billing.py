"""Template filters for billing pages: unit prices and quantities as people write them."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template

from billing.pdf import format_price, format_quantity

register = template.Library()


@register.filter
def price(amount: Any, currency: str) -> str:
    """{{ line.unit_price|price:invoice.currency }} -> ¥6.50, ¥0.0125 (up to 4 decimals)."""
    if not isinstance(amount, Decimal):
        return "—"
    return format_price(amount, currency)


@register.filter
def quantity(value: Any) -> str:
    """{{ line.quantity|quantity }} -> 1, 2.5, 1,200."""
    if not isinstance(value, Decimal):
        return "—"
    return format_quantity(value)
