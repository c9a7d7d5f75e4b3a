"""Takes on a shot: log one, correct it, select it, delete it, open its result file."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from orders import production
from orders import production_selectors as selectors
from orders.forms import attach_domain_error
from orders.models import Take
from orders.production_forms import TakeForm
from orders.views.access import member_required
from orders.views.files import serve_stored_file
from orders.views.production_pages import render_shot_detail
from studio import roles
from studio.errors import DomainError


def _shot_url(take: Take, anchor: str = "takes") -> str:
    return f"{reverse('shot-detail', args=[take.shot_id])}#{anchor}"


@member_required
@require_POST
def take_create(request: HttpRequest, pk: int) -> HttpResponse:
    shot = selectors.access_shot(request.user, pk)
    money = roles.can_see_money(request.user)
    form = TakeForm(request.POST, request.FILES, money=money)
    if form.is_valid():
        fields = form.service_fields()
        try:
            take = production.add_take(
                actor=request.user,
                shot=shot,
                select=form.cleaned_data.get("select", False),
                **fields,
            )
        except DomainError as exc:
            attach_domain_error(form, exc)
        else:
            messages.success(
                request,
                _("Take %(number)s of shot %(code)s was logged.")
                % {"number": take.number, "code": shot.code},
            )
            if money and take.cost is None:
                messages.warning(
                    request,
                    _(
                        "%(tool)s has no price on %(date)s, so this take has no cost. Add "
                        "the price on the Tools page and the take is costed."
                    )
                    % {"tool": take.tool.name, "date": take.generated_on.isoformat()},
                )
            return redirect(_shot_url(take))
    messages.error(request, _("The take was not logged. See the errors below."))
    return render_shot_detail(request, shot, take_form=form, status=400)


@member_required
def take_edit(request: HttpRequest, pk: int) -> HttpResponse:
    take = selectors.access_take(request.user, pk)
    money = roles.can_see_money(request.user)
    data = request.POST if request.method == "POST" else None
    form = TakeForm(data, request.FILES or None, instance=take, money=money)
    if data is not None and form.is_valid():
        fields = form.service_fields()
        fresh = selectors.access_take(request.user, pk)
        cost = fields.pop("cost", None)
        clear_cost = money and cost is None and fresh.cost_is_manual
        try:
            production.update_take(
                actor=request.user, take=fresh, cost=cost, clear_cost=clear_cost, **fields
            )
        except DomainError as exc:
            attach_domain_error(form, exc)
        else:
            messages.success(request, _("Take %(number)s was saved.") % {"number": fresh.number})
            return redirect(_shot_url(fresh))
    return render(
        request,
        "orders/production/take_form.html",
        {
            "nav": "orders",
            "take": take,
            "shot": take.shot,
            "episode": take.shot.episode,
            "order": take.shot.episode.order,
            "form": form,
            "money": money,
        },
        status=400 if form.errors else 200,
    )


@member_required
@require_POST
def take_select(request: HttpRequest, pk: int) -> HttpResponse:
    take = selectors.access_take(request.user, pk)
    unselect = request.POST.get("unselect") == "1"
    try:
        if unselect:
            production.unselect_take(actor=request.user, take=take)
        else:
            production.select_take(actor=request.user, take=take)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if unselect:
            messages.success(
                request, _("No take is selected; the shot counts its planned seconds.")
            )
        else:
            messages.success(
                request, _("Take %(number)s is now the selected take.") % {"number": take.number}
            )
    return redirect(_shot_url(take))


@member_required
@require_POST
def take_delete(request: HttpRequest, pk: int) -> HttpResponse:
    take = selectors.access_take(request.user, pk)
    try:
        production.delete_take(actor=request.user, take=take)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Take %(number)s was deleted.") % {"number": take.number})
    return redirect(_shot_url(take))


@member_required
@require_safe
def take_file(request: HttpRequest, pk: int) -> HttpResponseBase:
    """A take's uploaded result, for people who may see its shot (404 otherwise)."""
    take = selectors.access_take(request.user, pk)
    return serve_stored_file(
        request,
        take.result_file,
        content_type=take.result_content_type,
        filename=take.result_original_name or "take",
    )
