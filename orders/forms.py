"""Forms of the staff pages. They validate input; the services make the changes."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from orders import selectors
from orders.models import Client, Order
from studio.errors import DomainError
from studio.models import StudioProfile
from studio.money import CURRENCY_CHOICES

MAX_TAGS = 20
MAX_TAG_LENGTH = 40
# Latin and CJK commas and semicolons, and the ideographic enumeration comma.
TAG_SEPARATORS = re.compile(r"[,;\uff0c\uff1b\u3001]")


def attach_domain_error(form: forms.BaseForm, exc: DomainError) -> None:
    """Show a service's refusal on the form: per field where the field exists, else on top."""
    placed = False
    for name, messages in exc.fields.items():
        target = name if name in form.fields else None
        for message in messages if isinstance(messages, list | tuple) else [messages]:
            form.add_error(target, str(message))
            placed = True
    if not placed or exc.message not in _all_errors(form):
        form.add_error(None, exc.message)


def _all_errors(form: forms.BaseForm) -> list[str]:
    return [str(message) for messages in form.errors.values() for message in messages]


class NoColonMixin:
    """Labels without Django's trailing colon, like every other label on the pages."""

    def __init__(self, *args: Any, **kwargs: Any):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class MemberChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return obj.get_full_name() or obj.get_username()


def split_tags(text: str) -> list[str]:
    """'promo, 抖音; urgent' -> ['promo', '抖音', 'urgent'] (order kept, duplicates dropped)."""
    seen: dict[str, None] = {}
    for part in TAG_SEPARATORS.split(text or ""):
        name = " ".join(part.split())
        if name and name.lower() not in {s.lower() for s in seen}:
            seen[name] = None
    return list(seen)


class ClientForm(NoColonMixin, forms.ModelForm):
    class Meta:
        model = Client
        fields = (
            "name",
            "contact_name",
            "email",
            "phone",
            "wechat_id",
            "country",
            "language",
            "currency",
            "billing_address",
            "tax_id",
            "notes",
        )
        widgets = {
            "billing_address": forms.Textarea(attrs={"rows": 3}),
            "notes": forms.Textarea(attrs={"rows": 4}),
        }

    def clean_country(self) -> str:
        country = (self.cleaned_data.get("country") or "").strip().upper()
        if country and not re.fullmatch(r"[A-Z]{2}", country):
            raise forms.ValidationError(_("Enter a two-letter country code, such as CN or US."))
        return country


class OrderForm(NoColonMixin, forms.ModelForm):
    """Order terms. Clients are the active ones (plus the current one when editing)."""

    client = forms.ModelChoiceField(queryset=Client.objects.none(), label=_("Client"))
    assignee = MemberChoiceField(
        queryset=selectors.team_members(),
        required=False,
        label=_("Assignee"),
        empty_label=_("Nobody yet"),
    )
    currency = forms.ChoiceField(choices=CURRENCY_CHOICES, label=_("Currency"))
    tags = forms.CharField(
        required=False,
        label=_("Tags"),
        help_text=_("Separate tags with commas."),
        max_length=1000,
    )

    class Meta:
        model = Order
        fields = (
            "client",
            "title",
            "kind",
            "brief",
            "price",
            "currency",
            "deposit_percent",
            "turnaround_days",
            "revision_rounds_included",
            "assignee",
        )
        widgets = {"brief": forms.Textarea(attrs={"rows": 5})}

    def __init__(self, *args: Any, initial_client: Client | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        current = self.instance.client_id if self.instance.pk else None
        clients = Client.objects.active()
        if current:
            clients = Client.objects.filter(Q(archived_at__isnull=True) | Q(pk=current))
        client_field = self.fields["client"]
        assert isinstance(client_field, forms.ModelChoiceField)
        client_field.queryset = clients.order_by("name", "pk")
        if self.instance.pk and self.instance.assignee_id:
            # Keep the current assignee selectable even if they have left the team since.
            assignee_field = self.fields["assignee"]
            assert isinstance(assignee_field, forms.ModelChoiceField)
            assignee_field.queryset = (
                get_user_model()
                .objects.filter(
                    Q(is_active=True, membership__isnull=False) | Q(pk=self.instance.assignee_id)
                )
                .order_by("first_name", "last_name", "username")
            )
        price = self.fields["price"]
        assert isinstance(price, forms.DecimalField)
        price.widget.attrs.update({"min": "0", "step": "0.01"})
        if self.instance.pk:
            self.initial.setdefault("tags", ", ".join(tag.name for tag in self.instance.tags.all()))
        else:
            profile = StudioProfile.load()
            currency = initial_client.currency if initial_client else profile.default_currency
            self.initial.setdefault("currency", currency)
            self.initial.setdefault("turnaround_days", profile.default_turnaround_days)
            self.initial.setdefault("revision_rounds_included", profile.default_revision_rounds)
            self.initial.setdefault("deposit_percent", Decimal(50))
            if initial_client is not None:
                self.initial.setdefault("client", initial_client.pk)

    def clean_tags(self) -> list[str]:
        tags = split_tags(self.cleaned_data.get("tags") or "")
        too_long = [t for t in tags if len(t) > MAX_TAG_LENGTH]
        if too_long:
            raise forms.ValidationError(
                _("Tags are at most %(n)s characters: “%(tag)s” is longer."),
                params={"n": MAX_TAG_LENGTH, "tag": too_long[0]},
            )
        if len(tags) > MAX_TAGS:
            raise forms.ValidationError(_("Give at most %(n)s tags."), params={"n": MAX_TAGS})
        return tags

    def service_fields(self) -> dict[str, Any]:
        """cleaned_data as keyword arguments for services.create_order / update_order."""
        data = dict(self.cleaned_data)
        return {name: data[name] for name in (*self.Meta.fields, "tags") if name in data}


class OrderFilterForm(forms.Form):
    """The order list's query string. Bad values are dropped, never a 500."""

    DUE_CHOICES = (("", _("Any due date")), ("late", _("Late")), ("week", _("Due in 7 days")))
    SORT_CHOICES = (
        ("-created", _("Newest first")),
        ("created", _("Oldest first")),
        ("due", _("Due soonest")),
        ("-due", _("Due latest")),
    )
    MONEY_SORT_CHOICES = (("-price", _("Highest price")), ("price", _("Lowest price")))

    q = forms.CharField(required=False, max_length=100, label=_("Search"))
    status = forms.ChoiceField(required=False, label=_("Status"))
    kind = forms.ChoiceField(required=False, label=_("Kind"))
    client = forms.ModelChoiceField(
        queryset=Client.objects.none(),
        required=False,
        label=_("Client"),
        empty_label=_("Any client"),
    )
    assignee = forms.ChoiceField(required=False, label=_("Assignee"))
    due = forms.ChoiceField(required=False, choices=DUE_CHOICES, label=_("Due"))
    tag = forms.CharField(required=False, max_length=MAX_TAG_LENGTH, label=_("Tag"))
    sort = forms.ChoiceField(required=False, label=_("Sort"))

    def __init__(self, *args: Any, business: bool = False, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.business = business
        self._set_choices(
            "status", [("", _("Any status")), ("open", _("Open")), *Order.Status.choices]
        )
        self._set_choices("kind", [("", _("Any kind")), *Order.Kind.choices])
        self._set_choices(
            "sort", [*self.SORT_CHOICES, *(self.MONEY_SORT_CHOICES if business else ())]
        )
        if business:
            client_field = self.fields["client"]
            assert isinstance(client_field, forms.ModelChoiceField)
            client_field.queryset = Client.objects.order_by("name", "pk").only("id", "name")
            self._set_choices(
                "assignee",
                [("", _("Anyone")), ("none", _("Nobody"))]
                + [
                    (str(user.pk), user.get_full_name() or user.get_username())
                    for user in selectors.team_members()
                ],
            )
        else:
            # Artists see only their own orders: no client or team pickers to leak names.
            del self.fields["client"]
            del self.fields["assignee"]

    def _set_choices(self, name: str, choices: list[tuple[str, Any]]) -> None:
        field = self.fields[name]
        assert isinstance(field, forms.ChoiceField)
        field.choices = choices

    def filters(self) -> selectors.OrderFilters:
        """The valid filters; an invalid field counts as not given."""
        self.is_valid()
        data = {name: value for name, value in self.cleaned_data.items() if name not in self.errors}
        client = data.get("client")
        assignee = data.get("assignee") or ""
        return selectors.OrderFilters(
            q=(data.get("q") or "").strip(),
            status=data.get("status") or "",
            kind=data.get("kind") or "",
            client_id=client.pk if client is not None else None,
            assignee_id=int(assignee) if assignee.isdigit() else None,
            unassigned=assignee == "none",
            due=data.get("due") or "",
            tag=(data.get("tag") or "").strip(),
            sort=data.get("sort") or selectors.DEFAULT_SORT,
        )

    @property
    def has_filters(self) -> bool:
        return any(self.data.get(name) for name in self.fields if name != "sort")


class TransitionForm(forms.Form):
    status = forms.ChoiceField(choices=Order.Status.choices)
    note = forms.CharField(required=False, max_length=2000)


class NoteForm(NoColonMixin, forms.Form):
    text = forms.CharField(
        label=_("Note"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("Write something before adding the note.")},
    )


class DeliverableForm(NoColonMixin, forms.Form):
    title = forms.CharField(
        label=_("Title"),
        max_length=160,
        help_text=_("Uploading again under the same title adds a new version."),
    )
    file = forms.FileField(label=_("File"), required=False)
    url = forms.URLField(
        label=_("Or a link"), required=False, max_length=500, assume_scheme="https"
    )
    notes = forms.CharField(
        label=_("Notes"), required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.errors and bool(data.get("file")) == bool(data.get("url")):
            raise forms.ValidationError(
                _("Upload a file or give a link, not both and not neither.")
            )
        return data
