"""Studio models, one module per area. Importing them here registers them with Django."""

from studio.models.base import (
    LANGUAGE_CHOICES,
    ApiToken,
    ApiTokenQuerySet,
    Counter,
    Heartbeat,
    Membership,
    Notification,
    StudioProfile,
    hash_token,
    validate_time_zone,
)
from studio.models.exports import *  # noqa: F403  (full-data export jobs)
from studio.models.jobs import *  # noqa: F403  (reminders)
from studio.models.tools import *  # noqa: F403  (the AI tool catalog)
from studio.models.webhooks import *  # noqa: F403  (webhook endpoints and deliveries)

__all__ = [
    "LANGUAGE_CHOICES",
    "ApiToken",
    "ApiTokenQuerySet",
    "Counter",
    "Heartbeat",
    "Membership",
    "Notification",
    "StudioProfile",
    "hash_token",
    "validate_time_zone",
]
