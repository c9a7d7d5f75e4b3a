"""Operations that change studio-level state: numbering, tokens, team roles."""

from __future__ import annotations

import secrets
from typing import Any

from django.db import transaction
from django.utils import timezone

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
        ApiToken.objects.active().select_related("user").filter(digest=hash_token(raw)).first()
    )
    if token is None or not token.user.is_active:
        return None
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
