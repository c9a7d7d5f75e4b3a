"""Forms of the studio pages: sign-in, studio settings, team and API tokens."""

from __future__ import annotations

import secrets
import zoneinfo
from typing import Any

import filetype
from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from studio.models import Membership, StudioProfile

# Detected logo type -> stored extension. SVG is refused: it can carry scripts.
LOGO_TYPES: dict[str, str] = {"png": "png", "jpg": "jpg"}


def time_zone_choices() -> list[tuple[str, str]]:
    return [(zone, zone) for zone in sorted(zoneinfo.available_timezones())]


class SignInForm(AuthenticationForm):
    """Django's sign-in form with autocomplete hints."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].widget.attrs.update({"autocomplete": "username"})
        self.fields["password"].widget.attrs.update({"autocomplete": "current-password"})


class StudioProfileForm(forms.ModelForm):
    """Every field of the studio profile; the logo is checked by its content."""

    time_zone = forms.ChoiceField(
        label=_("Time zone"),
        choices=time_zone_choices,
        help_text=_("Due dates and times are shown in this zone."),
    )
    remove_logo = forms.BooleanField(label=_("Remove the logo"), required=False)

    class Meta:
        model = StudioProfile
        fields = [
            "name",
            "legal_name",
            "address",
            "tax_id",
            "email",
            "phone",
            "wechat_id",
            "logo",
            "default_currency",
            "reporting_currency",
            "time_zone",
            "default_turnaround_days",
            "default_revision_rounds",
            "payment_instructions",
        ]
        widgets = {
            "address": forms.Textarea(attrs={"rows": 3}),
            "payment_instructions": forms.Textarea(attrs={"rows": 4}),
            "logo": forms.FileInput(attrs={"accept": "image/png,image/jpeg"}),
        }
        help_texts = {
            "payment_instructions": _(
                "Bank, Alipay or WeChat Pay details, printed on invoices and the client page."
            ),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        limit = filesizeformat(settings.LOGO_MAX_BYTES)
        self.fields["logo"].help_text = _(
            "PNG or JPEG, at most %(limit)s. Shown on quotes and invoices."
        ) % {"limit": limit}

    def clean_logo(self) -> Any:
        logo = self.cleaned_data.get("logo")
        if not isinstance(logo, UploadedFile):
            return logo  # unchanged (a stored file), cleared (False) or none
        size = logo.size or 0
        if size == 0:
            raise ValidationError(_("The file is empty."), code="empty")
        if size > settings.LOGO_MAX_BYTES:
            raise ValidationError(
                _("The logo is %(size)s; the limit is %(limit)s."),
                code="too_big",
                params={
                    "size": filesizeformat(size),
                    "limit": filesizeformat(settings.LOGO_MAX_BYTES),
                },
            )
        logo.seek(0)
        head = logo.read(8192)
        logo.seek(0)
        kind = filetype.guess(head)
        detected = kind.extension if kind else None
        if detected not in LOGO_TYPES:
            raise ValidationError(
                _("The logo must be a PNG or JPEG image (checked by its content, not its name)."),
                code="bad_type",
            )
        # Never keep the uploader's file name: a random one with the detected extension.
        logo.name = f"{secrets.token_hex(16)}.{LOGO_TYPES[detected]}"
        return logo


class TeamMemberForm(forms.Form):
    username = forms.CharField(
        label=_("Username"),
        max_length=150,
        validators=[get_user_model().username_validator],
        help_text=_("Letters, digits and @ . + - _ only. Used to sign in."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    email = forms.EmailField(label=_("E-mail"), required=False)
    full_name = forms.CharField(label=_("Name"), max_length=150, required=False)
    role = forms.ChoiceField(
        label=_("Role"), choices=Membership.Role.choices, initial=Membership.Role.ARTIST
    )
    password = forms.CharField(
        label=_("Password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("Leave empty to generate one; it is shown once after saving."),
    )

    def clean_username(self) -> str:
        username = self.cleaned_data["username"].strip()
        if get_user_model().objects.filter(username__iexact=username).exists():
            raise ValidationError(
                _("The username “%(username)s” is taken."),
                code="taken",
                params={"username": username},
            )
        return username

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        password = cleaned.get("password")
        if password:
            candidate = get_user_model()(
                username=cleaned.get("username", ""),
                email=cleaned.get("email", ""),
                first_name=cleaned.get("full_name", ""),
            )
            try:
                password_validation.validate_password(password, candidate)
            except ValidationError as exc:
                self.add_error("password", exc)
        return cleaned


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Membership.Role.choices)


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=80,
        help_text=_("What the token is for, e.g. “Storefront sync”."),
    )

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise ValidationError(_("Give the token a name."), code="required")
        return name
