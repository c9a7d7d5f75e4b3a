"""Django admin for billing: a back office for owners and producers, never a second way
through the rules. Invoices, lines, payments and history are read-only here (they change
through the pages and the API, which number, freeze and record them); the billing
settings are the owner's."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from billing.models import (
    BillingSettings,
    IdempotencyRecord,
    Invoice,
    InvoiceEmail,
    InvoiceEvent,
    InvoiceLine,
    InvoicePdfJob,
    Payment,
)
from studio.admin import RoleGatedAdmin


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class LineInline(ReadOnlyInline):
    model = InvoiceLine
    fields = (
        "position",
        "description",
        "quantity",
        "unit",
        "unit_price",
        "tax_rate",
        "net_amount",
        "tax_amount",
        "gross_amount",
    )
    readonly_fields = fields


class PaymentInline(ReadOnlyInline):
    model = Payment
    fields = ("paid_on", "amount", "currency", "method", "reference", "note", "recorded_by")
    readonly_fields = fields


class EventInline(ReadOnlyInline):
    model = InvoiceEvent
    fields = ("created_at", "kind", "actor_label", "message")
    readonly_fields = fields


@admin.register(Invoice)
class InvoiceAdmin(RoleGatedAdmin):
    owners_only = False
    read_only = True
    list_display = (
        "__str__",
        "kind",
        "purpose",
        "status",
        "client",
        "order",
        "currency",
        "total",
        "amount_paid",
        "issue_date",
        "due_date",
    )
    list_filter = ("kind", "status", "purpose", "currency", "fapiao_status")
    search_fields = ("number", "client__name", "order__reference", "subject")
    list_select_related = ("client", "order")
    inlines = (LineInline, PaymentInline, EventInline)

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        return [field.name for field in Invoice._meta.fields]


@admin.register(Payment)
class PaymentAdmin(RoleGatedAdmin):
    owners_only = False
    read_only = True
    list_display = ("paid_on", "invoice", "amount", "currency", "method", "reference")
    list_filter = ("method", "currency")
    search_fields = ("reference", "invoice__number")
    list_select_related = ("invoice",)


@admin.register(InvoicePdfJob)
class InvoicePdfJobAdmin(RoleGatedAdmin):
    owners_only = False
    read_only = True
    list_display = ("invoice", "state", "attempts", "enqueued_at", "claimed_at", "finished_at")
    list_filter = ("state",)


@admin.register(InvoiceEmail)
class InvoiceEmailAdmin(RoleGatedAdmin):
    owners_only = False
    read_only = True
    list_display = ("invoice", "to", "state", "attempts", "created_at", "sent_at")
    list_filter = ("state",)


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(RoleGatedAdmin):
    read_only = True
    list_display = ("user", "key", "status_code", "created_at")
    fields = ("user", "key", "request_hash", "status_code", "location", "created_at")


@admin.register(BillingSettings)
class BillingSettingsAdmin(RoleGatedAdmin):
    """The owner's billing settings (also on their own page)."""

    allow_delete = False
    readonly_fields = ("updated_at",)

    def has_add_permission(self, request: HttpRequest, *args: object) -> bool:
        return super().has_add_permission(request) and not BillingSettings.objects.exists()
