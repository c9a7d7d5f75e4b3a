"""The bell in the top bar: {% load notification_tags %}{% unread_notifications as n %}."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def unread_notifications(context: dict[str, Any]) -> int:
    """The signed-in user's unread count: read with the user (studio.auth_backends), else
    one COUNT on an index, once per request."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if request is None or user is None or not user.is_authenticated:
        return 0
    from studio.notifications import unread_count

    return unread_count(user)
