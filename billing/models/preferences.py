"""The studio's billing settings: one row, edited by the owner on its own page."""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class BillingSettings(models.Model):
    """Defaults for new invoices and what the invoice says about paying (a single row, pk=1)."""

    default_tax_rate = models.DecimalField(
        _("default tax rate (%)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal(0),
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(100))],
        # xgettext:no-python-format
        help_text=_("1% is the reduced rate for small-scale taxpayers; 0 if you charge no tax."),
    )
    prices_include_tax = models.BooleanField(
        _("prices include tax"),
        default=False,
        help_text=_(
            "On: the unit prices you type already contain the tax. "
            "Off: tax is added on top of them."
        ),
    )
    net_days = models.PositiveSmallIntegerField(
        _("payment due after (days)"),
        default=7,
        validators=[MaxValueValidator(365)],
        help_text=_("The due date of an invoice is its issue date plus this many days."),
    )
    bank_account_name = models.CharField(_("account holder"), max_length=120, blank=True)
    bank_name = models.CharField(_("bank"), max_length=160, blank=True)
    bank_account_number = models.CharField(_("account number"), max_length=64, blank=True)
    bank_swift = models.CharField(
        _("SWIFT/BIC"), max_length=11, blank=True, help_text=_("For payments from abroad.")
    )
    alipay_account = models.CharField(_("Alipay account"), max_length=120, blank=True)
    wechat_pay_account = models.CharField(_("WeChat Pay account"), max_length=120, blank=True)
    paypal_account = models.CharField(_("PayPal account"), max_length=120, blank=True)
    other_instructions = models.TextField(
        _("other payment instructions"),
        blank=True,
        help_text=_(
            "Anything else the client needs to know to pay, e.g. what to write as the reference."
        ),
    )
    invoice_footer = models.TextField(
        _("invoice footer"), blank=True, help_text=_("Printed at the bottom of every invoice.")
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("billing settings")
        verbose_name_plural = _("billing settings")
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(pk=1), name="billing_settings_singleton"),
            models.CheckConstraint(
                condition=Q(default_tax_rate__gte=0, default_tax_rate__lte=100),
                name="billing_settings_tax_rate_range",
            ),
            models.CheckConstraint(
                condition=Q(net_days__lte=365), name="billing_settings_net_days"
            ),
        ]

    def __str__(self) -> str:
        return str(_("Billing settings"))

    @classmethod
    def load(cls) -> BillingSettings:
        settings, _created = cls.objects.get_or_create(pk=1)
        return settings

    def payment_details(self) -> dict[str, str]:
        """What the invoice prints under "How to pay" (only the filled-in fields)."""
        fields = (
            "bank_account_name",
            "bank_name",
            "bank_account_number",
            "bank_swift",
            "alipay_account",
            "wechat_pay_account",
            "paypal_account",
            "other_instructions",
        )
        return {name: getattr(self, name).strip() for name in fields if getattr(self, name).strip()}
