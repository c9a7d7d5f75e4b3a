"""Forms of the subscription pages. They check the shape of the input; services decide."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from billing.models import Subscription
from orders.forms import NoColonMixin
from studio.models import AITool
from studio.money import CURRENCY_CHOICES

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
STATUS_CHOICES = [
    ("active", _("Active")),
    ("ended", _("Ended or cancelled")),
    ("all", _("All")),
]


class ToolChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.name} · {obj.vendor}" if obj.vendor else str(obj.name)


class SubscriptionForm(NoColonMixin, forms.Form):
    tool = ToolChoiceField(queryset=AITool.objects.none(), label=_("Tool"))
    plan_name = forms.CharField(
        label=_("Plan"), max_length=120, help_text=_("As the vendor calls it, e.g. “Pro”.")
    )
    amount = forms.DecimalField(
        label=_("Amount per period"),
        max_digits=14,
        decimal_places=2,
        min_value=Decimal(0),
        widget=forms.NumberInput(attrs={"step": "any", "min": "0", "inputmode": "decimal"}),
    )
    currency = forms.ChoiceField(label=_("Currency"), choices=CURRENCY_CHOICES)
    period = forms.ChoiceField(label=_("Billing period"), choices=Subscription.Period.choices)
    started_on = forms.DateField(label=_("Start date"), widget=DATE)
    next_renewal_on = forms.DateField(
        label=_("Next renewal"),
        required=False,
        widget=DATE,
        help_text=_(
            "Leave empty for the first renewal on the plan's schedule from today. Renewals "
            "from this date on are booked as expenses automatically."
        ),
    )
    auto_renew = forms.BooleanField(
        label=_("Renews automatically"),
        required=False,
        initial=True,
        help_text=_("Without it, the plan simply ends on its next renewal date."),
    )
    included_units = forms.DecimalField(
        label=_("Included credits or seconds"),
        required=False,
        max_digits=12,
        decimal_places=2,
        min_value=Decimal(0),
        widget=forms.NumberInput(attrs={"step": "any", "min": "0", "inputmode": "decimal"}),
    )
    included_unit = forms.CharField(
        label=_("Unit"),
        max_length=20,
        required=False,
        help_text=_("For example “seconds” or “credits”."),
    )
    notes = forms.CharField(
        label=_("Notes"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    book_first_payment = forms.BooleanField(
        label=_("Book the first payment now"),
        required=False,
        initial=True,
        help_text=_("Records the charge on the start date as an expense."),
    )

    def __init__(self, *args: Any, creating: bool = True, **kwargs: Any):
        super().__init__(*args, **kwargs)
        field = self.fields["tool"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = AITool.objects.order_by("name", "pk")
        if not creating:
            del self.fields["book_first_payment"]
            renewal = self.fields["next_renewal_on"]
            renewal.required = True
            renewal.help_text = _(
                "The next date the plan charges you; it is booked as an expense on that day."
            )

    def values(self) -> dict[str, Any]:
        """The cleaned data as service arguments."""
        data = dict(self.cleaned_data)
        data["included_unit"] = data.get("included_unit") or ""
        data["notes"] = data.get("notes") or ""
        return data


def initial_for(subscription: Subscription) -> dict[str, Any]:
    return {
        "tool": subscription.tool_id,
        "plan_name": subscription.plan_name,
        "amount": subscription.amount,
        "currency": subscription.currency,
        "period": subscription.period,
        "started_on": subscription.started_on,
        "next_renewal_on": subscription.next_renewal_on,
        "auto_renew": subscription.auto_renew,
        "included_units": subscription.included_units,
        "included_unit": subscription.included_unit,
        "notes": subscription.notes,
    }


class CancelForm(NoColonMixin, forms.Form):
    from_date = forms.DateField(
        label=_("Cancelled from"),
        widget=DATE,
        help_text=_("No renewal is booked on or after this date."),
    )


class SubscriptionFilterForm(NoColonMixin, forms.Form):
    status = forms.ChoiceField(label=_("Show"), choices=STATUS_CHOICES, required=False)

    def status_value(self) -> str:
        if self.is_valid():
            return self.cleaned_data.get("status") or "active"
        return "active"
