"""Background work as rows: the database is the source of truth, Redis only the doorbell.

A PDF render or an invoice e-mail is first a row written in the same transaction as the
change that needs it; the task claims the row with a conditional update, is idempotent
on it, and a periodic sweep finds rows whose message vanished.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from billing.models.invoices import Invoice


class InvoicePdfJob(models.Model):
    """Render (once) and store the PDF of an issued invoice."""

    class State(models.TextChoices):
        PENDING = "pending", "pending"
        RUNNING = "running", "running"
        DONE = "done", "done"
        FAILED = "failed", "failed"

    invoice = models.OneToOneField(Invoice, on_delete=models.CASCADE, related_name="pdf_job")
    state = models.CharField(max_length=8, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    enqueued_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        indexes: ClassVar = [models.Index(fields=["state", "enqueued_at"])]

    def __str__(self) -> str:
        return f"PDF of {self.invoice_id}: {self.state}"


class InvoiceEmail(models.Model):
    """One e-mail of an invoice to the client. (invoice, key) is unique, so the same
    send button pressed twice (or an API retry) records and sends one e-mail."""

    class State(models.TextChoices):
        QUEUED = "queued", "queued"
        SENDING = "sending", "sending"
        SENT = "sent", "sent"
        FAILED = "failed", "failed"

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="emails")
    key = models.CharField(max_length=64)
    to = models.EmailField(max_length=254)
    state = models.CharField(max_length=8, choices=State.choices, default=State.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering: ClassVar = ["-created_at", "-pk"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["invoice", "key"], name="invoice_email_once_per_key")
        ]
        indexes: ClassVar = [models.Index(fields=["state", "created_at"])]

    def __str__(self) -> str:
        return f"{self.invoice_id} → {self.to}: {self.state}"


class IdempotencyRecord(models.Model):
    """The first answer to an API POST that created money records, per (user, key).

    A retry with the same Idempotency-Key and the same request gets that answer again;
    the same key with another request is refused (409).
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    response = models.JSONField(default=dict)
    location = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_once_per_user"),
            models.CheckConstraint(condition=~Q(key=""), name="idempotency_key_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.key}"
