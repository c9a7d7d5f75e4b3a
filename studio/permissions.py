"""DRF permissions built on studio.roles.

Anonymous requests fail every one of these and DRF answers 401 (the Bearer
authenticator names its scheme); signed-in users outside the team get 403.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from studio import roles


class IsStudioMember(BasePermission):
    message = _("You are not a member of this studio.")

    def has_permission(self, request: Request, view: Any) -> bool:
        return roles.is_member(request.user)


class CanManageBusiness(BasePermission):
    message = _("Only owners and producers can use this.")

    def has_permission(self, request: Request, view: Any) -> bool:
        return roles.can_manage_business(request.user)


class IsOwner(BasePermission):
    message = _("Only the studio owner can use this.")

    def has_permission(self, request: Request, view: Any) -> bool:
        return roles.is_owner(request.user)


class MemberReadsBusinessWrites(BasePermission):
    """Any member may use the view's `member_actions` (e.g. list, retrieve, a transition,
    which the service checks further); other actions need an owner or a producer.
    Put IsStudioMember before it so that outsiders hear they are not on the team."""

    message = _("Only owners and producers can use this.")

    def has_permission(self, request: Request, view: Any) -> bool:
        if getattr(view, "action", None) in getattr(view, "member_actions", ()):
            return True
        return roles.can_manage_business(request.user)
