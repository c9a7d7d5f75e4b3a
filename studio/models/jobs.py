"""Reminders: one row per (kind, object, stage), the unique key that makes them fire once.

The kinds themselves (what is due, who hears about it) live in a registry
(studio.reminders); this module only stores what was decided and what was sent.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

__all__ = ["Reminder", "ReminderSettings"]


class Reminder(models.Model):
    """One reminder stage of one object (e.g. order 12, "due in 24 h").

    Written by the due-reminders sweep in the same transaction that decides it is due;
    the unique constraint on (kind, object_id, stage) is what keeps two beats, a retried
    task or two racing sweeps from sending it twice. Sent by a task that claims it with a
    conditional update.
    """

    class State(models.TextChoices):
        PENDING = "pending", _("Waiting")
        CLAIMED = "claimed", _("Sending")
        SENT = "sent", _("Sent")
        SKIPPED = "skipped", _("Skipped (no longer relevant)")
        FAILED = "failed", _("Failed")

    kind = models.CharField(max_length=40)
    object_id = models.PositiveBigIntegerField()
    stage = models.CharField(max_length=80)
    due_at = models.DateTimeField(help_text="When this stage became due.")
    state = models.CharField(max_length=8, choices=State.choices, default=State.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        verbose_name = _("reminder")
        verbose_name_plural = _("reminders")
        ordering: ClassVar = ["-due_at", "-pk"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["kind", "object_id", "stage"], name="reminder_once_per_stage"
            ),
            models.CheckConstraint(
                condition=Q(state__in=["pending", "claimed", "sent", "skipped", "failed"]),
                name="reminder_state_valid",
            ),
        ]
        indexes: ClassVar = [models.Index(fields=["state", "dispatched_at"])]

    def __str__(self) -> str:
        return f"{self.kind} #{self.object_id} {self.stage} ({self.state})"


def _no_overrides() -> dict[str, Any]:
    return {}


class ReminderSettings(models.Model):
    """The owner's choices per reminder kind (a single row, pk=1).

    `kinds` maps a kind name to {"enabled": bool, "offsets": [int, ...]}; a kind missing
    here uses the defaults its registration declares.
    """

    kinds = models.JSONField(default=_no_overrides, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("reminder settings")
        verbose_name_plural = _("reminder settings")
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(pk=1), name="reminder_settings_singleton"),
        ]

    def __str__(self) -> str:
        return "reminder settings"

    @classmethod
    def load(cls) -> ReminderSettings:
        row, _created = cls.objects.get_or_create(pk=1)
        return row
