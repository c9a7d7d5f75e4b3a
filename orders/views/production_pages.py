"""Breakdown pages: an order's breakdown, episodes with their shot table, shots, and the
artist's own shots. Takes, assets and imports have their own modules."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from orders import extensions, production
from orders import production_selectors as selectors
from orders.forms import attach_domain_error
from orders.models import Episode, Order, Shot
from orders.production_forms import EpisodeForm, ShotFilterForm, ShotForm, TakeForm
from orders.templatetags.production import amounts, seconds
from orders.views.access import member_required
from studio import roles
from studio.errors import DomainError
from studio.timeutil import studio_zone, today

MY_SHOTS_PAGE = 50
# Shots per page of the episode page; its totals always cover every shot.
SHOTS_PAGE = 100


def episode_url(episode: Episode, anchor: str = "") -> str:
    url = reverse("episode-detail", args=[episode.pk])
    return f"{url}#{anchor}" if anchor else url


def breakdown_url(order: Order) -> str:
    return reverse("breakdown", args=[order.pk])


# --- The order page's breakdown panel -----------------------------------------------------


def order_breakdown_section(request: HttpRequest, order: Order) -> extensions.Section | None:
    """The staff order page's production summary and AI-label checks (fixed queries)."""
    user = request.user
    from orders.services import latest_deliverables

    summary = selectors.order_breakdown(order, user)
    # The order page has loaded them already (orders.views.order_pages).
    labels = getattr(order, "latest_deliverables", None)
    if labels is None:
        labels = latest_deliverables(order)
    return extensions.Section(
        template="orders/production/includes/order_section.html",
        context={
            "order": order,
            "summary": summary,
            "deliverables": labels,
            "unchecked": [d for d in labels if not d.ai_labels_checked],
            "can_manage": roles.can_manage_business(user),
            "can_check": roles.can_manage_business(user)
            or (roles.is_artist(user) and order.assignee_id == user.pk),
            "can_override": roles.is_owner(user) and order.status == Order.Status.IN_REVIEW,
            "money": roles.can_see_money(user),
        },
    )


extensions.register_staff_order_section(order_breakdown_section)


# --- Order breakdown ---------------------------------------------------------------------


@member_required
def breakdown(request: HttpRequest, pk: int) -> HttpResponse:
    order = selectors.access_breakdown_order(request.user, pk)
    business = roles.can_manage_business(request.user)
    return render(
        request,
        "orders/production/breakdown.html",
        {
            "nav": "orders",
            "order": order,
            "summary": selectors.order_breakdown(order, request.user),
            "episodes": selectors.episode_rows(order, request.user),
            "business": business,
            "episode_form": EpisodeForm(initial={"number": production.next_episode_number(order)})
            if business
            else None,
        },
    )


@member_required
def episode_create(request: HttpRequest, pk: int) -> HttpResponse:
    selectors.require_business(request.user)
    order = selectors.access_breakdown_order(request.user, pk)
    data = request.POST if request.method == "POST" else None
    form = EpisodeForm(data, initial={"number": production.next_episode_number(order)})
    if data is not None and form.is_valid():
        try:
            episode = production.create_episode(
                actor=request.user, order=order, **form.cleaned_data
            )
        except DomainError as exc:
            attach_domain_error(form, exc)
        else:
            messages.success(
                request, _("Episode %(number)s was added.") % {"number": episode.number}
            )
            return redirect(episode_url(episode))
    return render(
        request,
        "orders/production/episode_form.html",
        {"nav": "orders", "order": order, "form": form, "episode": None},
        status=400 if form.errors else 200,
    )


@member_required
def episode_edit(request: HttpRequest, pk: int) -> HttpResponse:
    selectors.require_business(request.user)
    episode = selectors.access_episode(request.user, pk)
    data = request.POST if request.method == "POST" else None
    form = EpisodeForm(data, instance=episode)
    if data is not None and form.is_valid():
        try:
            production.update_episode(actor=request.user, episode=episode, **form.cleaned_data)
        except DomainError as exc:
            attach_domain_error(form, exc)
        else:
            messages.success(request, _("The episode was saved."))
            return redirect(episode_url(episode))
    return render(
        request,
        "orders/production/episode_form.html",
        {"nav": "orders", "order": episode.order, "form": form, "episode": episode},
        status=400 if form.errors else 200,
    )


@member_required
@require_POST
def episode_delete(request: HttpRequest, pk: int) -> HttpResponse:
    selectors.require_business(request.user)
    episode = selectors.access_episode(request.user, pk)
    order = episode.order
    try:
        production.delete_episode(actor=request.user, episode=episode)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(episode_url(episode))
    messages.success(request, _("The episode was deleted."))
    return redirect(breakdown_url(order))


# --- Episode page ------------------------------------------------------------------------


def _shot_row(shot: Shot, *, url: str) -> dict[str, object]:
    """What one row of the episode's shot table shows, computed here: the template
    tags, includes and {% url %} of a row cost about 1 ms each, 100 rows a page."""
    selected = shot.selected_take  # type: ignore[attr-defined]
    cast = [asset.name for asset in shot.assets.all()]
    return {
        "pk": shot.pk,
        "url": url,
        "code": shot.code,
        "position": shot.position,
        "choose_label": _("Choose shot %(code)s") % {"code": shot.code},
        "position_label": _("Position of shot %(code)s") % {"code": shot.code},
        "scene": shot.scene,
        "description": Truncator(shot.description).chars(140) or "—",
        "dialogue": _("Dialogue: %(lines)s") % {"lines": Truncator(shot.dialogue).chars(80)}
        if shot.dialogue
        else "",
        "cast": " · ".join(cast),
        "badge": shot.badge,
        "status": shot.get_status_display(),
        "assignee": (shot.assignee.get_full_name() or shot.assignee.get_username())
        if shot.assignee
        else "",
        "tool": shot.tool.name if shot.tool else "",
        "runtime": seconds(shot.runtime),  # type: ignore[attr-defined]
        "selected": _("Selected take %(number)s (%(tool)s)")
        % {"number": selected.number, "tool": selected.tool.name if selected.tool else ""}
        if selected
        else "",
        "planned": _("planned %(planned)s") % {"planned": seconds(shot.planned_seconds)},
        "takes": shot.take_count,  # type: ignore[attr-defined]
        "costs": amounts(shot.costs),  # type: ignore[attr-defined]
    }


@member_required
def episode_detail(request: HttpRequest, pk: int) -> HttpResponse:
    episode = selectors.access_episode(request.user, pk)
    business = roles.can_manage_business(request.user)
    page = selectors.episode_summary(episode, request.user)
    filters = ShotFilterForm(request.GET, business=business)
    filters.is_valid()
    chosen = {k: v for k, v in filters.cleaned_data.items() if k not in filters.errors}
    shots = selectors.episode_shots(
        episode,
        request.user,
        status=chosen.get("status") or "",
        assignee=chosen.get("assignee") or "",
    )
    page_obj = Paginator(shots, SHOTS_PAGE).get_page(request.GET.get("page"))
    shown = list(page_obj.object_list)
    selectors.attach_take_numbers(shown)
    detail = _url_maker("shot-detail")
    rows = [_shot_row(shot, url=detail(shot.pk)) for shot in shown]
    artist_targets = {target for _source, target in Shot.ARTIST_TRANSITIONS}
    bulk_statuses = [
        (value, label)
        for value, label in Shot.Status.choices
        if business or value in artist_targets
    ]
    return render(
        request,
        "orders/production/episode_detail.html",
        {
            "nav": "orders",
            "order": episode.order,
            "episode": episode,
            "page": page,
            "has_shots": any(page.status_counts.values()),
            "page_obj": page_obj,
            "shots": shown,
            "rows": rows,
            "filters": filters,
            "business": business,
            "money": roles.can_see_money(request.user),
            "bulk_statuses": bulk_statuses,
        },
    )


def _url_maker(name: str) -> Callable[[int], str]:
    """pk -> the URL of a one-pk route, reversed once rather than once per row."""
    marker = 918273645
    pattern = reverse(name, args=[marker])
    return lambda pk: pattern.replace(str(marker), str(pk), 1)


@member_required
@require_POST
def shot_bulk_status(request: HttpRequest, pk: int) -> HttpResponse:
    episode = selectors.access_episode(request.user, pk)
    ids = [raw for raw in request.POST.getlist("shots") if raw.isdigit() and len(raw) < 19]
    try:
        result = production.bulk_change_status(
            actor=request.user,
            episode=episode,
            shot_ids=[int(raw) for raw in ids],
            to_status=request.POST.get("status", ""),
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if result.changed:
            messages.success(
                request,
                _("%(count)s shots moved to “%(status)s”.")
                % {
                    "count": len(result.changed),
                    "status": Shot.Status(request.POST["status"]).label,
                },
            )
        else:
            messages.info(request, _("The chosen shots already had that status."))
    return redirect(episode_url(episode, "shots"))


@member_required
@require_POST
def shot_reorder(request: HttpRequest, pk: int) -> HttpResponse:
    """New positions typed into the table: shots are sorted by the numbers given (2.5
    goes between 2 and 3); ties keep their current order."""
    selectors.require_business(request.user)
    episode = selectors.access_episode(request.user, pk)
    current = list(episode.shots.order_by("position", "pk").values_list("pk", "position"))
    wanted: list[tuple[Decimal, int, int]] = []
    for index, (shot_id, position) in enumerate(current):
        raw = request.POST.get(f"pos-{shot_id}", "").strip().replace(",", ".")
        try:
            value = Decimal(raw) if raw else Decimal(position)
        except InvalidOperation:
            value = Decimal("NaN")
        if not value.is_finite() or abs(value) > 10**9:
            messages.error(
                request,
                _("“%(value)s” is not a position; nothing was reordered.") % {"value": raw[:20]},
            )
            return redirect(episode_url(episode, "shots"))
        wanted.append((value, index, shot_id))
    ordered = [shot_id for _value, _index, shot_id in sorted(wanted)]
    try:
        production.reorder_shots(actor=request.user, episode=episode, shot_ids=ordered)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The shots were reordered."))
    return redirect(episode_url(episode, "shots"))


# --- Shots -------------------------------------------------------------------------------


@member_required
def shot_create(request: HttpRequest, pk: int) -> HttpResponse:
    selectors.require_business(request.user)
    episode = selectors.access_episode(request.user, pk)
    data = request.POST if request.method == "POST" else None
    form = ShotForm(
        data,
        order=episode.order,
        initial={"code": production.suggest_next_code(episode), "planned_seconds": 5},
    )
    if data is not None and form.is_valid():
        try:
            shot = production.create_shot(
                actor=request.user, episode=episode, **form.service_fields()
            )
        except DomainError as exc:
            attach_domain_error(form, exc)
        else:
            messages.success(request, _("Shot %(code)s was added.") % {"code": shot.code})
            if "add_another" in request.POST:
                return redirect(reverse("shot-create", args=[episode.pk]))
            return redirect(episode_url(episode, "shots"))
    return render(
        request,
        "orders/production/shot_form.html",
        {"nav": "orders", "order": episode.order, "episode": episode, "form": form, "shot": None},
        status=400 if form.errors else 200,
    )


def render_shot_detail(
    request: HttpRequest, shot: Shot, *, take_form: TakeForm | None = None, status: int = 200
) -> HttpResponse:
    rows = selectors.shot_rows(Shot.objects.filter(pk=shot.pk).select_related("episode"))
    row = rows[0] if rows else shot
    takes = list(shot.takes.select_related("tool", "created_by").order_by("-number"))
    money = roles.can_see_money(request.user)
    episode = shot.episode
    allowed = [
        (value, label)
        for value, label in Shot.Status.choices
        if value != shot.status
        and (
            roles.can_manage_business(request.user)
            or (shot.status, value) in Shot.ARTIST_TRANSITIONS
        )
    ]
    return render(
        request,
        "orders/production/shot_detail.html",
        {
            "nav": "orders",
            "order": episode.order,
            "episode": episode,
            "shot": row,
            "takes": takes,
            "assets": list(shot.assets.order_by("kind", "name")),
            "take_form": take_form or TakeForm(money=money, today=today(studio_zone()), shot=shot),
            "business": roles.can_manage_business(request.user),
            "money": money,
            "status_choices": allowed,
        },
        status=status,
    )


@member_required
def shot_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render_shot_detail(request, selectors.access_shot(request.user, pk))


@member_required
def shot_edit(request: HttpRequest, pk: int) -> HttpResponse:
    shot = selectors.access_shot(request.user, pk)
    business = roles.can_manage_business(request.user)
    data = request.POST if request.method == "POST" else None
    form = ShotForm(data, instance=shot, order=shot.episode.order, business=business)
    if data is not None and form.is_valid():
        fresh = selectors.access_shot(request.user, pk)
        try:
            production.update_shot(actor=request.user, shot=fresh, **form.service_fields())
        except DomainError as exc:
            attach_domain_error(form, exc)
        else:
            messages.success(request, _("Shot %(code)s was saved.") % {"code": fresh.code})
            return redirect(reverse("shot-detail", args=[fresh.pk]))
    return render(
        request,
        "orders/production/shot_form.html",
        {
            "nav": "orders",
            "order": shot.episode.order,
            "episode": shot.episode,
            "form": form,
            "shot": shot,
        },
        status=400 if form.errors else 200,
    )


@member_required
@require_POST
def shot_status(request: HttpRequest, pk: int) -> HttpResponse:
    shot = selectors.access_shot(request.user, pk)
    to_status = request.POST.get("status", "")
    try:
        production.change_shot_status(actor=request.user, shot=shot, to_status=to_status)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("Shot %(code)s is now “%(status)s”.")
            % {"code": shot.code, "status": Shot.Status(to_status).label},
        )
    return redirect(reverse("shot-detail", args=[shot.pk]))


@member_required
@require_POST
def shot_delete(request: HttpRequest, pk: int) -> HttpResponse:
    selectors.require_business(request.user)
    shot = selectors.access_shot(request.user, pk)
    episode = shot.episode
    try:
        production.delete_shot(actor=request.user, shot=shot)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(reverse("shot-detail", args=[shot.pk]))
    messages.success(request, _("Shot %(code)s was deleted.") % {"code": shot.code})
    return redirect(episode_url(episode, "shots"))


@member_required
def my_shots(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "open")
    if status not in {"open", "", *Shot.Status.values}:
        status = "open"
    qs = selectors.prepare_shots(selectors.my_shots(request.user, status=status))
    page = Paginator(qs, MY_SHOTS_PAGE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    selectors.attach_take_numbers(rows)
    return render(
        request,
        "orders/production/my_shots.html",
        {
            "nav": "shots",
            "page_obj": page,
            "shots": rows,
            "status": status,
            "statuses": Shot.Status.choices,
        },
    )
