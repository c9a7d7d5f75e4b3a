"""Tell team members about something: an in-app notification (the bell), and an e-mail
after commit for those who want one.

The e-mail is a job on the notification row (Notification.EmailState):

    pending --claim--> claimed --sent--> sent
                          |--error--> pending (transient, tries left) / failed

The claim is a conditional update that also stamps `email_claimed_at`; a worker killed
after claiming leaves a claim that `sweep_emails` hands back once it is older than any
task may run, so the e-mail is never lost. Run twice, the job sends once: the second run
finds the row claimed or sent. (A worker killed after the mail server accepted the
message but before the row says "sent" sends it again after the sweep: at least once,
never zero times.)
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db.models import F, Func, OuterRef, Q, Subquery
from django.template.loader import render_to_string
from django.utils import timezone, translation

from studio.models import Membership, Notification

logger = logging.getLogger(__name__)

# One more than the task's Celery retries: when they run out, the row shows as failed.
MAX_EMAIL_ATTEMPTS = 5
State = Notification.EmailState


def member_language(user: Any) -> str:
    membership = getattr(user, "membership", None)
    return (membership.language if membership else "") or settings.LANGUAGE_CODE


def wants_email(user: Any) -> bool:
    """The user has an address and has not turned notification e-mails off."""
    membership = getattr(user, "membership", None)
    enabled = membership.email_notifications if membership is not None else True
    return bool(user.email) and enabled


def notify(
    *,
    users: Iterable[Any],
    kind: str,
    render: Callable[[], tuple[str, str]],
    url: str = "",
) -> list[Notification]:
    """Create one notification per distinct active user; e-mails go out after commit.

    `render` returns (title, body) and is called once per recipient inside that
    recipient's language, so each person reads it in their own language. Call it inside
    the transaction of the change it reports.
    """
    created: list[Notification] = []
    seen: set[int] = set()
    for user in users:
        if user is None or user.pk in seen or not user.is_active:
            continue
        seen.add(user.pk)
        with translation.override(member_language(user)):
            title, body = render()
        email = wants_email(user)
        created.append(
            Notification(
                user=user,
                kind=kind,
                title=str(title)[:200],
                body=str(body),
                url=url,
                email_wanted=email,
                email_state=State.PENDING if email else State.NONE,
            )
        )
    Notification.objects.bulk_create(created)
    ids = [n.pk for n in created if n.email_wanted and n.pk]
    if ids:
        from studio import tasks

        tasks.enqueue_many(tasks.email_notification, ids)
    return created


def studio_recipients(*, extra: Iterable[Any] = ()) -> list[Any]:
    """Owners plus the given users (e.g. the order's assignee)."""
    owners = [
        m.user
        for m in Membership.objects.filter(role=Membership.Role.OWNER, user__is_active=True)
        .select_related("user", "user__membership")
        .order_by("pk")
    ]
    return owners + [u for u in extra if u is not None]


# --- The e-mail job -------------------------------------------------------------------


def email_notification(*, notification_id: int) -> bool:
    """Send the notification's e-mail once. Idempotent: False when it is already sent,
    claimed by another worker, not wanted or gone. Raises the error of a failed send
    after recording it (pending again while tries remain, else failed)."""
    now = timezone.now()
    claimed = Notification.objects.filter(
        pk=notification_id, email_wanted=True, email_state=State.PENDING
    ).update(
        email_state=State.CLAIMED, email_claimed_at=now, email_attempts=F("email_attempts") + 1
    )
    if claimed != 1:
        return False
    notification = (
        Notification.objects.select_related("user", "user__membership")
        .filter(pk=notification_id)
        .first()
    )
    if notification is None:
        return False
    mine = Notification.objects.filter(
        pk=notification_id, email_state=State.CLAIMED, email_claimed_at=now
    )
    try:
        if not notification.user.email:
            mine.update(email_state=State.NONE)
            return False
        message = build_email(notification)
        message.send()
    except Exception as exc:
        from studio.tasks import TRANSIENT_ERRORS

        transient = isinstance(exc, TRANSIENT_ERRORS)
        final = not transient or notification.email_attempts >= MAX_EMAIL_ATTEMPTS
        mine.update(
            email_state=State.FAILED if final else State.PENDING,
            email_error=f"{exc.__class__.__name__}: {exc}"[:300],
        )
        raise
    mine.update(email_state=State.SENT, emailed_at=timezone.now(), email_error="")
    return True


def build_email(notification: Notification) -> EmailMultiAlternatives:
    """The e-mail for a notification, in the recipient's language."""
    base = getattr(settings, "SITE_URL", "").rstrip("/")
    context = {
        "notification": notification,
        "link": f"{base}{notification.url}" if notification.url else "",
        "settings_link": f"{base}/notifications/",
    }
    with translation.override(member_language(notification.user)):
        subject = render_to_string("emails/notification_subject.txt", context)
        text = render_to_string("emails/notification_body.txt", context)
        html = render_to_string("emails/notification_body.html", context)
    message = EmailMultiAlternatives(
        subject=" ".join(subject.split())[:200],
        body=text,
        to=[notification.user.email],
    )
    message.attach_alternative(html, "text/html")
    return message


def sweep_emails(*, older_than_seconds: float = 120, stale_claim_seconds: float = 300) -> int:
    """Hand back claims older than any task may run, then enqueue every e-mail still
    waiting for longer than older_than_seconds. Returns how many were enqueued."""
    from studio import tasks

    now = timezone.now()
    Notification.objects.filter(
        email_state=State.CLAIMED,
        email_claimed_at__lt=now - dt.timedelta(seconds=stale_claim_seconds),
    ).update(email_state=State.PENDING)
    ids = list(
        Notification.objects.filter(
            email_state=State.PENDING,
            created_at__lte=now - dt.timedelta(seconds=older_than_seconds),
        )
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)[:1000]
    )
    tasks.enqueue_many(tasks.email_notification, ids)
    return len(ids)


def unsent_email_ids(*, older_than: dt.timedelta) -> list[int]:
    """E-mails still waiting (pending or claimed) after older_than."""
    cutoff = timezone.now() - older_than
    return list(
        Notification.objects.filter(
            email_state__in=[State.PENDING, State.CLAIMED], created_at__lt=cutoff
        ).values_list("pk", flat=True)[:500]
    )


# --- Reading ----------------------------------------------------------------------------


def unread_count(user: Any) -> int:
    """The user's unread notifications: read with the user on a page request (see
    unread_subquery), else one COUNT."""
    remembered = getattr(user, "_reeldesk_unread", None)
    if remembered is not None:
        return int(remembered)
    count = Notification.objects.filter(user=user, read_at__isnull=True).count()
    remember_unread(user, count)
    return count


def unread_subquery(user_column: str = "pk") -> Subquery:
    """The unread count of the user whose id is in `user_column` of the outer query."""
    return Subquery(
        Notification.objects.filter(user_id=OuterRef(user_column), read_at__isnull=True)
        .order_by()
        .annotate(n=Func(F("pk"), function="COUNT"))
        .values("n")
    )


def remember_unread(user: Any, count: int | None) -> None:
    """Keep a count read with the user (unread_subquery) for this request's bell."""
    user._reeldesk_unread = count


def mark_read(*, user: Any, notification_ids: Iterable[int] | None = None) -> int:
    """Mark the user's notifications read (all unread when ids is None). Idempotent;
    returns how many changed. Other people's notifications are never touched."""
    qs = Notification.objects.filter(user=user, read_at__isnull=True)
    if notification_ids is not None:
        qs = qs.filter(pk__in=list(notification_ids))
    changed = qs.update(read_at=timezone.now())
    if changed:
        remember_unread(user, None)  # a count read with the user is out of date now
    return changed


def set_email_preference(*, user: Any, enabled: bool) -> bool:
    """Turn the user's notification e-mails on or off; waiting e-mails follow. Returns
    whether anything changed."""
    changed = (
        Membership.objects.filter(user=user)
        .exclude(email_notifications=enabled)
        .update(email_notifications=enabled)
    )
    if changed and not enabled:
        Notification.objects.filter(
            Q(email_state=State.PENDING), user=user, email_wanted=True
        ).update(email_wanted=False, email_state=State.NONE)
    return changed == 1
