"""Django admin for the studio models, gated by studio roles rather than Django permissions.

Who may use the admin at all: active staff accounts whose studio role is owner or
producer (superusers count as owners). Artists never get in, whatever their staff flag.
Studio models are for owners only; clients and orders (orders/admin.py) for owners and
producers. Counters, tokens, heartbeats and timelines are read-only.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from studio import roles, services
from studio.errors import DomainError
from studio.models import (
    AITool,
    ApiToken,
    Counter,
    Heartbeat,
    Membership,
    Notification,
    Reminder,
    StudioProfile,
    ToolPrice,
    WebhookDelivery,
    WebhookEndpoint,
)


class RoleGatedAdmin(admin.ModelAdmin):
    """Permissions come from the studio role, not from Django's per-model permissions.

    owners_only: only owners; otherwise owners and producers. read_only: no add, change
    or delete for anyone. allow_add / allow_delete switch those off for business reasons.
    """

    owners_only = True
    read_only = False
    allow_add = True
    allow_delete = True

    def role_allows(self, request: HttpRequest) -> bool:
        if self.owners_only:
            return roles.is_owner(request.user)
        return roles.can_manage_business(request.user)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.role_allows(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.role_allows(request)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return self.allow_add and not self.read_only and self.role_allows(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return not self.read_only and self.role_allows(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.allow_delete and not self.read_only and self.role_allows(request)


@admin.register(StudioProfile)
class StudioProfileAdmin(RoleGatedAdmin):
    list_display = ("name", "legal_name", "default_currency", "time_zone", "updated_at")
    # The logo is uploaded on the studio settings page, which checks the file's content.
    readonly_fields = ("logo", "updated_at")
    allow_delete = False
    fieldsets = (
        (None, {"fields": ("name", "legal_name", "address", "tax_id", "logo")}),
        (_("Contact"), {"fields": ("email", "phone", "wechat_id")}),
        (
            _("Defaults"),
            {
                "fields": (
                    "default_currency",
                    "reporting_currency",
                    "time_zone",
                    "default_turnaround_days",
                    "default_revision_rounds",
                )
            },
        ),
        (_("Payments"), {"fields": ("payment_instructions", "updated_at")}),
    )

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        # A single row (pk=1), created on first use.
        return super().has_add_permission(request) and not StudioProfile.objects.exists()


class MembershipAdminForm(forms.ModelForm):
    class Meta:
        model = Membership
        fields = ("user", "role", "language")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        role = cleaned.get("role")
        if self.instance.pk and role and "role" in self.changed_data:
            try:
                services.check_owner_remains(user=self.instance.user, new_role=role)
            except DomainError as exc:
                raise ValidationError(exc.message, code=exc.code) from exc
        return cleaned


@admin.register(Membership)
class MembershipAdmin(RoleGatedAdmin):
    form = MembershipAdminForm
    list_display = ("user", "user_full_name", "role", "language", "user_is_active", "created_at")
    list_filter = ("role", "language", "user__is_active")
    search_fields = ("user__username", "user__email", "user__first_name", "user__last_name")
    list_select_related = ("user",)
    raw_id_fields = ("user",)
    readonly_fields = ("created_at",)
    # Removing someone is "deactivate" on the team page, which keeps their history.
    allow_delete = False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        fields = tuple(super().get_readonly_fields(request, obj))
        return (*fields, "user") if obj is not None else fields

    @admin.display(description=_("name"), ordering="user__first_name")
    def user_full_name(self, obj: Membership) -> str:
        return obj.user.get_full_name()

    @admin.display(description=_("active"), boolean=True, ordering="user__is_active")
    def user_is_active(self, obj: Membership) -> bool:
        return obj.user.is_active


@admin.register(Counter)
class CounterAdmin(RoleGatedAdmin):
    """Gapless numbering: never edited by hand."""

    list_display = ("series", "year", "value")
    list_filter = ("series", "year")
    search_fields = ("series",)
    read_only = True


@admin.register(ApiToken)
class ApiTokenAdmin(RoleGatedAdmin):
    """Only the prefix is shown; the digest never leaves the database."""

    list_display = ("name", "user", "prefix", "created_at", "last_used_at", "active")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter), "created_at")
    search_fields = ("name", "prefix", "user__username")
    list_select_related = ("user",)
    fields = ("user", "name", "prefix", "created_at", "last_used_at", "revoked_at")
    readonly_fields = fields
    read_only = True
    actions = ("revoke_tokens",)

    @admin.display(description=_("active"), boolean=True, ordering="revoked_at")
    def active(self, obj: ApiToken) -> bool:
        return obj.is_active

    @admin.action(description=_("Revoke the selected tokens"))
    def revoke_tokens(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        revoked = sum(services.revoke_api_token(token=token) for token in queryset)
        self.message_user(
            request,
            ngettext("%(n)d token was revoked.", "%(n)d tokens were revoked.", revoked)
            % {"n": revoked},
            messages.SUCCESS,
        )


@admin.register(Heartbeat)
class HeartbeatAdmin(RoleGatedAdmin):
    list_display = ("name", "beat_at")
    read_only = True


@admin.register(Notification)
class NotificationAdmin(RoleGatedAdmin):
    """Each person reads their own notifications in the app; here for support only."""

    list_display = ("created_at", "user", "kind", "title", "read_at", "emailed_at")
    list_filter = ("kind", ("read_at", admin.EmptyFieldListFilter))
    search_fields = ("title", "user__username")
    list_select_related = ("user",)
    read_only = True


# Tools, reminders and webhooks have their own pages (whose services re-cost takes,
# claim jobs and keep secrets out of sight); the admin shows them read-only.
@admin.register(AITool)
class AIToolAdmin(RoleGatedAdmin):
    owners_only = False
    read_only = True
    list_display = ("name", "vendor", "kind", "is_active")
    list_filter = ("kind", "is_active")
    search_fields = ("name", "vendor")


@admin.register(ToolPrice)
class ToolPriceAdmin(RoleGatedAdmin):
    owners_only = False
    read_only = True
    list_display = ("tool", "effective_from", "per_second", "currency")
    list_select_related = ("tool",)


@admin.register(Reminder)
class ReminderAdmin(RoleGatedAdmin):
    read_only = True
    list_display = ("kind", "object_id", "stage", "state", "created_at")
    list_filter = ("kind", "state")


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(RoleGatedAdmin):
    read_only = True
    exclude = ("secret", "previous_secret")
    list_display = ("url", "is_active", "created_at")


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(RoleGatedAdmin):
    read_only = True
    list_display = ("event_type", "endpoint", "state", "attempts", "response_code", "created_at")
    list_filter = ("state", "event_type")
    list_select_related = ("endpoint",)
