"""Orders models, one module per area. Importing them here registers them with Django."""

from orders.models.core import (
    Client,
    ClientAction,
    ClientQuerySet,
    Deliverable,
    Order,
    OrderEvent,
    OrderQuerySet,
    OrderStatus,
    PortalLink,
    PortalLinkQuerySet,
    ReviewComment,
    Tag,
    deliverable_upload_to,
)
from orders.models.imports import ImportedRow, ImportMapping, SheetImport
from orders.models.production import *  # noqa: F403  (episodes, shots, takes, assets)

__all__ = [
    "Client",
    "ClientAction",
    "ClientQuerySet",
    "Deliverable",
    "ImportMapping",
    "ImportedRow",
    "Order",
    "OrderEvent",
    "OrderQuerySet",
    "OrderStatus",
    "PortalLink",
    "PortalLinkQuerySet",
    "ReviewComment",
    "SheetImport",
    "Tag",
    "deliverable_upload_to",
]
