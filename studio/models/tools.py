"""The AI tool catalog: every generator, LLM, voice, music and editing tool the studio
uses, with per-second prices that change over time (a take is costed at the price in
force on its date)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import ClassVar

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from studio.money import CURRENCY_CHOICES

__all__ = ["AITool", "ToolPrice"]


class AITool(models.Model):
    class Kind(models.TextChoices):
        VIDEO_MODEL = "video_model", _("Video model")
        IMAGE_MODEL = "image_model", _("Image model")
        LLM = "llm", _("LLM")
        VOICE = "voice", _("Voice / dubbing")
        MUSIC = "music", _("Music")
        EDITING = "editing", _("Editing")
        OTHER = "other", _("Other")

    GENERATOR_KINDS: ClassVar[frozenset[str]] = frozenset({Kind.VIDEO_MODEL, Kind.IMAGE_MODEL})

    name = models.CharField(_("name"), max_length=80, unique=True)
    vendor = models.CharField(_("vendor"), max_length=80, blank=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    website = models.URLField(_("website"), blank=True)
    notes = models.TextField(_("notes"), blank=True)
    is_active = models.BooleanField(_("in use"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("AI tool")
        verbose_name_plural = _("AI tools")
        ordering: ClassVar = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_generator(self) -> bool:
        return self.kind in self.GENERATOR_KINDS

    def price_on(self, day: dt.date) -> ToolPrice | None:
        """The price in force on day (the latest effective on or before it)."""
        return self.prices.filter(effective_from__lte=day).order_by("-effective_from").first()


class ToolPrice(models.Model):
    """A tool's price per generated second from a date on."""

    tool = models.ForeignKey(AITool, on_delete=models.CASCADE, related_name="prices")
    effective_from = models.DateField(_("effective from"))
    per_second = models.DecimalField(
        _("price per second"),
        max_digits=10,
        decimal_places=4,
        validators=[MinValueValidator(Decimal(0))],
    )
    currency = models.CharField(
        _("currency"), max_length=3, choices=CURRENCY_CHOICES, default="CNY"
    )
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("tool price")
        verbose_name_plural = _("tool prices")
        ordering: ClassVar = ["tool", "-effective_from"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["tool", "effective_from"], name="tool_price_one_per_day"
            ),
            models.CheckConstraint(condition=Q(per_second__gte=0), name="tool_price_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.tool} {self.per_second}/s from {self.effective_from}"
