"""Production breakdown: episodes, shots, takes, characters/assets. Models in __all__.

An order's breakdown is a series of episodes; an episode is a list of shots; a shot has
takes (generation attempts with the tool, the generated seconds and what they cost) of
which at most one is selected; assets (characters, locations, props…) are cast in shots.
Money and seconds are Decimal; a take's cost is stored when it is logged (seconds x the
tool's price in force on the take's date, see orders.production) so that later price
changes are applied on purpose, never by accident.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from studio.money import CURRENCY_CHOICES

__all__ = [
    "Asset",
    "Casting",
    "Episode",
    "EpisodeStatus",
    "ImportBatch",
    "Shot",
    "ShotQuerySet",
    "ShotStatus",
    "Take",
    "asset_upload_to",
    "take_upload_to",
]

# Seconds: up to 99,999.99 s with hundredths (a take of 5.5 s, an episode of 118.25 s):
# DecimalField(max_digits=7, decimal_places=2).
MAX_SECONDS = Decimal("99999.99")
DEFAULT_RUNTIME_LIMIT = Decimal(120)
# A shot code is text: "010", "010A", "S01-020". No spaces, so it reads well in lists.
SHOT_CODE_RE = r"^[^\s;,]{1,16}$"


def _no_urls() -> list[str]:
    return []


class EpisodeStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    IN_PRODUCTION = "in_production", _("In production")
    IN_REVIEW = "in_review", _("In review")
    APPROVED = "approved", _("Approved")


class Episode(models.Model):
    Status = EpisodeStatus
    BADGES: ClassVar[dict[str, str]] = {
        EpisodeStatus.PLANNED: "todo",
        EpisodeStatus.IN_PRODUCTION: "in_production",
        EpisodeStatus.IN_REVIEW: "in_review",
        EpisodeStatus.APPROVED: "completed",
    }

    class Aspect(models.TextChoices):
        VERTICAL = "9:16", _("9:16 vertical")
        HORIZONTAL = "16:9", _("16:9 horizontal")

    order = models.ForeignKey(
        "orders.Order", on_delete=models.CASCADE, related_name="episodes", verbose_name=_("order")
    )
    number = models.PositiveSmallIntegerField(
        _("number"), validators=[MinValueValidator(1), MaxValueValidator(9999)]
    )
    title = models.CharField(_("title"), max_length=200, blank=True)
    synopsis = models.TextField(_("synopsis"), blank=True)
    runtime_limit = models.DecimalField(
        _("target runtime (seconds)"),
        max_digits=7,
        decimal_places=2,
        default=DEFAULT_RUNTIME_LIMIT,
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(MAX_SECONDS)],
        help_text=_(
            "The episode's runtime limit; the episode page warns when the shots add up to more."
        ),
    )
    aspect_ratio = models.CharField(
        _("aspect ratio"), max_length=5, choices=Aspect.choices, default=Aspect.VERTICAL
    )
    status = models.CharField(
        _("status"), max_length=16, choices=EpisodeStatus.choices, default=EpisodeStatus.PLANNED
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("episode")
        verbose_name_plural = _("episodes")
        ordering: ClassVar = ["order", "number"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["order", "number"], name="episode_number_unique"),
            models.CheckConstraint(condition=Q(number__gte=1), name="episode_number_positive"),
            models.CheckConstraint(
                condition=Q(runtime_limit__gt=0), name="episode_runtime_limit_positive"
            ),
            models.CheckConstraint(
                condition=Q(status__in=EpisodeStatus.values),
                name="episode_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"E{self.number:02d} {self.title}".strip()

    @property
    def badge(self) -> str:
        return self.BADGES.get(self.status, "")


class ShotStatus(models.TextChoices):
    TODO = "todo", _("To do")
    GENERATING = "generating", _("Generating")
    REVIEW = "review", _("Review")
    APPROVED = "approved", _("Approved")
    OMITTED = "omitted", _("Omitted")


class ShotQuerySet(models.QuerySet["Shot"]):
    def for_user(self, user: Any) -> ShotQuerySet:
        """Shots the user may see: all for owners/producers, their own for artists."""
        from studio import roles

        if roles.can_manage_business(user):
            return self
        if roles.is_artist(user):
            return self.filter(assignee_id=user.pk)
        return self.none()

    def counted(self) -> ShotQuerySet:
        """Shots that count towards runtime and progress (omitted ones do not)."""
        return self.exclude(status=ShotStatus.OMITTED)


class Shot(models.Model):
    Status = ShotStatus
    S = ShotStatus
    # Owners and producers may set any status (a correction is a correction); artists
    # move their own shots through the generation loop only. Approving and omitting
    # are decisions for owners and producers.
    ARTIST_TRANSITIONS: ClassVar[frozenset[tuple[str, str]]] = frozenset(
        {
            (S.TODO, S.GENERATING),
            (S.GENERATING, S.TODO),
            (S.GENERATING, S.REVIEW),
            (S.REVIEW, S.GENERATING),
        }
    )
    # The badge colour of each status (classes of static/reeldesk.css).
    BADGES: ClassVar[dict[str, str]] = {
        S.TODO: "todo",
        S.GENERATING: "in_production",
        S.REVIEW: "in_review",
        S.APPROVED: "completed",
        S.OMITTED: "cancelled",
    }

    episode = models.ForeignKey(
        Episode, on_delete=models.CASCADE, related_name="shots", verbose_name=_("episode")
    )
    code = models.CharField(
        _("code"),
        max_length=16,
        validators=[
            RegexValidator(
                SHOT_CODE_RE,
                _("A shot code has 1 to 16 characters without spaces, commas or semicolons."),
            )
        ],
        help_text=_("Text such as 010 or 010A; leading zeros are kept."),
    )
    position = models.PositiveIntegerField(_("position"), default=0)
    scene = models.CharField(
        _("scene"), max_length=200, blank=True, help_text=_("Groups shots, e.g. a scene heading.")
    )
    description = models.TextField(_("description"), blank=True)
    dialogue = models.TextField(
        _("dialogue"),
        blank=True,
        help_text=_("One line per spoken line, as “NAME: line”, for dubbing."),
    )
    planned_seconds = models.DecimalField(
        _("planned seconds"),
        max_digits=7,
        decimal_places=2,
        default=Decimal(0),
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(MAX_SECONDS)],
    )
    status = models.CharField(
        _("status"), max_length=16, choices=ShotStatus.choices, default=ShotStatus.TODO
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_shots",
        verbose_name=_("assignee"),
    )
    tool = models.ForeignKey(
        "studio.AITool",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="planned_shots",
        verbose_name=_("intended tool"),
    )
    notes = models.TextField(_("notes"), blank=True)
    assets = models.ManyToManyField(
        "orders.Asset",
        through="orders.Casting",
        related_name="shots",
        blank=True,
        verbose_name=_("characters and assets"),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ShotQuerySet.as_manager()

    class Meta:
        verbose_name = _("shot")
        verbose_name_plural = _("shots")
        ordering: ClassVar = ["episode", "position", "pk"]
        indexes: ClassVar = [
            models.Index(fields=["episode", "position"]),
            models.Index(fields=["assignee", "status"]),
        ]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["episode", "code"], name="shot_code_unique"),
            models.CheckConstraint(
                condition=Q(planned_seconds__gte=0), name="shot_planned_seconds_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(status__in=ShotStatus.values), name="shot_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.code

    @property
    def badge(self) -> str:
        return self.BADGES.get(self.status, "")

    @property
    def dialogue_lines(self) -> list[tuple[str, str]]:
        """The dialogue as (speaker, line) pairs; a line without a speaker has ""."""
        pairs = []
        for raw in self.dialogue.splitlines():
            line = raw.strip()
            if not line:
                continue
            for sep in (":", "："):
                speaker, found, text = line.partition(sep)
                if found and speaker.strip() and len(speaker) <= 60:
                    pairs.append((speaker.strip(), text.strip()))
                    break
            else:
                pairs.append(("", line))
        return pairs


def take_upload_to(instance: Take, filename: str) -> str:
    # The service picks a random name with a checked extension.
    return f"takes/{instance.shot_id}/{filename}"


class Take(models.Model):
    """One generation attempt on a shot."""

    class Mode(models.TextChoices):
        TEXT_TO_VIDEO = "t2v", _("Text to video")
        IMAGE_TO_VIDEO = "i2v", _("Image to video")
        FIRST_LAST_FRAME = "first_last", _("First and last frame")
        VIDEO_TO_VIDEO = "v2v", _("Video to video")
        LIP_SYNC = "lip_sync", _("Lip sync")
        TEXT_TO_IMAGE = "t2i", _("Text to image")
        OTHER = "other", _("Other")

    shot = models.ForeignKey(
        Shot, on_delete=models.CASCADE, related_name="takes", verbose_name=_("shot")
    )
    number = models.PositiveIntegerField(_("take number"))
    tool = models.ForeignKey(
        "studio.AITool", on_delete=models.PROTECT, related_name="takes", verbose_name=_("tool")
    )
    mode = models.CharField(
        _("mode"), max_length=16, choices=Mode.choices, default=Mode.TEXT_TO_VIDEO
    )
    prompt = models.TextField(_("prompt"), blank=True)
    negative_prompt = models.TextField(_("negative prompt"), blank=True)
    seed = models.CharField(_("seed"), max_length=40, blank=True)
    reference_urls = models.JSONField(_("reference images"), default=_no_urls, blank=True)
    generated_seconds = models.DecimalField(
        _("generated seconds"),
        max_digits=7,
        decimal_places=2,
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(MAX_SECONDS)],
    )
    generated_on = models.DateField(_("date"))
    cost = models.DecimalField(
        _("cost"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(0))],
        help_text=_("Empty when the tool had no price on the take's date."),
    )
    currency = models.CharField(
        _("currency"), max_length=3, choices=CURRENCY_CHOICES, default="CNY"
    )
    cost_is_manual = models.BooleanField(_("cost entered by hand"), default=False)
    price_per_second = models.DecimalField(
        _("price per second applied"), max_digits=10, decimal_places=4, null=True, blank=True
    )
    result_url = models.URLField(_("result link"), max_length=500, blank=True)
    result_file = models.FileField(
        _("result file"), upload_to=take_upload_to, max_length=255, blank=True
    )
    result_content_type = models.CharField(max_length=100, blank=True)
    result_original_name = models.CharField(max_length=255, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    is_selected = models.BooleanField(_("selected"), default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("take")
        verbose_name_plural = _("takes")
        ordering: ClassVar = ["shot", "number"]
        indexes: ClassVar = [
            models.Index(fields=["tool", "generated_on"]),
            models.Index(fields=["generated_on"]),
        ]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["shot", "number"], name="take_number_unique"),
            models.UniqueConstraint(
                fields=["shot"], condition=Q(is_selected=True), name="take_one_selected_per_shot"
            ),
            models.CheckConstraint(
                condition=Q(generated_seconds__gte=0), name="take_seconds_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(cost__isnull=True) | Q(cost__gte=0), name="take_cost_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(currency__regex=r"^[A-Z]{3}$"), name="take_currency_code"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.shot_id} take {self.number}"

    @property
    def is_video(self) -> bool:
        return self.result_content_type.startswith("video/")

    @property
    def is_image(self) -> bool:
        return self.result_content_type.startswith("image/")


def asset_upload_to(instance: Asset, filename: str) -> str:
    return f"assets/{instance.order_id}/{filename}"


class Asset(models.Model):
    """A character, location, prop or style of an order, kept consistent across shots."""

    class Kind(models.TextChoices):
        CHARACTER = "character", _("Character")
        LOCATION = "location", _("Location")
        PROP = "prop", _("Prop")
        STYLE = "style", _("Style")
        VOICE = "voice", _("Voice")
        OTHER = "other", _("Other")

    order = models.ForeignKey(
        "orders.Order", on_delete=models.CASCADE, related_name="assets", verbose_name=_("order")
    )
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.CHARACTER)
    description = models.TextField(_("description"), blank=True)
    prompt_fragment = models.TextField(
        _("prompt fragment"),
        blank=True,
        help_text=_("Words that keep it consistent from shot to shot; paste them into prompts."),
    )
    reference_urls = models.JSONField(_("reference images"), default=_no_urls, blank=True)
    image = models.FileField(
        _("reference image"), upload_to=asset_upload_to, max_length=255, blank=True
    )
    image_content_type = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("asset")
        verbose_name_plural = _("assets")
        ordering: ClassVar = ["order", "kind", "name"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["order", "name"], name="asset_name_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class Casting(models.Model):
    """An asset appears in a shot."""

    shot = models.ForeignKey(Shot, on_delete=models.CASCADE, related_name="castings")
    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="castings")

    class Meta:
        verbose_name = _("casting")
        verbose_name_plural = _("castings")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["shot", "asset"], name="casting_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.asset_id} in {self.shot_id}"


class ImportBatch(models.Model):
    """A parsed upload waiting for confirmation: the preview is kept here, server-side,
    so that what is saved is exactly what was shown (nothing travels in the form)."""

    class Kind(models.TextChoices):
        CSV = "csv", _("Shot list (CSV)")
        FOUNTAIN = "fountain", _("Screenplay (Fountain)")

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for confirmation")
        APPLIED = "applied", _("Imported")
        DISCARDED = "discarded", _("Discarded")

    order = models.ForeignKey(
        "orders.Order", on_delete=models.CASCADE, related_name="import_batches"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    mode = models.CharField(max_length=16, blank=True)
    filename = models.CharField(max_length=255, blank=True)
    encoding = models.CharField(max_length=20, blank=True)
    payload = models.JSONField(default=dict)
    error_count = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    summary = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering: ClassVar = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.kind} import {self.pk} for {self.order_id}"


def _recost_when_prices_change(name: str, payload: dict[str, Any]) -> None:
    """A tool's prices changed (studio.tools publishes it): re-cost the takes it affects,
    inside the same transaction. Subscribed here, with the models, so that every process
    that can change a price also re-costs."""
    if name == "tool.price_changed":
        import datetime as dt

        from orders.production import recost_takes

        recost_takes(tool_id=int(payload["tool"]), since=dt.date.fromisoformat(payload["since"]))


def _subscribe() -> None:
    from studio import events

    events.subscribe(_recost_when_prices_change)


_subscribe()
