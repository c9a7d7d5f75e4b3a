"""An order's characters and assets: list, add, edit, delete, and the shots they are in."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from orders import production
from orders import production_selectors as selectors
from orders.forms import attach_domain_error
from orders.models import Order
from orders.production_forms import AssetForm
from orders.views.access import member_required
from orders.views.files import serve_stored_file
from studio import roles
from studio.errors import DomainError


def _render_list(
    request: HttpRequest, order: Order, form: AssetForm | None, status: int = 200
) -> HttpResponse:
    return render(
        request,
        "orders/production/asset_list.html",
        {
            "nav": "orders",
            "order": order,
            "assets": selectors.asset_rows(order, request.user),
            "form": form,
            "business": roles.can_manage_business(request.user),
        },
        status=status,
    )


@member_required
def asset_list(request: HttpRequest, pk: int) -> HttpResponse:
    order = selectors.access_breakdown_order(request.user, pk)
    business = roles.can_manage_business(request.user)
    if request.method != "POST":
        return _render_list(request, order, AssetForm() if business else None)
    selectors.require_business(request.user)
    form = AssetForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            asset = production.create_asset(
                actor=request.user, order=order, **form.service_fields()
            )
        except DomainError as exc:
            attach_domain_error(form, exc)
        else:
            messages.success(request, _("“%(name)s” was added.") % {"name": asset.name})
            return redirect(reverse("asset-list", args=[order.pk]))
    return _render_list(request, order, form, status=400)


@member_required
def asset_detail(request: HttpRequest, pk: int) -> HttpResponse:
    asset = selectors.access_asset(request.user, pk)
    return render(
        request,
        "orders/production/asset_detail.html",
        {
            "nav": "orders",
            "order": asset.order,
            "asset": asset,
            "shots": selectors.asset_shots(asset, request.user),
            "business": roles.can_manage_business(request.user),
        },
    )


@member_required
def asset_edit(request: HttpRequest, pk: int) -> HttpResponse:
    selectors.require_business(request.user)
    asset = selectors.access_asset(request.user, pk)
    data = request.POST if request.method == "POST" else None
    form = AssetForm(data, request.FILES or None, instance=asset)
    if data is not None and form.is_valid():
        fresh = selectors.access_asset(request.user, pk)
        try:
            production.update_asset(actor=request.user, asset=fresh, **form.service_fields())
        except DomainError as exc:
            attach_domain_error(form, exc)
        else:
            messages.success(request, _("“%(name)s” was saved.") % {"name": fresh.name})
            return redirect(reverse("asset-detail", args=[fresh.pk]))
    return render(
        request,
        "orders/production/asset_form.html",
        {"nav": "orders", "order": asset.order, "asset": asset, "form": form},
        status=400 if form.errors else 200,
    )


@member_required
@require_POST
def asset_delete(request: HttpRequest, pk: int) -> HttpResponse:
    selectors.require_business(request.user)
    asset = selectors.access_asset(request.user, pk)
    production.delete_asset(actor=request.user, asset=asset)
    messages.success(request, _("“%(name)s” was deleted.") % {"name": asset.name})
    return redirect(reverse("asset-list", args=[asset.order_id]))


@member_required
@require_safe
def asset_image(request: HttpRequest, pk: int) -> HttpResponseBase:
    asset = selectors.access_asset(request.user, pk)
    if not asset.image:
        raise Http404
    return serve_stored_file(
        request, asset.image, content_type=asset.image_content_type, filename=asset.name
    )
