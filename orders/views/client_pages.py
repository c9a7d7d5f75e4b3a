"""Staff pages for clients (owners and producers only)."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from orders import selectors, services
from orders.forms import ClientForm, attach_domain_error
from orders.models import Client, Order
from orders.views.access import business_required
from studio.errors import DomainError

PAGE_SIZE = 25


@business_required
def client_list(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()[:100]
    archived = request.GET.get("archived") == "1"
    page = Paginator(selectors.client_rows(q=q, archived=archived), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "orders/client_list.html",
        {
            "nav": "clients",
            "q": q,
            "archived": archived,
            "page_obj": page,
            "clients": page.object_list,
        },
    )


@business_required
def client_create(request: HttpRequest) -> HttpResponse:
    form = ClientForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            client = services.create_client(actor=request.user, **form.cleaned_data)
        except DomainError as exc:
            attach_domain_error(form, exc)
        else:
            messages.success(request, _("%(name)s was added.") % {"name": client.name})
            return redirect("client-detail", pk=client.pk)
    return render(
        request,
        "orders/client_form.html",
        {"nav": "clients", "form": form, "client": None},
        status=400 if form.errors else 200,
    )


@business_required
def client_edit(request: HttpRequest, pk: int) -> HttpResponse:
    client = selectors.access_client(request.user, pk)
    form = ClientForm(request.POST if request.method == "POST" else None, instance=client)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_client(
                actor=request.user, client=Client.objects.get(pk=pk), **form.cleaned_data
            )
        except DomainError as exc:
            attach_domain_error(form, exc)
        else:
            messages.success(request, _("The client was saved."))
            return redirect("client-detail", pk=pk)
    return render(
        request,
        "orders/client_form.html",
        {"nav": "clients", "form": form, "client": client},
        status=400 if form.errors else 200,
    )


@business_required
def client_detail(request: HttpRequest, pk: int) -> HttpResponse:
    client = selectors.access_client(request.user, pk)
    orders = selectors.order_rows(Order.objects.filter(client=client)).order_by(
        "-created_at", "-pk"
    )
    page = Paginator(orders, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "orders/client_detail.html",
        {
            "nav": "clients",
            "client": client,
            "new_order_url": f"{reverse('order-create')}?client={client.pk}",
            "totals": selectors.client_totals(client),
            "page_obj": page,
            "orders": page.object_list,
        },
    )


@business_required
@require_POST
def client_archive(request: HttpRequest, pk: int) -> HttpResponse:
    client = selectors.access_client(request.user, pk)
    try:
        changed = services.archive_client(actor=request.user, client=client)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if changed:
            messages.success(
                request,
                _("%(name)s was archived. Its orders are kept.") % {"name": client.name},
            )
        else:
            messages.info(request, _("This client was already archived."))
    return redirect(reverse("client-detail", args=[client.pk]))


@business_required
@require_POST
def client_restore(request: HttpRequest, pk: int) -> HttpResponse:
    client = selectors.access_client(request.user, pk)
    try:
        changed = services.restore_client(actor=request.user, client=client)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if changed:
            messages.success(request, _("%(name)s was restored.") % {"name": client.name})
        else:
            messages.info(request, _("This client was not archived."))
    return redirect(reverse("client-detail", args=[client.pk]))
