"""Who may do what. Every view, API endpoint and admin page asks these functions."""

from __future__ import annotations

from typing import Any, cast

from django.db.models import OuterRef, Subquery

from studio.models import Membership

Role = Membership.Role


def role_subquery(user_column: str = "pk") -> Subquery:
    """The role of the user whose id is in `user_column` of the outer query, for reading
    it with the user in one query (remember_role then spares role_of its own query)."""
    return Subquery(
        Membership.objects.filter(user_id=OuterRef(user_column)).order_by("pk").values("role")[:1]
    )


def remember_role(user: Any, role: str | None) -> None:
    """Cache a role read together with the user (role_subquery) on the user object."""
    user._reeldesk_role = role


def role_of(user: Any) -> str | None:
    """The user's role, or None for anonymous users and users outside the team."""
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    if user.is_superuser:
        return Role.OWNER
    # Cached on the user object: pages ask several times per request.
    if hasattr(user, "_reeldesk_role"):
        return cast(str | None, user._reeldesk_role)
    membership = Membership.objects.filter(user_id=user.pk).values_list("role", flat=True).first()
    user._reeldesk_role = membership
    return membership


def is_member(user: Any) -> bool:
    return role_of(user) is not None


def is_owner(user: Any) -> bool:
    return role_of(user) == Role.OWNER


def can_manage_business(user: Any) -> bool:
    """Clients, orders, prices, billing: owners and producers."""
    return role_of(user) in {Role.OWNER, Role.PRODUCER}


def can_see_money(user: Any) -> bool:
    return can_manage_business(user)


def is_artist(user: Any) -> bool:
    return role_of(user) == Role.ARTIST
