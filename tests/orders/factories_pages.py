"""Helpers for the staff page tests: orders in any state, real file bytes, bulk rows."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from orders import services
from orders.models import Client, Deliverable, Order, Tag
from tests.factories import ClientFactory

# Smallest files whose real type the upload check recognises.
MP4_BYTES = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(range(256)) * 4
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
ZIP_BYTES = b"PK\x03\x04" + b"\x00" * 200

_refs = itertools.count(1)


def next_reference() -> str:
    # Not ORD-…: pages create orders through the service, which numbers from ORD-<year>-0001.
    return f"TST-{next(_refs):06d}"


def make_order(**fields: Any) -> Order:
    """An order saved directly (tests set any status/due date without walking the lifecycle)."""
    if "client" not in fields:
        fields["client"] = ClientFactory()
    tags = fields.pop("tags", None)
    defaults: dict[str, Any] = {
        "reference": next_reference(),
        "title": "Product clip",
        "price": Decimal("1500.00"),
        "currency": fields["client"].currency,
        "deposit_percent": Decimal(50),
        "turnaround_days": 7,
        "revision_rounds_included": 2,
        "status": Order.Status.INQUIRY,
    }
    order = Order.objects.create(**{**defaults, **fields})
    if tags:
        order.tags.set([Tag.objects.get_or_create(name=name)[0] for name in tags])
    return order


def due_in(days: float) -> dt.datetime:
    return timezone.now() + dt.timedelta(days=days)


def upload(name: str, content: bytes, content_type: str = "application/octet-stream") -> Any:
    return SimpleUploadedFile(name, content, content_type=content_type)


def add_file(
    order: Order,
    actor: Any,
    *,
    name: str = "cut.mp4",
    content: bytes = MP4_BYTES,
    title: str = "Final cut",
) -> Deliverable:
    return services.add_deliverable(
        actor=actor, order=order, title=title, upload=upload(name, content)
    )


def bulk_orders(
    count: int,
    *,
    clients: list[Client],
    assignee: Any = None,
    statuses: list[str] | None = None,
    currencies: tuple[str, ...] = ("CNY", "USD"),
) -> list[Order]:
    """count orders spread over clients, statuses and currencies, inserted in one go."""
    statuses = statuses or list(Order.BOARD_COLUMNS)
    now = timezone.now()
    rows = [
        Order(
            reference=next_reference(),
            client=clients[i % len(clients)],
            title=f"Bulk order {i}",
            price=Decimal("1000.10") + i,
            currency=currencies[i % len(currencies)],
            deposit_percent=Decimal(50),
            turnaround_days=7,
            revision_rounds_included=2,
            status=statuses[i % len(statuses)],
            assignee=assignee,
            due_at=now + dt.timedelta(days=(i % 20) - 5),
        )
        for i in range(count)
    ]
    created = Order.objects.bulk_create(rows)
    tag, _ = Tag.objects.get_or_create(name="bulk")
    Order.tags.through.objects.bulk_create(
        [Order.tags.through(order_id=order.pk, tag_id=tag.pk) for order in created]
    )
    return created
