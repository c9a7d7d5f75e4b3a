"""Who may open a staff page: one decorator factory used by every app's views."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.http.response import HttpResponseBase

from studio import roles

View = Callable[..., HttpResponseBase]


def requires(check: Callable[[Any], bool]) -> Callable[[View], View]:
    """Anonymous visitors go to the sign-in page; signed-in users failing check get 403."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not check(request.user):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


# Any member of the studio team.
member_required = requires(roles.is_member)
# Clients, order terms and money: owners and producers only.
business_required = requires(roles.can_manage_business)
# Studio settings and the team.
owner_required = requires(roles.is_owner)
