"""Staff pages for orders: board, list, create/edit, detail and the actions on it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import OuterRef, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from orders import extensions, portal, selectors, services
from orders.forms import (
    DeliverableForm,
    NoteForm,
    OrderFilterForm,
    OrderForm,
    attach_domain_error,
    client_suggestions,
)
from orders.models import Client, Order, OrderQuerySet, PortalLink
from orders.portal_tokens import token_for_nonce
from orders.production_selectors import open_page_reads
from orders.views.access import business_required, member_required
from studio import roles
from studio.errors import DomainError

PAGE_SIZE = 25

S = Order.Status
# What the button that moves an order to a status says.
ACTION_LABELS = {
    S.INQUIRY: gettext_lazy("Back to inquiry"),
    S.QUOTED: gettext_lazy("Mark as quoted"),
    S.ACCEPTED: gettext_lazy("Mark as accepted"),
    S.IN_PRODUCTION: gettext_lazy("Start production"),
    S.IN_REVIEW: gettext_lazy("Send for review"),
    S.REVISION: gettext_lazy("Request a revision"),
    S.DELIVERED: gettext_lazy("Mark as delivered"),
    S.COMPLETED: gettext_lazy("Complete the order"),
    S.ON_HOLD: gettext_lazy("Put on hold"),
    S.CANCELLED: gettext_lazy("Cancel the order"),
}
RESUME_LABEL = gettext_lazy("Resume as “%(status)s”")
BACK_TO_PRODUCTION_LABEL = gettext_lazy("Back to production")


def _detail_url(order: Order, anchor: str = "") -> str:
    url = reverse("order-detail", args=[order.pk])
    return f"{url}#{anchor}" if anchor else url


def _url_maker(name: str) -> Callable[[int], str]:
    """pk -> the URL of a one-pk route, reversed once (not once per row of a list)."""
    marker = 918273645
    pattern = reverse(name, args=[marker])
    return lambda pk: pattern.replace(str(marker), str(pk), 1)


def _board_card(order: Order, *, today: dt.date, zone: Any, url: str) -> dict[str, Any]:
    """What a board card shows, computed here: a template tag or {% url %} per card
    cost ~0.3 ms each, 300 cards a page."""
    card: dict[str, Any] = {
        "url": url,
        "reference": order.reference,
        "title": order.title,
        "client": order.client.name,
        "assignee": (order.assignee.get_full_name() or order.assignee.get_username())
        if order.assignee
        else "",
        "due": "",
        "state": "",
        "days_left": "",
    }
    if order.due_at is not None:
        card["due"] = order.due_at.astimezone(zone).strftime("%m-%d")
        if order.tracks_due:
            days = (order.due_at.astimezone(zone).date() - today).days
            card["state"] = "late" if days < 0 else "soon" if days <= 2 else ""
            if days == 0:
                card["days_left"] = _("due today")
            elif days > 0:
                card["days_left"] = ngettext("%(n)s day left", "%(n)s days left", days) % {
                    "n": days
                }
            else:
                card["days_left"] = ngettext("%(n)s day late", "%(n)s days late", -days) % {
                    "n": -days
                }
    return card


@member_required
def order_board(request: HttpRequest) -> HttpResponse:
    limit = selectors.BOARD_CARD_LIMIT
    columns = selectors.board_columns(request.user, limit=limit)
    detail = _url_maker("order-detail")
    zone = timezone.get_current_timezone()
    today = timezone.localdate()
    list_url = reverse("order-list")
    board = [
        {
            "column": column,
            "cards": [
                _board_card(order, today=today, zone=zone, url=detail(order.pk))
                for order in column.cards
            ],
            "more_url": f"{list_url}?status={column.status}&sort=due",
        }
        for column in columns
    ]
    return render(
        request,
        "orders/board.html",
        {"nav": "board", "columns": columns, "board": board, "card_limit": limit},
    )


@member_required
def order_list(request: HttpRequest) -> HttpResponse:
    business = roles.can_manage_business(request.user)
    form = OrderFilterForm(request.GET, business=business)
    filters = form.filters()
    page = Paginator(selectors.filter_orders(request.user, filters), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "orders/order_list.html",
        {
            "nav": "orders",
            "form": form,
            "filters": filters,
            "page_obj": page,
            "orders": page.object_list,
            "client_suggestions": client_suggestions() if business else "",
        },
    )


def _initial_client(request: HttpRequest) -> Client | None:
    raw = request.GET.get("client", "")
    if not raw.isdigit():
        return None
    return Client.objects.active().filter(pk=int(raw)).first()


@business_required
def order_create(request: HttpRequest) -> HttpResponse:
    initial_client = _initial_client(request)
    data = request.POST if request.method == "POST" else None
    form = OrderForm(data, initial_client=initial_client)
    if data is not None and form.is_valid():
        try:
            order = services.create_order(actor=request.user, **form.service_fields())
        except DomainError as exc:
            attach_domain_error(form, exc)
        else:
            messages.success(
                request, _("Order %(reference)s was created.") % {"reference": order.reference}
            )
            return redirect(_detail_url(order))
    return render(
        request,
        "orders/order_form.html",
        {"nav": "orders", "form": form, "order": None, "initial_client": initial_client},
        status=400 if form.errors else 200,
    )


@business_required
def order_edit(request: HttpRequest, pk: int) -> HttpResponse:
    order = selectors.access_order(request.user, pk)
    data = request.POST if request.method == "POST" else None
    form = OrderForm(data, instance=order)
    if data is not None and form.is_valid():
        # The form has written its values onto `order`; the service compares against a
        # fresh copy so that it records which fields really changed.
        fresh = selectors.access_order(request.user, pk)
        try:
            services.update_order(actor=request.user, order=fresh, **form.service_fields())
        except DomainError as exc:
            attach_domain_error(form, exc)
        else:
            messages.success(request, _("The order was saved."))
            return redirect(_detail_url(fresh))
    return render(
        request,
        "orders/order_form.html",
        {"nav": "orders", "form": form, "order": order},
        status=400 if form.errors else 200,
    )


def _transition_buttons(order: Order, user: Any) -> list[dict[str, Any]]:
    buttons = []
    for status in selectors.permitted_transitions(order, user):
        if order.status == S.ON_HOLD and status != S.CANCELLED:
            label = str(RESUME_LABEL) % {"status": S(status).label}
        elif order.status == S.IN_REVIEW and status == S.IN_PRODUCTION:
            label = str(BACK_TO_PRODUCTION_LABEL)
        else:
            label = str(ACTION_LABELS[S(status)])
        buttons.append(
            {"status": status, "label": label, "danger": status in {S.CANCELLED, S.ON_HOLD}}
        )
    return buttons


NOT_LOADED = object()


def _with_portal_nonce(queryset: OrderQuerySet) -> OrderQuerySet:
    """Orders with their active client link's nonce (portal_nonce, None without one):
    the order page shows the link, and a subquery here spares it a query of its own."""
    active = PortalLink.objects.active().filter(order=OuterRef("pk")).order_by("-created_at")
    return queryset.annotate(portal_nonce=Subquery(active.values("nonce")[:1]))


def _portal_url(request: HttpRequest, order: Order) -> str | None:
    """The client's link, for people who may send it (owners and producers)."""
    if not roles.can_manage_business(request.user):
        return None
    nonce = getattr(order, "portal_nonce", NOT_LOADED)
    path: str | None = None  # no active link
    if nonce is NOT_LOADED:
        link = portal.active_link(order)
        path = portal.portal_path(link) if link else None
    elif isinstance(nonce, str) and nonce:
        path = reverse("portal", args=[token_for_nonce(nonce)])
    return request.build_absolute_uri(path) if path else None


def render_order_detail(
    request: HttpRequest,
    order: Order,
    *,
    upload_form: DeliverableForm | None = None,
    note_form: NoteForm | None = None,
    status: int = 200,
) -> HttpResponse:
    # The sections below (production summary, billing's invoices and margin) read the
    # order's takes and invoices once for all of them.
    open_page_reads(order)
    groups = selectors.deliverable_groups(order)
    # The production section checks the latest versions' AI labels: hand it these
    # instead of a second query of the same rows.
    order.latest_deliverables = selectors.latest_versions(groups)  # type: ignore[attr-defined]
    return render(
        request,
        "orders/order_detail.html",
        {
            "nav": "orders",
            "order": order,
            "tags": list(order.tags.all()),
            "transitions": _transition_buttons(order, request.user),
            "timeline": selectors.order_timeline(order, user=request.user),
            "deliverable_groups": groups,
            "upload_form": upload_form or DeliverableForm(),
            "note_form": note_form or NoteForm(),
            "can_edit": roles.can_manage_business(request.user) and not order.is_closed,
            "portal_url": _portal_url(request, order),
            "client_actions": selectors.client_feedback(order),
            "extra_sections": extensions.staff_order_sections(request, order),
        },
        status=status,
    )


@member_required
def order_detail(request: HttpRequest, pk: int) -> HttpResponse:
    business = roles.can_manage_business(request.user)
    queryset = _with_portal_nonce(Order.objects.all()) if business else None
    return render_order_detail(request, selectors.access_order(request.user, pk, queryset=queryset))


@member_required
@require_POST
def order_transition(request: HttpRequest, pk: int) -> HttpResponse:
    order = selectors.access_order(request.user, pk)
    to_status = request.POST.get("status", "")
    try:
        result = services.change_status(
            actor=request.user,
            order=order,
            to_status=to_status,
            note=request.POST.get("note", "")[:2000],
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("The order is now “%(status)s”.") % {"status": S(result.order.status).label},
        )
        if result.warning:
            messages.warning(request, result.warning)
    return redirect(_detail_url(order))


@member_required
@require_POST
def order_note(request: HttpRequest, pk: int) -> HttpResponse:
    order = selectors.access_order(request.user, pk)
    form = NoteForm(request.POST)
    if form.is_valid():
        try:
            services.add_note(actor=request.user, order=order, text=form.cleaned_data["text"])
        except DomainError as exc:
            attach_domain_error(form, exc)
        else:
            messages.success(request, _("The note was added."))
            return redirect(_detail_url(order, "timeline"))
    messages.error(request, _("The note was not added. See the error below."))
    return render_order_detail(request, order, note_form=form, status=400)


@member_required
@require_POST
def deliverable_create(request: HttpRequest, pk: int) -> HttpResponse:
    order = selectors.access_order(request.user, pk)
    form = DeliverableForm(request.POST, request.FILES)
    if form.is_valid():
        data = form.cleaned_data
        try:
            deliverable = services.add_deliverable(
                actor=request.user,
                order=order,
                title=data["title"],
                upload=data.get("file") or None,
                url=data.get("url") or "",
                notes=data.get("notes") or "",
            )
        except DomainError as exc:
            attach_domain_error(form, exc)
            # Say why at the top too: the form sits at the bottom of a long page.
            messages.error(
                request,
                _("The deliverable was not added: %(reason)s") % {"reason": exc.message},
            )
            return render_order_detail(request, order, upload_form=form, status=400)
        messages.success(
            request,
            _("“%(title)s” version %(version)s was added.")
            % {"title": deliverable.title, "version": deliverable.version},
        )
        return redirect(_detail_url(order, "deliverables"))
    messages.error(request, _("The deliverable was not added. See the error below."))
    return render_order_detail(request, order, upload_form=form, status=400)
