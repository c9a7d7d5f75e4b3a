"""Operations on the AI tool catalog: tools and their dated per-second prices.

A price change is announced as the domain event `tool.price_changed` (tool id and the
first date it affects), so that the breakdown (orders) re-costs the takes made on or
after that date without studio importing orders.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from studio import events, roles
from studio.errors import InvalidInput, NotPermitted
from studio.models import AITool, ToolPrice
from studio.money import check_currency

TOOL_FIELDS = ("name", "vendor", "kind", "website", "notes", "is_active")
# Enough for fractions of a fen per second (e.g. 0.0125 CNY/s for an image model).
PRICE_PLACES = 4
MAX_PRICE = Decimal("999999.9999")


def _require_business(actor: Any) -> None:
    if not roles.can_manage_business(actor):
        raise NotPermitted(_("Only owners and producers can change the tool catalog."))


def _full_clean(instance: Any, *, exclude: list[str] | None = None) -> None:
    try:
        instance.full_clean(exclude=exclude)
    except ValidationError as exc:
        fields = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
        first = next(iter(fields.values()))[0]
        raise InvalidInput(first, fields=fields) from exc


def _check_unique_name(tool: AITool) -> None:
    clash = AITool.objects.filter(name__iexact=tool.name).exclude(pk=tool.pk).exists()
    if clash:
        message = _("There is already a tool called “%(name)s”.") % {"name": tool.name}
        raise InvalidInput(message, fields={"name": [message]})


def create_tool(*, actor: Any, name: str, kind: str, **fields: Any) -> AITool:
    """Add a tool to the catalog. Names are unique, whatever their case."""
    _require_business(actor)
    tool = AITool(name=(name or "").strip(), kind=kind)
    for key, value in fields.items():
        if key in TOOL_FIELDS:
            setattr(tool, key, value.strip() if isinstance(value, str) else value)
    _full_clean(tool)
    _check_unique_name(tool)
    tool.save()
    return tool


def update_tool(*, actor: Any, tool: AITool, **fields: Any) -> AITool:
    """Change a tool's details (its prices change with add_price/update_price)."""
    _require_business(actor)
    for key, value in fields.items():
        if key in TOOL_FIELDS:
            setattr(tool, key, value.strip() if isinstance(value, str) else value)
    _full_clean(tool)
    _check_unique_name(tool)
    tool.save()
    return tool


def check_per_second(value: Any) -> Decimal:
    """A price per second: a non-negative Decimal with at most four decimal places."""
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        message = _("Enter the price per second as a number, such as 0.35.")
        raise InvalidInput(message, fields={"per_second": [message]}) from exc
    if not amount.is_finite() or amount < 0 or amount > MAX_PRICE:
        message = _("The price per second must be between 0 and %(max)s.") % {"max": MAX_PRICE}
        raise InvalidInput(message, fields={"per_second": [message]})
    if amount != amount.quantize(Decimal(1).scaleb(-PRICE_PLACES)):
        message = _("A price per second has at most four decimal places.")
        raise InvalidInput(message, fields={"per_second": [message]})
    return amount


def _announce(tool: AITool, since: dt.date) -> None:
    events.publish("tool.price_changed", {"tool": tool.pk, "since": since.isoformat()})


def add_price(
    *,
    actor: Any,
    tool: AITool,
    effective_from: dt.date,
    per_second: Any,
    currency: str = "CNY",
    note: str = "",
) -> ToolPrice:
    """Record the tool's price per generated second from a date on (one per day).

    Takes of the tool dated on or after that date whose cost was computed (not typed in)
    are re-costed in the same transaction.
    """
    _require_business(actor)
    if not isinstance(effective_from, dt.date):
        message = _("Give the date the price takes effect.")
        raise InvalidInput(message, fields={"effective_from": [message]})
    try:
        currency = check_currency(currency)
    except ValueError as exc:
        message = _("Unknown currency.")
        raise InvalidInput(message, fields={"currency": [message]}) from exc
    price = ToolPrice(
        tool=tool,
        effective_from=effective_from,
        per_second=check_per_second(per_second),
        currency=currency,
        note=(note or "").strip()[:200],
    )
    _full_clean(price, exclude=["tool"])
    try:
        with transaction.atomic():
            price.save()
            _announce(tool, effective_from)
    except IntegrityError as exc:
        message = _("%(tool)s already has a price from %(date)s; change that one instead.") % {
            "tool": tool.name,
            "date": effective_from.isoformat(),
        }
        raise InvalidInput(message, fields={"effective_from": [message]}) from exc
    return price


def update_price(
    *, actor: Any, price: ToolPrice, per_second: Any, currency: str | None = None, note: str = ""
) -> ToolPrice:
    """Correct a price (its date stays; add a new price for a change over time)."""
    _require_business(actor)
    price.per_second = check_per_second(per_second)
    if currency is not None:
        try:
            price.currency = check_currency(currency)
        except ValueError as exc:
            message = _("Unknown currency.")
            raise InvalidInput(message, fields={"currency": [message]}) from exc
    price.note = (note or "").strip()[:200]
    _full_clean(price, exclude=["tool"])
    with transaction.atomic():
        price.save()
        _announce(price.tool, price.effective_from)
    return price


def delete_price(*, actor: Any, price: ToolPrice) -> None:
    """Remove a price; takes from its date on are re-costed with the price before it."""
    _require_business(actor)
    tool, since = price.tool, price.effective_from
    with transaction.atomic():
        price.delete()
        _announce(tool, since)


def prices_by_tool(tool_ids: list[int]) -> dict[int, list[ToolPrice]]:
    """Every price of these tools, newest first per tool (one query)."""
    found: dict[int, list[ToolPrice]] = {pk: [] for pk in tool_ids}
    for price in ToolPrice.objects.filter(tool_id__in=tool_ids).order_by("-effective_from"):
        found[price.tool_id].append(price)
    return found


def price_in_force(prices: list[ToolPrice], day: dt.date) -> ToolPrice | None:
    """From a tool's prices (newest first), the one in force on day (AITool.price_on
    without a query)."""
    return next((p for p in prices if p.effective_from <= day), None)
