"""What marks the stored margin rows stale: saves and deletes of every input of the
margins and the monthly report (model signals), and studio.signals.costs_changed from
the bulk paths that bypass them. Connected in BillingConfig.ready; each receiver only
calls billing.services.margins.mark_dirty (one INSERT of a change marker per
transaction: no shared row is locked)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models.signals import post_delete, post_save

# Order fields the margins and the report read; a save touching none of them (an
# update_fields save of, say, updated_at or the portal's last view) changes nothing.
ORDER_FIELDS = frozenset(
    {
        "reference",
        "title",
        "status",
        "client",
        "client_id",
        "price",
        "currency",
        "accepted_at",
        "delivered_at",
        "completed_at",
        "status_changed_at",
        "created_at",
        "due_at",
    }
)
CLIENT_FIELDS = frozenset({"name"})
PROFILE_FIELDS = frozenset({"reporting_currency", "time_zone"})
TAKE_FIELDS = frozenset(
    {"shot", "shot_id", "generated_seconds", "generated_on", "cost", "currency", "tool", "tool_id"}
)


def _matters(update_fields: Iterable[str] | None, fields: frozenset[str] | None) -> bool:
    return fields is None or update_fields is None or bool(fields & set(update_fields))


def _receiver(fields: frozenset[str] | None = None) -> Any:
    def changed(sender: Any, update_fields: Iterable[str] | None = None, **kwargs: Any) -> None:
        if kwargs.get("raw"):  # fixtures loading
            return
        if _matters(update_fields, fields):
            from billing.services.margins import mark_dirty

            mark_dirty()

    return changed


def _deleted(sender: Any, **kwargs: Any) -> None:
    from billing.services.margins import mark_dirty

    mark_dirty()


def _bulk(sender: Any, **kwargs: Any) -> None:
    from billing.services.margins import mark_dirty

    mark_dirty()


_RECEIVERS: list[Any] = []  # strong references: signals hold weak ones by default


def connect() -> None:
    from billing.models import ExchangeRate, Expense, Invoice, Payment, Subscription
    from orders.models import Client, Order, Take
    from studio.models import StudioProfile
    from studio.signals import costs_changed

    watched: list[tuple[Any, frozenset[str] | None]] = [
        (Order, ORDER_FIELDS),
        (Client, CLIENT_FIELDS),
        (Take, TAKE_FIELDS),
        (Invoice, None),
        (Payment, None),
        (Expense, None),
        (Subscription, None),
        (ExchangeRate, None),
        (StudioProfile, PROFILE_FIELDS),
    ]
    for model, fields in watched:
        receiver = _receiver(fields)
        _RECEIVERS.append(receiver)
        post_save.connect(receiver, sender=model, dispatch_uid=f"margins-save-{model._meta.label}")
        post_delete.connect(
            _deleted, sender=model, dispatch_uid=f"margins-delete-{model._meta.label}"
        )
    costs_changed.connect(_bulk, dispatch_uid="margins-costs-changed")
