"""Webhook endpoints and their deliveries (one row per event and endpoint)."""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

__all__ = ["WebhookAttempt", "WebhookDelivery", "WebhookEndpoint", "WebhookSettings"]

# The events an endpoint may choose; billing publishes the invoice ones.
WEBHOOK_EVENTS: list[tuple[str, Any]] = [
    ("order.created", _("An order was created")),
    ("order.status_changed", _("An order changed status")),
    ("deliverable.added", _("A deliverable was added")),
    ("deliverable.approved", _("The client approved a delivery")),
    ("revision.requested", _("The client asked for a revision")),
    ("quote.accepted", _("The client accepted a quote")),
    ("quote.declined", _("The client declined a quote")),
    ("invoice.issued", _("An invoice was issued")),
    ("invoice.paid", _("An invoice was paid in full")),
    ("payment.recorded", _("A payment was recorded")),
    ("invoice.voided", _("An invoice was voided")),
]
WEBHOOK_EVENT_NAMES: frozenset[str] = frozenset(name for name, _label in WEBHOOK_EVENTS)


def _no_events() -> list[str]:
    return []


class WebhookEndpoint(models.Model):
    """A URL told about the chosen events, each request signed with the secret.

    During a rotation the previous secret signs too, until previous_secret_expires_at.
    """

    url = models.URLField(_("URL"), max_length=500)
    description = models.CharField(_("description"), max_length=200, blank=True)
    events = models.JSONField(_("events"), default=_no_events)
    secret = models.CharField(max_length=100)
    previous_secret = models.CharField(max_length=100, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        ordering: ClassVar = ["pk"]

    def __str__(self) -> str:
        return self.url

    @property
    def secret_hint(self) -> str:
        return f"{self.secret[:10]}…" if self.secret else ""


class WebhookDelivery(models.Model):
    """One event for one endpoint: the exact body, and the state of getting it there.

    pending (next_attempt_at says when) -> sending (claimed by one worker) -> succeeded,
    or back to pending with a later next_attempt_at, or failed after the last try.
    """

    class State(models.TextChoices):
        PENDING = "pending", _("Waiting")
        SENDING = "sending", _("Sending")
        SUCCEEDED = "succeeded", _("Delivered")
        FAILED = "failed", _("Failed")

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event_id = models.CharField(max_length=64, help_text="The webhook-id header.")
    event_type = models.CharField(max_length=40)
    body = models.TextField(help_text="The exact JSON body sent on every attempt.")
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering: ClassVar = ["-created_at", "-pk"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["event_id", "endpoint"], name="webhook_delivery_once_per_endpoint"
            ),
            models.CheckConstraint(
                condition=Q(state__in=["pending", "sending", "succeeded", "failed"]),
                name="webhook_delivery_state_valid",
            ),
        ]
        indexes: ClassVar = [
            models.Index(fields=["state", "next_attempt_at"]),
            models.Index(fields=["endpoint", "-created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id} -> {self.endpoint_id} ({self.state})"


class WebhookAttempt(models.Model):
    """One try of a delivery: the delivery log."""

    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log"
    )
    number = models.PositiveSmallIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    response_excerpt = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering: ClassVar = ["delivery", "number", "pk"]

    def __str__(self) -> str:
        return f"{self.delivery_id} #{self.number}: {self.response_code or self.error}"

    @property
    def ok(self) -> bool:
        return self.response_code is not None and 200 <= self.response_code < 300


class WebhookSettings(models.Model):
    """Studio-wide webhook settings (a single row, pk=1)."""

    allow_private_targets = models.BooleanField(
        _("allow private network targets"),
        default=False,
        help_text=_(
            "Let webhooks go to loopback and private network addresses (for an integration "
            "running inside your own network). Cloud metadata addresses stay refused."
        ),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("webhook settings")
        verbose_name_plural = _("webhook settings")
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(pk=1), name="webhook_settings_singleton"),
        ]

    def __str__(self) -> str:
        return "webhook settings"

    @classmethod
    def load(cls) -> WebhookSettings:
        row, _created = cls.objects.get_or_create(pk=1)
        return row


def _publish_to_webhooks(name: str, payload: dict[str, Any]) -> None:
    from studio.webhooks import record_deliveries

    record_deliveries(event_type=name, payload=payload)


def _subscribe() -> None:
    """Every published domain event becomes deliveries (studio.events; imported with the
    models, so that every process that can publish also records)."""
    from studio import events

    events.subscribe(_publish_to_webhooks)


_subscribe()
