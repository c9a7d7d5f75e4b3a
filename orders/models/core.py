"""Clients, orders with their lifecycle and timeline, and deliverables."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, ClassVar

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from studio.models import LANGUAGE_CHOICES
from studio.money import CURRENCY_CHOICES, Money


class ClientQuerySet(models.QuerySet["Client"]):
    def active(self) -> ClientQuerySet:
        return self.filter(archived_at__isnull=True)

    def search(self, text: str) -> ClientQuerySet:
        text = text.strip()
        if not text:
            return self
        return self.filter(
            Q(name__icontains=text)
            | Q(contact_name__icontains=text)
            | Q(email__icontains=text)
            | Q(wechat_id__icontains=text)
            | Q(phone__icontains=text)
        )


class Client(models.Model):
    name = models.CharField(_("company or name"), max_length=160)
    contact_name = models.CharField(_("contact name"), max_length=120, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    wechat_id = models.CharField(_("WeChat id"), max_length=64, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True, help_text=_("ISO code"))
    language = models.CharField(
        _("preferred language"), max_length=8, choices=LANGUAGE_CHOICES, default="zh-hans"
    )
    currency = models.CharField(
        _("default currency"), max_length=3, choices=CURRENCY_CHOICES, default="CNY"
    )
    billing_address = models.TextField(_("billing address"), blank=True)
    tax_id = models.CharField(_("tax id"), max_length=64, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    archived_at = models.DateTimeField(_("archived"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ClientQuerySet.as_manager()

    class Meta:
        verbose_name = _("client")
        verbose_name_plural = _("clients")
        ordering: ClassVar = ["name", "pk"]
        indexes: ClassVar = [models.Index(fields=["archived_at", "name"])]

    def __str__(self) -> str:
        return self.name

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None


class Tag(models.Model):
    name = models.CharField(_("name"), max_length=40, unique=True)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering: ClassVar = ["name"]

    def __str__(self) -> str:
        return self.name


class OrderQuerySet(models.QuerySet["Order"]):
    def for_user(self, user: Any) -> OrderQuerySet:
        """Orders the user may see: all for owners/producers, assigned ones for artists."""
        from studio import roles

        role = roles.role_of(user)
        if role in {roles.Role.OWNER, roles.Role.PRODUCER}:
            return self
        if role == roles.Role.ARTIST:
            return self.filter(assignee_id=user.pk)
        return self.none()

    def open(self) -> OrderQuerySet:
        return self.exclude(status__in=Order.CLOSED_STATUSES)

    def late(self, now: dt.datetime | None = None) -> OrderQuerySet:
        return (
            self.open()
            .exclude(status=Order.Status.DELIVERED)
            .filter(due_at__lt=now or timezone.now())
        )

    def due_within(self, *, days: int, now: dt.datetime | None = None) -> OrderQuerySet:
        now = now or timezone.now()
        return (
            self.open()
            .exclude(status=Order.Status.DELIVERED)
            .filter(due_at__gte=now, due_at__lt=now + dt.timedelta(days=days))
        )

    def search(self, text: str) -> OrderQuerySet:
        text = text.strip()
        if not text:
            return self
        return self.filter(
            Q(reference__icontains=text)
            | Q(title__icontains=text)
            | Q(client__name__icontains=text)
            | Q(tags__name__iexact=text)
        ).distinct()


class OrderStatus(models.TextChoices):
    INQUIRY = "inquiry", _("Inquiry")
    QUOTED = "quoted", _("Quoted")
    ACCEPTED = "accepted", _("Accepted")
    IN_PRODUCTION = "in_production", _("In production")
    IN_REVIEW = "in_review", _("In review")
    REVISION = "revision", _("Revision requested")
    DELIVERED = "delivered", _("Delivered")
    COMPLETED = "completed", _("Completed")
    ON_HOLD = "on_hold", _("On hold")
    CANCELLED = "cancelled", _("Cancelled")


class Order(models.Model):
    class Kind(models.TextChoices):
        CLIP = "clip", _("Clip")
        SHORT_DRAMA = "short_drama", _("Short drama")
        AD = "ad", _("Ad")
        MUSIC_VIDEO = "music_video", _("Music video")
        OTHER = "other", _("Other")

    Status = OrderStatus
    S = Status
    # Where each status may go. ON_HOLD resumes to the status it was put on hold from
    # (checked in the service); it is listed here with every status it could return to.
    TRANSITIONS: ClassVar[dict[str, frozenset[str]]] = {
        S.INQUIRY: frozenset({S.QUOTED, S.ON_HOLD, S.CANCELLED}),
        S.QUOTED: frozenset({S.ACCEPTED, S.INQUIRY, S.ON_HOLD, S.CANCELLED}),
        S.ACCEPTED: frozenset({S.IN_PRODUCTION, S.ON_HOLD, S.CANCELLED}),
        S.IN_PRODUCTION: frozenset({S.IN_REVIEW, S.ON_HOLD, S.CANCELLED}),
        S.IN_REVIEW: frozenset({S.DELIVERED, S.REVISION, S.IN_PRODUCTION, S.ON_HOLD, S.CANCELLED}),
        S.REVISION: frozenset({S.IN_PRODUCTION, S.IN_REVIEW, S.ON_HOLD, S.CANCELLED}),
        S.DELIVERED: frozenset({S.COMPLETED, S.REVISION}),
        S.ON_HOLD: frozenset(
            {S.INQUIRY, S.QUOTED, S.ACCEPTED, S.IN_PRODUCTION, S.IN_REVIEW, S.REVISION, S.CANCELLED}
        ),
        S.COMPLETED: frozenset(),
        S.CANCELLED: frozenset(),
    }
    CLOSED_STATUSES: ClassVar[frozenset[str]] = frozenset({S.COMPLETED, S.CANCELLED})
    # Statuses an artist may move their own orders between (the production loop).
    ARTIST_TRANSITIONS: ClassVar[frozenset[tuple[str, str]]] = frozenset(
        {
            (S.ACCEPTED, S.IN_PRODUCTION),
            (S.REVISION, S.IN_PRODUCTION),
            (S.IN_PRODUCTION, S.IN_REVIEW),
        }
    )
    BOARD_COLUMNS: ClassVar[list[str]] = [
        S.INQUIRY,
        S.QUOTED,
        S.ACCEPTED,
        S.IN_PRODUCTION,
        S.IN_REVIEW,
        S.REVISION,
        S.DELIVERED,
        S.ON_HOLD,
    ]

    reference = models.CharField(_("reference"), max_length=20, unique=True, editable=False)
    client = models.ForeignKey(
        Client, on_delete=models.PROTECT, related_name="orders", verbose_name=_("client")
    )
    title = models.CharField(_("title"), max_length=200)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.CLIP)
    brief = models.TextField(_("brief"), blank=True)
    price = models.DecimalField(
        _("price"), max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal(0))]
    )
    currency = models.CharField(_("currency"), max_length=3, choices=CURRENCY_CHOICES)
    deposit_percent = models.DecimalField(
        _("deposit %"),
        max_digits=5,
        decimal_places=2,
        default=Decimal(50),
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(100))],
    )
    turnaround_days = models.PositiveSmallIntegerField(
        _("turnaround (days)"), validators=[MinValueValidator(1), MaxValueValidator(365)]
    )
    revision_rounds_included = models.PositiveSmallIntegerField(
        _("revision rounds included"), validators=[MaxValueValidator(20)]
    )
    revision_rounds_used = models.PositiveSmallIntegerField(_("revision rounds used"), default=0)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_orders",
        verbose_name=_("assignee"),
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="orders", verbose_name=_("tags"))
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.INQUIRY
    )
    status_before_hold = models.CharField(max_length=16, choices=Status.choices, blank=True)
    status_changed_at = models.DateTimeField(default=timezone.now)
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True)
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OrderQuerySet.as_manager()

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering: ClassVar = ["-created_at", "-pk"]
        indexes: ClassVar = [
            models.Index(fields=["status", "due_at"]),
            models.Index(fields=["client", "-created_at"]),
            models.Index(fields=["assignee", "status"]),
            models.Index(fields=["-created_at", "-id"]),
        ]
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(price__gte=0), name="order_price_not_negative"),
            models.CheckConstraint(
                condition=Q(deposit_percent__gte=0, deposit_percent__lte=100),
                name="order_deposit_percent_range",
            ),
            models.CheckConstraint(
                condition=Q(turnaround_days__gte=1, turnaround_days__lte=365),
                name="order_turnaround_range",
            ),
            models.CheckConstraint(
                condition=Q(status__in=OrderStatus.values), name="order_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(currency__regex=r"^[A-Z]{3}$"), name="order_currency_code"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"

    @property
    def money(self) -> Money:
        return Money(self.price, self.currency)

    @property
    def deposit(self) -> Money:
        return self.deposit_of(self.price, self.deposit_percent, self.currency)

    @staticmethod
    def deposit_of(price: Decimal, deposit_percent: Decimal, currency: str) -> Money:
        """price * percent / 100, rounded to the currency (also for rows read as values)."""
        return Money(price * deposit_percent / Decimal(100), currency).rounded()

    @property
    def is_closed(self) -> bool:
        return self.status in self.CLOSED_STATUSES

    @property
    def revisions_over_included(self) -> int:
        return max(0, self.revision_rounds_used - self.revision_rounds_included)

    def allowed_next(self) -> list[str]:
        """Statuses reachable from here, honouring the on-hold resume rule."""
        if self.status == self.Status.ON_HOLD:
            back = self.status_before_hold or self.Status.INQUIRY
            return [back, self.Status.CANCELLED]
        return [s for s in self.Status if s in self.TRANSITIONS[self.status]]

    def days_left(self, today: dt.date) -> int | None:
        """Whole days from today (studio-local) to the due date; negative when late."""
        if self.due_at is None:
            return None
        from studio.timeutil import local_date

        return (local_date(self.due_at) - today).days

    @property
    def tracks_due(self) -> bool:
        return self.due_at is not None and self.status not in (
            self.CLOSED_STATUSES | {self.Status.DELIVERED}
        )


class OrderEvent(models.Model):
    """One line of an order's timeline: who did what, when."""

    class Kind(models.TextChoices):
        CREATED = "created", _("Created")
        STATUS_CHANGED = "status_changed", _("Status changed")
        UPDATED = "updated", _("Updated")
        DELIVERABLE_ADDED = "deliverable_added", _("Deliverable added")
        NOTE = "note", _("Note")
        PORTAL_LINK = "portal_link", _("Client link changed")
        CLIENT_ACTION = "client_action", _("Client action")
        INVOICE = "invoice", _("Invoice")
        REVISION_LIMIT = "revision_limit", _("Revision past included rounds")
        PRODUCTION = "production", _("Production")
        AI_LABELS = "ai_labels", _("AI-content labels")
        IMPORTED = "imported", _("Imported from a spreadsheet")

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    from_status = models.CharField(max_length=16, choices=Order.Status.choices, blank=True)
    to_status = models.CharField(max_length=16, choices=Order.Status.choices, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(max_length=120, blank=True)
    message = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    public = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering: ClassVar = ["-created_at", "-pk"]
        indexes: ClassVar = [models.Index(fields=["order", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.order_id} {self.kind} {self.created_at:%Y-%m-%d %H:%M}"


def deliverable_upload_to(instance: Deliverable, filename: str) -> str:
    # The name is chosen by the service (random, with a checked extension); the
    # client's filename is kept only in original_name.
    return f"deliverables/{instance.order_id}/{filename}"


class Deliverable(models.Model):
    class Kind(models.TextChoices):
        FILE = "file", _("File")
        LINK = "link", _("Link")

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="deliverables")
    title = models.CharField(_("title"), max_length=160)
    version = models.PositiveIntegerField(_("version"))
    kind = models.CharField(max_length=8, choices=Kind.choices)
    file = models.FileField(upload_to=deliverable_upload_to, max_length=255, blank=True)
    url = models.URLField(_("link"), max_length=500, blank=True)
    original_name = models.CharField(max_length=255, blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    size = models.PositiveBigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    approved_at = models.DateTimeField(_("approved by client"), null=True, blank=True)
    # AI-content labelling (GB 45438-2025): AI-generated video carries a visible label
    # and a label in the file's metadata. Someone on the team checks both; the time of
    # each check is kept (empty = not checked).
    ai_label_visible_at = models.DateTimeField(_("visible AI label checked"), null=True, blank=True)
    ai_label_metadata_at = models.DateTimeField(
        _("AI label in metadata checked"), null=True, blank=True
    )
    ai_label_checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("AI labels checked by"),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering: ClassVar = ["-created_at", "-pk"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["order", "title", "version"], name="deliverable_version_unique"
            ),
            models.CheckConstraint(
                condition=(Q(kind="file") & ~Q(file="") & Q(url=""))
                | (Q(kind="link") & Q(file="") & ~Q(url="")),
                name="deliverable_file_xor_link",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} v{self.version}"

    @property
    def is_video(self) -> bool:
        return self.content_type.startswith("video/")

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")

    @property
    def ai_labels_checked(self) -> bool:
        """Both AI-content labels (visible and in the metadata) were checked."""
        return self.ai_label_visible_at is not None and self.ai_label_metadata_at is not None


class PortalLinkQuerySet(models.QuerySet["PortalLink"]):
    def active(self) -> PortalLinkQuerySet:
        return self.filter(revoked_at__isnull=True)


class PortalLink(models.Model):
    """A client's capability link to one order.

    The token is HMAC-SHA256(SECRET_KEY, nonce), so staff can show the link again while a
    copy of the database alone reveals no working link. Lookups go by the SHA-256 of the
    token (an index on a hash, so response time says nothing about the secret).
    """

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="portal_links")
    nonce = models.CharField(max_length=64)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_opened_at = models.DateTimeField(null=True, blank=True)

    objects = PortalLinkQuerySet.as_manager()

    class Meta:
        ordering: ClassVar = ["-created_at"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["order"],
                condition=Q(revoked_at__isnull=True),
                name="portal_link_one_active_per_order",
            )
        ]

    def __str__(self) -> str:
        return f"portal link for {self.order_id}"

    @property
    def token(self) -> str:
        from orders.portal_tokens import token_for_nonce

        return token_for_nonce(self.nonce)


class ClientAction(models.Model):
    """What the client did on their page: accepted, declined, approved, asked for changes.

    `key` makes a double-clicked form record one action: the form carries a random key
    and the pair (order, key) is unique.
    """

    class Kind(models.TextChoices):
        ACCEPTED_QUOTE = "accepted_quote", _("Accepted the quote")
        DECLINED_QUOTE = "declined_quote", _("Declined the quote")
        APPROVED = "approved", _("Approved the delivery")
        REVISION_REQUESTED = "revision_requested", _("Asked for a revision")

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="client_actions")
    deliverable = models.ForeignKey(
        Deliverable, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=24, choices=Kind.choices)
    key = models.CharField(max_length=64)
    name = models.CharField(_("name"), max_length=120, blank=True)
    comment = models.TextField(_("comment"), blank=True)
    extra_round = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering: ClassVar = ["-created_at", "-pk"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["order", "key"], name="client_action_once_per_key")
        ]

    def __str__(self) -> str:
        return f"{self.order_id} {self.kind}"


class ReviewComment(models.Model):
    """A client's comment on a deliverable, optionally pinned to a point in the video."""

    action = models.ForeignKey(ClientAction, on_delete=models.CASCADE, related_name="comments")
    deliverable = models.ForeignKey(
        Deliverable, on_delete=models.CASCADE, null=True, blank=True, related_name="comments"
    )
    timecode_seconds = models.PositiveIntegerField(null=True, blank=True)
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering: ClassVar = ["timecode_seconds", "pk"]

    def __str__(self) -> str:
        return self.body[:40]

    @property
    def timecode(self) -> str:
        if self.timecode_seconds is None:
            return ""
        minutes, seconds = divmod(self.timecode_seconds, 60)
        return f"{minutes:02d}:{seconds:02d}"
