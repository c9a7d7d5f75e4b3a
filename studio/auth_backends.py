"""Sign-in backend: Django's ModelBackend, reading the studio role with the user.

Every page asks for the signed-in user's role (studio.roles.role_of); reading it in the
same query as the user saves that query on every request.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend

from studio import roles


class RoleModelBackend(ModelBackend):
    def get_user(self, user_id: Any) -> Any:
        user = (
            get_user_model()
            ._default_manager.annotate(studio_role=roles.role_subquery())
            .filter(pk=user_id)
            .first()
        )
        if user is None or not self.user_can_authenticate(user):
            return None
        roles.remember_role(user, user.studio_role)
        return user
