"""What the studio spends: tool subscriptions, expenses, and the exchange rates that
turn every amount into the reporting currency.

A subscription books one Expense per renewal date (unique per subscription and date,
so a renewal is never booked twice whoever books it). An expense with an order is a
direct cost of that order; one without is overhead, shared over the month's active
orders by billing.margin. Exchange rates are per currency and day, to the reporting
currency: see billing.fx for how a conversion picks its rate.
"""

from __future__ import annotations

import calendar
import datetime as dt
from decimal import Decimal
from typing import ClassVar

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from studio.money import CURRENCY_CHOICES, Money

__all__ = [
    "CostEvent",
    "ExchangeRate",
    "Expense",
    "ExpenseQuerySet",
    "Subscription",
    "SubscriptionQuerySet",
    "add_months",
]


def add_months(day: dt.date, months: int, *, anchor_day: int | None = None) -> dt.date:
    """day + months, keeping the anchor day of month where the month has it (Jan 31 + 1
    month = Feb 28/29, + 2 months = Mar 31 when anchored on 31)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    wanted = anchor_day or day.day
    return dt.date(year, month, min(wanted, calendar.monthrange(year, month)[1]))


class SubscriptionQuerySet(models.QuerySet["Subscription"]):
    def active_on(self, day: dt.date) -> SubscriptionQuerySet:
        """Started on or before day and not cancelled by then."""
        return self.filter(started_on__lte=day).filter(
            Q(cancelled_from__isnull=True) | Q(cancelled_from__gt=day)
        )


class Subscription(models.Model):
    class Period(models.TextChoices):
        MONTHLY = "monthly", _("Monthly")
        QUARTERLY = "quarterly", _("Quarterly")
        YEARLY = "yearly", _("Yearly")

    MONTHS: ClassVar[dict[str, int]] = {
        Period.MONTHLY: 1,
        Period.QUARTERLY: 3,
        Period.YEARLY: 12,
    }

    tool = models.ForeignKey(
        "studio.AITool",
        on_delete=models.PROTECT,
        related_name="subscriptions",
        verbose_name=_("tool"),
    )
    plan_name = models.CharField(_("plan"), max_length=120)
    amount = models.DecimalField(
        _("amount per period"),
        max_digits=14,
        decimal_places=2,
        validators=[MinValueValidator(Decimal(0))],
    )
    currency = models.CharField(_("currency"), max_length=3, choices=CURRENCY_CHOICES)
    period = models.CharField(
        _("billing period"), max_length=10, choices=Period.choices, default=Period.MONTHLY
    )
    started_on = models.DateField(_("start date"))
    next_renewal_on = models.DateField(
        _("next renewal"), help_text=_("The next date the plan charges you.")
    )
    auto_renew = models.BooleanField(_("renews automatically"), default=True)
    cancelled_from = models.DateField(
        _("cancelled from"),
        null=True,
        blank=True,
        help_text=_("No renewal is booked on or after this date."),
    )
    included_units = models.DecimalField(
        _("included credits or seconds"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(0))],
    )
    included_unit = models.CharField(
        _("unit of the included amount"),
        max_length=20,
        blank=True,
        help_text=_("For example “seconds” or “credits”."),
    )
    notes = models.TextField(_("notes"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = SubscriptionQuerySet.as_manager()

    class Meta:
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
        ordering: ClassVar = ["next_renewal_on", "pk"]
        indexes: ClassVar = [models.Index(fields=["next_renewal_on"])]
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="subscription_amount"),
            models.CheckConstraint(
                condition=Q(currency__regex=r"^[A-Z]{3}$"), name="subscription_currency_code"
            ),
            models.CheckConstraint(
                condition=Q(next_renewal_on__gte=models.F("started_on")),
                name="subscription_renews_after_start",
            ),
            models.CheckConstraint(
                condition=Q(cancelled_from__isnull=True)
                | Q(cancelled_from__gte=models.F("started_on")),
                name="subscription_cancelled_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.tool} · {self.plan_name}"

    @property
    def money(self) -> Money:
        return Money(self.amount, self.currency)

    @property
    def months(self) -> int:
        return self.MONTHS[self.period]

    @property
    def monthly_amount(self) -> Decimal:
        """The plan's cost per month (a yearly plan spread over twelve), unrounded."""
        return self.amount / self.months

    def renewal_after(self, day: dt.date) -> dt.date:
        """The renewal one period after day, anchored on the start date's day of month."""
        return add_months(day, self.months, anchor_day=self.started_on.day)

    def renews_on(self, day: dt.date) -> bool:
        """Whether a charge on day is still to be booked: before any cancellation, and
        only while the plan renews automatically (a plan that does not ends there)."""
        if self.cancelled_from is not None and day >= self.cancelled_from:
            return False
        return self.auto_renew

    def is_active_on(self, day: dt.date) -> bool:
        if day < self.started_on:
            return False
        if self.cancelled_from is not None and day >= self.cancelled_from:
            return False
        return self.auto_renew or day < self.next_renewal_on


class ExpenseQuerySet(models.QuerySet["Expense"]):
    def in_period(self, start: dt.date, end: dt.date) -> ExpenseQuerySet:
        """Spent on start <= day < end."""
        return self.filter(spent_on__gte=start, spent_on__lt=end)

    def overhead(self) -> ExpenseQuerySet:
        """Not a direct cost of an order: shared over the month's active orders."""
        return self.filter(order__isnull=True)

    def direct(self) -> ExpenseQuerySet:
        return self.filter(order__isnull=False)


def receipt_upload_to(instance: Expense, filename: str) -> str:
    import secrets
    from pathlib import PurePath

    suffix = PurePath(filename).suffix.lower()[:8]
    return f"billing/receipts/{secrets.token_hex(16)}{suffix}"


class Expense(models.Model):
    class Category(models.TextChoices):
        SUBSCRIPTION = "subscription", _("Subscription")
        GENERATION_CREDITS = "generation_credits", _("Generation credits")
        DUBBING = "dubbing", _("Dubbing")
        MUSIC_LICENCE = "music_licence", _("Music licence")
        STOCK = "stock", _("Stock footage or images")
        FREELANCER = "freelancer", _("Freelancer")
        HARDWARE = "hardware", _("Hardware")
        OTHER = "other", _("Other")

    spent_on = models.DateField(_("date"))
    amount = models.DecimalField(
        _("amount"),
        max_digits=14,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01"))],
    )
    currency = models.CharField(_("currency"), max_length=3, choices=CURRENCY_CHOICES)
    category = models.CharField(_("category"), max_length=20, choices=Category.choices)
    vendor = models.CharField(_("vendor"), max_length=120, blank=True)
    tool = models.ForeignKey(
        "studio.AITool",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="expenses",
        verbose_name=_("tool"),
    )
    order = models.ForeignKey(
        "orders.Order",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="expenses",
        verbose_name=_("order"),
        help_text=_("Leave empty for overhead shared over the month's orders."),
    )
    subscription = models.ForeignKey(
        Subscription,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="expenses",
        verbose_name=_("subscription"),
    )
    # The renewal this expense books (with subscription): unique, so booked once.
    renewal_on = models.DateField(null=True, blank=True, editable=False)
    receipt = models.FileField(
        _("receipt"), upload_to=receipt_upload_to, max_length=255, blank=True
    )
    receipt_content_type = models.CharField(max_length=100, blank=True)
    receipt_original_name = models.CharField(max_length=255, blank=True)
    note = models.TextField(_("note"), blank=True, max_length=2000)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ExpenseQuerySet.as_manager()

    class Meta:
        verbose_name = _("expense")
        verbose_name_plural = _("expenses")
        ordering: ClassVar = ["-spent_on", "-pk"]
        indexes: ClassVar = [
            models.Index(fields=["-spent_on", "-id"]),
            models.Index(fields=["order", "spent_on"]),
            models.Index(fields=["category", "spent_on"]),
        ]
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="expense_amount_positive"),
            models.CheckConstraint(
                condition=Q(currency__regex=r"^[A-Z]{3}$"), name="expense_currency_code"
            ),
            models.CheckConstraint(
                condition=Q(subscription__isnull=True, renewal_on__isnull=True)
                | Q(subscription__isnull=False, renewal_on__isnull=False),
                name="expense_renewal_with_subscription",
            ),
            models.UniqueConstraint(
                fields=["subscription", "renewal_on"],
                condition=Q(subscription__isnull=False),
                name="expense_renewal_booked_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.spent_on} {self.money} {self.get_category_display()}"

    @property
    def money(self) -> Money:
        return Money(self.amount, self.currency)

    @property
    def is_overhead(self) -> bool:
        return self.order_id is None


class ExchangeRate(models.Model):
    """1 unit of `currency` is worth `rate` units of `quote_currency` (the reporting
    currency when it was entered) on `on`."""

    class Source(models.TextChoices):
        MANUAL = "manual", _("Entered by hand")
        CSV = "csv", _("Imported from CSV")
        API = "api", _("API")

    currency = models.CharField(_("currency"), max_length=3, choices=CURRENCY_CHOICES)
    quote_currency = models.CharField(
        _("in currency"), max_length=3, choices=CURRENCY_CHOICES, default="CNY"
    )
    on = models.DateField(_("date"))
    rate = models.DecimalField(
        _("rate"),
        max_digits=18,
        decimal_places=8,
        validators=[MinValueValidator(Decimal("0.00000001"))],
    )
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.MANUAL)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("exchange rate")
        verbose_name_plural = _("exchange rates")
        ordering: ClassVar = ["currency", "-on"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["currency", "quote_currency", "on"], name="exchange_rate_one_per_day"
            ),
            models.CheckConstraint(condition=Q(rate__gt=0), name="exchange_rate_positive"),
            models.CheckConstraint(
                condition=~Q(currency=models.F("quote_currency")),
                name="exchange_rate_two_currencies",
            ),
        ]

    def __str__(self) -> str:
        return f"1 {self.currency} = {self.rate} {self.quote_currency} on {self.on}"


class CostEvent(models.Model):
    """One line of the history of a subscription, an expense or the exchange rates:
    who did what, when (the cost side's timeline)."""

    class Subject(models.TextChoices):
        SUBSCRIPTION = "subscription", _("Subscription")
        EXPENSE = "expense", _("Expense")
        EXCHANGE_RATE = "exchange_rate", _("Exchange rate")

    class Kind(models.TextChoices):
        CREATED = "created", _("Created")
        UPDATED = "updated", _("Changed")
        DELETED = "deleted", _("Deleted")
        CANCELLED = "cancelled", _("Cancelled")
        RESUMED = "resumed", _("Resumed")
        RENEWAL_BOOKED = "renewal_booked", _("Renewal booked")
        IMPORTED = "imported", _("Imported")

    subject = models.CharField(max_length=16, choices=Subject.choices)
    object_id = models.PositiveBigIntegerField()
    kind = models.CharField(max_length=16, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(max_length=120, blank=True)
    message = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering: ClassVar = ["-created_at", "-pk"]
        indexes: ClassVar = [models.Index(fields=["subject", "object_id", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.subject} {self.object_id} {self.kind}"
