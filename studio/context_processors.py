from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from studio import roles


def studio(request: HttpRequest) -> dict[str, Any]:
    """The studio profile and the viewer's permissions, for every template."""
    user = getattr(request, "user", None)
    return {
        "studio_profile": getattr(request, "studio_profile", None),
        "can_see_money": roles.can_see_money(user),
        "can_manage_business": roles.can_manage_business(user),
        "is_owner": roles.is_owner(user),
        "user_role": roles.role_of(user),
    }
