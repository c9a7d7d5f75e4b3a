"""Pages: webhook endpoints, their secret and delivery log (owner only)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from studio import webhooks
from studio.errors import DomainError
from studio.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookSettings
from studio.models.webhooks import WEBHOOK_EVENTS
from studio.views import owner_required

PAGE_SIZE = 25


class EndpointForm(forms.Form):
    url = forms.CharField(
        label=gettext_lazy("URL"),
        max_length=500,
        widget=forms.URLInput(attrs={"placeholder": "https://"}),
        help_text=gettext_lazy("Where ReelDesk POSTs each event, signed with the secret."),
    )
    description = forms.CharField(label=gettext_lazy("Description"), max_length=200, required=False)
    events = forms.MultipleChoiceField(
        label=gettext_lazy("Events"),
        choices=WEBHOOK_EVENTS,
        widget=forms.CheckboxSelectMultiple,
    )
    is_active = forms.BooleanField(label=gettext_lazy("Active"), required=False, initial=True)


class WebhookSettingsForm(forms.Form):
    allow_private_targets = forms.BooleanField(
        label=gettext_lazy("Allow private network targets"),
        required=False,
        help_text=gettext_lazy(
            "Let webhooks go to loopback and private network addresses, for an integration "
            "inside your own network. Cloud metadata addresses stay refused."
        ),
    )


def _apply_errors(form: forms.Form, exc: DomainError) -> None:
    if not exc.fields:
        form.add_error(None, exc.message)
    for field, errors in exc.fields.items():
        for error in errors:
            form.add_error(field if field in form.fields else None, error)


@require_http_methods(["GET", "POST"])
@owner_required
def webhook_list(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = EndpointForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                endpoint = webhooks.create_endpoint(
                    actor=request.user,
                    url=data["url"],
                    events=data["events"],
                    description=data["description"],
                )
            except DomainError as exc:
                _apply_errors(form, exc)
            else:
                if not data["is_active"]:
                    webhooks.update_endpoint(actor=request.user, endpoint=endpoint, is_active=False)
                messages.success(
                    request,
                    _("The endpoint was added. Copy its signing secret into your integration."),
                )
                return redirect("webhook-detail", pk=endpoint.pk)
    else:
        form = EndpointForm()
    endpoints = WebhookEndpoint.objects.annotate(
        failed=Count("deliveries", filter=Q(deliveries__state=WebhookDelivery.State.FAILED)),
        waiting=Count(
            "deliveries",
            filter=Q(
                deliveries__state__in=[
                    WebhookDelivery.State.PENDING,
                    WebhookDelivery.State.SENDING,
                ]
            ),
        ),
    ).order_by("pk")
    return render(
        request,
        "studio/webhooks.html",
        {
            "nav": "settings",
            "form": form,
            "endpoints": endpoints,
            "settings_form": WebhookSettingsForm(
                initial={"allow_private_targets": WebhookSettings.load().allow_private_targets}
            ),
        },
    )


@require_POST
@owner_required
def webhook_settings(request: HttpRequest) -> HttpResponse:
    form = WebhookSettingsForm(request.POST)
    if form.is_valid():
        webhooks.set_allow_private_targets(
            actor=request.user, allow=form.cleaned_data["allow_private_targets"]
        )
        messages.success(request, _("The webhook settings were saved."))
    return redirect("webhook-list")


def _labels() -> dict[str, str]:
    return {name: str(label) for name, label in WEBHOOK_EVENTS}


@require_http_methods(["GET", "POST"])
@owner_required
def webhook_detail(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    if request.method == "POST":
        form = EndpointForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                webhooks.update_endpoint(
                    actor=request.user,
                    endpoint=endpoint,
                    url=data["url"],
                    events=data["events"],
                    description=data["description"],
                    is_active=data["is_active"],
                )
            except DomainError as exc:
                _apply_errors(form, exc)
                endpoint.refresh_from_db()
            else:
                messages.success(request, _("The endpoint was saved."))
                return redirect("webhook-detail", pk=endpoint.pk)
    else:
        form = EndpointForm(
            initial={
                "url": endpoint.url,
                "description": endpoint.description,
                "events": endpoint.events,
                "is_active": endpoint.is_active,
            }
        )
    deliveries = webhooks.deliveries_for(endpoint)
    state = request.GET.get("state", "")
    if state in WebhookDelivery.State.values:
        deliveries = deliveries.filter(state=state)
    page = Paginator(deliveries, PAGE_SIZE).get_page(request.GET.get("page"))
    items = list(page.object_list)
    attempts: dict[int, list[WebhookAttempt]] = {}
    for attempt in WebhookAttempt.objects.filter(delivery__in=items).order_by("number", "pk"):
        attempts.setdefault(attempt.delivery_id, []).append(attempt)
    rows: list[dict[str, Any]] = [
        {"delivery": d, "attempts": attempts.get(d.pk, [])} for d in items
    ]
    return render(
        request,
        "studio/webhooks_detail.html",
        {
            "nav": "settings",
            "endpoint": endpoint,
            "form": form,
            "page_obj": page,
            "rows": rows,
            "state": state,
            "states": WebhookDelivery.State.choices,
            "event_labels": _labels(),
            "secrets": webhooks.signing_secrets(endpoint),
        },
    )


@require_POST
@owner_required
def webhook_rotate(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    webhooks.rotate_secret(actor=request.user, endpoint=endpoint)
    messages.success(
        request,
        _(
            "The endpoint has a new secret. For the next 24 hours requests carry signatures "
            "by both the new and the previous secret."
        ),
    )
    return redirect("webhook-detail", pk=endpoint.pk)


@require_POST
@owner_required
def webhook_delete(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    url = endpoint.url
    webhooks.delete_endpoint(actor=request.user, endpoint=endpoint)
    messages.success(request, _("The endpoint %(url)s was removed.") % {"url": url})
    return redirect("webhook-list")


@require_POST
@owner_required
def webhook_send_again(request: HttpRequest, pk: int, delivery_pk: int) -> HttpResponse:
    delivery = get_object_or_404(WebhookDelivery, pk=delivery_pk, endpoint_id=pk)
    if delivery.state == WebhookDelivery.State.SENDING:
        messages.info(request, _("This delivery is being sent right now."))
    else:
        webhooks.send_again(actor=request.user, delivery=delivery)
        messages.success(request, _("The delivery will be sent again in a moment."))
    return redirect("webhook-detail", pk=pk)
