"""The reminder engine: what is due, recorded once, sent once.

How it works
------------
A periodic task (beat, every few minutes) calls `sweep()`:

1. Hands back claims older than any task may run (a worker killed while sending).
2. Asks every enabled reminder kind what is due *now* and writes one `Reminder` row per
   (kind, object, stage) in the same transaction as that decision. The unique constraint
   on (kind, object_id, stage) makes two beats, eight parallel sweeps or a retried task
   write it once; `bulk_create(ignore_conflicts=True)` lets the losers pass quietly.
3. Enqueues `send_reminder` for every pending row not dispatched recently, marking the
   batch dispatched under `SELECT … FOR UPDATE SKIP LOCKED` so parallel sweeps split
   the work instead of all enqueuing all of it.

`send_reminder(reminder_id)` claims the row (pending -> claimed, a conditional update),
asks the kind whether this stage is still the current one (a catch-up after downtime
skips what is stale: no "due in 48 h" for an order already overdue, no first stage
when the second one is due), then delivers it and marks it sent:

- studio-facing kinds (`audience="studio"`) write in-app notifications (which e-mail
  those who want it as their own jobs) in the same transaction that marks the reminder
  sent, so it happens exactly once;
- client-facing kinds (`audience="client"`) build an e-mail, send it, then mark the
  reminder sent (at least once, never zero: a claim left by a killed worker is handed
  back by the sweep).

Adding a reminder kind (billing, subscriptions)
-----------------------------------------------
In your app's ``reminders.py``, imported from its ``AppConfig.ready()``::

    from studio.reminders import Due, ReminderKind, register, stages_after, stages_before

    def invoices_due(*, now, offsets, object_ids=None):
        qs = Invoice.objects.filter(status="issued", due_date__isnull=False)
        if object_ids is not None:
            qs = qs.filter(pk__in=object_ids)
        for invoice in qs.filter(...window...):
            anchor = end_of_local_day(invoice.due_date, zone)   # the moment it is due
            due = stages_before(anchor, offsets, unit="days", now=now)  # or stages_after
            if due:
                yield Due(object_id=invoice.pk, stage=due.key, due_at=due.fire_at)

    def invoice_email(reminder):            # client-facing: return an EmailMessage,
        ...                                 # or None when there is nothing to send

    register(ReminderKind(
        name="invoice.due_soon",            # stable: it is stored in Reminder.kind
        label=_("Invoice due soon"),
        help=_("Days before the due date, to the client."),
        audience="client",
        unit="days",
        default_offsets=(3,),
        find_due=invoices_due,
        build_email=invoice_email,
    ))

`find_due` must return, for each object, only the stage that is current at `now` (the
helpers `stages_before` / `stages_after` do that, and include the anchor in the stage key
so that a new due date gets its own reminders). It is called again with
`object_ids=[id]` just before sending, to check the stage is still current. Studio
kinds give `deliver(reminder)` instead of `build_email`; it runs inside the transaction
that marks the reminder sent and should call `studio_notify(...)`. The owner's reminder
settings page lists every registered kind with its on/off switch and offsets.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from django.core.mail import EmailMessage
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from studio.models import Reminder, ReminderSettings

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
# How late a final stage may still be sent after a catch-up (beat or workers down).
CATCH_UP = dt.timedelta(days=7)
DISPATCH_BATCH = 2000
State = Reminder.State


@dataclass(frozen=True)
class Due:
    """One stage of one object that is due now."""

    object_id: int
    stage: str
    due_at: dt.datetime


FindDue = Callable[..., Iterable[Due]]


@dataclass(frozen=True)
class ReminderKind:
    name: str
    label: Any
    help: Any
    audience: Literal["studio", "client"]
    unit: Literal["hours", "days"]
    default_offsets: tuple[int, ...]
    find_due: FindDue
    deliver: Callable[[Reminder], None] | None = None
    build_email: Callable[[Reminder], EmailMessage | None] | None = None
    max_offset: int = field(default=24 * 60)

    def __post_init__(self) -> None:
        if (self.audience == "studio") != (self.deliver is not None):
            raise ValueError(f"{self.name}: studio kinds give deliver, client kinds not")
        if (self.audience == "client") != (self.build_email is not None):
            raise ValueError(f"{self.name}: client kinds give build_email")
        if not self.default_offsets:
            raise ValueError(f"{self.name}: give at least one default offset")


_registry: dict[str, ReminderKind] = {}


def register(kind: ReminderKind) -> ReminderKind:
    """Add (or replace, e.g. on reload) a reminder kind."""
    _registry[kind.name] = kind
    return kind


def unregister(name: str) -> None:
    _registry.pop(name, None)


def kinds() -> list[ReminderKind]:
    return list(_registry.values())


def get_kind(name: str) -> ReminderKind | None:
    return _registry.get(name)


# --- The owner's settings ----------------------------------------------------------------


@dataclass(frozen=True)
class KindConfig:
    enabled: bool
    offsets: tuple[int, ...]


def config_for(kind: ReminderKind, row: ReminderSettings | None = None) -> KindConfig:
    raw = ((row or ReminderSettings.load()).kinds or {}).get(kind.name) or {}
    enabled = raw.get("enabled", True)
    offsets = raw.get("offsets") or kind.default_offsets
    try:
        clean = tuple(sorted({int(o) for o in offsets if 0 < int(o) <= kind.max_offset}))
    except (TypeError, ValueError):
        clean = ()
    return KindConfig(enabled=bool(enabled), offsets=clean or kind.default_offsets)


def parse_offsets(text: str, *, kind: ReminderKind) -> tuple[int, ...]:
    """ "48, 24" -> (24, 48). Raises ValueError with a message for people."""
    from django.utils.translation import gettext as _

    parts = [p.strip() for p in text.replace("，", ",").split(",") if p.strip()]
    if not parts:
        raise ValueError(_("Give at least one number."))
    values: set[int] = set()
    for part in parts:
        if not part.isdigit() or not 0 < int(part) <= kind.max_offset:
            raise ValueError(
                _("“%(value)s” is not a whole number between 1 and %(max)s.")
                % {"value": part, "max": kind.max_offset}
            )
        values.add(int(part))
    if len(values) > 10:
        raise ValueError(_("Give at most ten numbers."))
    return tuple(sorted(values))


def save_settings(*, configs: dict[str, KindConfig]) -> ReminderSettings:
    """Store the owner's choices for the given kinds (others keep theirs). Idempotent."""
    with transaction.atomic():
        ReminderSettings.load()
        row = ReminderSettings.objects.select_for_update().get(pk=1)
        data = dict(row.kinds or {})
        for name, config in configs.items():
            if name in _registry:
                data[name] = {"enabled": config.enabled, "offsets": list(config.offsets)}
        row.kinds = data
        row.save(update_fields=["kinds", "updated_at"])
    return row


# --- Stage helpers for kinds ------------------------------------------------------------


@dataclass(frozen=True)
class Stage:
    key: str
    fire_at: dt.datetime


def _delta(value: int, unit: str) -> dt.timedelta:
    return dt.timedelta(hours=value) if unit == "hours" else dt.timedelta(days=value)


def _stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def _suffix(unit: str) -> str:
    return "h" if unit == "hours" else "d"


def stages_before(
    anchor: dt.datetime, offsets: Sequence[int], *, unit: str, now: dt.datetime
) -> Stage | None:
    """The current "N before anchor" stage: the last one whose moment has passed, as long
    as the anchor itself has not (then they are all stale)."""
    if now >= anchor:
        return None
    current: Stage | None = None
    for offset in sorted(offsets, reverse=True):  # 48 h before comes before 24 h before
        fire_at = anchor - _delta(offset, unit)
        if fire_at <= now:
            current = Stage(f"{offset}{_suffix(unit)}-before@{_stamp(anchor)}", fire_at)
    return current


def stages_after(
    anchor: dt.datetime, offsets: Sequence[int], *, unit: str, now: dt.datetime
) -> Stage | None:
    """The current "N after anchor" stage: the last one whose moment has passed; the last
    stage of all goes stale CATCH_UP after its moment."""
    ordered = sorted(offsets)
    current: Stage | None = None
    for offset in ordered:
        fire_at = anchor + _delta(offset, unit)
        if fire_at <= now:
            current = Stage(f"{offset}{_suffix(unit)}-after@{_stamp(anchor)}", fire_at)
    last = anchor + _delta(ordered[-1], unit)
    if current is not None and current.fire_at == last and now - current.fire_at > CATCH_UP:
        return None
    return current


def studio_notify(*, reminder: Reminder, users: Iterable[Any], render: Any, url: str) -> None:
    """For studio kinds' deliver(): in-app notifications (e-mailed to those who want)."""
    from studio.notifications import notify

    notify(users=users, kind=f"reminder.{reminder.kind}"[:40], render=render, url=url)


# --- The sweep ---------------------------------------------------------------------------


def record_due(*, now: dt.datetime | None = None) -> int:
    """Write a Reminder row for every stage due now (once; see the module docstring).
    Returns how many rows this call tried to add (a racing sweep may have won some)."""
    now = now or timezone.now()
    row = ReminderSettings.load()
    added = 0
    for kind in kinds():
        config = config_for(kind, row)
        if not config.enabled:
            continue
        with transaction.atomic():
            due = list(kind.find_due(now=now, offsets=config.offsets))
            if not due:
                continue
            existing = set(
                Reminder.objects.filter(
                    kind=kind.name, object_id__in={d.object_id for d in due}
                ).values_list("object_id", "stage")
            )
            rows = [
                Reminder(kind=kind.name, object_id=d.object_id, stage=d.stage, due_at=d.due_at)
                for d in due
                if (d.object_id, d.stage) not in existing
            ]
            if rows:
                # A racing sweep may have written some of them since: those are skipped.
                Reminder.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
                added += len(rows)
    return added


def dispatch_pending(
    *, now: dt.datetime | None = None, redispatch_seconds: float = 600
) -> list[int]:
    """Enqueue send_reminder for pending rows not dispatched in the last
    redispatch_seconds; parallel callers take disjoint batches. Returns the ids."""
    from studio import tasks

    now = now or timezone.now()
    stale = now - dt.timedelta(seconds=redispatch_seconds)
    with transaction.atomic():
        qs = (
            Reminder.objects.filter(state=State.PENDING)
            .filter(Q(dispatched_at__isnull=True) | Q(dispatched_at__lt=stale))
            .order_by("due_at", "pk")
        )
        if connection.features.has_select_for_update_skip_locked:
            qs = qs.select_for_update(skip_locked=True)
        ids = list(qs.values_list("pk", flat=True)[:DISPATCH_BATCH])
        if ids:
            Reminder.objects.filter(pk__in=ids).update(dispatched_at=now)
    tasks.enqueue_many(tasks.send_reminder, ids)
    return ids


def reclaim_stale(*, now: dt.datetime | None = None, stale_claim_seconds: float = 300) -> int:
    """Hand back claims of workers that died while sending."""
    now = now or timezone.now()
    return Reminder.objects.filter(
        state=State.CLAIMED, claimed_at__lt=now - dt.timedelta(seconds=stale_claim_seconds)
    ).update(state=State.PENDING, dispatched_at=None)


def sweep(*, stale_claim_seconds: float = 300, redispatch_seconds: float = 600) -> int:
    """One beat tick: reclaim, record what is due, enqueue what is pending. Safe to run
    any number of times at once. Returns how many sends were enqueued."""
    now = timezone.now()
    reclaim_stale(now=now, stale_claim_seconds=stale_claim_seconds)
    record_due(now=now)
    return len(dispatch_pending(now=now, redispatch_seconds=redispatch_seconds))


# --- Sending -----------------------------------------------------------------------------


def is_current(reminder: Reminder, *, now: dt.datetime | None = None) -> bool:
    """The kind is on and this stage is still the one due for its object."""
    kind = get_kind(reminder.kind)
    if kind is None:
        return False
    config = config_for(kind)
    if not config.enabled:
        return False
    now = now or timezone.now()
    due = kind.find_due(now=now, offsets=config.offsets, object_ids=[reminder.object_id])
    return any(d.object_id == reminder.object_id and d.stage == reminder.stage for d in due)


def send_reminder(*, reminder_id: int) -> str:
    """Send one reminder once. Idempotent: a second run (retry, duplicate message) finds
    it claimed or done and returns its state. Returns "sent", "skipped" (no longer
    current) or the state it found."""
    now = timezone.now()
    claimed = Reminder.objects.filter(pk=reminder_id, state=State.PENDING).update(
        state=State.CLAIMED, claimed_at=now, attempts=F("attempts") + 1
    )
    if claimed != 1:
        found = Reminder.objects.filter(pk=reminder_id).values_list("state", flat=True).first()
        return f"already {found}" if found else "gone"
    reminder = Reminder.objects.get(pk=reminder_id)
    mine = Reminder.objects.filter(pk=reminder_id, state=State.CLAIMED, claimed_at=now)
    kind = get_kind(reminder.kind)
    try:
        if kind is None or not is_current(reminder, now=now):
            mine.update(state=State.SKIPPED, sent_at=None)
            return State.SKIPPED.value
        if kind.deliver is not None:
            with transaction.atomic():
                if mine.update(state=State.SENT, sent_at=timezone.now(), last_error="") != 1:
                    return "lost claim"
                kind.deliver(reminder)
        else:
            assert kind.build_email is not None
            message = kind.build_email(reminder)
            if message is None:
                mine.update(state=State.SKIPPED)
                return State.SKIPPED.value
            message.send()
            mine.update(state=State.SENT, sent_at=timezone.now(), last_error="")
    except Exception as exc:
        from studio.tasks import TRANSIENT_ERRORS

        final = not isinstance(exc, TRANSIENT_ERRORS) or reminder.attempts >= MAX_ATTEMPTS
        mine.update(
            state=State.FAILED if final else State.PENDING,
            last_error=f"{exc.__class__.__name__}: {exc}"[:300],
            dispatched_at=None,
        )
        raise
    return State.SENT.value
