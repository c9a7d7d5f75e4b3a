"""Sign-in backend: Django's ModelBackend, reading with the user what every page asks.

Every page asks for the signed-in user's role (studio.roles.role_of) and shows the bell's
unread count (studio.templatetags.notification_tags); reading both in the same query as
the user saves two queries on every page.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend

from studio import notifications, roles


class RoleModelBackend(ModelBackend):
    def get_user(self, user_id: Any) -> Any:
        user = (
            get_user_model()
            ._default_manager.annotate(
                studio_role=roles.role_subquery(),
                studio_unread=notifications.unread_subquery(),
            )
            .filter(pk=user_id)
            .first()
        )
        if user is None or not self.user_can_authenticate(user):
            return None
        roles.remember_role(user, user.studio_role)
        notifications.remember_unread(user, user.studio_unread)
        return user
