"""DRF permissions built on studio.roles."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from studio import roles


class IsStudioMember(BasePermission):
    message = "You are not a member of this studio."

    def has_permission(self, request: Request, view: Any) -> bool:
        return roles.is_member(request.user)


class CanManageBusiness(BasePermission):
    message = "Only owners and producers can use this."

    def has_permission(self, request: Request, view: Any) -> bool:
        return roles.can_manage_business(request.user)


class IsOwner(BasePermission):
    message = "Only the studio owner can use this."

    def has_permission(self, request: Request, view: Any) -> bool:
        return roles.is_owner(request.user)
