"""Django admin for clients and orders: owners and producers only (see studio/admin.py).

The admin is a back office, not a second way through the lifecycle: an order's status
and lifecycle dates are read-only here (they change through the pages and the API),
orders are created by the order service (which numbers them), and timelines are
read-only.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.forms import ModelForm
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from orders.models import (
    Asset,
    Client,
    ClientAction,
    Deliverable,
    Episode,
    Order,
    OrderEvent,
    PortalLink,
    ReviewComment,
    Shot,
    Tag,
    Take,
)
from orders.services import record_event
from studio import roles
from studio.admin import RoleGatedAdmin


@admin.register(Client)
class ClientAdmin(RoleGatedAdmin):
    owners_only = False
    list_display = ("name", "contact_name", "email", "wechat_id", "country", "currency", "archived")
    list_filter = ("currency", "language", ("archived_at", admin.EmptyFieldListFilter))
    search_fields = ("name", "contact_name", "email", "phone", "wechat_id")
    readonly_fields = ("created_at", "updated_at")

    @admin.display(description=_("archived"), boolean=True, ordering="archived_at")
    def archived(self, obj: Client) -> bool:
        return obj.is_archived


@admin.register(Tag)
class TagAdmin(RoleGatedAdmin):
    owners_only = False
    list_display = ("name",)
    search_fields = ("name",)


class ReadOnlyInline(admin.TabularInline):
    """History shown inside its parent's page, for owners and producers."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return roles.can_manage_business(request.user)


class DeliverableInline(ReadOnlyInline):
    model = Deliverable
    fields = ("title", "version", "kind", "original_name", "url", "size", "created_at")
    readonly_fields = fields
    show_change_link = True


@admin.register(Order)
class OrderAdmin(RoleGatedAdmin):
    owners_only = False
    # New orders need a reference from the numbering service: create them on the pages.
    allow_add = False
    # Orders are cancelled, not deleted: their timeline and invoices refer to them.
    allow_delete = False
    list_display = (
        "reference",
        "title",
        "client",
        "status",
        "assignee",
        "price",
        "currency",
        "due_at",
        "created_at",
    )
    list_filter = ("status", "kind", "currency", ("assignee", admin.RelatedOnlyFieldListFilter))
    search_fields = ("reference", "title", "client__name")
    list_select_related = ("client", "assignee")
    autocomplete_fields = ("client", "tags")
    raw_id_fields = ("assignee",)
    date_hierarchy = "created_at"
    readonly_fields = (
        "reference",
        "status",
        "status_before_hold",
        "status_changed_at",
        "accepted_at",
        "delivered_at",
        "completed_at",
        "revision_rounds_used",
        "created_by",
        "created_at",
        "updated_at",
    )
    fieldsets = (
        (None, {"fields": ("reference", "client", "title", "kind", "brief", "tags", "assignee")}),
        (
            _("Terms"),
            {
                "fields": (
                    "price",
                    "currency",
                    "deposit_percent",
                    "turnaround_days",
                    "revision_rounds_included",
                    "revision_rounds_used",
                )
            },
        ),
        (
            _("Lifecycle (changed on the order page)"),
            {
                "fields": (
                    "status",
                    "status_before_hold",
                    "status_changed_at",
                    "accepted_at",
                    "due_at",
                    "delivered_at",
                    "completed_at",
                    "created_by",
                    "created_at",
                    "updated_at",
                )
            },
        ),
    )
    inlines = (DeliverableInline,)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Completed and cancelled orders are final, as in the order service.
        if obj is not None and obj.is_closed:
            return False
        return super().has_change_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: Order, form: ModelForm, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if change and form.changed_data:
            # Edits here still leave a line on the order's (internal) timeline.
            record_event(
                order=obj,
                kind=OrderEvent.Kind.UPDATED,
                actor=request.user,
                public=False,
                data={"fields": sorted(form.changed_data), "via": "admin"},
            )


@admin.register(OrderEvent)
class OrderEventAdmin(RoleGatedAdmin):
    """The timeline is history: read-only."""

    owners_only = False
    read_only = True
    list_display = ("created_at", "order", "kind", "from_status", "to_status", "actor", "public")
    list_filter = ("kind", "public", "to_status")
    search_fields = ("order__reference", "message", "actor_label")
    list_select_related = ("order", "actor")
    date_hierarchy = "created_at"


@admin.register(Deliverable)
class DeliverableAdmin(RoleGatedAdmin):
    """Files come in through the order page, which checks them; only notes are editable."""

    owners_only = False
    allow_add = False
    allow_delete = False
    list_display = ("order", "title", "version", "kind", "original_name", "size", "created_at")
    list_filter = ("kind", "content_type")
    search_fields = ("title", "order__reference", "original_name")
    list_select_related = ("order",)
    # The stored file is served only through permission-checked pages, not /media/.
    exclude = ("file",)
    readonly_fields = (
        "order",
        "title",
        "version",
        "kind",
        "url",
        "original_name",
        "content_type",
        "size",
        "sha256",
        "uploaded_by",
        "approved_at",
        "created_at",
    )


@admin.register(PortalLink)
class PortalLinkAdmin(RoleGatedAdmin):
    """Client links are managed on the order page; the nonce and digest are never shown."""

    owners_only = False
    read_only = True
    list_display = ("order", "created_at", "created_by", "last_opened_at", "active")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter),)
    search_fields = ("order__reference",)
    list_select_related = ("order", "created_by")
    fields = ("order", "created_at", "created_by", "last_opened_at", "revoked_at")
    readonly_fields = fields

    @admin.display(description=_("active"), boolean=True, ordering="revoked_at")
    def active(self, obj: PortalLink) -> bool:
        return obj.revoked_at is None


class ReviewCommentInline(ReadOnlyInline):
    model = ReviewComment
    fields = ("deliverable", "timecode_seconds", "body", "created_at")
    readonly_fields = fields


@admin.register(ClientAction)
class ClientActionAdmin(RoleGatedAdmin):
    """What clients did on their page: history, read-only."""

    owners_only = False
    read_only = True
    list_display = ("created_at", "order", "kind", "name", "extra_round")
    list_filter = ("kind", "extra_round")
    search_fields = ("order__reference", "name", "comment")
    list_select_related = ("order",)
    fields = ("order", "deliverable", "kind", "name", "comment", "extra_round", "created_at")
    readonly_fields = fields
    inlines = (ReviewCommentInline,)


@admin.register(ReviewComment)
class ReviewCommentAdmin(RoleGatedAdmin):
    owners_only = False
    read_only = True
    list_display = ("created_at", "action", "deliverable", "timecode_seconds")
    search_fields = ("body", "action__order__reference")
    list_select_related = ("action", "deliverable")


# The breakdown is edited on its own pages, whose services keep costs, runtimes and the
# selected take consistent; the admin only shows it.
@admin.register(Episode)
class EpisodeAdmin(RoleGatedAdmin):
    owners_only = False
    read_only = True
    list_display = ("order", "number", "title", "status", "runtime_limit")
    list_filter = ("status",)
    search_fields = ("title", "order__reference")
    list_select_related = ("order",)


@admin.register(Shot)
class ShotAdmin(RoleGatedAdmin):
    owners_only = False
    read_only = True
    list_display = ("episode", "code", "status", "assignee", "planned_seconds")
    list_filter = ("status",)
    search_fields = ("code", "description", "episode__order__reference")
    list_select_related = ("episode", "assignee")


@admin.register(Take)
class TakeAdmin(RoleGatedAdmin):
    owners_only = False
    read_only = True
    list_display = ("shot", "tool", "generated_seconds", "cost", "is_selected", "created_at")
    list_filter = ("tool", "is_selected")
    list_select_related = ("shot", "tool")


@admin.register(Asset)
class AssetAdmin(RoleGatedAdmin):
    owners_only = False
    read_only = True
    list_display = ("order", "name", "kind")
    list_filter = ("kind",)
    search_fields = ("name", "order__reference")
    list_select_related = ("order",)
