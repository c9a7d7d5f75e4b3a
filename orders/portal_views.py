"""The client's order page, opened from a secret link. No sign-in, one order only."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST, require_safe

from orders import extensions, portal
from orders.models import Deliverable, Order, OrderEvent, PortalLink
from orders.views.files import serve_stored_file
from studio.errors import DomainError
from studio.models import StudioProfile

LANG_COOKIE = "reeldesk_portal_lang"
CSRF_COOKIE = "reeldesk_portal_csrf"
CSRF_FIELD = "csrf"
LANGS = {code for code, _name in settings.LANGUAGES}
BAD_TOKEN_LIMIT = 20  # per address per window
BAD_TOKEN_WINDOW = 600  # seconds
S = Order.Status
# The client's view of the lifecycle: (step label, statuses shown as that step).
STEPS: list[tuple[str, frozenset[str]]] = [
    ("Quote", frozenset({S.INQUIRY, S.QUOTED})),
    ("Accepted", frozenset({S.ACCEPTED})),
    ("In production", frozenset({S.IN_PRODUCTION, S.REVISION})),
    ("Your review", frozenset({S.IN_REVIEW})),
    ("Delivered", frozenset({S.DELIVERED})),
    ("Completed", frozenset({S.COMPLETED})),
]
STEP_LABELS = {
    "Quote": pgettext_lazy("portal step", "Quote"),
    "Accepted": pgettext_lazy("portal step", "Accepted"),
    "In production": pgettext_lazy("portal step", "Production"),
    "Your review": pgettext_lazy("portal step", "Review"),
    "Delivered": pgettext_lazy("portal step", "Delivered"),
    "Completed": pgettext_lazy("portal step", "Done"),
}


def _client_address(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def _throttle_key(request: HttpRequest) -> str:
    return f"portal-bad-token:{_client_address(request)}"


def _is_throttled(request: HttpRequest) -> bool:
    try:
        return int(cache.get(_throttle_key(request), 0)) >= BAD_TOKEN_LIMIT
    except Exception:  # a cache outage must not take the client's page down
        return False


def _count_bad_token(request: HttpRequest) -> None:
    key = _throttle_key(request)
    try:
        if not cache.add(key, 1, BAD_TOKEN_WINDOW):
            cache.incr(key)
    except ValueError:
        cache.set(key, 1, BAD_TOKEN_WINDOW)
    except Exception:  # see _is_throttled
        return


def _harden(response: HttpResponseBase) -> HttpResponseBase:
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow, noarchive"
    response["Cache-Control"] = "private, no-store"
    return response


def _language(request: HttpRequest, link: PortalLink) -> str:
    asked = request.GET.get("lang", "")
    if asked in LANGS:
        return asked
    remembered = request.COOKIES.get(LANG_COOKIE, "")
    if remembered in LANGS:
        return remembered
    return link.order.client.language if link.order.client.language in LANGS else "en"


PortalView = Callable[..., HttpResponseBase]


# Why the portal has its own CSRF check: its pages must send `Referrer-Policy: no-referrer`
# so the secret link never leaks, and under that policy browsers send `Origin: null` with
# every form post, which Django's CSRF middleware rightly refuses. The portal therefore
# uses a double-submit token instead: a random value in a SameSite=Lax cookie (never sent
# with a cross-site POST) that must equal the value in the form. A forger would also need
# the secret link itself.
def _csrf_value(request: HttpRequest) -> str:
    current = request.COOKIES.get(CSRF_COOKIE, "")
    if len(current) == 43:
        return current
    return secrets.token_urlsafe(32)


def _csrf_ok(request: HttpRequest) -> bool:
    cookie = request.COOKIES.get(CSRF_COOKIE, "")
    sent = request.POST.get(CSRF_FIELD, "")
    origin = request.headers.get("Origin")
    if origin not in (None, "null") and origin != f"{request.scheme}://{request.get_host()}":
        return False
    return len(cookie) == 43 and secrets.compare_digest(cookie.encode(), sent.encode())


def portal_view(view: PortalView) -> PortalView:
    """Resolve the token to its one order (or the same plain 404), in the client's language."""

    @csrf_exempt  # checked below with the portal's own double-submit token
    @wraps(view)
    def wrapper(request: HttpRequest, token: str, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if _is_throttled(request):
            return _harden(HttpResponse(_("Too many attempts. Try again later."), status=429))
        link = portal.resolve_link(token)
        if link is None:
            _count_bad_token(request)
            return _harden(render(request, "orders/portal/not_found.html", status=404))
        language = _language(request, link)
        csrf_value = _csrf_value(request)
        request.portal_csrf = csrf_value  # type: ignore[attr-defined]
        with translation.override(language):
            request.LANGUAGE_CODE = language
            response: HttpResponseBase
            if request.method == "POST" and not _csrf_ok(request):
                response = render(request, "orders/portal/expired.html", status=403)
            else:
                response = view(request, link, *args, **kwargs)
        if request.COOKIES.get(CSRF_COOKIE) != csrf_value:
            response.set_cookie(
                CSRF_COOKIE,
                csrf_value,
                max_age=7 * 24 * 3600,
                path="/o/",
                samesite="Lax",
                secure=request.is_secure(),
                httponly=True,
            )
        if request.GET.get("lang") in LANGS:
            response.set_cookie(
                LANG_COOKIE,
                language,
                max_age=365 * 24 * 3600,
                path="/o/",
                samesite="Lax",
                secure=request.is_secure(),
                httponly=True,
            )
        return _harden(response)

    return wrapper


def _steps(order: Order) -> list[dict[str, Any]]:
    current = next((i for i, (_l, states) in enumerate(STEPS) if order.status in states), None)
    return [
        {
            "label": STEP_LABELS[label],
            "state": (
                "done"
                if current is not None and i < current
                else "current"
                if i == current
                else "todo"
            ),
        }
        for i, (label, _states) in enumerate(STEPS)
    ]


def _public_events(order: Order) -> list[OrderEvent]:
    return list(
        order.events.filter(public=True)
        .exclude(kind=OrderEvent.Kind.CREATED)
        .order_by("-created_at", "-pk")[:50]
    )


@require_safe
@portal_view
def portal_page(request: HttpRequest, link: PortalLink) -> HttpResponse:
    order = link.order
    deliverables = list(order.deliverables.order_by("title", "-version"))
    groups: dict[str, list[Deliverable]] = {}
    for deliverable in sorted(deliverables, key=lambda d: d.created_at, reverse=True):
        groups.setdefault(deliverable.title, []).append(deliverable)
    for versions in groups.values():
        versions.sort(key=lambda d: d.version, reverse=True)
    in_review = order.status == S.IN_REVIEW
    latest = max(deliverables, key=lambda d: (d.created_at, d.pk), default=None)
    actions = list(order.client_actions.prefetch_related("comments").all()[:20])
    context = {
        "link": link,
        "token": link.token,
        "order": order,
        "studio": StudioProfile.load(),
        "steps": _steps(order),
        "events": _public_events(order),
        "groups": groups,
        "latest": latest,
        "can_accept": order.status == S.QUOTED,
        "can_approve": in_review,
        "can_request_revision": order.status in {S.IN_REVIEW, S.DELIVERED},
        "next_round_is_extra": order.revision_rounds_used >= order.revision_rounds_included,
        "actions": actions,
        "form_key": secrets.token_urlsafe(24),
        "csrf_value": request.portal_csrf,  # type: ignore[attr-defined]
        "languages": settings.LANGUAGES,
        "current_language": translation.get_language(),
        "errors": {},
        "extra_sections": extensions.portal_sections(request, order, link.token),
    }
    return render(request, "orders/portal/order.html", context)


def _act(
    request: HttpRequest, link: PortalLink, do: Callable[[], portal.ActionResult], done: str
) -> HttpResponse:
    try:
        result = do()
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if result.created:
            messages.success(request, done)
        else:
            messages.info(request, _("We already have this. Nothing else to do."))
    return redirect("portal", token=link.token)


def _deliverable_id(request: HttpRequest) -> int | None:
    raw = request.POST.get("deliverable", "")
    if not raw:
        return None
    if not raw.isdigit():
        raise Http404
    return int(raw)


@require_POST
@portal_view
def portal_accept(request: HttpRequest, link: PortalLink) -> HttpResponse:
    return _act(
        request,
        link,
        lambda: portal.accept_quote(
            order=link.order, name=request.POST.get("name", ""), key=request.POST.get("key", "")
        ),
        _("Thank you! The quote is accepted and the studio has been told."),
    )


@require_POST
@portal_view
def portal_decline(request: HttpRequest, link: PortalLink) -> HttpResponse:
    return _act(
        request,
        link,
        lambda: portal.decline_quote(
            order=link.order,
            reason=request.POST.get("reason", ""),
            key=request.POST.get("key", ""),
        ),
        _("The studio has been told that you declined the quote."),
    )


@require_POST
@portal_view
def portal_approve(request: HttpRequest, link: PortalLink) -> HttpResponse:
    deliverable_id = _deliverable_id(request)
    return _act(
        request,
        link,
        lambda: portal.approve_delivery(
            order=link.order, key=request.POST.get("key", ""), deliverable_id=deliverable_id
        ),
        _("Approved. Thank you! The studio has been told."),
    )


@require_POST
@portal_view
def portal_revision(request: HttpRequest, link: PortalLink) -> HttpResponse:
    deliverable_id = _deliverable_id(request)
    return _act(
        request,
        link,
        lambda: portal.request_revision(
            order=link.order,
            comment=request.POST.get("comment", ""),
            key=request.POST.get("key", ""),
            deliverable_id=deliverable_id,
        ),
        _("Your revision request has been sent to the studio."),
    )


@require_safe
@portal_view
def portal_file(request: HttpRequest, link: PortalLink, did: int) -> HttpResponseBase:
    deliverable = link.order.deliverables.filter(pk=did, kind=Deliverable.Kind.FILE).first()
    if deliverable is None:
        raise Http404
    return serve_stored_file(
        request,
        deliverable.file,
        content_type=deliverable.content_type,
        filename=deliverable.original_name or deliverable.file.name.rsplit("/", 1)[-1],
    )


@require_safe
@portal_view
def portal_logo(request: HttpRequest, link: PortalLink) -> HttpResponseBase:
    studio = StudioProfile.load()
    if not studio.logo:
        raise Http404
    name = studio.logo.name.lower()
    content_type = "image/png" if name.endswith(".png") else "image/jpeg"
    return serve_stored_file(request, studio.logo, content_type=content_type, filename="logo")
