"""Invoices and credit notes, their lines, payments and history.

An invoice is a draft until it is issued; issuing gives it the next number of its
series (INV-2026-0001, credit notes CN-2026-0001), its dates and a frozen copy of the
seller, buyer and payment details. From then on it never changes: it can be voided
(keeping its number) or corrected by a credit note. Amounts are Decimal with the
invoice's currency; see billing.calc for the rounding rule.
"""

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

# The rates a Chinese studio meets most: none, the small-scale taxpayer's reduced 1 %
# (3 % outside the relief), 6 % for modern services, 13 % for goods. Any other rate
# from 0 to 100 can be typed.
TAX_RATE_PRESETS: tuple[Decimal, ...] = (
    Decimal(0),
    Decimal(1),
    Decimal(3),
    Decimal(6),
    Decimal(13),
)


def today_in_studio() -> dt.date:
    from studio.models import StudioProfile

    return timezone.now().astimezone(StudioProfile.load().zone).date()


class InvoiceQuerySet(models.QuerySet["Invoice"]):
    def invoices(self) -> InvoiceQuerySet:
        return self.filter(kind=Invoice.Kind.INVOICE)

    def credit_notes(self) -> InvoiceQuerySet:
        return self.filter(kind=Invoice.Kind.CREDIT_NOTE)

    def issued(self) -> InvoiceQuerySet:
        """Issued and not void: the documents that count."""
        return self.filter(status__in=Invoice.COUNTING_STATUSES)

    def unpaid(self) -> InvoiceQuerySet:
        return self.invoices().filter(status__in=Invoice.OPEN_STATUSES)

    def overdue(self, today: dt.date | None = None) -> InvoiceQuerySet:
        """Unpaid invoices past their due date (computed, never stored)."""
        return self.unpaid().filter(due_date__lt=today or today_in_studio())


class Invoice(models.Model):
    class Kind(models.TextChoices):
        INVOICE = "invoice", _("Invoice")
        CREDIT_NOTE = "credit_note", _("Credit note")

    class Purpose(models.TextChoices):
        STANDARD = "standard", _("Invoice")
        DEPOSIT = "deposit", _("Deposit invoice")
        FINAL = "final", _("Final invoice")
        CREDIT = "credit", _("Credit note")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        ISSUED = "issued", _("Issued")
        PARTIALLY_PAID = "partially_paid", _("Partially paid")
        PAID = "paid", _("Paid")
        CREDITED = "credited", _("Credited")
        VOID = "void", _("Void")

    class Fapiao(models.TextChoices):
        NONE = "", _("Not asked for")
        REQUESTED = "requested", _("Requested by the client")
        ISSUED_PLATFORM = "issued_platform", _("Issued on the tax platform")
        ISSUED_ON_BEHALF = "issued_on_behalf", _("Issued on the studio's behalf (代开)")
        NOT_NEEDED = "not_needed", _("Not needed")

    S = Status
    # Where each status may go. Payments and credit notes move an issued invoice between
    # issued, partially paid, paid and credited; only an issued invoice with nothing paid
    # or credited may be voided.
    TRANSITIONS: ClassVar[dict[str, frozenset[str]]] = {
        S.DRAFT: frozenset({S.ISSUED}),
        S.ISSUED: frozenset({S.PARTIALLY_PAID, S.PAID, S.CREDITED, S.VOID}),
        S.PARTIALLY_PAID: frozenset({S.PARTIALLY_PAID, S.PAID}),
        S.PAID: frozenset({S.PAID}),
        S.CREDITED: frozenset(),
        S.VOID: frozenset(),
    }
    OPEN_STATUSES: ClassVar[frozenset[str]] = frozenset({S.ISSUED, S.PARTIALLY_PAID})
    COUNTING_STATUSES: ClassVar[frozenset[str]] = frozenset(
        {S.ISSUED, S.PARTIALLY_PAID, S.PAID, S.CREDITED}
    )
    SERIES: ClassVar[dict[str, str]] = {Kind.INVOICE: "INV", Kind.CREDIT_NOTE: "CN"}

    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.INVOICE)
    purpose = models.CharField(
        _("type"), max_length=10, choices=Purpose.choices, default=Purpose.STANDARD
    )
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.DRAFT
    )
    number = models.CharField(_("number"), max_length=20, blank=True, editable=False)
    series = models.CharField(max_length=4, blank=True, editable=False)
    year = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)
    sequence = models.PositiveIntegerField(null=True, blank=True, editable=False)

    client = models.ForeignKey(
        "orders.Client", on_delete=models.PROTECT, related_name="invoices", verbose_name=_("client")
    )
    order = models.ForeignKey(
        "orders.Order",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="invoices",
        verbose_name=_("order"),
    )
    credited_invoice = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="credit_notes",
        verbose_name=_("credits invoice"),
    )
    currency = models.CharField(_("currency"), max_length=3, choices=CURRENCY_CHOICES)
    language = models.CharField(
        _("language"), max_length=8, choices=LANGUAGE_CHOICES, default="zh-hans"
    )
    prices_include_tax = models.BooleanField(_("prices include tax"), default=False)
    net_days = models.PositiveSmallIntegerField(
        _("payment due after (days)"), default=7, validators=[MaxValueValidator(365)]
    )
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    notes = models.TextField(_("note to the client"), blank=True, max_length=4000)
    issue_date = models.DateField(_("issue date"), null=True, blank=True)
    due_date = models.DateField(_("due date"), null=True, blank=True)

    subtotal = models.DecimalField(
        _("subtotal"), default=Decimal(0), max_digits=14, decimal_places=2
    )
    tax_total = models.DecimalField(_("tax"), default=Decimal(0), max_digits=14, decimal_places=2)
    total = models.DecimalField(_("total"), default=Decimal(0), max_digits=14, decimal_places=2)
    amount_paid = models.DecimalField(
        _("paid"), default=Decimal(0), max_digits=14, decimal_places=2
    )
    amount_credited = models.DecimalField(
        _("credited"), default=Decimal(0), max_digits=14, decimal_places=2
    )

    # Frozen at issue: what the document says, whatever the profile or client becomes.
    seller = models.JSONField(default=dict, blank=True)
    buyer = models.JSONField(default=dict, blank=True)
    payment_details = models.JSONField(default=dict, blank=True)

    pdf = models.FileField(upload_to="billing/invoices/", max_length=255, blank=True)
    pdf_sha256 = models.CharField(max_length=64, blank=True)
    pdf_size = models.PositiveIntegerField(null=True, blank=True)
    pdf_rendered_at = models.DateTimeField(null=True, blank=True)

    fapiao_status = models.CharField(
        _("fapiao"), max_length=20, choices=Fapiao.choices, default=Fapiao.NONE, blank=True
    )
    fapiao_number = models.CharField(_("fapiao number"), max_length=20, blank=True)
    fapiao_issued_on = models.DateField(_("fapiao issued on"), null=True, blank=True)
    fapiao_file = models.FileField(
        _("fapiao file"), upload_to="billing/fapiao/", max_length=255, blank=True
    )
    fapiao_file_type = models.CharField(max_length=100, blank=True)

    sent_at = models.DateTimeField(_("last sent"), null=True, blank=True)
    void_reason = models.CharField(_("reason for voiding"), max_length=500, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = InvoiceQuerySet.as_manager()

    class Meta:
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        ordering: ClassVar = ["-created_at", "-pk"]
        indexes: ClassVar = [
            models.Index(fields=["status", "due_date"]),
            models.Index(fields=["client", "-created_at"]),
            models.Index(fields=["order", "-created_at"]),
            models.Index(fields=["-issue_date", "-id"]),
            # The invoice list's totals read only these columns: on PostgreSQL an
            # index-only scan instead of the wide rows (frozen party details).
            models.Index(
                fields=["status", "currency", "kind", "due_date"],
                include=["total", "amount_paid", "amount_credited"],
                name="invoice_totals_idx",
            ),
        ]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["number"], condition=~Q(number=""), name="invoice_number_unique"
            ),
            models.UniqueConstraint(
                fields=["series", "year", "sequence"],
                condition=Q(sequence__isnull=False),
                name="invoice_sequence_unique",
            ),
            models.CheckConstraint(
                condition=Q(status="draft", number="") | (~Q(status="draft") & ~Q(number="")),
                name="invoice_numbered_once_issued",
            ),
            models.CheckConstraint(
                condition=Q(kind="invoice", credited_invoice__isnull=True)
                | Q(kind="credit_note", credited_invoice__isnull=False),
                name="invoice_credit_note_references_invoice",
            ),
            models.CheckConstraint(
                condition=Q(currency__regex=r"^[A-Z]{3}$"), name="invoice_currency_code"
            ),
            models.CheckConstraint(
                condition=Q(
                    subtotal__gte=0,
                    tax_total__gte=0,
                    total__gte=0,
                    amount_paid__gte=0,
                    amount_credited__gte=0,
                ),
                name="invoice_amounts_not_negative",
            ),
            models.CheckConstraint(condition=Q(net_days__lte=365), name="invoice_net_days_range"),
        ]

    def __str__(self) -> str:
        return self.number or str(
            _("Draft %(kind)s #%(id)s") % {"kind": self.get_kind_display(), "id": self.pk}
        )

    # --- What it is -----------------------------------------------------------------

    @property
    def is_draft(self) -> bool:
        return self.status == self.Status.DRAFT

    @property
    def is_credit_note(self) -> bool:
        return self.kind == self.Kind.CREDIT_NOTE

    @property
    def is_void(self) -> bool:
        return self.status == self.Status.VOID

    @property
    def label(self) -> str:
        """The number once issued, else "Draft"."""
        return self.number or str(_("Draft"))

    # --- Money ----------------------------------------------------------------------

    def money(self, amount: Decimal) -> Money:
        return Money(amount, self.currency)

    @property
    def amount_due(self) -> Decimal:
        """What the client still owes (never negative; credit notes owe nothing)."""
        if self.is_credit_note or self.status not in self.OPEN_STATUSES:
            return Decimal(0)
        return max(Decimal(0), self.total - self.amount_paid - self.amount_credited)

    @property
    def creditable(self) -> Decimal:
        """How much of the invoice a further credit note may still cancel."""
        return max(Decimal(0), self.total - self.amount_credited)

    def is_overdue_on(self, today: dt.date) -> bool:
        return (
            not self.is_credit_note
            and self.status in self.OPEN_STATUSES
            and self.due_date is not None
            and self.due_date < today
        )

    @property
    def is_overdue(self) -> bool:
        return self.is_overdue_on(today_in_studio())

    def display_status(self, today: dt.date | None = None) -> tuple[str, str]:
        """(css key, label) for badges: overdue is shown instead of issued/partially paid."""
        if self.is_overdue_on(today or today_in_studio()):
            return "overdue", str(_("Overdue"))
        return self.status, str(self.get_status_display())

    @property
    def pdf_ready(self) -> bool:
        return bool(self.pdf and self.pdf_sha256)

    def pdf_filename(self) -> str:
        return f"{self.number or 'draft-' + str(self.pk)}.pdf"


class InvoiceLine(models.Model):
    """One line. The three amounts are computed by billing.calc when the line is saved
    through the service, rounded to the currency: see billing.calc.line_amounts."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField(default=0)
    description = models.CharField(_("description"), max_length=500)
    quantity = models.DecimalField(
        _("quantity"),
        max_digits=12,
        decimal_places=3,
        validators=[MinValueValidator(Decimal("0.001"))],
    )
    unit = models.CharField(_("unit"), max_length=20, blank=True)
    unit_price = models.DecimalField(
        _("unit price"),
        max_digits=16,
        decimal_places=4,
        validators=[MinValueValidator(Decimal(0))],
    )
    tax_rate = models.DecimalField(
        _("tax rate (%)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal(0),
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(100))],
    )
    net_amount = models.DecimalField(_("net"), default=Decimal(0), max_digits=14, decimal_places=2)
    tax_amount = models.DecimalField(_("tax"), default=Decimal(0), max_digits=14, decimal_places=2)
    gross_amount = models.DecimalField(
        _("amount"), default=Decimal(0), max_digits=14, decimal_places=2
    )

    class Meta:
        verbose_name = _("invoice line")
        verbose_name_plural = _("invoice lines")
        ordering: ClassVar = ["position", "pk"]
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="invoice_line_quantity"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="invoice_line_price"),
            models.CheckConstraint(
                condition=Q(tax_rate__gte=0, tax_rate__lte=100), name="invoice_line_tax_rate"
            ),
        ]

    def __str__(self) -> str:
        return self.description[:60]


class InvoiceEvent(models.Model):
    """One line of an invoice's history: who did what, when."""

    class Kind(models.TextChoices):
        CREATED = "created", _("Created")
        UPDATED = "updated", _("Draft changed")
        ISSUED = "issued", _("Issued")
        PDF_READY = "pdf_ready", _("PDF ready")
        PDF_FAILED = "pdf_failed", _("PDF failed")
        SENT = "sent", _("Sent by e-mail")
        SEND_FAILED = "send_failed", _("E-mail failed")
        PAYMENT = "payment", _("Payment recorded")
        CREDITED = "credited", _("Credit note issued")
        VOIDED = "voided", _("Voided")
        FAPIAO = "fapiao", _("Fapiao updated")

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(max_length=120, blank=True)
    message = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering: ClassVar = ["-created_at", "-pk"]
        indexes: ClassVar = [models.Index(fields=["invoice", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.invoice_id} {self.kind}"


class Payment(models.Model):
    class Method(models.TextChoices):
        BANK_TRANSFER = "bank_transfer", _("Bank transfer")
        ALIPAY = "alipay", _("Alipay")
        WECHAT_PAY = "wechat_pay", _("WeChat Pay")
        PAYPAL = "paypal", _("PayPal")
        CARD = "card", _("Card")
        CASH = "cash", _("Cash")
        OTHER = "other", _("Other")

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="payments")
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, choices=CURRENCY_CHOICES)
    method = models.CharField(_("method"), max_length=16, choices=Method.choices)
    paid_on = models.DateField(_("paid on"))
    reference = models.CharField(
        _("reference"),
        max_length=120,
        blank=True,
        help_text=_("The bank or payment platform's transaction number."),
    )
    note = models.CharField(_("note"), max_length=500, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering: ClassVar = ["-paid_on", "-pk"]
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.UniqueConstraint(
                fields=["invoice", "reference"],
                condition=~Q(reference=""),
                name="payment_reference_once_per_invoice",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.money} {self.get_method_display()}"

    @property
    def money(self) -> Money:
        return Money(self.amount, self.currency)


def snapshot_fields(instance: Any, names: tuple[str, ...]) -> dict[str, str]:
    return {name: str(getattr(instance, name) or "").strip() for name in names}
