"""Pages: the notification centre (every member) and the reminder settings (owner)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from studio import notifications, reminders
from studio.models import Membership, Notification
from studio.views import member_required, owner_required

PAGE_SIZE = 25


# --- Notification centre --------------------------------------------------------------


@require_GET
@member_required
def notification_list(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    show_unread = request.GET.get("show") == "unread"
    qs = Notification.objects.filter(user=user).order_by("-created_at", "-pk")
    if show_unread:
        qs = qs.filter(read_at__isnull=True)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    membership = Membership.objects.filter(user=user).first()
    return render(
        request,
        "studio/notifications.html",
        {
            "page_obj": page,
            "items": list(page.object_list),
            "show_unread": show_unread,
            "emails_on": bool(membership and membership.email_notifications),
            "has_email": bool(user.email),
        },
    )


def _ids(request: HttpRequest) -> list[int]:
    return [int(v) for v in request.POST.getlist("id") if v.isdigit() and len(v) < 19]


@require_POST
@member_required
def notification_mark_read(request: HttpRequest) -> HttpResponse:
    """POST id=… (one or more) marks those; POST all=1 marks every unread one."""
    if request.POST.get("all"):
        notifications.mark_read(user=request.user)
        messages.success(request, _("All notifications are marked as read."))
    else:
        ids = _ids(request)
        if ids:
            notifications.mark_read(user=request.user, notification_ids=ids)
    return redirect(_back(request))


@require_POST
@member_required
def notification_open(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark one notification read and go where it points (a page of this site)."""
    item = get_object_or_404(Notification, pk=pk, user=request.user)
    notifications.mark_read(user=request.user, notification_ids=[item.pk])
    if item.url and url_has_allowed_host_and_scheme(item.url, allowed_hosts=None):
        return redirect(item.url)
    return redirect("notification-list")


@require_POST
@member_required
def notification_email_preference(request: HttpRequest) -> HttpResponse:
    enabled = request.POST.get("email") == "on"
    notifications.set_email_preference(user=request.user, enabled=enabled)
    if enabled:
        messages.success(request, _("Your notifications will also be e-mailed to you."))
    else:
        messages.success(request, _("Your notifications will no longer be e-mailed to you."))
    return redirect("notification-list")


def _back(request: HttpRequest) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return "/notifications/"


# --- Reminder settings (owner) ------------------------------------------------------------


UNIT_LABELS = {
    "hours": gettext_lazy("hours"),
    "days": gettext_lazy("days"),
}


class ReminderSettingsForm(forms.Form):
    """An on/off switch and an offsets field per registered reminder kind."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kinds = reminders.kinds()
        for kind in self.kinds:
            config = reminders.config_for(kind)
            key = _field_key(kind.name)
            self.fields[f"{key}__enabled"] = forms.BooleanField(
                label=_("Send these reminders"), required=False, initial=config.enabled
            )
            self.fields[f"{key}__offsets"] = forms.CharField(
                label=_("When (%(unit)s, separated by commas)") % {"unit": UNIT_LABELS[kind.unit]},
                max_length=100,
                initial=", ".join(str(o) for o in sorted(config.offsets, reverse=True)),
                help_text=kind.help,
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for kind in self.kinds:
            key = f"{_field_key(kind.name)}__offsets"
            raw = data.get(key)
            if raw is None:
                continue
            try:
                data[key] = reminders.parse_offsets(raw, kind=kind)
            except ValueError as exc:
                self.add_error(key, str(exc))
        return data

    def sections(self) -> list[dict[str, Any]]:
        return [
            {
                "kind": kind,
                "enabled": self[f"{_field_key(kind.name)}__enabled"],
                "offsets": self[f"{_field_key(kind.name)}__offsets"],
            }
            for kind in self.kinds
        ]

    def configs(self) -> dict[str, reminders.KindConfig]:
        return {
            kind.name: reminders.KindConfig(
                enabled=bool(self.cleaned_data[f"{_field_key(kind.name)}__enabled"]),
                offsets=self.cleaned_data[f"{_field_key(kind.name)}__offsets"],
            )
            for kind in self.kinds
        }


def _field_key(name: str) -> str:
    return name.replace(".", "_")


@require_http_methods(["GET", "POST"])
@owner_required
def reminder_settings(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = ReminderSettingsForm(request.POST)
        if form.is_valid():
            reminders.save_settings(configs=form.configs())
            messages.success(request, _("The reminder settings were saved."))
            return redirect("reminder-settings")
    else:
        form = ReminderSettingsForm()
    return render(request, "studio/reminders.html", {"nav": "settings", "form": form})
