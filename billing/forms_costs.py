"""Forms of the expense and exchange-rate pages, and the expense filters they share
with the API. Forms check the shape of the input; billing.services makes changes."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from billing.models import Expense, add_months
from orders.forms import NoColonMixin
from orders.models import Order
from studio.models import AITool
from studio.money import CURRENCY_CHOICES

MONTH_PATTERN = re.compile(r"(\d{4})-(\d{1,2})")
KIND_CHOICES = [
    ("", _("Direct and overhead")),
    ("direct", _("Direct costs of an order")),
    ("overhead", _("Overhead")),
]
DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
# Orders offered in the form's suggestions: the open ones, newest first.
ORDER_SUGGESTIONS = 200


# --- Filters ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExpenseFilters:
    date_from: dt.date | None = None
    date_to: dt.date | None = None  # inclusive
    month: dt.date | None = None  # the first of the month
    category: str = ""
    tool_id: int | None = None
    order_reference: str = ""
    order_id: int | None = None
    kind: str = ""  # direct, overhead or both
    currency: str = ""
    q: str = ""


def parse_month(raw: str) -> dt.date | None:
    """'2026-03' -> 2026-03-01, anything else None."""
    match = MONTH_PATTERN.fullmatch((raw or "").strip())
    if match is None:
        return None
    year, month = int(match.group(1)), int(match.group(2))
    if not 2000 <= year <= 2100 or not 1 <= month <= 12:
        return None
    return dt.date(year, month, 1)


def filter_expenses(qs: QuerySet[Expense], filters: ExpenseFilters) -> QuerySet[Expense]:
    """The expenses matching every given filter."""
    if filters.month is not None:
        qs = qs.filter(spent_on__gte=filters.month, spent_on__lt=add_months(filters.month, 1))
    if filters.date_from is not None:
        qs = qs.filter(spent_on__gte=filters.date_from)
    if filters.date_to is not None:
        qs = qs.filter(spent_on__lte=filters.date_to)
    if filters.category:
        qs = qs.filter(category=filters.category)
    if filters.tool_id:
        qs = qs.filter(tool_id=filters.tool_id)
    if filters.order_id:
        qs = qs.filter(order_id=filters.order_id)
    if filters.order_reference:
        qs = qs.filter(order__reference__icontains=filters.order_reference)
    if filters.kind == "direct":
        qs = qs.filter(order__isnull=False)
    elif filters.kind == "overhead":
        qs = qs.filter(order__isnull=True)
    if filters.currency:
        qs = qs.filter(currency=filters.currency)
    if filters.q:
        qs = qs.filter(Q(vendor__icontains=filters.q) | Q(note__icontains=filters.q))
    return qs


class ExpenseFilterForm(forms.Form):
    """The expense list's query string. Bad values count as not given, never a 500."""

    month = forms.CharField(
        required=False,
        max_length=7,
        label=_("Month"),
        widget=forms.TextInput(attrs={"type": "month", "placeholder": "2026-03"}),
    )
    date_from = forms.DateField(required=False, label=_("From"), widget=DATE_INPUT)
    date_to = forms.DateField(required=False, label=_("To"), widget=DATE_INPUT)
    category = forms.ChoiceField(
        required=False,
        choices=[("", _("Any category")), *Expense.Category.choices],
        label=_("Category"),
    )
    tool = forms.ModelChoiceField(
        queryset=AITool.objects.none(), required=False, label=_("Tool"), empty_label=_("Any tool")
    )
    order = forms.CharField(required=False, max_length=20, label=_("Order reference"))
    kind = forms.ChoiceField(required=False, choices=KIND_CHOICES, label=_("Direct or overhead"))
    currency = forms.ChoiceField(
        required=False, choices=[("", _("Any currency")), *CURRENCY_CHOICES], label=_("Currency")
    )
    q = forms.CharField(required=False, max_length=60, label=_("Vendor or note"))

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        field = self.fields["tool"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = AITool.objects.order_by("name").only("id", "name")

    def filters(self) -> ExpenseFilters:
        self.is_valid()
        data = {k: v for k, v in self.cleaned_data.items() if k not in self.errors}
        tool = data.get("tool")
        return ExpenseFilters(
            month=parse_month(data.get("month") or ""),
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            category=data.get("category") or "",
            tool_id=tool.pk if tool is not None else None,
            order_reference=(data.get("order") or "").strip(),
            kind=data.get("kind") or "",
            currency=data.get("currency") or "",
            q=" ".join((data.get("q") or "").replace("\x00", "").split()),
        )

    @property
    def has_filters(self) -> bool:
        return any(self.data.get(name) for name in self.fields)


# --- Expenses -----------------------------------------------------------------------------


class OrderReferenceField(forms.CharField):
    """An order typed by its reference (ORD-2026-0007), as an Order or None."""

    def to_python(self, value: Any) -> Order | None:  # type: ignore[override]
        text = " ".join(str(value or "").split())
        if not text:
            return None
        order = Order.objects.filter(reference__iexact=text[:40]).first()
        if order is None:
            raise forms.ValidationError(
                _("There is no order with the reference “%(reference)s”."),
                code="unknown_order",
                params={"reference": text},
            )
        return order

    def prepare_value(self, value: Any) -> Any:
        return value.reference if isinstance(value, Order) else value


class ExpenseForm(NoColonMixin, forms.Form):
    spent_on = forms.DateField(label=_("Date"), widget=DATE_INPUT)
    amount = forms.DecimalField(
        label=_("Amount"), max_digits=14, decimal_places=2, min_value=Decimal("0.01")
    )
    currency = forms.ChoiceField(label=_("Currency"), choices=CURRENCY_CHOICES)
    category = forms.ChoiceField(label=_("Category"), choices=Expense.Category.choices)
    vendor = forms.CharField(
        label=_("Vendor"),
        required=False,
        max_length=120,
        help_text=_("Who was paid, e.g. Kling, a freelancer's name, a shop."),
    )
    tool = forms.ModelChoiceField(
        label=_("Tool"),
        queryset=AITool.objects.none(),
        required=False,
        empty_label=_("No tool"),
    )
    order = OrderReferenceField(
        label=_("Order"),
        required=False,
        help_text=_(
            "The order's reference (e.g. ORD-2026-0007) for a direct cost of that order; "
            "leave empty for overhead shared over the month's orders."
        ),
    )
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    receipt = forms.FileField(
        label=_("Receipt"),
        required=False,
        help_text=_("PDF, JPEG or PNG, up to 10 MB."),
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,image/jpeg,image/png"}),
    )
    remove_receipt = forms.BooleanField(label=_("Remove the stored receipt"), required=False)

    def __init__(self, *args: Any, expense: Expense | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.expense = expense
        field = self.fields["tool"]
        assert isinstance(field, forms.ModelChoiceField)
        tools = Q(is_active=True)
        if expense is not None and expense.tool_id:
            tools |= Q(pk=expense.tool_id)
        field.queryset = AITool.objects.filter(tools).order_by("name")
        self.fields["order"].widget.attrs.update(
            {
                "list": "order-references",
                "autocomplete": "off",
                "spellcheck": "false",
                "maxlength": "40",
            }
        )
        self.fields["amount"].widget.attrs.update({"step": "any", "inputmode": "decimal"})
        self.fields["receipt"].widget = forms.FileInput(
            attrs={"accept": "application/pdf,image/jpeg,image/png"}
        )
        if expense is None or not expense.receipt:
            del self.fields["remove_receipt"]
        if self.booked:
            for name in ("spent_on", "currency", "category", "vendor", "tool", "order"):
                self.fields[name].disabled = True
                self.fields[name].help_text = _("Set by the subscription.")

    @property
    def booked(self) -> bool:
        return self.expense is not None and self.expense.subscription_id is not None

    @staticmethod
    def initial_for(expense: Expense) -> dict[str, Any]:
        return {
            "spent_on": expense.spent_on,
            "amount": expense.amount,
            "currency": expense.currency,
            "category": expense.category,
            "vendor": expense.vendor,
            "tool": expense.tool_id,
            "order": expense.order.reference if expense.order else "",
            "note": expense.note,
        }


def order_suggestions() -> list[tuple[str, str]]:
    """(reference, title) of recent orders that are still open, for the datalist."""
    closed = [Order.Status.COMPLETED, Order.Status.CANCELLED]
    return list(
        Order.objects.exclude(status__in=closed)
        .order_by("-pk")
        .values_list("reference", "title")[:ORDER_SUGGESTIONS]
    )


# --- Exchange rates -----------------------------------------------------------------------


class RateForm(NoColonMixin, forms.Form):
    currency = forms.ChoiceField(label=_("Currency"), choices=CURRENCY_CHOICES)
    on = forms.DateField(label=_("Date"), widget=DATE_INPUT)
    rate = forms.DecimalField(
        label=_("Rate"),
        max_digits=18,
        decimal_places=8,
        min_value=Decimal("0.00000001"),
        help_text=_("What one unit of the currency is worth in the reporting currency."),
    )

    def __init__(self, *args: Any, reporting: str = "CNY", **kwargs: Any):
        super().__init__(*args, **kwargs)
        field = self.fields["currency"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(code, code) for code, _label in CURRENCY_CHOICES if code != reporting]
        self.fields["rate"].widget.attrs.update({"step": "any", "inputmode": "decimal"})


class RateEditForm(NoColonMixin, forms.Form):
    on = forms.DateField(label=_("Date"), widget=DATE_INPUT)
    rate = forms.DecimalField(
        label=_("Rate"), max_digits=18, decimal_places=8, min_value=Decimal("0.00000001")
    )

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["rate"].widget.attrs.update({"step": "any", "inputmode": "decimal"})


class RateImportForm(NoColonMixin, forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_(
            "Columns date, currency, rate and optionally quote (the currency the rate is "
            "in). Dates like 2026-03-05, 2026/3/5 or 2026年3月5日. UTF-8 or GB18030, up to 2 MB."
        ),
        widget=forms.FileInput(attrs={"accept": ".csv,text/csv,text/plain"}),
    )
    quote_currency = forms.ChoiceField(
        label=_("Rates are in"),
        choices=CURRENCY_CHOICES,
        help_text=_("Used for rows without a quote column."),
    )


class RateHistoryFilterForm(forms.Form):
    currency = forms.ChoiceField(
        required=False, choices=[("", _("Any currency")), *CURRENCY_CHOICES], label=_("Currency")
    )

    def currency_code(self) -> str:
        self.is_valid()
        return str(self.cleaned_data.get("currency") or "") if not self.errors else ""
