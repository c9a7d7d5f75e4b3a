"""Forms of the breakdown pages. They check the shape of the input; orders.production
makes the changes (and checks the rules)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from orders import selectors
from orders.forms import MemberChoiceField, NoColonMixin
from orders.models import Asset, Episode, Order, Shot, Take
from orders.production_import import Mode
from studio.models import AITool
from studio.money import CURRENCY_CHOICES


def _tool_choices(current: AITool | None = None) -> Any:
    tools = AITool.objects.filter(is_active=True)
    if current is not None:
        tools = AITool.objects.filter(is_active=True) | AITool.objects.filter(pk=current.pk)
    return tools.order_by("name")


class UrlListField(forms.CharField):
    """Links, one per line (shown and edited as a textarea)."""

    widget = forms.Textarea(attrs={"rows": 2})

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list):
            return "\n".join(value)
        return value

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        text = super().to_python(value) or ""
        return [line.strip() for line in text.split() if line.strip()]


class EpisodeForm(NoColonMixin, forms.ModelForm):
    class Meta:
        model = Episode
        fields = ("number", "title", "synopsis", "runtime_limit", "aspect_ratio", "status")
        widgets = {"synopsis": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["number"].required = False
        self.fields["number"].help_text = _("Leave empty for the next number.")
        limit = self.fields["runtime_limit"]
        assert isinstance(limit, forms.DecimalField)
        limit.widget.attrs.update({"min": "1", "step": "0.5"})

    def _post_clean(self) -> None:
        # The service validates the episode (uniqueness included); skip the model checks.
        pass


class ShotForm(NoColonMixin, forms.ModelForm):
    """A shot. For an artist only the fields they may change are shown."""

    assignee = MemberChoiceField(
        queryset=selectors.team_members(),
        required=False,
        label=_("Assignee"),
        empty_label=_("Nobody yet"),
    )
    tool = forms.ModelChoiceField(
        queryset=AITool.objects.none(),
        required=False,
        label=_("Intended tool"),
        empty_label=_("Not decided"),
    )
    assets = forms.ModelMultipleChoiceField(
        queryset=Asset.objects.none(),
        required=False,
        label=_("Characters and assets"),
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = Shot
        fields = (
            "code",
            "scene",
            "description",
            "dialogue",
            "planned_seconds",
            "status",
            "assignee",
            "tool",
            "notes",
        )
        widgets = {
            "description": forms.Textarea(attrs={"rows": 3}),
            "dialogue": forms.Textarea(attrs={"rows": 3}),
            "notes": forms.Textarea(attrs={"rows": 2}),
        }

    ARTIST_FIELDS = ("description", "dialogue", "planned_seconds", "status", "tool", "notes")

    def __init__(self, *args: Any, order: Order, business: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        tool_field = self.fields["tool"]
        assert isinstance(tool_field, forms.ModelChoiceField)
        tool_field.queryset = _tool_choices(self.instance.tool if self.instance.pk else None)
        assets = self.fields["assets"]
        assert isinstance(assets, forms.ModelMultipleChoiceField)
        assets.queryset = Asset.objects.filter(order=order).order_by("kind", "name")
        if self.instance.pk:
            self.initial.setdefault("assets", [a.pk for a in self.instance.assets.all()])
        seconds = self.fields["planned_seconds"]
        assert isinstance(seconds, forms.DecimalField)
        seconds.widget.attrs.update({"min": "0", "step": "0.5"})
        if not business:
            for name in list(self.fields):
                if name not in self.ARTIST_FIELDS:
                    del self.fields[name]

    def _post_clean(self) -> None:
        pass

    def service_fields(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        assets = data.pop("assets", None)
        fields = {name: data[name] for name in self.Meta.fields if name in data}
        if "assets" in self.fields:
            fields["assets"] = list(assets or [])
        return fields


class TakeForm(NoColonMixin, forms.ModelForm):
    """A take. Owners and producers may type a cost to override the computed one."""

    tool = forms.ModelChoiceField(queryset=AITool.objects.none(), label=_("Tool"))
    reference_urls = UrlListField(
        required=False,
        label=_("Reference images"),
        help_text=_("Links, one per line."),
        max_length=12000,
    )
    result_file = forms.FileField(
        required=False, label=_("Result file"), help_text=_("A video or image.")
    )
    cost = forms.DecimalField(
        required=False,
        label=_("Cost entered by hand"),
        max_digits=12,
        decimal_places=2,
        min_value=Decimal(0),
        help_text=_("Leave empty to use the tool's price on the take's date."),
    )
    currency = forms.ChoiceField(choices=CURRENCY_CHOICES, label=_("Currency"), initial="CNY")
    select = forms.BooleanField(required=False, label=_("Make this the selected take"))

    class Meta:
        model = Take
        fields = (
            "tool",
            "mode",
            "generated_seconds",
            "generated_on",
            "prompt",
            "negative_prompt",
            "seed",
            "reference_urls",
            "result_url",
            "notes",
        )
        widgets = {
            "prompt": forms.Textarea(attrs={"rows": 3}),
            "negative_prompt": forms.Textarea(attrs={"rows": 2}),
            "notes": forms.Textarea(attrs={"rows": 2}),
            "generated_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        }

    field_order = (
        "tool",
        "mode",
        "generated_seconds",
        "generated_on",
        "prompt",
        "negative_prompt",
        "seed",
        "reference_urls",
        "result_url",
        "result_file",
        "cost",
        "currency",
        "notes",
        "select",
    )

    def __init__(
        self,
        *args: Any,
        money: bool = False,
        today: dt.date | None = None,
        shot: Shot | None = None,
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        if shot is not None and shot.tool_id and not self.instance.pk:
            self.initial.setdefault("tool", shot.tool_id)
        tool_field = self.fields["tool"]
        assert isinstance(tool_field, forms.ModelChoiceField)
        current = self.instance.tool if self.instance.pk else None
        tool_field.queryset = _tool_choices(current)
        seconds = self.fields["generated_seconds"]
        assert isinstance(seconds, forms.DecimalField)
        seconds.widget.attrs.update({"min": "0", "step": "0.5"})
        self.fields["generated_on"].required = False
        if today is not None and not self.instance.pk:
            self.initial.setdefault("generated_on", today)
        if self.instance.pk:
            del self.fields["select"]
            if self.instance.cost_is_manual:
                self.initial.setdefault("cost", self.instance.cost)
                self.initial.setdefault("currency", self.instance.currency)
        if not money:
            del self.fields["cost"]
            del self.fields["currency"]

    def _post_clean(self) -> None:
        pass

    def service_fields(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        fields = {name: data[name] for name in self.Meta.fields if name in data}
        if "cost" in self.fields:
            fields["cost"] = data.get("cost")
            fields["currency"] = data.get("currency") or "CNY"
        fields["upload"] = data.get("result_file") or None
        return fields


class AssetForm(NoColonMixin, forms.ModelForm):
    reference_urls = UrlListField(
        required=False,
        label=_("Reference images"),
        help_text=_("Links, one per line."),
        max_length=12000,
    )
    image = forms.FileField(
        required=False, label=_("Reference image"), help_text=_("A PNG or JPEG picture.")
    )
    remove_image = forms.BooleanField(required=False, label=_("Remove the uploaded image"))

    class Meta:
        model = Asset
        fields = ("name", "kind", "description", "prompt_fragment", "reference_urls")
        widgets = {
            "description": forms.Textarea(attrs={"rows": 2}),
            "prompt_fragment": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not (self.instance.pk and self.instance.image):
            del self.fields["remove_image"]

    def _post_clean(self) -> None:
        pass

    def service_fields(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        fields = {name: data[name] for name in self.Meta.fields if name in data}
        fields["image"] = data.get("image") or None
        if "remove_image" in self.fields:
            fields["remove_image"] = bool(data.get("remove_image"))
        return fields


class CsvImportForm(NoColonMixin, forms.Form):
    MODES = (
        (Mode.CREATE, _("Add new shots (a shot that already exists is an error)")),
        (Mode.UPDATE, _("Add new shots and update existing ones, matched by episode and code")),
    )
    file = forms.FileField(label=_("Shot list (CSV)"))
    mode = forms.ChoiceField(
        choices=MODES, initial=Mode.UPDATE, widget=forms.RadioSelect, label=_("How to import")
    )


class FountainImportForm(NoColonMixin, forms.Form):
    PER = (
        ("paragraph", _("A shot for each action paragraph")),
        ("scene", _("One shot per scene")),
    )
    file = forms.FileField(label=_("Screenplay (.fountain)"))
    episode = forms.IntegerField(
        label=_("Into episode"),
        min_value=1,
        max_value=9999,
        required=False,
        help_text=_("An existing episode number, or a new one. Empty: a new episode."),
    )
    per = forms.ChoiceField(
        choices=PER, initial="paragraph", widget=forms.RadioSelect, label=_("Shots")
    )


class AiLabelForm(forms.Form):
    visible = forms.BooleanField(required=False, label=_("Visible AI label in the video"))
    metadata = forms.BooleanField(required=False, label=_("AI label in the file's metadata"))


class ShotFilterForm(forms.Form):
    """The episode page's filters; bad values count as no filter."""

    status = forms.ChoiceField(required=False, label=_("Status"))
    assignee = forms.ChoiceField(required=False, label=_("Assignee"))

    def __init__(self, *args: Any, business: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        status = self.fields["status"]
        assert isinstance(status, forms.ChoiceField)
        status.choices = [("", _("Any status")), ("open", _("Not approved")), *Shot.Status.choices]
        assignee = self.fields["assignee"]
        assert isinstance(assignee, forms.ChoiceField)
        if business:
            assignee.choices = [("", _("Anyone")), ("none", _("Nobody"))] + [
                (str(u.pk), u.get_full_name() or u.get_username()) for u in selectors.team_members()
            ]
        else:
            del self.fields["assignee"]

    def matches(self) -> Any:
        """A predicate on shots for the valid filters."""
        self.is_valid()
        data = {k: v for k, v in self.cleaned_data.items() if k not in self.errors}
        status = data.get("status") or ""
        assignee = data.get("assignee") or ""

        def keep(shot: Shot) -> bool:
            if status == "open" and shot.status in {Shot.Status.APPROVED, Shot.Status.OMITTED}:
                return False
            if status and status != "open" and shot.status != status:
                return False
            if assignee == "none" and shot.assignee_id is not None:
                return False
            return not (assignee.isdigit() and shot.assignee_id != int(assignee))

        return keep

    @property
    def active(self) -> bool:
        return any(self.data.get(name) for name in self.fields)
