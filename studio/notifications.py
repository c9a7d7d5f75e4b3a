"""Tell team members about something: an in-app notification, then an e-mail after commit."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone, translation

from studio.models import Membership, Notification


def member_language(user: Any) -> str:
    membership = getattr(user, "membership", None)
    return (membership.language if membership else "") or settings.LANGUAGE_CODE


def notify(
    *,
    users: Iterable[Any],
    kind: str,
    render: Callable[[], tuple[str, str]],
    url: str = "",
) -> list[Notification]:
    """Create one notification per distinct active user; e-mails go out after commit.

    `render` returns (title, body) and is called once per recipient inside that
    recipient's language, so each person reads it in their own language.
    """
    created: list[Notification] = []
    seen: set[int] = set()
    for user in users:
        if user is None or user.pk in seen or not user.is_active:
            continue
        seen.add(user.pk)
        with translation.override(member_language(user)):
            title, body = render()
        created.append(
            Notification(
                user=user,
                kind=kind,
                title=str(title)[:200],
                body=str(body),
                url=url,
                email_wanted=bool(user.email),
            )
        )
    Notification.objects.bulk_create(created)
    ids = [n.pk for n in created if n.email_wanted and n.pk]
    if ids:
        from studio import tasks

        transaction.on_commit(lambda: [tasks.email_notification.delay(pk) for pk in ids])
    return created


def studio_recipients(*, extra: Iterable[Any] = ()) -> list[Any]:
    """Owners plus the given users (e.g. the order's assignee)."""
    owners = [
        m.user
        for m in Membership.objects.filter(role=Membership.Role.OWNER, user__is_active=True)
        .select_related("user")
        .order_by("pk")
    ]
    return owners + [u for u in extra if u is not None]


def email_notification(*, notification_id: int) -> bool:
    """Send the notification's e-mail once. Claims the row first; returns False if already
    sent (or claimed by another worker) or gone."""
    now = timezone.now()
    claimed = Notification.objects.filter(
        pk=notification_id, email_wanted=True, emailed_at__isnull=True
    ).update(emailed_at=now)
    if claimed != 1:
        return False
    notification = Notification.objects.select_related("user").get(pk=notification_id)
    try:
        send_mail(
            subject=notification.title,
            message=_email_body(notification),
            from_email=None,
            recipient_list=[notification.user.email],
        )
    except Exception:
        # Give the claim back so a retry (or the sweep) can send it.
        Notification.objects.filter(pk=notification_id, emailed_at=now).update(emailed_at=None)
        raise
    return True


def _email_body(notification: Notification) -> str:
    base = getattr(settings, "SITE_URL", "").rstrip("/")
    link = f"\n\n{base}{notification.url}" if notification.url else ""
    return f"{notification.body}{link}\n"


def mark_read(*, user: Any, notification_ids: Iterable[int] | None = None) -> int:
    """Mark the user's notifications read (all unread when ids is None)."""
    qs = Notification.objects.filter(user=user, read_at__isnull=True)
    if notification_ids is not None:
        qs = qs.filter(pk__in=list(notification_ids))
    return qs.update(read_at=timezone.now())


def unsent_email_ids(*, older_than: dt.timedelta) -> list[int]:
    cutoff = timezone.now() - older_than
    return list(
        Notification.objects.filter(
            email_wanted=True, emailed_at__isnull=True, created_at__lt=cutoff
        ).values_list("pk", flat=True)[:500]
    )
