"""Studio-level pages: sign-in, dashboard, studio settings, team and API tokens."""

from __future__ import annotations

import mimetypes
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from studio import attention, services
from studio import dashboard as dashboard_selectors
from studio.access import member_required, owner_required
from studio.errors import DomainError
from studio.forms import ApiTokenForm, RoleForm, SignInForm, StudioProfileForm, TeamMemberForm
from studio.models import ApiToken, Membership, StudioProfile

View = Callable[..., HttpResponseBase]


def _signed_in(request: HttpRequest) -> Any:
    """The signed-in user of a view behind member_required/owner_required."""
    return request.user


# --- Sign-in -------------------------------------------------------------------------


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True

    def get_redirect_url(self) -> str:
        # Django checks that `next` stays on this site; also drop a `next` pointing back
        # here, which would loop for a signed-in visitor.
        url = super().get_redirect_url()
        return "" if url.split("?")[0] == self.request.path else url


class LogoutView(auth_views.LogoutView):
    """POST only (Django's default); goes back to the sign-in page."""


# --- Dashboard -----------------------------------------------------------------------


@require_GET
@member_required
def dashboard(request: HttpRequest) -> HttpResponse:
    user = request.user
    profile = getattr(request, "studio_profile", None) or StudioProfile.load()
    context = {
        "nav": "dashboard",
        "page": dashboard_selectors.dashboard_page(user, profile=profile),
        "attention": attention.needs_attention(user),
    }
    return render(request, "studio/dashboard.html", context)


# --- Studio settings -----------------------------------------------------------------


def _profile_fields(form: StudioProfileForm) -> dict[str, Any]:
    fields = {name: form.cleaned_data[name] for name in form.Meta.fields if name != "logo"}
    logo = form.cleaned_data.get("logo")
    if isinstance(logo, UploadedFile):
        fields["logo"] = logo
    elif form.cleaned_data.get("remove_logo"):
        fields["logo"] = ""
    return fields


@require_http_methods(["GET", "POST"])
@owner_required
def studio_settings(request: HttpRequest) -> HttpResponse:
    profile = StudioProfile.load()
    old_logo = profile.logo.name or ""
    if request.method == "POST":
        form = StudioProfileForm(request.POST, request.FILES, instance=profile)
        if form.is_valid():
            try:
                profile = services.update_profile(profile=profile, fields=_profile_fields(form))
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                if old_logo and old_logo != (profile.logo.name or ""):
                    transaction.on_commit(lambda: default_storage.delete(old_logo))
                messages.success(request, _("The studio settings were saved."))
                return redirect("studio-settings")
    else:
        form = StudioProfileForm(instance=profile)
    return render(
        request,
        "studio/settings.html",
        {"nav": "settings", "form": form, "has_logo": bool(old_logo)},
    )


@require_GET
@member_required
def studio_logo(request: HttpRequest) -> HttpResponseBase:
    """The studio logo, for signed-in team members only (media is never served directly)."""
    profile = StudioProfile.load()
    if not profile.logo:
        raise Http404
    try:
        handle = profile.logo.open("rb")
    except (FileNotFoundError, OSError) as exc:
        raise Http404 from exc
    content_type = mimetypes.guess_type(profile.logo.name)[0] or "application/octet-stream"
    response = FileResponse(handle, content_type=content_type)
    response["Cache-Control"] = "private, max-age=300"
    return response


# --- Team ----------------------------------------------------------------------------


def _team_context(form: TeamMemberForm) -> dict[str, Any]:
    people = (
        get_user_model().objects.select_related("membership").order_by("-is_active", "username")
    )
    return {
        "nav": "settings",
        "form": form,
        "people": people,
        "role_choices": Membership.Role.choices,
    }


@require_http_methods(["GET", "POST"])
@owner_required
def team(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = TeamMemberForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                user, generated = services.add_team_member(
                    username=data["username"],
                    email=data["email"],
                    full_name=data["full_name"],
                    role=data["role"],
                    password=data["password"],
                )
            except DomainError as exc:
                for field, errors in exc.fields.items():
                    for error in errors:
                        form.add_error(field if field in form.fields else None, error)
            else:
                messages.success(
                    request,
                    _("%(username)s was added to the team.") % {"username": user.get_username()},
                )
                if not generated:
                    return redirect("team")
                # The generated password is shown on this response only and never stored.
                context = _team_context(TeamMemberForm())
                context.update({"new_user": user, "generated_password": generated})
                response = render(request, "studio/team.html", context)
                response["Cache-Control"] = "no-store"
                return response
    else:
        form = TeamMemberForm()
    return render(request, "studio/team.html", _team_context(form))


def _team_user(pk: int) -> Any:
    return get_object_or_404(get_user_model(), pk=pk)


@require_POST
@owner_required
def team_role(request: HttpRequest, pk: int) -> HttpResponse:
    person = _team_user(pk)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose one of the roles."))
        return redirect("team")
    try:
        membership = services.change_role(user=person, role=form.cleaned_data["role"])
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("%(username)s is now: %(role)s.")
            % {"username": person.get_username(), "role": membership.get_role_display()},
        )
    return redirect("team")


@require_POST
@owner_required
def team_deactivate(request: HttpRequest, pk: int) -> HttpResponse:
    person = _team_user(pk)
    try:
        changed = services.deactivate_member(user=person)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("team")
    if changed:
        messages.success(
            request,
            _("%(username)s was deactivated and can no longer sign in or use the API.")
            % {"username": person.get_username()},
        )
    if person.pk == request.user.pk:
        return redirect("login")
    return redirect("team")


@require_POST
@owner_required
def team_reactivate(request: HttpRequest, pk: int) -> HttpResponse:
    person = _team_user(pk)
    if services.reactivate_member(user=person):
        messages.success(
            request,
            _("%(username)s can sign in again.") % {"username": person.get_username()},
        )
    return redirect("team")


# --- API tokens ----------------------------------------------------------------------


def _tokens_context(request: HttpRequest, form: ApiTokenForm) -> dict[str, Any]:
    return {
        "form": form,
        "tokens": ApiToken.objects.filter(user=_signed_in(request)).order_by("-created_at", "-pk"),
    }


@never_cache
@require_http_methods(["GET", "POST"])
@member_required
def api_tokens(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = ApiTokenForm(request.POST)
        if form.is_valid():
            token, raw = services.create_api_token(
                user=request.user, name=form.cleaned_data["name"]
            )
            # Rendered in this response only: the raw token is stored nowhere.
            response = render(
                request, "studio/api_token_created.html", {"token": token, "raw": raw}
            )
            response["Cache-Control"] = "no-store"
            return response
    else:
        form = ApiTokenForm()
    return render(request, "studio/api_tokens.html", _tokens_context(request, form))


@require_POST
@member_required
def revoke_token(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    if services.revoke_api_token(token=token):
        messages.success(request, _("The token “%(name)s” was revoked.") % {"name": token.name})
    else:
        messages.info(
            request, _("The token “%(name)s” was already revoked.") % {"name": token.name}
        )
    return redirect("api-tokens")


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A styled, translated page instead of Django's bare CSRF failure page."""
    return render(request, "403_csrf.html", status=403)
