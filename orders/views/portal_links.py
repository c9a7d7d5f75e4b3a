"""Staff actions on an order's client link: rotate (or enable) and disable."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from orders import portal, selectors
from orders.views.access import business_required
from studio.errors import DomainError


def _back(pk: int) -> HttpResponse:
    return redirect(reverse("order-detail", args=[pk]) + "#client-link")


@business_required
@require_POST
def portal_link_rotate(request: HttpRequest, pk: int) -> HttpResponse:
    order = selectors.access_order(request.user, pk)
    had_link = portal.active_link(order) is not None
    try:
        portal.rotate_link(actor=request.user, order=order)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("A new client link is ready. The old link no longer works.")
            if had_link
            else _("The client link is on. Copy it and send it to your client."),
        )
    return _back(order.pk)


@business_required
@require_POST
def portal_link_disable(request: HttpRequest, pk: int) -> HttpResponse:
    order = selectors.access_order(request.user, pk)
    try:
        changed = portal.disable_link(actor=request.user, order=order)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if changed:
            messages.success(request, _("The client link is off."))
        else:
            messages.info(request, _("The client link was already off."))
    return _back(order.pk)
