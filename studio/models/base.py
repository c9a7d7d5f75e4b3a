"""Studio base: the profile, team roles, counters and API tokens. Imports no other app."""

from __future__ import annotations

import copy
import hashlib
import zoneinfo
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, ClassVar, TypeVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from studio.money import CURRENCY_CHOICES

LANGUAGE_CHOICES = [("zh-hans", "简体中文"), ("en", "English")]

SingleRow = TypeVar("SingleRow", bound=models.Model)


def load_singleton(model: type[SingleRow]) -> SingleRow:
    """The one row (pk=1) of a single-row model, created with its defaults on first use."""
    row, _created = model._default_manager.get_or_create(pk=1)
    return row


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("“%(zone)s” is not a known time zone."), params={"zone": value})


class StudioProfile(models.Model):
    """The one studio this installation runs (a single row, pk=1)."""

    name = models.CharField(_("name"), max_length=120, default="My Studio")
    legal_name = models.CharField(_("legal name"), max_length=200, blank=True)
    address = models.TextField(_("address"), blank=True)
    tax_id = models.CharField(_("tax id"), max_length=64, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    wechat_id = models.CharField(_("WeChat id"), max_length=64, blank=True)
    logo = models.FileField(_("logo"), upload_to="studio/", blank=True)
    default_currency = models.CharField(
        _("default currency"), max_length=3, choices=CURRENCY_CHOICES, default="CNY"
    )
    reporting_currency = models.CharField(
        _("reporting currency"), max_length=3, choices=CURRENCY_CHOICES, default="CNY"
    )
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="Asia/Shanghai", validators=[validate_time_zone]
    )
    default_turnaround_days = models.PositiveSmallIntegerField(
        _("default turnaround (days)"),
        default=7,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
    )
    default_revision_rounds = models.PositiveSmallIntegerField(
        _("default included revision rounds"),
        default=2,
        validators=[MaxValueValidator(20)],
    )
    payment_instructions = models.TextField(_("payment instructions"), blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("studio profile")
        verbose_name_plural = _("studio profile")
        constraints: ClassVar = [
            models.CheckConstraint(condition=models.Q(pk=1), name="studio_profile_singleton"),
            models.CheckConstraint(
                condition=models.Q(
                    default_turnaround_days__gte=1, default_turnaround_days__lte=365
                ),
                name="studio_profile_turnaround_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        super().save(*args, **kwargs)
        if _request_profile.get() is not None:
            _request_profile.set(copy.copy(self))

    @classmethod
    def load(cls) -> StudioProfile:
        """The profile row (created on first use). Inside memoized() — every request,
        see studio.middleware — without a query: a copy of the request's profile, so a
        caller that edits its instance (a form) changes nobody else's."""
        memo = _request_profile.get()
        if memo is not None:
            return copy.copy(memo)
        return load_singleton(cls)

    @classmethod
    @contextmanager
    def memoized(cls) -> Iterator[StudioProfile]:
        """Load the profile once for a unit of work (a request): the pages read it from
        several places (time zone, reporting currency, forms, sections), one query each
        before. A save() in the meantime refreshes the memo; QuerySet.update() does not."""
        profile = cls.load()
        token = _request_profile.set(profile)
        try:
            yield profile
        finally:
            _request_profile.reset(token)

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


# The profile of the request being served (StudioProfile.memoized); None outside one.
_request_profile: ContextVar[StudioProfile | None] = ContextVar("studio_profile", default=None)


class Membership(models.Model):
    """A user's role in the studio; a user without one has no access."""

    class Role(models.TextChoices):
        OWNER = "owner", _("Owner")
        PRODUCER = "producer", _("Producer")
        ARTIST = "artist", _("Artist")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership"
    )
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.ARTIST)
    language = models.CharField(_("language"), max_length=8, choices=LANGUAGE_CHOICES, blank=True)
    email_notifications = models.BooleanField(
        _("e-mail me my notifications"),
        default=True,
        help_text=_("Reminders and client actions also arrive by e-mail, not only in the app."),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("team member")
        verbose_name_plural = _("team members")

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()})"


class Counter(models.Model):
    """A gapless sequence per (series, year), advanced under a row lock."""

    series = models.CharField(max_length=16)
    year = models.PositiveSmallIntegerField()
    value = models.PositiveIntegerField(default=0)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["series", "year"], name="counter_series_year_unique")
        ]

    def __str__(self) -> str:
        return f"{self.series}-{self.year}: {self.value}"


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def active(self) -> ApiTokenQuerySet:
        return self.filter(revoked_at__isnull=True)


class ApiToken(models.Model):
    """A personal API token; only its SHA-256 is stored, the token is shown once."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(_("name"), max_length=80)
    prefix = models.CharField(max_length=12, help_text="First characters, to recognise it")
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering: ClassVar = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class Heartbeat(models.Model):
    """Last time a worker ran the periodic heartbeat task (read by /healthz)."""

    name = models.CharField(max_length=32, unique=True)
    beat_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} @ {self.beat_at:%Y-%m-%d %H:%M:%S}"


class Notification(models.Model):
    """An in-app notification for one team member (the bell), optionally e-mailed.

    The e-mail is a job on this row: pending -> claimed (claimed_at set by a conditional
    update) -> sent, or back to pending after a failure, or failed after the last try.
    A worker killed after claiming leaves a stale claim that the sweep hands back.
    """

    class EmailState(models.TextChoices):
        NONE = "none", _("Not e-mailed")
        PENDING = "pending", _("Waiting")
        CLAIMED = "claimed", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=40)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    email_wanted = models.BooleanField(default=True)
    email_state = models.CharField(
        max_length=8, choices=EmailState.choices, default=EmailState.PENDING
    )
    email_claimed_at = models.DateTimeField(null=True, blank=True)
    email_attempts = models.PositiveSmallIntegerField(default=0)
    email_error = models.CharField(max_length=300, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["-created_at", "-pk"]
        indexes: ClassVar = [
            models.Index(fields=["user", "read_at", "-created_at"]),
            models.Index(fields=["email_state", "created_at"]),
        ]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=models.Q(
                    email_state__in=["none", "pending", "claimed", "sent", "failed"]
                ),
                name="notification_email_state_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.title
