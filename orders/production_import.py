# Chinese column names and punctuation (full-width semicolons, brackets) are meant.
# ruff: noqa: RUF001
"""Shot lists in and out: CSV export and import (with a preview), and screenplay import
from Fountain.

Both imports work in two steps. `preview_*` reads the upload, checks every row and
stores the result in an ImportBatch row (server-side: what is confirmed is exactly what
was shown, and nothing is saved to the breakdown yet). `apply_import` plans again
against the breakdown as it is now, refuses if that differs from the preview, and
otherwise saves everything in one transaction with one timeline event.

Files: UTF-8 with or without a byte-order mark, UTF-16 with a byte-order mark (Excel's
"Unicode text") or GB18030 (Chinese Excel and WPS); commas, semicolons or tabs between
columns. Screenplays are parsed by screenplain, a maintained Fountain parser.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal, InvalidOperation
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from orders.csv_tools import MAX_CSV_BYTES, decode_upload, read_table, read_upload
from orders.csv_tools import header_key as _header_key
from orders.models import Asset, Casting, Episode, ImportBatch, Order, Shot
from orders.models.production import MAX_SECONDS, SHOT_CODE_RE
from orders.production import (
    clean_text,
    next_episode_number,
    production_event,
    suggest_next_code,
)
from studio import roles
from studio.errors import Conflict, InvalidInput, NotPermitted
from studio.models import AITool

S = Shot.Status
MAX_SCRIPT_BYTES = 2 * 1024 * 1024
MAX_ROWS = 5000
MAX_ERRORS_SHOWN = 200
# Keep a preview around this long; older unconfirmed ones are cleared on the next upload.
PENDING_DAYS = 7

# The exported columns, in order. Only episode and code are required on import.
COLUMNS = (
    "episode",
    "code",
    "scene",
    "description",
    "dialogue",
    "planned_seconds",
    "status",
    "tool",
    "assignee",
    "characters",
)
REQUIRED = ("episode", "code")
# Header names people use in their own spreadsheets (compared lower-cased, with spaces).
ALIASES: dict[str, frozenset[str]] = {
    "episode": frozenset({"episode", "ep", "episode number", "集", "集数", "剧集"}),
    "code": frozenset({"code", "shot", "shot code", "shot no", "镜头", "镜头号", "镜号"}),
    "scene": frozenset({"scene", "scene heading", "场景", "场次"}),
    "description": frozenset({"description", "action", "描述", "画面", "画面描述", "镜头描述"}),
    "dialogue": frozenset({"dialogue", "lines", "台词", "对白"}),
    "planned_seconds": frozenset(
        {"planned seconds", "seconds", "duration", "秒数", "时长", "计划秒数", "计划时长"}
    ),
    "status": frozenset({"status", "状态"}),
    "tool": frozenset({"tool", "model", "工具", "模型"}),
    "assignee": frozenset({"assignee", "artist", "负责人", "制作人"}),
    "characters": frozenset({"characters", "assets", "cast", "角色", "资产", "人物"}),
}
LIST_SEPARATORS = re.compile(r"[;；]")


class Mode:
    CREATE = "create"
    UPDATE = "update"
    CHOICES = (CREATE, UPDATE)


# --- Reading files -------------------------------------------------------------------------


def map_columns(header: list[str]) -> tuple[dict[str, int], list[str]]:
    """{field: column index} and the header cells that were not recognised."""
    mapping: dict[str, int] = {}
    unknown: list[str] = []
    for index, cell in enumerate(header):
        key = _header_key(cell)
        if not key:
            continue
        name = next((f for f, names in ALIASES.items() if key in names), None)
        if name is None:
            unknown.append(cell.strip())
            continue
        if name in mapping:
            message = _("The column “%(name)s” appears twice in the header.") % {
                "name": cell.strip()
            }
            raise InvalidInput(message, fields={"file": [message]})
        mapping[name] = index
    missing = [name for name in REQUIRED if name not in mapping]
    if missing:
        message = _(
            "The file has no %(missing)s column. The first row must name the columns; "
            "expected: %(expected)s."
        ) % {"missing": ", ".join(f"“{m}”" for m in missing), "expected": ", ".join(COLUMNS)}
        raise InvalidInput(message, fields={"file": [message]})
    return mapping, unknown


def read_csv_rows(text: str) -> tuple[dict[str, int], list[str], list[tuple[int, list[str]]]]:
    """Column mapping, unknown columns, and (line number, cells) for every data row."""
    table = read_table(text, max_rows=MAX_ROWS)
    mapping, unknown = map_columns(table.header)
    if not table.rows:
        message = _("The file has a header but no shots.")
        raise InvalidInput(message, fields={"file": [message]})
    return mapping, unknown, table.rows


# --- Exporting -----------------------------------------------------------------------------


def format_seconds(value: Decimal) -> str:
    """5.00 -> "5", 7.50 -> "7.5": short and stable, so exports compare byte for byte."""
    text = f"{value.normalize():f}"
    return text if text != "-0" else "0"


def export_rows(order: Order) -> list[list[str]]:
    shots = (
        Shot.objects.filter(episode__order=order)
        .select_related("episode", "tool", "assignee")
        .prefetch_related("assets")
        .order_by("episode__number", "position", "pk")
    )
    rows = []
    for shot in shots:
        rows.append(
            [
                str(shot.episode.number),
                shot.code,
                shot.scene,
                shot.description,
                shot.dialogue,
                format_seconds(shot.planned_seconds),
                shot.status,
                shot.tool.name if shot.tool else "",
                shot.assignee.get_username() if shot.assignee else "",
                "; ".join(sorted(asset.name for asset in shot.assets.all())),
            ]
        )
    return rows


def export_csv(*, actor: Any, order: Order) -> bytes:
    """The order's shot list as CSV (UTF-8 with BOM so that Excel and WPS read Chinese),
    in the format import reads. Owners and producers."""
    if not roles.can_manage_business(actor):
        raise NotPermitted(_("Only owners and producers can export the shot list."))
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    writer.writerows(export_rows(order))
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


# --- Planning a CSV import ----------------------------------------------------------------


@dataclass
class Lookups:
    """What rows refer to, loaded once per import."""

    order: Order
    episodes: dict[int, Episode]
    shots: dict[tuple[int, str], Shot]
    casting: dict[int, set[str]]
    tools: dict[str, AITool]
    people: dict[str, Any]
    assets: dict[str, Asset]


def _lookups(order: Order) -> Lookups:
    episodes = {e.number: e for e in Episode.objects.filter(order=order)}
    shots = {
        (s.episode.number, s.code): s
        for s in Shot.objects.filter(episode__order=order).select_related(
            "episode", "tool", "assignee"
        )
    }
    casting: dict[int, set[str]] = {}
    for shot_id, name in Casting.objects.filter(shot__episode__order=order).values_list(
        "shot_id", "asset__name"
    ):
        casting.setdefault(shot_id, set()).add(name)
    people: dict[str, Any] = {}
    members = get_user_model().objects.filter(is_active=True, membership__isnull=False)
    for user in members:
        people.setdefault(user.get_username().lower(), user)
        full = user.get_full_name().strip().lower()
        if full:
            people.setdefault(full, user)
    return Lookups(
        order=order,
        episodes=episodes,
        shots=shots,
        casting=casting,
        tools={t.name.lower(): t for t in AITool.objects.all()},
        people=people,
        assets={a.name.lower(): a for a in Asset.objects.filter(order=order)},
    )


def _status_names() -> dict[str, str]:
    names = {}
    for value, label in S.choices:
        names[value] = value
        names[str(label).lower()] = value
        names[value.replace("_", " ")] = value
    names.update({"to do": S.TODO, "todo": S.TODO, "done": S.APPROVED})
    names.update({"待制作": S.TODO, "生成中": S.GENERATING, "审核": S.REVIEW})
    names.update({"待审核": S.REVIEW, "已通过": S.APPROVED, "通过": S.APPROVED, "删除": S.OMITTED})
    names.update({"已删除": S.OMITTED, "省略": S.OMITTED})
    return names


def parse_episode_number(raw: str) -> int | None:
    """ "3", "03", "E03", "EP3", "Episode 3", "第3集" -> 3."""
    text = raw.strip()
    match = re.fullmatch(r"(?:e|ep|episode)?\s*0*(\d{1,4})", text, flags=re.IGNORECASE)
    if match is None:
        match = re.fullmatch(r"第\s*0*(\d{1,4})\s*集", text)
    if match is None:
        return None
    number = int(match.group(1))
    return number if 1 <= number <= 9999 else None


def parse_seconds(raw: str) -> Decimal | None:
    """ "5", "7.5", "7,5", "5s", "5 秒" -> Decimal; None if not a valid number of seconds."""
    text = raw.strip().lower().replace(",", ".")
    text = re.sub(r"\s*(s|sec|secs|seconds|秒)$", "", text)
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    if not value.is_finite() or value < 0 or value > MAX_SECONDS:
        return None
    if value != value.quantize(Decimal("0.01")):
        return None
    return value.quantize(Decimal("0.01"))


def split_names(raw: str) -> list[str]:
    return list(dict.fromkeys(n.strip() for n in LIST_SEPARATORS.split(raw) if n.strip()))


@dataclass
class RowPlan:
    line: int
    episode: int | None
    code: str
    action: str = ""  # create, update, unchanged
    values: dict[str, Any] = field(default_factory=dict)
    changes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "episode": self.episode,
            "code": self.code,
            "action": self.action,
            "values": self.values,
            "changes": self.changes,
            "errors": self.errors,
        }


@dataclass
class CsvPlan:
    mode: str
    columns: list[str]
    rows: list[RowPlan]
    new_episodes: list[int]
    new_assets: list[str]

    @property
    def errors(self) -> int:
        return sum(1 for row in self.rows if row.errors)

    def counts(self) -> dict[str, int]:
        counted = Counter(row.action for row in self.rows if not row.errors)
        return {key: counted.get(key, 0) for key in ("create", "update", "unchanged")}

    def signature(self) -> list[list[Any]]:
        """What applying would do (JSON-ready); a fresh plan must match the previewed one."""
        return [[r.line, r.action, list(r.changes), len(r.errors)] for r in self.rows]


def plan_csv(order: Order, raw_rows: list[dict[str, Any]], mode: str) -> CsvPlan:
    """Check each row against the breakdown as it is now. raw_rows: {"line", "cells":
    {field: text}} with only the file's columns."""
    looks = _lookups(order)
    statuses = _status_names()
    columns = sorted({name for row in raw_rows for name in row["cells"]}, key=COLUMNS.index)
    seen: dict[tuple[int, str], int] = {}
    new_episodes: set[int] = set()
    new_assets: dict[str, str] = {}
    plans = []
    for raw in raw_rows:
        cells: dict[str, str] = raw["cells"]
        plan = RowPlan(line=raw["line"], episode=None, code=clean_text(cells.get("code", "")))
        plan.episode = parse_episode_number(cells.get("episode", ""))
        if plan.episode is None:
            plan.errors.append(
                _("Episode “%(value)s” is not an episode number.")
                % {"value": cells.get("episode", "")}
            )
        if not plan.code:
            plan.errors.append(_("The shot code is empty."))
        elif not re.match(SHOT_CODE_RE, plan.code):
            plan.errors.append(
                _(
                    "Shot code “%(code)s” is not valid: 1 to 16 characters without spaces, "
                    "commas or semicolons."
                )
                % {"code": plan.code[:40]}
            )
        key = (plan.episode or 0, plan.code)
        if plan.episode is not None and plan.code:
            if key in seen:
                plan.errors.append(
                    _("Shot %(code)s of episode %(episode)s is also on line %(line)s.")
                    % {"code": plan.code, "episode": plan.episode, "line": seen[key]}
                )
            else:
                seen[key] = plan.line
        existing = looks.shots.get(key)
        values: dict[str, Any] = {}
        for name in ("scene", "description", "dialogue"):
            if name in cells:
                values[name] = clean_text(cells[name])
        if "scene" in values and len(values["scene"]) > 200:
            plan.errors.append(_("The scene is longer than 200 characters."))
        if "planned_seconds" in cells:
            text = cells["planned_seconds"].strip()
            seconds = Decimal("0.00") if not text else parse_seconds(text)
            if seconds is None:
                plan.errors.append(
                    _(
                        "Planned seconds “%(value)s” is not a number of seconds from 0 to %(max)s "
                        "with at most two decimals."
                    )
                    % {"value": text[:40], "max": MAX_SECONDS}
                )
            else:
                values["planned_seconds"] = str(seconds)
        if "status" in cells and cells["status"].strip():
            status = statuses.get(cells["status"].strip().lower())
            if status is None:
                plan.errors.append(
                    _("Unknown status “%(value)s”. Use one of: %(choices)s.")
                    % {"value": cells["status"].strip()[:40], "choices": ", ".join(S.values)}
                )
            else:
                values["status"] = status
        if "tool" in cells:
            name = cells["tool"].strip()
            tool = looks.tools.get(name.lower()) if name else None
            if name and tool is None:
                plan.errors.append(
                    _(
                        "Unknown tool “%(value)s”. Add it to the tool catalog first, or fix the "
                        "name."
                    )
                    % {"value": name[:80]}
                )
            values["tool"] = [tool.pk, tool.name] if tool else None
        if "assignee" in cells:
            name = cells["assignee"].strip()
            person = looks.people.get(name.lower()) if name else None
            if name and person is None:
                plan.errors.append(
                    _("“%(value)s” is not a member of the studio team.") % {"value": name[:80]}
                )
            values["assignee"] = (
                [person.pk, person.get_full_name() or person.get_username()] if person else None
            )
        if "characters" in cells:
            names = split_names(cells["characters"])
            too_long = [n for n in names if len(n) > 120]
            if too_long:
                plan.errors.append(_("A character name is longer than 120 characters."))
            canonical = []
            for name in names:
                asset = looks.assets.get(name.lower())
                if asset is None:
                    new_assets.setdefault(name.lower(), name)
                    canonical.append(new_assets[name.lower()])
                else:
                    canonical.append(asset.name)
            values["characters"] = sorted(dict.fromkeys(canonical))
        plan.values = values
        if existing is not None and mode == Mode.CREATE:
            plan.errors.append(
                _(
                    "Shot %(code)s already exists in episode %(episode)s. Choose “add and "
                    "update” to change existing shots."
                )
                % {"code": plan.code, "episode": plan.episode}
            )
        if not plan.errors:
            if existing is None:
                plan.action = "create"
                if plan.episode not in looks.episodes:
                    new_episodes.add(plan.episode or 0)
            else:
                plan.changes = _changes(existing, values, looks.casting.get(existing.pk, set()))
                plan.action = "update" if plan.changes else "unchanged"
        plans.append(plan)
    used_new = {n.lower() for p in plans if not p.errors for n in p.values.get("characters", [])}
    return CsvPlan(
        mode=mode,
        columns=columns,
        rows=plans,
        new_episodes=sorted(new_episodes),
        new_assets=sorted(v for k, v in new_assets.items() if k in used_new),
    )


def _changes(shot: Shot, values: dict[str, Any], cast: set[str]) -> list[str]:
    changed = []
    for name in ("scene", "description", "dialogue"):
        if name in values and values[name] != getattr(shot, name):
            changed.append(name)
    if "planned_seconds" in values and Decimal(values["planned_seconds"]) != shot.planned_seconds:
        changed.append("planned_seconds")
    if "status" in values and values["status"] != shot.status:
        changed.append("status")
    if "tool" in values and (values["tool"] or [None])[0] != shot.tool_id:
        changed.append("tool")
    if "assignee" in values and (values["assignee"] or [None])[0] != shot.assignee_id:
        changed.append("assignee")
    if "characters" in values and {n.lower() for n in values["characters"]} != {
        n.lower() for n in cast
    }:
        changed.append("characters")
    return changed


def _raw_rows(mapping: dict[str, int], rows: list[tuple[int, list[str]]]) -> list[dict[str, Any]]:
    raw = []
    for line, cells in rows:
        raw.append(
            {
                "line": line,
                "cells": {
                    name: (cells[index] if index < len(cells) else "")
                    for name, index in mapping.items()
                },
            }
        )
    return raw


def _require_importer(actor: Any) -> None:
    if not roles.can_manage_business(actor):
        raise NotPermitted(_("Only owners and producers can import into the breakdown."))


def _new_batch(*, actor: Any, order: Order, **fields: Any) -> ImportBatch:
    stale = timezone.now() - dt.timedelta(days=PENDING_DAYS)
    ImportBatch.objects.filter(status=ImportBatch.Status.PENDING, created_at__lt=stale).delete()
    return ImportBatch.objects.create(
        order=order, created_by=actor if getattr(actor, "pk", None) else None, **fields
    )


def preview_csv(*, actor: Any, order: Order, upload: Any, mode: str) -> ImportBatch:
    """Read a shot list and store its preview (nothing is changed in the breakdown)."""
    _require_importer(actor)
    if mode not in Mode.CHOICES:
        message = _("Choose how to import: add new shots, or add and update.")
        raise InvalidInput(message, fields={"mode": [message]})
    decoded = decode_upload(read_upload(upload, limit=MAX_CSV_BYTES), kind="csv")
    mapping, unknown, rows = read_csv_rows(decoded.text)
    raw = _raw_rows(mapping, rows)
    plan = plan_csv(order, raw, mode)
    return _new_batch(
        actor=actor,
        order=order,
        kind=ImportBatch.Kind.CSV,
        mode=mode,
        filename=str(getattr(upload, "name", "") or "")[:255],
        encoding=decoded.encoding,
        payload={
            "raw": raw,
            "unknown_columns": unknown,
            "columns": plan.columns,
            "rows": [row.as_json() for row in plan.rows],
            "new_episodes": plan.new_episodes,
            "new_assets": plan.new_assets,
            "counts": plan.counts(),
            "signature": plan.signature(),
        },
        error_count=plan.errors,
    )


def _claim(batch: ImportBatch, actor: Any) -> None:
    _require_importer(actor)
    if batch.error_count:
        raise Conflict(
            _("This file has errors; nothing was imported. Fix them and upload the file again.")
        )
    claimed = ImportBatch.objects.filter(pk=batch.pk, status=ImportBatch.Status.PENDING).update(
        status=ImportBatch.Status.APPLIED, applied_at=timezone.now()
    )
    if claimed != 1:
        raise Conflict(_("This import was already confirmed or discarded."), code="already_done")


def _changed_since_preview() -> Conflict:
    return Conflict(
        _("The breakdown changed since this preview; nothing was imported. Upload the file again."),
        code="stale_preview",
    )


def apply_import(*, actor: Any, batch: ImportBatch) -> dict[str, int]:
    """Save a previewed import, all rows or none, and write one timeline event."""
    if batch.kind == ImportBatch.Kind.FOUNTAIN:
        return _apply_fountain(actor=actor, batch=batch)
    with transaction.atomic():
        _claim(batch, actor)
        order = Order.objects.select_for_update().get(pk=batch.order_id)
        plan = plan_csv(order, batch.payload["raw"], batch.mode)
        if plan.errors or plan.signature() != batch.payload["signature"]:
            raise _changed_since_preview()
        counts = _save_csv_plan(order, plan)
        summary = {**counts, "episodes": len(plan.new_episodes), "assets": len(plan.new_assets)}
        ImportBatch.objects.filter(pk=batch.pk).update(summary=summary)
        production_event(
            order,
            actor,
            _(
                "Shot list imported from %(file)s: %(created)s new shots, %(updated)s updated, "
                "%(unchanged)s unchanged."
            )
            % {
                "file": batch.filename or "CSV",
                "created": counts["create"],
                "updated": counts["update"],
                "unchanged": counts["unchanged"],
            },
            batch=batch.pk,
            **summary,
        )
    batch.refresh_from_db()
    return summary


def _save_csv_plan(order: Order, plan: CsvPlan) -> dict[str, int]:
    episodes = {e.number: e for e in Episode.objects.filter(order=order)}
    for number in plan.new_episodes:
        episodes[number] = Episode.objects.create(order=order, number=number)
    assets = {a.name.lower(): a for a in Asset.objects.filter(order=order)}
    for name in plan.new_assets:
        if name.lower() not in assets:
            assets[name.lower()] = Asset.objects.create(
                order=order, name=name, kind=Asset.Kind.CHARACTER
            )
    shots = {
        (s.episode.number, s.code): s
        for s in Shot.objects.filter(episode__order=order).select_related("episode")
    }
    next_position: dict[int, int] = {}
    for shot in shots.values():
        number = shot.episode.number
        next_position[number] = max(next_position.get(number, 0), shot.position)
    for row in plan.rows:
        if row.action == "unchanged":
            continue
        values = row.values
        number = row.episode or 0
        found = shots.get((number, row.code))
        if found is None:
            next_position[number] = next_position.get(number, 0) + 1
            shot = Shot(episode=episodes[number], code=row.code, position=next_position[number])
        else:
            shot = found
        for name in ("scene", "description", "dialogue", "status"):
            if name in values:
                setattr(shot, name, values[name])
        if "planned_seconds" in values:
            shot.planned_seconds = Decimal(values["planned_seconds"])
        if "tool" in values:
            shot.tool_id = values["tool"][0] if values["tool"] else None
        if "assignee" in values:
            shot.assignee_id = values["assignee"][0] if values["assignee"] else None
        shot.save()
        if "characters" in values:
            wanted = {assets[n.lower()].pk for n in values["characters"]}
            current = set(Casting.objects.filter(shot=shot).values_list("asset_id", flat=True))
            Casting.objects.filter(shot=shot, asset_id__in=current - wanted).delete()
            Casting.objects.bulk_create(Casting(shot=shot, asset_id=pk) for pk in wanted - current)
    return plan.counts()


def discard_import(*, actor: Any, batch: ImportBatch) -> bool:
    """Drop a preview without importing. Idempotent."""
    _require_importer(actor)
    return (
        ImportBatch.objects.filter(pk=batch.pk, status=ImportBatch.Status.PENDING).update(
            status=ImportBatch.Status.DISCARDED
        )
        == 1
    )


# --- Fountain screenplays ------------------------------------------------------------------

# Scene heading prefixes (Fountain's and the Chinese 内景/外景), and times of day.
_HEADING_PREFIX = re.compile(
    r"^(?:int\.?\s*/\s*ext\.?|i\s*/\s*e|int|ext|est|内景|外景|内外景|内|外)[\s.:：]*",
    flags=re.IGNORECASE,
)
_HEADING_TIME = re.compile(r"\s*[-–—]\s*[^-–—]*$")
_EXTENSION = re.compile(r"\s*[(（][^)）]*[)）]\s*$")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]")


def location_of(heading: str) -> str:
    """ "INT. TEA HOUSE - NIGHT" -> "TEA HOUSE"; "内景 茶馆 - 夜" -> "茶馆"."""
    text = _HEADING_PREFIX.sub("", heading.strip()).strip()
    text = _HEADING_TIME.sub("", text).strip(" .-–—")
    return text[:120]


def speaker_name(raw: str) -> str:
    """ "MEI (V.O.)" -> "MEI"; "林晚（画外音）" -> "林晚"."""
    name = raw.strip().rstrip("^").strip()
    while _EXTENSION.search(name):
        name = _EXTENSION.sub("", name).strip()
    return name[:120]


def estimate_seconds(description: str, lines: list[tuple[str, str]]) -> Decimal:
    """A first guess at a shot's length: speech at about four Chinese characters or two
    and a half English words a second, plus two seconds of action; 2 to 15 seconds,
    rounded up to half a second. Only a starting point for planning."""
    speech = Decimal(0)
    for _speaker, text in lines:
        cjk = len(_CJK.findall(text))
        words = len(_CJK.sub(" ", text).split())
        speech += Decimal(cjk) / 4 + Decimal(words) / Decimal("2.5")
    total = speech + (Decimal(2) if description else Decimal(0))
    total = min(max(total, Decimal(2)), Decimal(15))
    return (total * 2).to_integral_value(rounding=ROUND_CEILING) / 2


@dataclass
class ScriptShot:
    scene: str
    description: str = ""
    lines: list[tuple[str, str]] = field(default_factory=list)


def _text(rich: Any) -> str:
    return str(rich).strip()


def parse_fountain(text: str, *, per: str = "paragraph") -> tuple[dict[str, Any], list[ScriptShot]]:
    """The title page and the shots of a Fountain screenplay (screenplain parses it).

    per="scene": one shot per scene; per="paragraph": a new shot at each action
    paragraph of a scene (dialogue goes with the shot before it).
    """
    from screenplain.parsers import fountain
    from screenplain.types import Action, Dialog, DualDialog, Slug

    try:
        script = fountain.parse(io.StringIO(text))
    except Exception as exc:  # a parser bug on odd input must not become a 500
        message = _("The screenplay could not be read: %(reason)s") % {"reason": str(exc)[:200]}
        raise InvalidInput(message, fields={"file": [message]}) from exc
    title_page = {key: " ".join(values) for key, values in (script.title_page or {}).items()}
    shots: list[ScriptShot] = []
    scene = ""
    current: ScriptShot | None = None
    headings = 0

    def add_dialog(dialog: Any) -> None:
        nonlocal current
        if current is None:
            current = ScriptShot(scene=scene)
            shots.append(current)
        speaker = speaker_name(_text(dialog.character))
        parts = [_text(line) for _parenthetical, line in dialog.blocks]
        current.lines.append((speaker, " ".join(p for p in parts if p)))

    for paragraph in script.paragraphs:
        if isinstance(paragraph, Slug):
            headings += 1
            scene = _text(paragraph.line)[:200]
            current = None
        elif isinstance(paragraph, Action):
            body = "\n".join(_text(line) for line in paragraph.lines).strip()
            if not body:
                continue
            if current is None or (per == "paragraph" and (current.description or current.lines)):
                current = ScriptShot(scene=scene)
                shots.append(current)
            current.description = f"{current.description}\n{body}".strip()
        elif isinstance(paragraph, Dialog):
            add_dialog(paragraph)
        elif isinstance(paragraph, DualDialog):
            add_dialog(paragraph.left)
            add_dialog(paragraph.right)
    if not headings and not any(shot.lines for shot in shots):
        message = _(
            "No scene headings or dialogue were found. Is this a Fountain screenplay? Scene "
            "headings start with INT. or EXT. (or a period, e.g. “.内景 茶馆 - 夜”)."
        )
        raise InvalidInput(message, fields={"file": [message]})
    return title_page, shots


def preview_fountain(
    *,
    actor: Any,
    order: Order,
    upload: Any,
    episode_number: int | None = None,
    per: str = "paragraph",
) -> ImportBatch:
    """Read a screenplay into a preview of shots and characters for one episode (an
    existing one, or a new one with that number)."""
    _require_importer(actor)
    if per not in {"scene", "paragraph"}:
        per = "paragraph"
    decoded = decode_upload(read_upload(upload, limit=MAX_SCRIPT_BYTES), kind="fountain")
    title_page, script_shots = parse_fountain(decoded.text, per=per)
    number = episode_number or next_episode_number(order)
    if not 1 <= number <= 9999:
        message = _("Choose an episode number from 1 to 9999.")
        raise InvalidInput(message, fields={"episode": [message]})
    episode = Episode.objects.filter(order=order, number=number).first()
    existing_assets = {a.name.lower(): a for a in Asset.objects.filter(order=order)}
    code = suggest_next_code(episode) if episode else "010"
    width, start = len(code), int(code)
    shots = []
    assets: dict[str, dict[str, Any]] = {}

    def asset(name: str, kind: str) -> str:
        key = name.lower()
        found = existing_assets.get(key)
        if key not in assets:
            assets[key] = {
                "name": found.name if found else name,
                "kind": found.kind if found else kind,
                "exists": found is not None,
                "shots": 0,
            }
        assets[key]["shots"] += 1
        return str(assets[key]["name"])

    for index, item in enumerate(script_shots):
        cast: list[str] = []
        location = location_of(item.scene) if item.scene else ""
        if location:
            cast.append(asset(location, Asset.Kind.LOCATION))
        for speaker in dict.fromkeys(s for s, _line in item.lines if s):
            cast.append(asset(speaker, Asset.Kind.CHARACTER))
        shots.append(
            {
                "code": f"{start + index * 10:0{width}d}",
                "scene": item.scene,
                "description": item.description,
                "dialogue": "\n".join(f"{s}: {line}" if s else line for s, line in item.lines),
                "planned_seconds": str(estimate_seconds(item.description, item.lines)),
                "assets": cast,
            }
        )
    if not shots:
        message = _("The screenplay has scene headings but nothing in them to make shots of.")
        raise InvalidInput(message, fields={"file": [message]})
    return _new_batch(
        actor=actor,
        order=order,
        kind=ImportBatch.Kind.FOUNTAIN,
        mode=per,
        filename=str(getattr(upload, "name", "") or "")[:255],
        encoding=decoded.encoding,
        payload={
            "episode": {
                "number": number,
                "exists": episode is not None,
                "title": (title_page.get("Title", "") if episode is None else episode.title)[:200],
            },
            "title_page": {k: v[:500] for k, v in list(title_page.items())[:20]},
            "shots": shots,
            "assets": sorted(assets.values(), key=lambda a: (a["kind"], a["name"])),
        },
    )


def _apply_fountain(*, actor: Any, batch: ImportBatch) -> dict[str, int]:
    payload = batch.payload
    with transaction.atomic():
        _claim(batch, actor)
        order = Order.objects.select_for_update().get(pk=batch.order_id)
        info = payload["episode"]
        episode = Episode.objects.filter(order=order, number=info["number"]).first()
        if (episode is not None) != info["exists"]:
            raise _changed_since_preview()
        if episode is None:
            episode = Episode.objects.create(
                order=order, number=info["number"], title=info["title"]
            )
        codes = [shot["code"] for shot in payload["shots"]]
        if Shot.objects.filter(episode=episode, code__in=codes).exists():
            raise _changed_since_preview()
        assets = {a.name.lower(): a for a in Asset.objects.filter(order=order)}
        created_assets = 0
        for item in payload["assets"]:
            if item["name"].lower() not in assets:
                if item["exists"]:
                    raise _changed_since_preview()
                assets[item["name"].lower()] = Asset.objects.create(
                    order=order, name=item["name"], kind=item["kind"]
                )
                created_assets += 1
        position = max(episode.shots.values_list("position", flat=True), default=0)
        castings = []
        for item in payload["shots"]:
            position += 1
            shot = Shot.objects.create(
                episode=episode,
                code=item["code"],
                position=position,
                scene=item["scene"],
                description=item["description"],
                dialogue=item["dialogue"],
                planned_seconds=Decimal(item["planned_seconds"]),
            )
            castings += [
                Casting(shot=shot, asset=assets[name.lower()])
                for name in dict.fromkeys(item["assets"])
            ]
        Casting.objects.bulk_create(castings)
        summary = {
            "shots": len(payload["shots"]),
            "assets": created_assets,
            "episode": episode.number,
        }
        ImportBatch.objects.filter(pk=batch.pk).update(summary=summary)
        production_event(
            order,
            actor,
            ngettext(
                "Screenplay %(file)s imported into episode %(number)s: %(count)s shot, "
                "%(assets)s new characters and locations.",
                "Screenplay %(file)s imported into episode %(number)s: %(count)s shots, "
                "%(assets)s new characters and locations.",
                len(payload["shots"]),
            )
            % {
                "file": batch.filename or "Fountain",
                "number": episode.number,
                "count": len(payload["shots"]),
                "assets": created_assets,
            },
            batch=batch.pk,
            episode=episode.pk,
        )
    batch.refresh_from_db()
    return summary


def pending_batch(order: Order, pk: int) -> ImportBatch | None:
    return ImportBatch.objects.filter(order=order, pk=pk).first()


def iter_errors(batch: ImportBatch) -> Iterable[dict[str, Any]]:
    return (row for row in batch.payload.get("rows", []) if row.get("errors"))
