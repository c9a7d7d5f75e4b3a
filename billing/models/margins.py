"""Stored margin figures: what billing.margin.compute_margins and billing.reports compute,
kept as rows so that the margin list, the monthly report and the order margins read a
few indexed rows instead of adding up every order on each request (docs/costs.md).

They are derived data: billing.services.margins.recompute() replaces them all in one
transaction; nothing else writes them. Every transaction that changes an input inserts
one MarginChange row (an insert never waits for another transaction, unlike an update of
a shared counter); the recompute deletes the markers it saw before reading the inputs,
in the transaction that stores its rows. So the rows are fresh while no marker is left
(and they were computed for today, since an open order's span grows each day).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _

from studio.models.base import load_singleton

MONEY: dict[str, Any] = {"max_digits": 16, "decimal_places": 2, "default": Decimal(0)}


class MarginChange(models.Model):
    """A committed change to an input of the margins that the stored rows do not show yet.

    Insert-only from the changing transactions (one row each, so they never wait for one
    another); deleted only by the recompute that read the inputs after it committed."""

    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("margin change")
        verbose_name_plural = _("margin changes")

    def __str__(self) -> str:
        return f"margin change {self.pk}"


class MarginStateQuerySet(models.QuerySet["MarginState"]):
    def with_changes(self) -> MarginStateQuerySet:
        """Say in the same query whether changes wait (MarginState.has_changes): one EXISTS
        on the marker table, which holds only the changes not stored yet."""
        return self.annotate(changes_waiting=models.Exists(MarginChange.objects.all()))


class MarginState(models.Model):
    """The one row (pk=1) saying when the stored margin rows were computed, and which
    worker computes them now. Written only by the recompute, never by a change."""

    SINGLETON = 1

    computed_at = models.DateTimeField(null=True, blank=True)  # None: never computed
    computed_for = models.DateField(null=True, blank=True)  # the studio-local "today" used
    currency = models.CharField(max_length=3, blank=True)  # reporting currency of the rows
    duration_ms = models.PositiveIntegerField(default=0)  # how long the last recompute took
    order_count = models.PositiveIntegerField(default=0)
    # A worker computing now (claimed with a conditional update; stale after a while).
    claimed_at = models.DateTimeField(null=True, blank=True)

    objects = MarginStateQuerySet.as_manager()

    class Meta:
        verbose_name = _("margin state")
        verbose_name_plural = _("margin state")
        constraints: ClassVar = [
            models.CheckConstraint(condition=models.Q(pk=1), name="margin_state_singleton")
        ]

    def __str__(self) -> str:
        return f"margins computed at {self.computed_at}"

    @classmethod
    def load(cls) -> MarginState:
        """The state row (created on first use)."""
        return load_singleton(cls)

    @property
    def has_changes(self) -> bool:
        """Some committed change is not in the stored rows yet. Read from the annotation
        of MarginState.objects.with_changes() (no query of its own), else asked."""
        waiting = getattr(self, "changes_waiting", None)
        return MarginChange.objects.exists() if waiting is None else bool(waiting)

    @property
    def computed(self) -> bool:
        return self.computed_at is not None

    def is_fresh(self, today: dt.date) -> bool:
        return self.computed and not self.has_changes and self.computed_for == today


class OrderMarginRow(models.Model):
    """One order's margin, in the reporting currency (see billing.margin.OrderMargin)."""

    order = models.OneToOneField(
        "orders.Order", on_delete=models.CASCADE, primary_key=True, related_name="margin_row"
    )
    reference = models.CharField(max_length=40)
    title = models.CharField(max_length=200)
    status = models.CharField(max_length=20)
    client = models.ForeignKey(
        "orders.Client", on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    client_name = models.CharField(max_length=200)
    price = models.DecimalField(**MONEY)
    price_currency = models.CharField(max_length=3)
    currency = models.CharField(max_length=3)  # the reporting currency of every amount
    revenue = models.DecimalField(**MONEY)
    revenue_source = models.CharField(max_length=10)  # price, invoices, cancelled
    revenue_day = models.DateField(null=True, blank=True)
    invoiced = models.DecimalField(**MONEY)
    credited = models.DecimalField(**MONEY)
    generation = models.DecimalField(**MONEY)
    seconds = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal(0))
    takes = models.PositiveIntegerField(default=0)
    unpriced_takes = models.PositiveIntegerField(default=0)
    direct = models.DecimalField(**MONEY)
    overhead = models.DecimalField(**MONEY)
    margin = models.DecimalField(**MONEY)
    margin_percent = models.DecimalField(max_digits=12, decimal_places=1, null=True, blank=True)
    complete = models.BooleanField(default=True)  # every amount had a rate
    missing = models.JSONField(default=list, blank=True)  # [{what, currency, day, amount}]
    # Accepted work: accepted once, or invoiced (the margin list's default scope).
    accepted_work = models.BooleanField(default=False)
    span_start = models.DateField(null=True, blank=True)
    span_end = models.DateField(null=True, blank=True)

    class Meta:
        verbose_name = _("order margin")
        verbose_name_plural = _("order margins")
        indexes: ClassVar = [
            models.Index(fields=["-margin", "reference"], name="margin_row_margin_desc"),
            models.Index(fields=["margin", "reference"], name="margin_row_margin_asc"),
            models.Index(fields=["-margin_percent", "reference"], name="margin_row_pct_desc"),
            models.Index(fields=["margin_percent", "reference"], name="margin_row_pct_asc"),
            models.Index(fields=["status", "-margin"], name="margin_row_status"),
            models.Index(fields=["client", "-margin"], name="margin_row_client"),
            models.Index(fields=["span_start", "span_end"], name="margin_row_span"),
        ]

    def __str__(self) -> str:
        return f"{self.reference}: {self.margin} {self.currency}"


class OrderMonthMargin(models.Model):
    """An order in a month where it has takes or a share of the overhead: the share,
    with the weights that explain it (the order page's breakdown), and whether it
    generated that month (the list's "active during" filter)."""

    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE, related_name="+")
    month = models.DateField()
    has_takes = models.BooleanField(default=False)
    overhead = models.DecimalField(**MONEY)  # the share, 0 when none
    basis = models.CharField(max_length=8, blank=True)  # seconds, days, equal; "" no share
    weight = models.DecimalField(max_digits=16, decimal_places=2, default=Decimal(0))
    month_weight = models.DecimalField(max_digits=18, decimal_places=2, default=Decimal(0))
    month_overhead = models.DecimalField(**MONEY)

    class Meta:
        verbose_name = _("order month margin")
        verbose_name_plural = _("order month margins")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["order", "month"], name="order_month_margin_unique")
        ]
        indexes: ClassVar = [
            models.Index(fields=["month", "has_takes"], name="order_month_margin_month")
        ]

    def __str__(self) -> str:
        return f"{self.order_id} {self.month:%Y-%m}"


class MarginMonth(models.Model):
    """A month: its overhead and how it was shared, and the monthly report's figures."""

    month = models.DateField(unique=True)
    currency = models.CharField(max_length=3)
    overhead = models.DecimalField(**MONEY)
    overhead_incomplete = models.BooleanField(default=False)  # some overhead had no rate
    active_orders = models.PositiveIntegerField(default=0)
    basis = models.CharField(max_length=8, blank=True)
    # The monthly report (billing.reports.MonthFigures).
    invoiced = models.DecimalField(**MONEY)
    received = models.DecimalField(**MONEY)
    generation = models.DecimalField(**MONEY)
    subscriptions = models.DecimalField(**MONEY)
    other_expenses = models.DecimalField(**MONEY)
    delivered = models.PositiveIntegerField(default=0)
    on_time = models.PositiveIntegerField(default=0)
    with_due = models.PositiveIntegerField(default=0)
    unpriced_takes = models.PositiveIntegerField(default=0)
    missing_count = models.PositiveIntegerField(default=0)
    report_missing = models.JSONField(default=list, blank=True)  # merged notes of the month

    class Meta:
        verbose_name = _("month margin")
        verbose_name_plural = _("month margins")
        ordering: ClassVar = ["month"]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m}"

    @property
    def unallocated(self) -> bool:
        return self.overhead != 0 and self.active_orders == 0


class MarginMissingNote(models.Model):
    """An amount the last recompute could not convert (no rate), for the list's summary."""

    order = models.ForeignKey(
        "orders.Order", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    what = models.CharField(max_length=12)
    currency = models.CharField(max_length=3)
    day = models.DateField()
    amount = models.DecimalField(max_digits=16, decimal_places=2)

    class Meta:
        verbose_name = _("missing rate note")
        verbose_name_plural = _("missing rate notes")
        indexes: ClassVar = [models.Index(fields=["currency"], name="margin_missing_currency")]

    def __str__(self) -> str:
        return f"{self.what} {self.amount} {self.currency} {self.day}"
