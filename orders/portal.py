"""The client's side of an order: the secret link and what a client may do through it.

Clients never sign in. Every function here takes the order the link resolved to, so a
client can only ever act on that one order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from orders.models import ClientAction, Deliverable, Order, OrderEvent, PortalLink, ReviewComment
from orders.portal_tokens import digest_of, looks_like_token, new_nonce
from orders.services import apply_transition, order_payload, record_event
from studio import events, roles
from studio.errors import Conflict, InvalidInput, NotPermitted
from studio.notifications import notify, studio_recipients

S = Order.Status
# A separator after the time may be a hyphen, an en or em dash, or a colon.
TIMECODE_LINE = re.compile(r"^\s*\[?(\d{1,3}):([0-5]\d)\]?\s*[-\u2013\u2014:]?\s*(.*)$")
MAX_COMMENT = 4000


# --- The link -------------------------------------------------------------------------


def resolve_link(token: str) -> PortalLink | None:
    """The active link for token, or None (unknown, rotated and disabled look the same)."""
    if not looks_like_token(token):
        return None
    link = (
        PortalLink.objects.active()
        .select_related("order", "order__client")
        .filter(digest=digest_of(token))
        .first()
    )
    if link is None:
        return None
    now = timezone.now()
    if link.last_opened_at is None or (now - link.last_opened_at).total_seconds() > 300:
        PortalLink.objects.filter(pk=link.pk).update(last_opened_at=now)
    return link


def active_link(order: Order) -> PortalLink | None:
    return order.portal_links.active().first()


def portal_path(link: PortalLink) -> str:
    return reverse("portal", args=[link.token])


def _require_business(actor: Any) -> None:
    if not roles.can_manage_business(actor):
        raise NotPermitted(_("Only owners and producers can manage client links."))


def rotate_link(*, actor: Any, order: Order) -> PortalLink:
    """Give the order a new client link; the old one stops working at once.

    Also used to enable the first link or re-enable a disabled one.
    """
    _require_business(actor)
    with transaction.atomic():
        Order.objects.select_for_update().filter(pk=order.pk).first()
        had_link = order.portal_links.active().update(revoked_at=timezone.now()) > 0
        link = PortalLink(order=order, nonce=new_nonce(), created_by=actor)
        link.digest = digest_of(link.token)
        link.save()
        record_event(
            order=order,
            kind=OrderEvent.Kind.PORTAL_LINK,
            actor=actor,
            public=False,
            message=_("New client link; the previous one no longer works.")
            if had_link
            else _("Client link enabled."),
        )
    return link


def disable_link(*, actor: Any, order: Order) -> bool:
    """Switch the client link off. Idempotent: False when there was none."""
    _require_business(actor)
    with transaction.atomic():
        changed = order.portal_links.active().update(revoked_at=timezone.now())
        if changed:
            record_event(
                order=order,
                kind=OrderEvent.Kind.PORTAL_LINK,
                actor=actor,
                public=False,
                message=_("Client link disabled."),
            )
    return changed > 0


# --- What the client does -------------------------------------------------------------


@dataclass(frozen=True)
class ActionResult:
    action: ClientAction
    created: bool  # False when the same form was submitted again (double click)


def parse_comments(text: str) -> list[tuple[int | None, str]]:
    """Split review text into comments; a line starting with mm:ss pins it to that time.

    Lines without a timecode continue the previous comment.
    """
    comments: list[tuple[int | None, str]] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        match = TIMECODE_LINE.match(line)
        if match and match.group(3).strip():
            seconds = int(match.group(1)) * 60 + int(match.group(2))
            comments.append((seconds, match.group(3).strip()))
        elif comments:
            timecode, body = comments[-1]
            comments[-1] = (timecode, f"{body}\n{line}")
        else:
            comments.append((None, line))
    return comments


def _check_key(key: str) -> str:
    key = (key or "").strip()
    if not re.fullmatch(r"[A-Za-z0-9_-]{16,64}", key):
        raise InvalidInput(_("This form has expired. Reload the page and try again."))
    return key


def _existing(order: Order, key: str) -> ClientAction | None:
    return ClientAction.objects.filter(order=order, key=key).first()


def _run_once(order: Order, key: str, act: Any) -> ActionResult:
    """Run act(locked_order) once per (order, key); a repeat returns the first result."""
    key = _check_key(key)
    previous = _existing(order, key)
    if previous is not None:
        return ActionResult(action=previous, created=False)
    try:
        with transaction.atomic():
            locked = Order.objects.select_for_update().get(pk=order.pk)
            if _existing(locked, key) is not None:
                raise IntegrityError("duplicate key")
            action = act(locked)
    except IntegrityError:
        previous = _existing(order, key)
        if previous is None:
            raise
        return ActionResult(action=previous, created=False)
    return ActionResult(action=action, created=True)


def _client_label(order: Order) -> str:
    """Who acted, as stored on the timeline: the client's own name, never translated text
    (the studio may read it in another language than the client wrote in)."""
    return (order.client.contact_name or order.client.name)[:120]


def _order_url(order: Order) -> str:
    return reverse("order-detail", args=[order.pk])


def _tell_studio(order: Order, kind: str, render: Any) -> None:
    notify(
        users=studio_recipients(extra=[order.assignee]),
        kind=kind,
        render=render,
        url=_order_url(order),
    )


def accept_quote(*, order: Order, name: str, key: str) -> ActionResult:
    """The client accepts the quoted price: the order becomes accepted and gets its due date.
    Idempotent per form key."""
    name = (name or "").strip()
    if not name:
        raise InvalidInput(
            _("Type your name to accept the quote."),
            fields={"name": [_("Type your name to accept the quote.")]},
        )

    def act(locked: Order) -> ClientAction:
        if locked.status != S.QUOTED:
            raise Conflict(_("This quote is no longer open for acceptance."), code="wrong_state")
        action = ClientAction.objects.create(
            order=locked, kind=ClientAction.Kind.ACCEPTED_QUOTE, key=key, name=name[:120]
        )
        apply_transition(
            order=locked,
            to_status=S.ACCEPTED,
            actor_label=name[:100],
        )
        events.publish("quote.accepted", {"order": order_payload(locked), "name": name})
        _tell_studio(
            locked,
            "client.accepted_quote",
            lambda: (
                _("%(ref)s: quote accepted") % {"ref": locked.reference},
                _("%(name)s accepted the quote for “%(title)s”. Due %(due)s.")
                % {
                    "name": name,
                    "title": locked.title,
                    "due": timezone.localtime(locked.due_at).strftime("%Y-%m-%d")
                    if locked.due_at
                    else "—",
                },
            ),
        )
        return action

    return _run_once(order, key, act)


def decline_quote(*, order: Order, reason: str, key: str) -> ActionResult:
    """The client declines the quote; the order goes back to inquiry for a new quote."""
    reason = (reason or "").strip()[:MAX_COMMENT]
    if not reason:
        raise InvalidInput(
            _("Tell the studio why, so they can send a better quote."),
            fields={"reason": [_("Tell the studio why, so they can send a better quote.")]},
        )

    def act(locked: Order) -> ClientAction:
        if locked.status != S.QUOTED:
            raise Conflict(_("This quote is no longer open."), code="wrong_state")
        action = ClientAction.objects.create(
            order=locked, kind=ClientAction.Kind.DECLINED_QUOTE, key=key, comment=reason
        )
        apply_transition(
            order=locked,
            to_status=S.INQUIRY,
            actor_label=_client_label(locked),
            note=reason,
        )
        events.publish("quote.declined", {"order": order_payload(locked), "reason": reason})
        _tell_studio(
            locked,
            "client.declined_quote",
            lambda: (
                _("%(ref)s: quote declined") % {"ref": locked.reference},
                _("The client declined the quote for “%(title)s”: %(reason)s")
                % {"title": locked.title, "reason": reason},
            ),
        )
        return action

    return _run_once(order, key, act)


def _reviewed_deliverable(order: Order, deliverable_id: int | None) -> Deliverable | None:
    if deliverable_id is None:
        return None
    deliverable = order.deliverables.filter(pk=deliverable_id).first()
    if deliverable is None:
        raise InvalidInput(_("That version is not part of this order."))
    return deliverable


def approve_delivery(*, order: Order, key: str, deliverable_id: int | None = None) -> ActionResult:
    """The client approves the version in review; the order becomes delivered."""

    def act(locked: Order) -> ClientAction:
        if locked.status != S.IN_REVIEW:
            raise Conflict(
                _("There is nothing waiting for your approval right now."), code="wrong_state"
            )
        deliverable = _reviewed_deliverable(locked, deliverable_id)
        action = ClientAction.objects.create(
            order=locked, kind=ClientAction.Kind.APPROVED, key=key, deliverable=deliverable
        )
        if deliverable is not None:
            Deliverable.objects.filter(pk=deliverable.pk).update(approved_at=timezone.now())
        label = f"{deliverable.title} v{deliverable.version}" if deliverable else ""
        apply_transition(
            order=locked,
            to_status=S.DELIVERED,
            actor_label=_client_label(locked),
            note=label,
        )
        events.publish(
            "deliverable.approved",
            {
                "order": order_payload(locked),
                "deliverable": deliverable.pk if deliverable else None,
            },
        )
        _tell_studio(
            locked,
            "client.approved",
            lambda: (
                _("%(ref)s: approved by the client") % {"ref": locked.reference},
                _("The client approved “%(title)s” (%(what)s).")
                % {"title": locked.title, "what": label}
                if label
                else _("The client approved “%(title)s”.") % {"title": locked.title},
            ),
        )
        return action

    return _run_once(order, key, act)


def request_revision(
    *, order: Order, comment: str, key: str, deliverable_id: int | None = None
) -> ActionResult:
    """The client asks for changes (timecoded lines allowed); the order goes to revision.

    A request past the included rounds is allowed and marked as an extra round.
    """
    comment = (comment or "").strip()
    if not comment:
        raise InvalidInput(
            _("Describe what should change."),
            fields={"comment": [_("Describe what should change.")]},
        )
    if len(comment) > MAX_COMMENT:
        raise InvalidInput(
            _("Please keep comments under %(n)s characters.") % {"n": MAX_COMMENT},
            fields={"comment": [_("Too long.")]},
        )
    parsed = parse_comments(comment)

    def act(locked: Order) -> ClientAction:
        if locked.status not in {S.IN_REVIEW, S.DELIVERED}:
            raise Conflict(
                _("Revisions can be requested while a version is in review or delivered."),
                code="wrong_state",
            )
        deliverable = _reviewed_deliverable(locked, deliverable_id)
        extra = locked.revision_rounds_used >= locked.revision_rounds_included
        action = ClientAction.objects.create(
            order=locked,
            kind=ClientAction.Kind.REVISION_REQUESTED,
            key=key,
            deliverable=deliverable,
            comment=comment,
            extra_round=extra,
        )
        ReviewComment.objects.bulk_create(
            ReviewComment(
                action=action, deliverable=deliverable, timecode_seconds=seconds, body=body
            )
            for seconds, body in parsed
        )
        apply_transition(
            order=locked, to_status=S.REVISION, actor_label=_client_label(locked), note=comment
        )
        events.publish(
            "revision.requested",
            {
                "order": order_payload(locked),
                "deliverable": deliverable.pk if deliverable else None,
                "comment": comment,
                "extra_round": extra,
                "comments": [{"timecode_seconds": t, "body": b} for t, b in parsed],
            },
        )
        _tell_studio(
            locked,
            "client.revision_requested",
            lambda: (
                _("%(ref)s: revision requested (extra round)") % {"ref": locked.reference}
                if extra
                else _("%(ref)s: revision requested") % {"ref": locked.reference},
                comment,
            ),
        )
        return action

    return _run_once(order, key, act)
