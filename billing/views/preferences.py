"""The owner's billing settings page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from billing import services
from billing.forms import BillingSettingsForm, tax_rate_presets
from billing.models import BillingSettings
from orders.forms import attach_domain_error
from studio import roles
from studio.errors import DomainError


@require_http_methods(["GET", "POST"])
def billing_settings(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not roles.is_owner(request.user):
        raise PermissionDenied
    prefs = BillingSettings.load()
    form = BillingSettingsForm(request.POST if request.method == "POST" else None, instance=prefs)
    if request.method == "POST" and form.is_valid():
        fields = {name: form.cleaned_data[name] for name in form.Meta.fields}
        try:
            services.update_billing_settings(actor=request.user, fields=fields)
        except DomainError as exc:
            attach_domain_error(form, exc)
        else:
            messages.success(request, _("The billing settings were saved."))
            return redirect("billing-settings")
    return render(
        request,
        "billing/settings.html",
        {"nav": "settings", "form": form, "tax_rates": tax_rate_presets()},
        status=400 if form.errors else 200,
    )
