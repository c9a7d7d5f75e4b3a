"""Spreadsheet imports of clients, orders and expenses: the upload waiting for
confirmation, the column mappings remembered per header, and which row became which
object (so that importing the same file again creates nothing twice)."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

__all__ = ["ImportMapping", "ImportedRow", "SheetImport"]


class SheetKind(models.TextChoices):
    CLIENTS = "clients", _("Clients")
    ORDERS = "orders", _("Orders")
    EXPENSES = "expenses", _("Expenses")


class SheetImport(models.Model):
    """An uploaded sheet: its cells, the column mapping chosen and the preview, kept
    server-side so that what is confirmed is exactly what was shown."""

    Kind = SheetKind

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for confirmation")
        APPLIED = "applied", _("Imported")
        DISCARDED = "discarded", _("Discarded")

    kind = models.CharField(max_length=16, choices=SheetKind.choices)
    filename = models.CharField(max_length=255, blank=True)
    encoding = models.CharField(max_length=20, blank=True)
    delimiter = models.CharField(max_length=1, default=",")
    signature = models.CharField(max_length=64)
    header = models.JSONField(default=list)
    cells = models.JSONField(default=list)  # [[line, [cell, ...]], ...]
    mapping = models.JSONField(default=dict)  # {field: column index}
    options = models.JSONField(default=dict)
    plan = models.JSONField(default=dict)
    error_count = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    summary = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("spreadsheet import")
        verbose_name_plural = _("spreadsheet imports")
        ordering: ClassVar = ["-created_at", "-pk"]
        indexes: ClassVar = [models.Index(fields=["kind", "status", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.kind} import {self.pk}"


class ImportMapping(models.Model):
    """The column mapping last used for a kind of import and a header (its signature),
    offered again when a file with the same header comes."""

    kind = models.CharField(max_length=16, choices=SheetKind.choices)
    signature = models.CharField(max_length=64)
    mapping = models.JSONField(default=dict)  # {field: header cell}
    options = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["kind", "signature"], name="import_mapping_unique")
        ]

    def __str__(self) -> str:
        return f"{self.kind} mapping {self.signature[:8]}"


class ImportedRow(models.Model):
    """A sheet row that became an object: its natural key (unique per kind) and the
    fingerprint of its values when last imported."""

    kind = models.CharField(max_length=16, choices=SheetKind.choices)
    key = models.CharField(max_length=64)  # SHA-256 of the natural key
    fingerprint = models.CharField(max_length=64)
    object_id = models.PositiveBigIntegerField()
    external_ref = models.CharField(max_length=120, blank=True)
    batch = models.ForeignKey(
        SheetImport, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["kind", "key"], name="imported_row_key_unique")
        ]
        indexes: ClassVar = [models.Index(fields=["kind", "object_id"])]

    def __str__(self) -> str:
        return f"{self.kind} row → {self.object_id}"
