"""Operations that change clients, orders and deliverables. One function per action."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from orders.models import Client, Deliverable, Order, OrderEvent, Tag
from orders.uploads import check_upload
from studio import events, roles
from studio.errors import Conflict, InvalidInput, NotPermitted
from studio.models import StudioProfile
from studio.money import MINOR_UNITS, check_currency
from studio.services import next_number
from studio.timeutil import due_from

CLIENT_FIELDS = (
    "name",
    "contact_name",
    "email",
    "phone",
    "wechat_id",
    "country",
    "language",
    "currency",
    "billing_address",
    "tax_id",
    "notes",
)
ORDER_FIELDS = (
    "client",
    "title",
    "kind",
    "brief",
    "price",
    "currency",
    "deposit_percent",
    "turnaround_days",
    "revision_rounds_included",
    "assignee",
)


def _full_clean(instance: Any, *, exclude: list[str] | None = None) -> None:
    try:
        instance.full_clean(exclude=exclude)
    except ValidationError as exc:
        fields = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
        first = next(iter(fields.values()))[0]
        raise InvalidInput(first, fields=fields) from exc


def _label(user: Any) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


def record_event(
    *,
    order: Order,
    kind: str,
    actor: Any = None,
    message: str = "",
    public: bool = True,
    from_status: str = "",
    to_status: str = "",
    data: dict | None = None,
) -> OrderEvent:
    """Append one line to the order's timeline (call inside the action's transaction)."""
    return OrderEvent.objects.create(
        order=order,
        kind=kind,
        actor=actor if getattr(actor, "pk", None) else None,
        actor_label=_label(actor),
        message=message,
        public=public,
        from_status=from_status,
        to_status=to_status,
        data=data or {},
    )


def order_payload(order: Order) -> dict[str, Any]:
    """The order as domain events (and so webhooks) describe it."""
    return {
        "id": order.pk,
        "reference": order.reference,
        "title": order.title,
        "status": order.status,
        "client": order.client_id,
        "due_at": order.due_at.isoformat() if order.due_at else None,
    }


# --- Clients --------------------------------------------------------------------------


def create_client(*, actor: Any, **fields: Any) -> Client:
    """Create a client from validated fields."""
    _require_business(actor)
    client = Client(**{k: v for k, v in fields.items() if k in CLIENT_FIELDS})
    client.country = (client.country or "").upper()
    _full_clean(client)
    client.save()
    return client


def update_client(*, actor: Any, client: Client, **fields: Any) -> Client:
    """Update a client's details."""
    _require_business(actor)
    for key, value in fields.items():
        if key in CLIENT_FIELDS:
            setattr(client, key, value)
    client.country = (client.country or "").upper()
    _full_clean(client)
    client.save()
    return client


def archive_client(*, actor: Any, client: Client) -> bool:
    """Archive the client (hidden from pickers, orders kept). Idempotent."""
    _require_business(actor)
    changed = Client.objects.filter(pk=client.pk, archived_at__isnull=True).update(
        archived_at=timezone.now()
    )
    client.refresh_from_db(fields=["archived_at"])
    return changed == 1


def restore_client(*, actor: Any, client: Client) -> bool:
    """Bring an archived client back. Idempotent."""
    _require_business(actor)
    changed = Client.objects.filter(pk=client.pk, archived_at__isnull=False).update(
        archived_at=None
    )
    client.refresh_from_db(fields=["archived_at"])
    return changed == 1


# --- Orders ---------------------------------------------------------------------------


def _require_business(actor: Any) -> None:
    if not roles.can_manage_business(actor):
        raise NotPermitted(_("Only owners and producers can do this."))


def _check_assignee(assignee: Any) -> None:
    if assignee is not None and not roles.is_member(assignee):
        raise InvalidInput(
            _("The assignee must be a member of the studio team."),
            fields={"assignee": [_("Not a team member.")]},
        )


def _check_price(order: Order) -> None:
    """A price must fit its currency's minor unit (no fen on a JPY price)."""
    places = MINOR_UNITS.get(order.currency, 2)
    price = order.price
    if (
        isinstance(price, Decimal)
        and price.is_finite()
        and price != price.quantize(Decimal(1).scaleb(-places))
    ):
        message = _("A %(currency)s price has at most %(places)s decimal places.") % {
            "currency": order.currency,
            "places": places,
        }
        raise InvalidInput(message, fields={"price": [message]})


def _set_tags(order: Order, tags: list[str] | None) -> None:
    if tags is None:
        return
    names = sorted({t.strip()[:40] for t in tags if t and t.strip()})
    existing = {t.name: t for t in Tag.objects.filter(name__in=names)}
    missing = [Tag(name=n) for n in names if n not in existing]
    if missing:
        Tag.objects.bulk_create(missing, ignore_conflicts=True)
    order.tags.set(Tag.objects.filter(name__in=names))


def create_order(
    *,
    actor: Any,
    client: Client,
    title: str,
    price: Decimal,
    currency: str | None = None,
    kind: str = Order.Kind.CLIP,
    brief: str = "",
    deposit_percent: Decimal | None = None,
    turnaround_days: int | None = None,
    revision_rounds_included: int | None = None,
    assignee: Any = None,
    tags: list[str] | None = None,
    status: str = Order.Status.INQUIRY,
) -> Order:
    """Create an order for client with the next ORD-<year>-NNNN reference.

    Defaults come from the client (currency) and the studio profile (turnaround,
    revision rounds). Only inquiry or quoted are valid starting statuses.
    """
    _require_business(actor)
    if client.is_archived:
        raise InvalidInput(
            _("This client is archived; restore it before adding orders."),
            fields={"client": [_("Archived client.")]},
        )
    if status not in {Order.Status.INQUIRY, Order.Status.QUOTED}:
        raise InvalidInput(
            _("A new order starts as an inquiry or a quote."),
            fields={"status": [_("Start as inquiry or quoted.")]},
        )
    _check_assignee(assignee)
    profile = StudioProfile.load()
    try:
        currency = check_currency(currency or client.currency or profile.default_currency)
    except ValueError as exc:
        raise InvalidInput(str(exc), fields={"currency": [str(exc)]}) from exc
    order = Order(
        client=client,
        title=title,
        kind=kind,
        brief=brief,
        price=price,
        currency=currency,
        deposit_percent=Decimal(50) if deposit_percent is None else deposit_percent,
        turnaround_days=(
            profile.default_turnaround_days if turnaround_days is None else turnaround_days
        ),
        revision_rounds_included=(
            profile.default_revision_rounds
            if revision_rounds_included is None
            else revision_rounds_included
        ),
        assignee=assignee,
        status=status,
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    _full_clean(order, exclude=["reference"])
    _check_price(order)
    with transaction.atomic():
        year = timezone.now().year
        order.reference = f"ORD-{year}-{next_number(series='ORD', year=year):04d}"
        order.save()
        _set_tags(order, tags)
        record_event(order=order, kind=OrderEvent.Kind.CREATED, actor=actor, to_status=status)
        events.publish("order.created", {"order": order_payload(order)})
    return order


def update_order(
    *, actor: Any, order: Order, tags: list[str] | None = None, **fields: Any
) -> Order:
    """Edit an order's terms. Closed orders cannot be edited."""
    _require_business(actor)
    if order.is_closed:
        raise Conflict(_("A completed or cancelled order cannot be edited."))
    changed = []
    for key, value in fields.items():
        if key in ORDER_FIELDS and getattr(order, key) != value:
            setattr(order, key, value)
            changed.append(key)
    if "assignee" in changed:
        _check_assignee(order.assignee)
    if "client" in changed and order.client.is_archived:
        raise InvalidInput(
            _("This client is archived; restore it before moving orders to it."),
            fields={"client": [_("Archived client.")]},
        )
    if "currency" in changed:
        try:
            order.currency = check_currency(order.currency)
        except ValueError as exc:
            raise InvalidInput(str(exc), fields={"currency": [str(exc)]}) from exc
    _full_clean(order)
    _check_price(order)
    with transaction.atomic():
        order.save()
        _set_tags(order, tags)
        if changed:
            record_event(
                order=order,
                kind=OrderEvent.Kind.UPDATED,
                actor=actor,
                public=False,
                data={"fields": sorted(changed)},
            )
    return order


@dataclass(frozen=True)
class TransitionResult:
    order: Order
    warning: str = ""


def _check_lifecycle(order: Order, to_status: str) -> None:
    if to_status not in order.allowed_next():
        raise Conflict(
            _("An order that is %(current)s cannot become %(target)s.")
            % {
                "current": Order.Status(order.status).label,
                "target": Order.Status(to_status).label,
            },
            code="invalid_transition",
        )


def check_transition(*, order: Order, to_status: str, actor: Any) -> None:
    """Raise Conflict/NotPermitted if actor may not move order to to_status now."""
    valid = {s.value for s in Order.Status}
    if to_status not in valid:
        raise InvalidInput(
            _("“%(status)s” is not a status.") % {"status": to_status},
            fields={"status": [_("Unknown status.")]},
        )
    _check_lifecycle(order, to_status)
    if roles.can_manage_business(actor):
        return
    if (
        roles.is_artist(actor)
        and order.assignee_id == actor.pk
        and (order.status, to_status) in Order.ARTIST_TRANSITIONS
    ):
        return
    raise NotPermitted(_("You are not allowed to make this change."))


def change_status(
    *,
    actor: Any,
    order: Order,
    to_status: str,
    note: str = "",
    override_ai_labels: bool = False,
) -> TransitionResult:
    """Move order to to_status if the lifecycle and the actor's role allow it.

    Writes a timeline event. Not idempotent by design: asking for the status the order
    already has is refused. Marking an order delivered while the AI-content labels of a
    deliverable are unchecked is refused (409 ai_label_unchecked) unless the owner
    overrides it, which the timeline records.
    """
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        check_transition(order=locked, to_status=to_status, actor=actor)
        unchecked: list[Deliverable] = []
        if to_status == Order.Status.DELIVERED:
            unchecked = check_ai_labels_before_delivery(
                order=locked, actor=actor, override=override_ai_labels
            )
        result = apply_transition(order=locked, to_status=to_status, actor=actor, note=note)
        if unchecked:
            record_event(
                order=locked,
                kind=OrderEvent.Kind.AI_LABELS,
                actor=actor,
                public=False,
                message=_(
                    "Marked delivered by the owner before the AI-content labels of "
                    "%(deliverables)s were checked."
                )
                % {"deliverables": _deliverable_names(unchecked)},
                data={"override": True, "deliverables": [d.pk for d in unchecked]},
            )
        return result


# --- AI-content labels (GB 45438-2025) --------------------------------------------------


def latest_deliverables(order: Order) -> list[Deliverable]:
    """The newest version of each of the order's deliverables (what gets delivered)."""
    latest: dict[str, Deliverable] = {}
    for deliverable in Deliverable.objects.filter(order=order).order_by("title", "-version"):
        latest.setdefault(deliverable.title, deliverable)
    return list(latest.values())


def _deliverable_names(deliverables: list[Deliverable]) -> str:
    return ", ".join(f"“{d.title}” v{d.version}" for d in deliverables)


def check_ai_labels_before_delivery(
    *, order: Order, actor: Any, override: bool = False
) -> list[Deliverable]:
    """The latest deliverables whose AI-content labels are unchecked, if the actor may
    deliver anyway (the owner, asking to override); raise otherwise."""
    unchecked = [d for d in latest_deliverables(order) if not d.ai_labels_checked]
    if not unchecked:
        return []
    names = _deliverable_names(unchecked)
    if not override:
        raise Conflict(
            _(
                "The AI-content labels of %(deliverables)s have not been checked. AI-generated "
                "video must carry a visible label and a label in the file's metadata "
                "(GB 45438-2025): check both on the order page before marking it delivered."
            )
            % {"deliverables": names},
            code="ai_label_unchecked",
        )
    if not roles.is_owner(actor):
        raise NotPermitted(
            _(
                "Only the studio owner can mark an order delivered before its AI-content "
                "labels are checked."
            )
        )
    return unchecked


def apply_transition(
    *,
    order: Order,
    to_status: str,
    actor: Any = None,
    actor_label: str = "",
    note: str = "",
    public: bool = True,
) -> TransitionResult:
    """Apply a transition already checked against the lifecycle; the caller holds the row
    lock inside its transaction (change_status for staff, the portal for clients)."""
    _check_lifecycle(order, to_status)
    now = timezone.now()
    from_status = order.status
    fields = ["status", "status_changed_at", "updated_at"]
    warning = ""
    S = Order.Status
    if to_status == S.ON_HOLD:
        order.status_before_hold = from_status
        fields.append("status_before_hold")
    elif from_status == S.ON_HOLD:
        order.status_before_hold = ""
        fields.append("status_before_hold")
    if to_status == S.ACCEPTED and order.accepted_at is None:
        order.accepted_at = now
        order.due_at = due_from(now, days=order.turnaround_days, zone=StudioProfile.load().zone)
        fields += ["accepted_at", "due_at"]
    if to_status == S.REVISION:
        order.revision_rounds_used += 1
        fields.append("revision_rounds_used")
        if order.revision_rounds_used > order.revision_rounds_included:
            warning = _(
                "This is revision round %(used)s; only %(included)s are included in the price."
            ) % {"used": order.revision_rounds_used, "included": order.revision_rounds_included}
    if to_status == S.DELIVERED:
        order.delivered_at = now
        fields.append("delivered_at")
    if to_status == S.COMPLETED:
        order.completed_at = now
        fields.append("completed_at")
    order.status = to_status
    order.status_changed_at = now
    order.save(update_fields=fields)
    event = record_event(
        order=order,
        kind=OrderEvent.Kind.STATUS_CHANGED,
        actor=actor,
        from_status=from_status,
        to_status=to_status,
        message=note.strip()[:2000],
        public=public,
    )
    if actor_label:
        OrderEvent.objects.filter(pk=event.pk).update(actor_label=actor_label[:120])
        event.actor_label = actor_label[:120]
    events.publish(
        "order.status_changed",
        {"order": order_payload(order), "from_status": from_status, "to_status": to_status},
    )
    if warning:
        record_event(
            order=order,
            kind=OrderEvent.Kind.REVISION_LIMIT,
            actor=actor,
            message=warning,
            public=False,
            data={"used": order.revision_rounds_used, "included": order.revision_rounds_included},
        )
    return TransitionResult(order=order, warning=warning)


def add_note(*, actor: Any, order: Order, text: str) -> OrderEvent:
    """Add an internal note to the order's timeline."""
    if not text.strip():
        raise InvalidInput(_("The note is empty."), fields={"text": [_("Write something.")]})
    with transaction.atomic():
        return record_event(
            order=order, kind=OrderEvent.Kind.NOTE, actor=actor, message=text.strip(), public=False
        )


# --- Deliverables ---------------------------------------------------------------------


def _check_can_deliver(actor: Any, order: Order) -> None:
    if roles.can_manage_business(actor):
        pass
    elif not (roles.is_artist(actor) and order.assignee_id == actor.pk):
        raise NotPermitted(_("You are not allowed to add deliverables to this order."))
    if order.is_closed:
        raise Conflict(_("A completed or cancelled order takes no new deliverables."))


def add_deliverable(
    *,
    actor: Any,
    order: Order,
    title: str,
    upload: UploadedFile | None = None,
    url: str = "",
    notes: str = "",
) -> Deliverable:
    """Add the next version of the deliverable `title`: an uploaded file or a link."""
    _check_can_deliver(actor, order)
    title = (title or "").strip()
    if not title:
        raise InvalidInput(_("Give the deliverable a title."), fields={"title": [_("Required.")]})
    if bool(upload) == bool(url):
        message = _("Upload a file or give a link, not both and not neither.")
        raise InvalidInput(message, fields={"file": [message]})
    deliverable = Deliverable(
        order=order,
        title=title[:160],
        notes=notes,
        uploaded_by=actor if getattr(actor, "pk", None) else None,
    )
    checked = None
    if upload is not None:
        checked = check_upload(upload)
        deliverable.kind = Deliverable.Kind.FILE
        deliverable.original_name = checked.original_name
        deliverable.content_type = checked.content_type
        deliverable.size = checked.size
    else:
        deliverable.kind = Deliverable.Kind.LINK
        deliverable.url = url.strip()
        if not deliverable.url.lower().startswith(("https://", "http://")):
            raise InvalidInput(
                _("Links must start with https:// or http://."),
                fields={"url": [_("Enter a web link.")]},
            )
    with transaction.atomic():
        Order.objects.select_for_update().filter(pk=order.pk).first()
        last = (
            Deliverable.objects.filter(order=order, title=deliverable.title).aggregate(
                m=Max("version")
            )["m"]
            or 0
        )
        deliverable.version = last + 1
        if checked is not None and upload is not None:
            deliverable.file.save(checked.stored_name, upload, save=False)
        _full_clean(deliverable)
        deliverable.save()
        record_event(
            order=order,
            kind=OrderEvent.Kind.DELIVERABLE_ADDED,
            actor=actor,
            message=f"{deliverable.title} v{deliverable.version}",
            data={"deliverable": deliverable.pk, "version": deliverable.version},
        )
        events.publish(
            "deliverable.added",
            {
                "order": order_payload(order),
                "deliverable": {
                    "id": deliverable.pk,
                    "title": deliverable.title,
                    "version": deliverable.version,
                    "kind": deliverable.kind,
                },
            },
        )
        if checked is not None:
            from orders import tasks
            from studio import tasks as studio_tasks

            pk = deliverable.pk
            # Never blocks the request on the broker; the sweep catches a lost message.
            studio_tasks.enqueue(tasks.fingerprint_deliverable, pk)
    return deliverable


def fingerprint_deliverable(*, deliverable_id: int) -> str | None:
    """Store the SHA-256 of a file deliverable. Idempotent; None if it is gone or a link."""
    deliverable = Deliverable.objects.filter(pk=deliverable_id, kind=Deliverable.Kind.FILE).first()
    if deliverable is None:
        return None
    if deliverable.sha256:
        return deliverable.sha256
    digest = hashlib.sha256()
    with deliverable.file.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(chunk)
    value = digest.hexdigest()
    Deliverable.objects.filter(pk=deliverable_id, sha256="").update(sha256=value)
    return value
