"""Domain events: services announce what happened; subscribers (webhooks, later others)
react inside the same transaction, so whatever they record commits or rolls back with
the change itself.

Event names are the public webhook names: order.created, order.status_changed,
deliverable.added, deliverable.approved, revision.requested, quote.accepted,
quote.declined, invoice.issued, invoice.paid, payment.recorded, …
The payload is JSON-ready (ids, strings, Decimal as string).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Subscriber = Callable[[str, dict[str, Any]], None]
_subscribers: list[Subscriber] = []


def subscribe(subscriber: Subscriber) -> Subscriber:
    if subscriber not in _subscribers:
        _subscribers.append(subscriber)
    return subscriber


def publish(name: str, payload: dict[str, Any]) -> None:
    """Tell every subscriber; call it inside the transaction of the change."""
    for subscriber in list(_subscribers):
        subscriber(name, payload)
