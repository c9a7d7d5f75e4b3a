"""Operations that change studio-level state: numbering, tokens, team roles."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from studio import roles
from studio.errors import Conflict, InvalidInput
from studio.models import ApiToken, Counter, Membership, StudioProfile, hash_token

TOKEN_PREFIX = "rdk_"


def next_number(*, series: str, year: int) -> int:
    """Take the next number of (series, year). Must run inside the caller's transaction.

    The counter row is locked FOR UPDATE (PostgreSQL); on SQLite the IMMEDIATE
    transaction already serialises writers. A rolled-back caller gives its number back,
    so numbers have no gaps.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("next_number must be called inside transaction.atomic()")
    Counter.objects.get_or_create(series=series, year=year)
    counter = Counter.objects.select_for_update().get(series=series, year=year)
    counter.value += 1
    counter.save(update_fields=["value"])
    return counter.value


def create_api_token(*, user: Any, name: str) -> tuple[ApiToken, str]:
    """Create a token for user; returns the row and the raw token (shown once, never stored)."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name.strip()[:80] or "API", prefix=raw[:10], digest=hash_token(raw)
    )
    return token, raw


def revoke_api_token(*, token: ApiToken) -> bool:
    """Revoke the token. Idempotent: returns False when it was already revoked."""
    return (
        ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        == 1
    )


def authenticate_api_token(raw: str) -> ApiToken | None:
    """The active token matching raw, or None. Lookup is by SHA-256 digest, so timing
    reveals nothing about the stored secret."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 128:
        return None
    token = (
        ApiToken.objects.active()
        .select_related("user")
        .annotate(user_role=roles.role_subquery("user_id"))
        .filter(digest=hash_token(raw))
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    roles.remember_role(token.user, token.user_role)  # type: ignore[attr-defined]
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


def set_role(*, user: Any, role: str) -> Membership:
    """Give user the role (creating the membership). Idempotent."""
    membership, _created = Membership.objects.update_or_create(
        user=user, defaults={"role": Membership.Role(role)}
    )
    return membership


def update_profile(*, profile: StudioProfile, fields: dict[str, Any]) -> StudioProfile:
    """Save the given profile fields (already validated by a form or serializer)."""
    for key, value in fields.items():
        setattr(profile, key, value)
    profile.full_clean()
    profile.save()
    return profile


# --- Team ---------------------------------------------------------------------------


def _check_role(role: str) -> str:
    if role not in Membership.Role.values:
        message = _("“%(role)s” is not a role.") % {"role": role}
        raise InvalidInput(message, fields={"role": [message]})
    return role


def check_owner_remains(
    *, user: Any, new_role: str | None = None, deactivating: bool = False
) -> None:
    """Raise Conflict if the change would leave the studio without an active owner.

    Call inside the caller's transaction: the owners' rows are locked so that two owners
    demoting each other at the same moment cannot both succeed.
    """
    list(Membership.objects.select_for_update().filter(role=Membership.Role.OWNER))
    currently_owner = user.is_active and (
        user.is_superuser
        or Membership.objects.filter(user_id=user.pk, role=Membership.Role.OWNER).exists()
    )
    losing = deactivating or (new_role is not None and new_role != Membership.Role.OWNER)
    if not (currently_owner and losing):
        return
    others = (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(Q(membership__role=Membership.Role.OWNER) | Q(is_superuser=True))
        .exclude(pk=user.pk)
    )
    if others.exists():
        return
    if deactivating:
        message = _(
            "%(name)s is the studio's last owner and cannot be deactivated. "
            "Make someone else an owner first."
        )
    else:
        message = _(
            "%(name)s is the studio's last owner and must stay an owner. "
            "Make someone else an owner first."
        )
    raise Conflict(message % {"name": user.get_username()}, code="last_owner")


def add_team_member(
    *, username: str, email: str, full_name: str, role: str, password: str = ""
) -> tuple[Any, str]:
    """Create an active user with the role; returns (user, generated password or "").

    Not idempotent: a taken username is refused. Without a password a random one is
    generated and returned, so the page can show it once. The password is expected to
    be validated already (by the form).
    """
    _check_role(role)
    user_model = get_user_model()
    username = username.strip()
    if not username:
        message = _("Enter a username.")
        raise InvalidInput(message, fields={"username": [message]})
    if user_model.objects.filter(username__iexact=username).exists():
        message = _("The username “%(username)s” is taken.") % {"username": username}
        raise InvalidInput(message, fields={"username": [message]})
    generated = "" if password else secrets.token_urlsafe(12)
    with transaction.atomic():
        user = user_model.objects.create_user(
            username=username,
            email=email.strip(),
            password=password or generated,
            first_name=full_name.strip()[:150],
        )
        set_role(user=user, role=role)
    return user, generated


def change_role(*, user: Any, role: str) -> Membership:
    """Give user the role unless that leaves the studio without an owner. Idempotent."""
    _check_role(role)
    if user.is_superuser:
        raise Conflict(
            _(
                "%(name)s is a superuser and has every permission whatever the role; "
                "change that in the admin."
            )
            % {"name": user.get_username()},
            code="superuser",
        )
    with transaction.atomic():
        check_owner_remains(user=user, new_role=role)
        return set_role(user=user, role=role)


def deactivate_member(*, user: Any) -> bool:
    """Deactivate user (never delete) and revoke their API tokens, unless they are the
    last owner. Idempotent: returns False when the user was already inactive."""
    with transaction.atomic():
        if not get_user_model().objects.filter(pk=user.pk, is_active=True).exists():
            return False
        check_owner_remains(user=user, deactivating=True)
        get_user_model().objects.filter(pk=user.pk).update(is_active=False)
        ApiToken.objects.filter(user_id=user.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
    user.is_active = False
    return True


def reactivate_member(*, user: Any) -> bool:
    """Let a deactivated user sign in again (their revoked tokens stay revoked).

    Idempotent: returns False when the user was already active."""
    changed = get_user_model().objects.filter(pk=user.pk, is_active=False).update(is_active=True)
    user.is_active = True
    return changed == 1
