"""Operations on an order's production breakdown: episodes, shots, takes, assets,
casting, and the AI-content label checks of deliverables.

Owners and producers may change anything; an artist works only on the shots assigned
to them: they may update those shots (within the generation loop), add takes to them
and pick the selected take, and never enter or see money. Every function checks that
itself, so pages and the API cannot forget it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import Case, IntegerField, Max, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from orders.models import (
    Asset,
    Casting,
    Deliverable,
    Episode,
    Order,
    OrderEvent,
    Shot,
    Take,
)
from orders.models.production import MAX_SECONDS
from orders.services import record_event
from orders.uploads import check_upload
from studio import roles
from studio.errors import Conflict, InvalidInput, NotPermitted
from studio.models import AITool
from studio.money import check_currency, quantize
from studio.signals import costs_changed
from studio.timeutil import studio_zone, today
from studio.tools import price_in_force, prices_by_tool

S = Shot.Status
EPISODE_FIELDS = ("number", "title", "synopsis", "runtime_limit", "aspect_ratio", "status")
SHOT_FIELDS = (
    "code",
    "position",
    "scene",
    "description",
    "dialogue",
    "planned_seconds",
    "status",
    "assignee",
    "tool",
    "notes",
)
# What an artist may change on a shot assigned to them.
ARTIST_SHOT_FIELDS = frozenset(
    {"description", "dialogue", "planned_seconds", "status", "tool", "notes"}
)
TAKE_FIELDS = (
    "tool",
    "mode",
    "prompt",
    "negative_prompt",
    "seed",
    "reference_urls",
    "generated_seconds",
    "generated_on",
    "result_url",
    "notes",
)
ASSET_FIELDS = ("name", "kind", "description", "prompt_fragment", "reference_urls")
MAX_REFERENCE_URLS = 20
RESULT_TYPES = ("video/", "image/")


# --- Checks ------------------------------------------------------------------------------


def _require_business(actor: Any) -> None:
    if not roles.can_manage_business(actor):
        raise NotPermitted(_("Only owners and producers can change the breakdown."))


def _works_on(actor: Any, shot: Shot) -> bool:
    """Owners and producers work on every shot; an artist on the shots assigned to them."""
    if roles.can_manage_business(actor):
        return True
    return roles.is_artist(actor) and shot.assignee_id == actor.pk


def _require_shot_access(actor: Any, shot: Shot) -> None:
    if not _works_on(actor, shot):
        raise NotPermitted(_("You can only work on shots assigned to you."))


def _full_clean(instance: Any, *, exclude: list[str] | None = None) -> None:
    try:
        instance.full_clean(exclude=exclude, validate_constraints=False)
    except ValidationError as exc:
        fields = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
        first = next(iter(fields.values()))[0]
        raise InvalidInput(first, fields=fields) from exc


def clean_text(value: Any) -> str:
    """Text as stored: newlines normalised to \\n (browsers send \\r\\n), ends trimmed."""
    if value is None:
        return ""
    return str(value).replace("\r\n", "\n").replace("\r", "\n").strip()


def check_seconds(value: Any, *, field: str = "seconds") -> Decimal:
    """Seconds: a Decimal from 0 to 99,999.99 with at most two decimal places."""
    if isinstance(value, float):
        value = str(value)
    try:
        seconds = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        message = _("Enter seconds as a number, such as 5 or 7.5.")
        raise InvalidInput(message, fields={field: [message]}) from exc
    if not seconds.is_finite() or seconds < 0 or seconds > MAX_SECONDS:
        message = _("Seconds must be between 0 and %(max)s.") % {"max": MAX_SECONDS}
        raise InvalidInput(message, fields={field: [message]})
    if seconds != seconds.quantize(Decimal("0.01")):
        message = _("Seconds have at most two decimal places.")
        raise InvalidInput(message, fields={field: [message]})
    return seconds.quantize(Decimal("0.01"))


def check_urls(urls: Any, *, field: str = "reference_urls") -> list[str]:
    """A list of web links (http/https), at most 20, each at most 500 characters."""
    if urls is None:
        return []
    if isinstance(urls, str):
        urls = urls.split()
    cleaned = []
    for raw in urls:
        url = str(raw).strip()
        if not url:
            continue
        if not re.match(r"^https?://\S+$", url, flags=re.IGNORECASE) or len(url) > 500:
            message = _("“%(url)s” is not a web link (https://…).") % {"url": url[:80]}
            raise InvalidInput(message, fields={field: [message]})
        if url not in cleaned:
            cleaned.append(url)
    if len(cleaned) > MAX_REFERENCE_URLS:
        message = _("Give at most %(n)s links.") % {"n": MAX_REFERENCE_URLS}
        raise InvalidInput(message, fields={field: [message]})
    return cleaned


def _check_assignee(assignee: Any) -> None:
    if assignee is not None and not roles.is_member(assignee):
        message = _("The assignee must be a member of the studio team.")
        raise InvalidInput(message, fields={"assignee": [message]})


def check_shot_transition(*, actor: Any, shot: Shot, to_status: str) -> None:
    """Raise unless actor may move shot to to_status now."""
    if to_status not in S.values:
        message = _("“%(status)s” is not a shot status.") % {"status": to_status}
        raise InvalidInput(message, fields={"status": [message]})
    _require_shot_access(actor, shot)
    if roles.can_manage_business(actor) or shot.status == to_status:
        return
    if (shot.status, to_status) not in Shot.ARTIST_TRANSITIONS:
        raise NotPermitted(
            _("Only owners and producers can move a shot from “%(from)s” to “%(to)s”.")
            % {"from": S(shot.status).label, "to": S(to_status).label}
        )


def production_event(order: Order, actor: Any, message: str, **data: Any) -> OrderEvent:
    """An internal timeline line about the breakdown (clients never see these)."""
    return record_event(
        order=order,
        kind=OrderEvent.Kind.PRODUCTION,
        actor=actor,
        message=message,
        public=False,
        data=data,
    )


# --- Episodes ----------------------------------------------------------------------------


def next_episode_number(order: Order) -> int:
    return (Episode.objects.filter(order=order).aggregate(m=Max("number"))["m"] or 0) + 1


def _check_episode_number(episode: Episode) -> None:
    clash = (
        Episode.objects.filter(order_id=episode.order_id, number=episode.number)
        .exclude(pk=episode.pk)
        .exists()
    )
    if clash:
        message = _("This order already has an episode %(number)s.") % {"number": episode.number}
        raise InvalidInput(message, fields={"number": [message]})


def create_episode(
    *, actor: Any, order: Order, number: int | None = None, **fields: Any
) -> Episode:
    """Add an episode to order (the next number unless given)."""
    _require_business(actor)
    episode = Episode(order=order, number=number or next_episode_number(order))
    for key, value in fields.items():
        if key in EPISODE_FIELDS and key != "number" and value is not None:
            setattr(episode, key, clean_text(value) if key in {"title", "synopsis"} else value)
    if "runtime_limit" in fields and fields["runtime_limit"] is not None:
        episode.runtime_limit = check_seconds(fields["runtime_limit"], field="runtime_limit")
    _full_clean(episode)
    _check_episode_number(episode)
    try:
        with transaction.atomic():
            episode.save()
            production_event(
                order,
                actor,
                _("Episode %(number)s was added to the breakdown.") % {"number": episode.number},
                episode=episode.pk,
            )
    except IntegrityError as exc:
        message = _("This order already has an episode %(number)s.") % {"number": episode.number}
        raise InvalidInput(message, fields={"number": [message]}) from exc
    return episode


def update_episode(*, actor: Any, episode: Episode, **fields: Any) -> Episode:
    """Change an episode's details or status."""
    _require_business(actor)
    for key, value in fields.items():
        if key not in EPISODE_FIELDS or value is None:
            continue
        if key == "runtime_limit":
            value = check_seconds(value, field="runtime_limit")
        elif key in {"title", "synopsis"}:
            value = clean_text(value)
        setattr(episode, key, value)
    _full_clean(episode)
    _check_episode_number(episode)
    try:
        with transaction.atomic():
            episode.save()
    except IntegrityError as exc:
        message = _("This order already has an episode %(number)s.") % {"number": episode.number}
        raise InvalidInput(message, fields={"number": [message]}) from exc
    return episode


def delete_episode(*, actor: Any, episode: Episode) -> None:
    """Remove an episode and its shots, as long as no take has been logged on them."""
    _require_business(actor)
    if Take.objects.filter(shot__episode=episode).exists():
        raise Conflict(
            _("Episode %(number)s has takes, and their cost would be lost. Omit its shots instead.")
            % {"number": episode.number}
        )
    with transaction.atomic():
        number, order = episode.number, episode.order
        episode.delete()
        production_event(order, actor, _("Episode %(number)s was deleted.") % {"number": number})


# --- Shots -------------------------------------------------------------------------------

_LEADING_NUMBER = re.compile(r"^(\d+)")


def suggest_next_code(episode: Episode) -> str:
    """The next code in steps of ten after the highest numbered one: 010, 020, …"""
    highest = 0
    width = 3
    for code in Shot.objects.filter(episode=episode).values_list("code", flat=True):
        match = _LEADING_NUMBER.match(code)
        if match:
            highest = max(highest, int(match.group(1)))
            width = max(width, len(match.group(1)))
    return f"{(highest // 10 + 1) * 10:0{width}d}"


def _check_code(shot: Shot) -> None:
    shot.code = (shot.code or "").strip()
    clash = Shot.objects.filter(episode_id=shot.episode_id, code=shot.code).exclude(pk=shot.pk)
    if shot.code and clash.exists():
        message = _("Episode %(number)s already has a shot %(code)s.") % {
            "number": shot.episode.number,
            "code": shot.code,
        }
        raise InvalidInput(message, fields={"code": [message]})


def _check_assets(order_id: int, assets: Iterable[Asset]) -> list[Asset]:
    assets = list(dict.fromkeys(assets))
    if any(asset.order_id != order_id for asset in assets):
        message = _("Characters and assets must belong to the same order as the shot.")
        raise InvalidInput(message, fields={"assets": [message]})
    return assets


def _next_position(episode: Episode) -> int:
    return (Shot.objects.filter(episode=episode).aggregate(m=Max("position"))["m"] or 0) + 1


def create_shot(
    *,
    actor: Any,
    episode: Episode,
    code: str,
    assets: Iterable[Asset] | None = None,
    **fields: Any,
) -> Shot:
    """Add a shot to episode (at the end unless a position is given)."""
    _require_business(actor)
    shot = Shot(episode=episode, code=clean_text(code))
    _apply_shot_fields(shot, fields)
    _check_assignee(shot.assignee)
    _full_clean(shot, exclude=["episode"])
    _check_code(shot)
    checked_assets = _check_assets(episode.order_id, assets or [])
    try:
        with transaction.atomic():
            if not fields.get("position"):
                shot.position = _next_position(episode)
            shot.save()
            if checked_assets:
                Casting.objects.bulk_create(Casting(shot=shot, asset=a) for a in checked_assets)
    except IntegrityError as exc:
        message = _("Episode %(number)s already has a shot %(code)s.") % {
            "number": episode.number,
            "code": shot.code,
        }
        raise InvalidInput(message, fields={"code": [message]}) from exc
    return shot


def _apply_shot_fields(shot: Shot, fields: dict[str, Any]) -> list[str]:
    changed = []
    for key, value in fields.items():
        if key not in SHOT_FIELDS:
            continue
        if key == "planned_seconds":
            value = check_seconds(value if value is not None else 0, field="planned_seconds")
        elif key in {"code", "scene", "description", "dialogue", "notes"}:
            value = clean_text(value)
        elif key == "position":
            value = int(value or 0)
        current = getattr(shot, f"{key}_id") if key in {"assignee", "tool"} else getattr(shot, key)
        new = getattr(value, "pk", value) if key in {"assignee", "tool"} else value
        if current != new:
            changed.append(key)
        setattr(shot, key, value)
    return changed


def update_shot(
    *, actor: Any, shot: Shot, assets: Iterable[Asset] | None = None, **fields: Any
) -> Shot:
    """Change a shot. Artists may change their own shots' description, dialogue, planned
    seconds, intended tool, notes and status (within the generation loop)."""
    _require_shot_access(actor, shot)
    business = roles.can_manage_business(actor)
    with transaction.atomic():
        locked = Shot.objects.select_for_update().select_related("episode").get(pk=shot.pk)
        to_status = fields.get("status")
        if to_status is not None:
            check_shot_transition(actor=actor, shot=locked, to_status=to_status)
        changed = _apply_shot_fields(locked, fields)
        if not business and set(changed) - ARTIST_SHOT_FIELDS:
            raise NotPermitted(
                _(
                    "Artists can change a shot's description, dialogue, seconds, tool, notes "
                    "and status."
                )
            )
        if assets is not None and not business:
            raise NotPermitted(_("Only owners and producers can change the casting."))
        if "assignee" in changed:
            _check_assignee(locked.assignee)
        _full_clean(locked, exclude=["episode"])
        if "code" in changed:
            _check_code(locked)
        try:
            with transaction.atomic():
                locked.save()
        except IntegrityError as exc:
            message = _("This episode already has a shot %(code)s.") % {"code": locked.code}
            raise InvalidInput(message, fields={"code": [message]}) from exc
        if assets is not None:
            _set_casting(locked, _check_assets(locked.episode.order_id, assets))
    return locked


def change_shot_status(*, actor: Any, shot: Shot, to_status: str) -> Shot:
    """Move one shot to another status (artists: their own, within the generation loop)."""
    return update_shot(actor=actor, shot=shot, status=to_status)


@dataclass(frozen=True)
class BulkResult:
    changed: list[str]
    unchanged: int


def bulk_change_status(
    *, actor: Any, episode: Episode, shot_ids: Iterable[int], to_status: str
) -> BulkResult:
    """Move several shots of episode to to_status: all of them or, if any may not move,
    none (the error names the shots). Writes one timeline event."""
    if not roles.is_member(actor):
        raise NotPermitted(_("You are not a member of this studio."))
    ids = list(dict.fromkeys(int(pk) for pk in shot_ids))
    if not ids:
        message = _("Choose at least one shot.")
        raise InvalidInput(message, fields={"shots": [message]})
    if to_status not in S.values:
        message = _("“%(status)s” is not a shot status.") % {"status": to_status}
        raise InvalidInput(message, fields={"status": [message]})
    with transaction.atomic():
        shots = list(
            Shot.objects.select_for_update()
            .filter(episode=episode, pk__in=ids)
            .order_by("position")
        )
        if len(shots) != len(ids):
            message = _("Some of the chosen shots are not in this episode.")
            raise InvalidInput(message, fields={"shots": [message]})
        refused = []
        for shot in shots:
            try:
                check_shot_transition(actor=actor, shot=shot, to_status=to_status)
            except NotPermitted:
                refused.append(shot.code)
        if refused:
            raise NotPermitted(
                _("Nothing was changed: you cannot move shots %(codes)s to “%(status)s”.")
                % {"codes": ", ".join(refused), "status": S(to_status).label}
            )
        moving = [shot for shot in shots if shot.status != to_status]
        if moving:
            Shot.objects.filter(pk__in=[s.pk for s in moving]).update(
                status=to_status, updated_at=timezone.now()
            )
            codes = [shot.code for shot in moving]
            production_event(
                episode.order,
                actor,
                ngettext(
                    "Episode %(number)s: %(count)s shot (%(codes)s) moved to “%(status)s”.",
                    "Episode %(number)s: %(count)s shots (%(codes)s) moved to “%(status)s”.",
                    len(codes),
                )
                % {
                    "number": episode.number,
                    "count": len(codes),
                    "codes": ", ".join(codes[:30]) + ("…" if len(codes) > 30 else ""),
                    "status": S(to_status).label,
                },
                episode=episode.pk,
                shots=[s.pk for s in moving],
                status=to_status,
            )
    return BulkResult(changed=[s.code for s in moving], unchanged=len(shots) - len(moving))


def reorder_shots(*, actor: Any, episode: Episode, shot_ids: Iterable[int]) -> list[int]:
    """Put the episode's shots in this order (shots not listed keep their relative
    order after the listed ones). Positions become 1, 2, 3, … Idempotent."""
    _require_business(actor)
    given = list(dict.fromkeys(int(pk) for pk in shot_ids))
    with transaction.atomic():
        current = list(
            Shot.objects.select_for_update()
            .filter(episode=episode)
            .order_by("position", "pk")
            .values_list("pk", "position")
        )
        known = {pk for pk, _position in current}
        if set(given) - known:
            message = _("Some of the shots to reorder are not in this episode.")
            raise InvalidInput(message, fields={"shots": [message]})
        listed = set(given)
        ordered = given + [pk for pk, _position in current if pk not in listed]
        wanted = {pk: index + 1 for index, pk in enumerate(ordered)}
        if any(wanted[pk] != position for pk, position in current):
            Shot.objects.filter(episode=episode).update(
                position=Case(
                    *[When(pk=pk, then=Value(pos)) for pk, pos in wanted.items()],
                    output_field=IntegerField(),
                )
            )
    return ordered


def delete_shot(*, actor: Any, shot: Shot) -> None:
    """Remove a shot that has no takes (a shot with takes is omitted instead)."""
    _require_business(actor)
    if shot.takes.exists():
        raise Conflict(
            _("Shot %(code)s has takes, and their cost would be lost. Omit it instead.")
            % {"code": shot.code}
        )
    shot.delete()


def _set_casting(shot: Shot, assets: list[Asset]) -> None:
    wanted = {a.pk for a in assets}
    current = set(Casting.objects.filter(shot=shot).values_list("asset_id", flat=True))
    Casting.objects.filter(shot=shot, asset_id__in=current - wanted).delete()
    Casting.objects.bulk_create(Casting(shot=shot, asset_id=pk) for pk in wanted - current)


def set_casting(*, actor: Any, shot: Shot, assets: Iterable[Asset]) -> None:
    """The shot's characters/assets become exactly these."""
    _require_business(actor)
    checked = _check_assets(shot.episode.order_id, assets)
    with transaction.atomic():
        _set_casting(shot, checked)


# --- Takes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Costing:
    cost: Decimal | None
    currency: str
    per_second: Decimal | None


def cost_of(*, tool: AITool, seconds: Decimal, day: dt.date, prices: list | None = None) -> Costing:
    """seconds x the tool's price in force on day, rounded half-up to the currency's
    minor unit; no cost when the tool had no price that day."""
    price = price_in_force(prices, day) if prices is not None else tool.price_on(day)
    if price is None:
        return Costing(cost=None, currency="CNY", per_second=None)
    return Costing(
        cost=quantize(seconds * price.per_second, price.currency),
        currency=price.currency,
        per_second=price.per_second,
    )


def _check_manual_cost(actor: Any, cost: Any, currency: str | None) -> tuple[Decimal, str]:
    if not roles.can_see_money(actor):
        raise NotPermitted(_("Only owners and producers can enter a take's cost."))
    try:
        currency = check_currency(currency or "CNY")
    except ValueError as exc:
        message = _("Unknown currency.")
        raise InvalidInput(message, fields={"currency": [message]}) from exc
    try:
        amount = cost if isinstance(cost, Decimal) else Decimal(str(cost).strip())
    except (InvalidOperation, ValueError) as exc:
        message = _("Enter the cost as an amount, such as 12.50.")
        raise InvalidInput(message, fields={"cost": [message]}) from exc
    if not amount.is_finite() or amount < 0 or amount >= Decimal("1e10"):
        message = _("The cost must be zero or more.")
        raise InvalidInput(message, fields={"cost": [message]})
    if amount != quantize(amount, currency):
        message = _("A %(currency)s amount has at most %(places)s decimal places.") % {
            "currency": currency,
            "places": len(str(quantize(Decimal(1), currency)).partition(".")[2]),
        }
        raise InvalidInput(message, fields={"cost": [message]})
    return amount, currency


def _attach_result(take: Take, upload: UploadedFile) -> None:
    checked = check_upload(upload)
    if not checked.content_type.startswith(RESULT_TYPES):
        message = _("A take's result is a video (mp4, mov, webm) or an image (png, jpg).")
        raise InvalidInput(message, fields={"result_file": [message]})
    take.result_file.save(checked.stored_name, upload, save=False)
    take.result_content_type = checked.content_type
    take.result_original_name = checked.original_name


def add_take(
    *,
    actor: Any,
    shot: Shot,
    tool: AITool,
    generated_seconds: Any,
    generated_on: dt.date | None = None,
    cost: Any = None,
    currency: str | None = None,
    upload: UploadedFile | None = None,
    select: bool = False,
    **fields: Any,
) -> Take:
    """Log a generation attempt on shot. Its cost is seconds x the tool's price on its
    date unless a cost is entered (owners and producers only). The first take moves a
    shot that is still to do to generating."""
    _require_shot_access(actor, shot)
    if not isinstance(tool, AITool):
        message = _("Choose the tool that made this take.")
        raise InvalidInput(message, fields={"tool": [message]})
    take = Take(
        shot=shot,
        tool=tool,
        generated_seconds=check_seconds(generated_seconds, field="generated_seconds"),
        generated_on=generated_on or today(studio_zone()),
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    for key, value in fields.items():
        if key in TAKE_FIELDS and key not in {"tool", "generated_seconds", "generated_on"}:
            if key == "reference_urls":
                value = check_urls(value)
            elif key == "result_url":
                value = (value or "").strip()
                if value:
                    check_urls([value], field="result_url")
            elif isinstance(value, str):
                value = clean_text(value)
            setattr(take, key, value)
    if cost is not None and cost != "":
        take.cost, take.currency = _check_manual_cost(actor, cost, currency)
        take.cost_is_manual = True
    else:
        costing = cost_of(tool=tool, seconds=take.generated_seconds, day=take.generated_on)
        take.cost, take.currency, take.price_per_second = (
            costing.cost,
            costing.currency,
            costing.per_second,
        )
    with transaction.atomic():
        locked = Shot.objects.select_for_update().get(pk=shot.pk)
        take.shot = locked
        take.number = (Take.objects.filter(shot=locked).aggregate(m=Max("number"))["m"] or 0) + 1
        if upload is not None:
            _attach_result(take, upload)
        _full_clean(take, exclude=["shot", "result_file"])
        take.save()
        if select:
            _select(take)
        if locked.status == S.TODO:
            Shot.objects.filter(pk=locked.pk).update(status=S.GENERATING, updated_at=timezone.now())
            shot.status = S.GENERATING
    return take


def update_take(
    *,
    actor: Any,
    take: Take,
    cost: Any = None,
    currency: str | None = None,
    clear_cost: bool = False,
    upload: UploadedFile | None = None,
    **fields: Any,
) -> Take:
    """Correct a take. A computed cost follows the new seconds, tool or date; a cost
    entered by hand stays until it is changed or cleared (owners and producers)."""
    _require_shot_access(actor, take.shot)
    for key, value in fields.items():
        if key not in TAKE_FIELDS or value is None:
            continue
        if key == "generated_seconds":
            value = check_seconds(value, field="generated_seconds")
        elif key == "reference_urls":
            value = check_urls(value)
        elif key == "result_url":
            value = (value or "").strip()
            if value:
                check_urls([value], field="result_url")
        elif key == "tool" and not isinstance(value, AITool):
            message = _("Choose the tool that made this take.")
            raise InvalidInput(message, fields={"tool": [message]})
        elif isinstance(value, str):
            value = clean_text(value)
        setattr(take, key, value)
    if ((cost is not None and cost != "") or clear_cost) and not roles.can_see_money(actor):
        raise NotPermitted(_("Only owners and producers can enter a take's cost."))
    if cost is not None and cost != "":
        take.cost, take.currency = _check_manual_cost(actor, cost, currency)
        take.cost_is_manual = True
        take.price_per_second = None
    elif clear_cost or not take.cost_is_manual:
        costing = cost_of(tool=take.tool, seconds=take.generated_seconds, day=take.generated_on)
        take.cost, take.currency, take.price_per_second = (
            costing.cost,
            costing.currency,
            costing.per_second,
        )
        take.cost_is_manual = False
    with transaction.atomic():
        if upload is not None:
            _attach_result(take, upload)
        _full_clean(take, exclude=["shot", "result_file"])
        take.save()
    return take


def _select(take: Take) -> None:
    # Unselect first: the database allows one selected take per shot at any moment.
    Take.objects.filter(shot_id=take.shot_id, is_selected=True).exclude(pk=take.pk).update(
        is_selected=False
    )
    Take.objects.filter(pk=take.pk).update(is_selected=True)
    take.is_selected = True


def select_take(*, actor: Any, take: Take) -> Take:
    """Make take the shot's selected take (the one whose seconds count). Idempotent."""
    _require_shot_access(actor, take.shot)
    with transaction.atomic():
        Shot.objects.select_for_update().filter(pk=take.shot_id).first()
        _select(take)
    return take


def unselect_take(*, actor: Any, take: Take) -> Take:
    """The shot goes back to its planned seconds. Idempotent."""
    _require_shot_access(actor, take.shot)
    Take.objects.filter(pk=take.pk).update(is_selected=False)
    take.is_selected = False
    return take


def delete_take(*, actor: Any, take: Take) -> None:
    """Remove a take logged by mistake (owners and producers)."""
    _require_business(actor)
    take.delete()


def recost_takes(*, tool_id: int, since: dt.date) -> int:
    """Re-cost the computed (not hand-entered) takes of a tool dated on or after since,
    with the prices as they are now. Returns how many changed."""
    prices = prices_by_tool([tool_id])[tool_id]
    tool = AITool(pk=tool_id)
    changed = []
    for take in Take.objects.filter(tool_id=tool_id, generated_on__gte=since, cost_is_manual=False):
        costing = cost_of(
            tool=tool, seconds=take.generated_seconds, day=take.generated_on, prices=prices
        )
        if (take.cost, take.currency, take.price_per_second) != (
            costing.cost,
            costing.currency,
            costing.per_second,
        ):
            take.cost, take.currency, take.price_per_second = (
                costing.cost,
                costing.currency,
                costing.per_second,
            )
            changed.append(take)
    Take.objects.bulk_update(changed, ["cost", "currency", "price_per_second"], batch_size=500)
    if changed:  # bulk_update sends no model signal: tell billing's stored margins
        costs_changed.send(sender=Take, reason="recost_takes")
    return len(changed)


# --- Assets ------------------------------------------------------------------------------


def _check_asset_name(asset: Asset) -> None:
    asset.name = clean_text(asset.name)
    clash = Asset.objects.filter(order_id=asset.order_id, name__iexact=asset.name).exclude(
        pk=asset.pk
    )
    if asset.name and clash.exists():
        message = _("This order already has an asset called “%(name)s”.") % {"name": asset.name}
        raise InvalidInput(message, fields={"name": [message]})
    if any(sep in asset.name for sep in ";；"):
        message = _("A name cannot contain a semicolon.")
        raise InvalidInput(message, fields={"name": [message]})


def _attach_image(asset: Asset, upload: UploadedFile) -> None:
    checked = check_upload(upload)
    if not checked.content_type.startswith("image/"):
        message = _("The reference image must be a PNG or JPEG picture.")
        raise InvalidInput(message, fields={"image": [message]})
    asset.image.save(checked.stored_name, upload, save=False)
    asset.image_content_type = checked.content_type


def create_asset(
    *, actor: Any, order: Order, name: str, image: UploadedFile | None = None, **fields: Any
) -> Asset:
    """Add a character, location, prop… to an order (names unique per order)."""
    _require_business(actor)
    asset = Asset(order=order, name=name)
    _set_asset_fields(asset, fields)
    _check_asset_name(asset)
    _full_clean(asset, exclude=["order", "image"])
    with transaction.atomic():
        if image is not None:
            _attach_image(asset, image)
        asset.save()
    return asset


def _set_asset_fields(asset: Asset, fields: dict[str, Any]) -> None:
    for key, value in fields.items():
        if key not in ASSET_FIELDS or value is None:
            continue
        if key == "reference_urls":
            value = check_urls(value)
        elif isinstance(value, str):
            value = clean_text(value)
        setattr(asset, key, value)


def update_asset(
    *,
    actor: Any,
    asset: Asset,
    image: UploadedFile | None = None,
    remove_image: bool = False,
    shots: Iterable[Shot] | None = None,
    **fields: Any,
) -> Asset:
    """Change an asset; `shots` (if given) becomes exactly the shots it appears in."""
    _require_business(actor)
    _set_asset_fields(asset, fields)
    _check_asset_name(asset)
    _full_clean(asset, exclude=["order", "image"])
    wanted_shots = None
    if shots is not None:
        wanted_shots = list(dict.fromkeys(shots))
        if any(shot.episode.order_id != asset.order_id for shot in wanted_shots):
            message = _("An asset appears only in shots of its own order.")
            raise InvalidInput(message, fields={"shots": [message]})
    with transaction.atomic():
        if remove_image and asset.image:
            asset.image = ""
            asset.image_content_type = ""
        if image is not None:
            _attach_image(asset, image)
        asset.save()
        if wanted_shots is not None:
            wanted = {s.pk for s in wanted_shots}
            current = set(Casting.objects.filter(asset=asset).values_list("shot_id", flat=True))
            Casting.objects.filter(asset=asset, shot_id__in=current - wanted).delete()
            Casting.objects.bulk_create(Casting(asset=asset, shot_id=pk) for pk in wanted - current)
    return asset


def delete_asset(*, actor: Any, asset: Asset) -> None:
    """Remove an asset (and its casting; the shots stay)."""
    _require_business(actor)
    asset.delete()


# --- AI-content labels -------------------------------------------------------------------


def set_ai_label_checks(
    *, actor: Any, deliverable: Deliverable, visible: bool, metadata: bool
) -> Deliverable:
    """Record whether the deliverable carries the visible AI-content label and the label
    in its file metadata (GB 45438-2025). Owners, producers and the order's artist.
    Idempotent: unchanged checks keep their time and write nothing."""
    order = deliverable.order
    if not (
        roles.can_manage_business(actor)
        or (roles.is_artist(actor) and order.assignee_id == actor.pk)
    ):
        raise NotPermitted(_("You are not allowed to check this deliverable's labels."))
    now = timezone.now()
    fields = []
    if visible != (deliverable.ai_label_visible_at is not None):
        deliverable.ai_label_visible_at = now if visible else None
        fields.append("ai_label_visible_at")
    if metadata != (deliverable.ai_label_metadata_at is not None):
        deliverable.ai_label_metadata_at = now if metadata else None
        fields.append("ai_label_metadata_at")
    if not fields:
        return deliverable
    deliverable.ai_label_checked_by = actor if getattr(actor, "pk", None) else None
    fields.append("ai_label_checked_by")
    with transaction.atomic():
        deliverable.save(update_fields=fields)
        yes, no = _("checked"), _("not checked")
        record_event(
            order=order,
            kind=OrderEvent.Kind.AI_LABELS,
            actor=actor,
            public=False,
            message=_(
                "“%(title)s” v%(version)s: visible AI label %(visible)s; label in the file's "
                "metadata %(metadata)s."
            )
            % {
                "title": deliverable.title,
                "version": deliverable.version,
                "visible": yes if visible else no,
                "metadata": yes if metadata else no,
            },
            data={"deliverable": deliverable.pk, "visible": visible, "metadata": metadata},
        )
    return deliverable
