"""Who may open a staff page: decorators shared by every orders/clients view."""

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


def _requires(check: Callable[[Any], bool]) -> Callable[[View], View]:
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


# Anonymous visitors go to the login page; signed-in users outside the team get 403.
member_required = _requires(roles.is_member)
# Clients, order terms and money: owners and producers only.
business_required = _requires(roles.can_manage_business)
