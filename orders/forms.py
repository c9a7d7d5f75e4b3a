"""Forms of the staff pages. They validate input; the services make the changes."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils.html import escape
from django.utils.safestring import mark_safe
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


CLIENT_NUMBER = re.compile(r"^(?:.*\s)?#([0-9]{1,18})$|^([0-9]{1,18})$")


class ClientLookupField(forms.CharField):
    """A client typed as its name or its number ("Star River", "12", "#12", or
    "Star River #12" as the suggestions write it when two clients share a name).

    Replaces a <select> of every client, which cost a query of all clients and the
    rendering of one <option> widget each (2,000 in a busy studio) on every list page;
    the suggestions come from client_suggestions(), one light query rendered in Python.
    A name is matched whole, ignoring case; an exact name wins over a number. An unknown
    or ambiguous client is a clear error on the field, never a 500. One query.
    """

    default_error_messages = {
        "unknown_number": _("No client has the number %(pk)s."),
        "unknown_name": _("No client is called “%(name)s”. Pick one from the suggestions."),
        "ambiguous": _(
            "%(count)s clients are called “%(name)s”: pick one from the suggestions, "
            "which add their numbers."
        ),
    }

    def __init__(self, **kwargs: Any):
        kwargs.setdefault("max_length", 200)
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def clean(self, value: Any) -> Client | None:
        text = " ".join(str(super().clean(value) or "").split())
        if not text:
            return None
        numbered = CLIENT_NUMBER.match(text)
        pk = int(numbered[1] or numbered[2]) if numbered else None
        condition = Q(name__iexact=text) | Q(pk=pk) if pk is not None else Q(name__iexact=text)
        rows = list(Client.objects.filter(condition).only("id", "name").order_by("pk")[:20])
        by_number = next((c for c in rows if c.pk == pk), None)
        by_name = [c for c in rows if c.name.casefold() == text.casefold()]
        if len(by_name) == 1:
            return by_name[0]
        if by_name and by_number not in by_name:
            raise forms.ValidationError(
                self.error_messages["ambiguous"],
                code="ambiguous",
                params={"name": text, "count": len(by_name)},
            )
        if by_number is not None:
            return by_number
        if pk is not None and text.lstrip("#").isdigit():
            raise forms.ValidationError(
                self.error_messages["unknown_number"], code="unknown_number", params={"pk": pk}
            )
        raise forms.ValidationError(
            self.error_messages["unknown_name"], code="unknown_name", params={"name": text}
        )


def client_suggestions() -> str:
    """<option> elements for the client field's <datalist>: the active clients by name
    (archived ones are still accepted when typed), with their number when two share a
    name. One query of two columns, joined in Python: no widget rendering per client."""
    rows = list(
        Client.objects.filter(archived_at__isnull=True)
        .order_by("name", "pk")
        .values_list("pk", "name")
    )
    counts: dict[str, int] = {}
    for _pk, name in rows:
        counts[name.casefold()] = counts.get(name.casefold(), 0) + 1
    return mark_safe(  # every value is escaped above
        "".join(
            f'<option value="{escape(f"{name} #{pk}" if counts[name.casefold()] > 1 else name)}">'
            for pk, name in rows
        )
    )


def bind_client_label(form: forms.Form, client: Client | None) -> None:
    """A client given by its number (links from other pages do that) shows as
    "Name #12" in the field, which finds the same client when submitted again."""
    raw = str(form.data.get("client") or "").strip()
    if client is None or "client" in form.errors or not raw.lstrip("#").isdigit():
        return
    data = form.data.copy()  # type: ignore[attr-defined]  # a QueryDict: keeps lists
    data["client"] = f"{client.name} #{client.pk}"
    form.data = data


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
    client = ClientLookupField(
        label=_("Client"),
        widget=forms.TextInput(
            attrs={"list": "client-suggestions", "placeholder": _("Any client"), "size": 18}
        ),
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
        bind_client_label(self, client)
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
            # A client typed but not found: show its error and no orders, not all orders.
            nothing="client" in self.errors,
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
