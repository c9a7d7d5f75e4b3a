"""Django admin for billing: a back office for owners and producers, never a second way
through the rules. Invoices, lines, payments and history are read-only here (they change
through the pages and the API, which number, freeze and record them); the billing
settings are the owner's."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest

from billing.models import (
    BillingSettings,
    ExchangeRate,
    Expense,
    IdempotencyRecord,
    Invoice,
    InvoiceEmail,
    InvoiceEvent,
    InvoiceLine,
    InvoicePdfJob,
    Payment,
    Subscription,
)
from studio.admin import RoleGatedAdmin
from studio.errors import DomainError


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


@admin.register(Expense)
class ExpenseAdmin(RoleGatedAdmin):
    """Read-only: expenses change on their pages and through the API, which check the
    receipt's content and record every change in the cost history."""

    owners_only = False
    read_only = True
    list_display = ("spent_on", "amount", "currency", "category", "vendor", "tool", "order")
    list_filter = ("category", "currency")
    search_fields = ("vendor", "note", "order__reference")
    list_select_related = ("tool", "order")
    date_hierarchy = "spent_on"
    exclude = ("receipt",)


@admin.register(ExchangeRate)
class ExchangeRateAdmin(RoleGatedAdmin):
    """Read-only: rates change on the exchange-rate page and through the API."""

    owners_only = False
    read_only = True
    list_display = ("on", "currency", "quote_currency", "rate", "source")
    list_filter = ("currency", "quote_currency", "source")
    date_hierarchy = "on"


@admin.register(Subscription)
class SubscriptionAdmin(RoleGatedAdmin):
    """Tool subscriptions. Added on their page (which can book the first payment);
    changed here only while no renewal is booked, and then through the same service as
    the page, so the change is checked and recorded. Booked ones are read-only: cancel
    them on their page."""

    owners_only = False
    allow_add = False
    list_display = (
        "tool",
        "plan_name",
        "amount",
        "currency",
        "period",
        "next_renewal_on",
        "auto_renew",
        "cancelled_from",
    )
    list_filter = ("period", "currency", "auto_renew")
    search_fields = ("plan_name", "tool__name", "tool__vendor")
    list_select_related = ("tool",)
    exclude = ("created_by",)
    readonly_fields = ("cancelled_from", "created_at", "updated_at")

    @staticmethod
    def _booked(obj: object) -> bool:
        return isinstance(obj, Subscription) and obj.expenses.exists()

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return super().has_change_permission(request, obj) and not self._booked(obj)

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return super().has_delete_permission(request, obj) and not self._booked(obj)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        from billing.services import subscriptions

        fields = {name: form.cleaned_data[name] for name in form.changed_data}
        try:
            subscriptions.update_subscription(actor=request.user, subscription=obj, **fields)
        except DomainError as exc:
            self.message_user(request, exc.message, level=messages.ERROR)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        from billing.services import subscriptions

        try:
            subscriptions.delete_subscription(actor=request.user, subscription=obj)
        except DomainError as exc:
            self.message_user(request, f"{obj}: {exc.message}", level=messages.ERROR)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for obj in queryset:
            self.delete_model(request, obj)
