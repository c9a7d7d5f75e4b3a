"""Which tables a full-data export holds, and how each value is written and read back.

Generic over the app registry: every concrete model of the apps in EXPORTED_APPS
(including auto-created many-to-many tables), plus the auth tables they point to, so a
model added later is exported without touching this module. Left out, because they
are caches, logs or rebuilt by `migrate`: sessions, django-axes logs, the admin log,
content types, permissions (ReelDesk's roles live in studio_membership), the worker
heartbeat and the export jobs themselves.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.db import connections, models
from django.db.migrations.loader import MigrationLoader

FORMAT = "reeldesk-export"
FORMAT_VERSION = 1

EXPORTED_APPS = ("studio", "orders", "billing")
EXTRA_TABLES = ("auth.user", "auth.group", "auth.user_groups")
EXCLUDED_TABLES = frozenset({"studio.heartbeat", "studio.exportjob"})
# Rows a fresh `migrate` (or a first page view) creates: an installation holding only
# these still counts as empty, and an import replaces them.
INSTALLATION_DEFAULTS = frozenset(
    {
        "studio.aitool",
        "studio.toolprice",
        "studio.studioprofile",
        "studio.remindersettings",
        "studio.webhooksettings",
        "billing.billingsettings",
    }
)
# Tables outside the export that point at exported rows: emptied by `import --replace`.
DEPENDENT_TABLES = (
    "admin.logentry",
    "sessions.session",
    "studio.exportjob",
    "auth.user_user_permissions",
    "auth.group_permissions",
)
SCHEMA_APPS = ("auth", *EXPORTED_APPS)


@dataclass(frozen=True)
class Table:
    label: str  # "orders.order"
    model: type[models.Model]
    fields: tuple[models.Field[Any, Any], ...]

    @property
    def columns(self) -> list[str]:
        return [f.attname for f in self.fields]

    @property
    def data_name(self) -> str:
        return f"data/{self.label}"

    @property
    def file_fields(self) -> list[models.FileField]:
        return [f for f in self.fields if isinstance(f, models.FileField)]

    def foreign_keys(self) -> list[tuple[str, str, str]]:
        """(column, target table label, target column) of every foreign key."""
        return [
            (f.attname, label_of(f.related_model), f.target_field.attname)  # type: ignore[arg-type, attr-defined]
            for f in self.fields
            if f.is_relation and (f.many_to_one or f.one_to_one)
        ]


def label_of(model: type[models.Model]) -> str:
    return model._meta.label_lower


def exported_tables() -> list[Table]:
    """Every exported table, sorted by label (the order they are written in)."""
    chosen: list[type[models.Model]] = []
    for model in apps.get_models(include_auto_created=True):
        label = label_of(model)
        meta = model._meta
        if meta.proxy or not meta.managed or label in EXCLUDED_TABLES:
            continue
        if meta.app_label in EXPORTED_APPS or label in EXTRA_TABLES:
            chosen.append(model)
    return sorted(
        (Table(label_of(m), m, tuple(m._meta.concrete_fields)) for m in chosen),
        key=lambda t: t.label,
    )


def schema_version(using: str = "default") -> dict[str, str]:
    """The latest migration of each exported app, as this code defines it."""
    loader = MigrationLoader(connections[using], ignore_no_migrations=True, load=True)
    leaves: dict[str, str] = {}
    for app_label, name in loader.graph.leaf_nodes():
        if app_label in SCHEMA_APPS:
            leaves[app_label] = max(name, leaves.get(app_label, ""))
    return dict(sorted(leaves.items()))


def field_type(field: models.Field[Any, Any]) -> str:
    """The type named in schema.json; how the value is written is documented in README."""
    if field.is_relation:
        return f"foreign key → {label_of(field.related_model)}.id"  # type: ignore[arg-type]
    kind = field.get_internal_type()
    if isinstance(field, models.DecimalField):
        return f"decimal({field.max_digits},{field.decimal_places}) as string"
    if isinstance(field, models.DateTimeField):
        return "datetime (ISO 8601, UTC)"
    if isinstance(field, models.DateField):
        return "date (ISO 8601)"
    if isinstance(field, models.FileField):
        return "file (path under media/)"
    if isinstance(field, models.JSONField):
        return "json"
    return kind


def describe(table: Table) -> dict[str, Any]:
    columns = []
    for f in table.fields:
        column: dict[str, Any] = {
            "name": f.attname,
            "type": field_type(f),
            "null": f.null,
        }
        if f.primary_key:
            column["primary_key"] = True
        if f.choices:
            column["choices"] = [str(value) for value, _label in f.flatchoices]
        columns.append(column)
    return {"table": table.model._meta.db_table, "label": table.label, "columns": columns}


# --- Values -------------------------------------------------------------------------------


def _sorted_json(value: Any) -> Any:
    # Key order differs between SQLite (as written) and PostgreSQL jsonb (its own):
    # sorted, the same data gives the same bytes on both.
    return json.loads(json.dumps(value, sort_keys=True))


def to_json_value(field: models.Field[Any, Any], value: Any) -> Any:
    """A database value as written into the JSON file (exact, text for money)."""
    if value is None:
        return None
    if isinstance(field, models.JSONField):
        return _sorted_json(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        from django.utils.duration import duration_iso_string

        return duration_iso_string(value)
    if isinstance(value, bytes | memoryview):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bool | int | float | str):
        return value
    return str(value)


def to_csv_value(field: models.Field[Any, Any], value: Any) -> str:
    """The same value as a CSV cell (null is empty; JSON is authoritative for null)."""
    if value is None:
        return ""
    if isinstance(field, models.JSONField):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(to_json_value(field, value))


def from_json_value(field: models.Field[Any, Any], value: Any) -> Any:
    """A JSON file value back into what the field stores."""
    if value is None or isinstance(field, models.JSONField):
        return value
    if isinstance(field, models.BinaryField):
        return base64.b64decode(value)
    if field.is_relation:
        target = field.target_field  # type: ignore[attr-defined]
        return target.to_python(value)
    return field.to_python(value)


def json_line(row: dict[str, Any]) -> str:
    return json.dumps(row, ensure_ascii=False, separators=(",", ":"))


def read_json_rows(lines: Iterator[bytes]) -> Iterator[dict[str, Any]]:
    """Rows of a data/*.json file: a JSON array written one row per line."""
    for raw in lines:
        text = raw.decode("utf-8").strip()
        if text in {"[", "]", ""}:
            continue
        if text.endswith(","):
            text = text[:-1]
        row = json.loads(text)
        if not isinstance(row, dict):
            raise ValueError("a row is not a JSON object")
        yield row
