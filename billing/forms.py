"""Forms of the billing pages. They check the shape of the input; services make changes."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from billing.models import TAX_RATE_PRESETS, BillingSettings, Invoice, Payment
from billing.services import LineInput
from orders.forms import ClientLookupField, NoColonMixin, bind_client_label
from orders.models import Client
from studio.money import CURRENCY_CHOICES

FILTER_STATUS_CHOICES = [
    ("", _("Any status")),
    ("open", _("Unpaid")),
    ("overdue", _("Overdue")),
    *Invoice.Status.choices,
]
PERIOD_CHOICES = [
    ("", _("Any time")),
    ("this_month", _("This month")),
    ("last_month", _("Last month")),
    ("this_year", _("This year")),
    ("last_year", _("Last year")),
]


def new_form_key() -> str:
    return secrets.token_urlsafe(24)


class InvoiceStartForm(NoColonMixin, forms.Form):
    """A free invoice: who it is for and in which currency; lines come on the next page."""

    client = forms.ModelChoiceField(queryset=Client.objects.none(), label=_("Client"))
    currency = forms.ChoiceField(
        choices=[("", _("The client's currency")), *CURRENCY_CHOICES],
        required=False,
        label=_("Currency"),
    )

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        field = self.fields["client"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = Client.objects.active().order_by("name", "pk")


class DraftForm(NoColonMixin, forms.Form):
    subject = forms.CharField(
        label=_("Subject"),
        required=False,
        max_length=200,
        help_text=_("Optional, e.g. the project's name. Printed above the lines."),
    )
    net_days = forms.IntegerField(label=_("Payment due after (days)"), min_value=0, max_value=365)
    notes = forms.CharField(
        label=_("Note to the client"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Printed at the end of the invoice."),
    )


class LineForm(forms.Form):
    description = forms.CharField(label=_("Description"), max_length=500, required=False)
    quantity = forms.DecimalField(
        label=_("Qty"), max_digits=12, decimal_places=3, min_value=Decimal("0.001"), required=False
    )
    unit = forms.CharField(label=_("Unit"), max_length=20, required=False)
    unit_price = forms.DecimalField(
        label=_("Unit price"), max_digits=16, decimal_places=4, min_value=Decimal(0), required=False
    )
    tax_rate = forms.DecimalField(
        label=_("Tax %"),
        max_digits=5,
        decimal_places=2,
        min_value=Decimal(0),
        max_value=Decimal(100),
        required=False,
    )

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["quantity"].widget.attrs.update(
            {"step": "any", "min": "0", "inputmode": "decimal"}
        )
        self.fields["unit_price"].widget.attrs.update(
            {"step": "any", "min": "0", "inputmode": "decimal"}
        )
        self.fields["tax_rate"].widget.attrs.update(
            {"step": "any", "min": "0", "max": "100", "list": "tax-rates", "inputmode": "decimal"}
        )

    def is_blank(self) -> bool:
        data = getattr(self, "cleaned_data", {})
        return not any(
            data.get(name) not in (None, "") for name in ("description", "quantity", "unit_price")
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors or self.is_blank():
            return data
        if not data.get("description"):
            self.add_error("description", _("Describe what the line is for."))
        if data.get("quantity") is None:
            self.add_error("quantity", _("Enter the quantity."))
        if data.get("unit_price") is None:
            self.add_error("unit_price", _("Enter the unit price."))
        return data

    def line(self, default_rate: Decimal) -> LineInput:
        data = self.cleaned_data
        rate = data.get("tax_rate")
        return LineInput(
            description=data["description"],
            quantity=data["quantity"],
            unit_price=data["unit_price"],
            tax_rate=default_rate if rate is None else rate,
            unit=data.get("unit") or "",
        )


class BaseLineFormSet(forms.BaseFormSet):
    def lines(self, default_rate: Decimal) -> list[LineInput]:
        return [
            form.line(default_rate)
            for form in self.forms
            if form.is_valid() and not form.is_blank() and not form.cleaned_data.get("DELETE")
        ]


LineFormSet = forms.formset_factory(
    LineForm, formset=BaseLineFormSet, extra=3, can_delete=True, max_num=500, absolute_max=520
)


def plain(number: Decimal) -> str:
    """300.0000 -> "300", 6.50 -> "6.5" (never "3E+2")."""
    return format(number.normalize(), "f")


def line_initial(invoice: Invoice) -> list[dict[str, Any]]:
    return [
        {
            "description": line.description,
            "quantity": plain(line.quantity),
            "unit": line.unit,
            "unit_price": plain(line.unit_price),
            "tax_rate": plain(line.tax_rate),
        }
        for line in invoice.lines.all()
    ]


class PaymentForm(NoColonMixin, forms.Form):
    amount = forms.DecimalField(
        label=_("Amount"), max_digits=14, decimal_places=2, min_value=Decimal("0.01")
    )
    method = forms.ChoiceField(label=_("Method"), choices=Payment.Method.choices)
    paid_on = forms.DateField(label=_("Paid on"), widget=forms.DateInput(attrs={"type": "date"}))
    reference = forms.CharField(
        label=_("Reference"),
        required=False,
        max_length=120,
        help_text=_("The transaction number; the same reference is never recorded twice."),
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=500)


class SendForm(NoColonMixin, forms.Form):
    to = forms.EmailField(label=_("Send to"), max_length=254)
    key = forms.CharField(widget=forms.HiddenInput, max_length=64)


class VoidForm(NoColonMixin, forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=500,
        help_text=_("Kept with the invoice, e.g. “issued to the wrong client”."),
    )


class CreditForm(NoColonMixin, forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)


class FapiaoForm(NoColonMixin, forms.Form):
    fapiao_status = forms.ChoiceField(
        label=_("Fapiao"), choices=Invoice.Fapiao.choices, required=False
    )
    fapiao_number = forms.CharField(
        label=_("Fapiao number"),
        required=False,
        max_length=40,
        help_text=_("20 digits for a digital fapiao (数电票)."),
    )
    fapiao_issued_on = forms.DateField(
        label=_("Issued on"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    fapiao_file = forms.FileField(
        label=_("Fapiao file"),
        required=False,
        help_text=_("PDF, OFD, XML, PNG or JPEG, up to 10 MB."),
    )
    remove_file = forms.BooleanField(label=_("Remove the stored file"), required=False)


class InvoiceFilterForm(forms.Form):
    """The invoice list's query string. Bad values count as not given, never a 500."""

    q = forms.CharField(required=False, max_length=60, label=_("Number"))
    status = forms.ChoiceField(required=False, choices=FILTER_STATUS_CHOICES, label=_("Status"))
    kind = forms.ChoiceField(
        required=False,
        choices=[("", _("Invoices and credit notes")), *Invoice.Kind.choices],
        label=_("Kind"),
    )
    # A text field with suggestions, not a <select> of every client (see ClientLookupField).
    client = ClientLookupField(
        label=_("Client"),
        widget=forms.TextInput(
            attrs={"list": "client-suggestions", "placeholder": _("Any client"), "size": 18}
        ),
    )
    currency = forms.ChoiceField(
        required=False, choices=[("", _("Any currency")), *CURRENCY_CHOICES], label=_("Currency")
    )
    period = forms.ChoiceField(required=False, choices=PERIOD_CHOICES, label=_("Issued"))

    def filters(self) -> InvoiceFilters:
        self.is_valid()
        data = {k: v for k, v in self.cleaned_data.items() if k not in self.errors}
        client = data.get("client")
        bind_client_label(self, client)
        return InvoiceFilters(
            q=(data.get("q") or "").strip(),
            status=data.get("status") or "",
            kind=data.get("kind") or "",
            client_id=client.pk if client is not None else None,
            currency=data.get("currency") or "",
            period=data.get("period") or "",
            # A client typed but not found: show its error and no invoices, not all.
            nothing="client" in self.errors,
        )

    @property
    def has_filters(self) -> bool:
        return any(self.data.get(name) for name in self.fields)


@dataclass(frozen=True)
class InvoiceFilters:
    q: str = ""
    status: str = ""
    kind: str = ""
    client_id: int | None = None
    currency: str = ""
    period: str = ""
    nothing: bool = False


def period_range(period: str, today: dt.date) -> tuple[dt.date, dt.date] | None:
    """[start, end) of a named period, in studio-local dates."""
    if period == "this_month":
        start = today.replace(day=1)
        return start, _next_month(start)
    if period == "last_month":
        end = today.replace(day=1)
        start = (end - dt.timedelta(days=1)).replace(day=1)
        return start, end
    if period == "this_year":
        return dt.date(today.year, 1, 1), dt.date(today.year + 1, 1, 1)
    if period == "last_year":
        return dt.date(today.year - 1, 1, 1), dt.date(today.year, 1, 1)
    return None


def _next_month(day: dt.date) -> dt.date:
    return dt.date(day.year + (day.month == 12), day.month % 12 + 1, 1)


class BillingSettingsForm(NoColonMixin, forms.ModelForm):
    class Meta:
        model = BillingSettings
        fields = (
            "default_tax_rate",
            "prices_include_tax",
            "net_days",
            "bank_account_name",
            "bank_name",
            "bank_account_number",
            "bank_swift",
            "alipay_account",
            "wechat_pay_account",
            "paypal_account",
            "other_instructions",
            "invoice_footer",
        )
        widgets = {
            "other_instructions": forms.Textarea(attrs={"rows": 3}),
            "invoice_footer": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["default_tax_rate"].widget.attrs.update({"list": "tax-rates", "step": "any"})


def tax_rate_presets() -> list[str]:
    return [format(rate.normalize(), "f") for rate in TAX_RATE_PRESETS]
