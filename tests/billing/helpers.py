"""Helpers for the billing tests: invoices in any state, through the services."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from billing import services
from billing.models import BillingSettings, Invoice
from billing.services import LineInput
from orders.models import Order
from tests.factories import ClientFactory, OrderFactory


def line(
    description: str = "Product clip",
    quantity: str = "1",
    price: str = "1000.00",
    rate: str | None = "0",
    unit: str = "",
) -> LineInput:
    return LineInput(
        description=description,
        quantity=Decimal(quantity),
        unit_price=Decimal(price),
        tax_rate=None if rate is None else Decimal(rate),
        unit=unit,
    )


def draft(
    actor: Any, *, lines: list[LineInput] | None = None, order: Order | None = None, **fields: Any
) -> Invoice:
    client = fields.pop("client", None) or (order.client if order else ClientFactory())
    return services.create_invoice(
        actor=actor,
        client=client,
        order=order,
        lines=[line()] if lines is None else lines,
        **fields,
    )


def issued(actor: Any, **fields: Any) -> Invoice:
    return services.issue_invoice(actor=actor, invoice=draft(actor, **fields))


def order_for(**fields: Any) -> Order:
    fields.setdefault("client", ClientFactory(language="zh-hans"))
    fields.setdefault("currency", fields["client"].currency)
    return OrderFactory(**fields)


def set_billing(**fields: Any) -> BillingSettings:
    prefs = BillingSettings.load()
    for key, value in fields.items():
        setattr(prefs, key, value)
    prefs.save()
    return prefs
