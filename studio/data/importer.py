"""Restore an export zip: verify everything first, then load it all in one transaction.

Verification reads the whole zip before anything is written: safe member names (no
absolute paths, `..`, backslashes or symlinks), exactly the files the manifest lists
with their SHA-256 and size, the same schema version and columns as this code, every
row well-formed, every foreign key pointing to a row in the zip, every file a row
names present. Only then are the files staged under MEDIA_ROOT, the rows loaded in
one transaction (primary keys, counters, token digests and auto_now timestamps as
exported) and the staged files moved into place after the commit.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import uuid
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.color import no_style
from django.db import DatabaseError, connections, models, transaction

from studio.data import tables as t
from studio.data.exporter import COPY_BYTES, safe_member_name

BATCH = 500
Report = Callable[[str], None]


class ImportRefused(Exception):
    """The zip cannot be restored; the message names the problem. Nothing was changed."""


@dataclass
class ImportResult:
    counts: dict[str, int]
    files: int


@dataclass
class VerifiedExport:
    manifest: dict[str, Any]
    tables: list[t.Table]


def _member_is_symlink(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


def _rows(archive: zipfile.ZipFile, table: t.Table) -> Iterator[dict[str, Any]]:
    name = table.data_name + ".json"
    with archive.open(name) as handle:
        try:
            yield from t.read_json_rows(iter(handle))
        except (ValueError, UnicodeDecodeError) as exc:
            raise ImportRefused(f"{name} is not valid JSON: {exc}") from exc


def _decode(table: t.Table, row: dict[str, Any], where: str) -> dict[str, Any]:
    if list(row) != table.columns:
        raise ImportRefused(
            f"{where}: columns {', '.join(row)} do not match {', '.join(table.columns)}"
        )
    decoded: dict[str, Any] = {}
    for f in table.fields:
        try:
            decoded[f.attname] = t.from_json_value(f, row[f.attname])
        except (ValidationError, ValueError, TypeError) as exc:
            raise ImportRefused(f"{where}: bad value in column {f.attname}: {exc}") from exc
        if decoded[f.attname] is None and not f.null:
            raise ImportRefused(f"{where}: column {f.attname} may not be empty (null)")
    return decoded


def _check_members(archive: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    members: dict[str, zipfile.ZipInfo] = {}
    for info in archive.infolist():
        name = info.filename
        if not safe_member_name(name):
            raise ImportRefused(
                f"unsafe path inside the zip: {name!r} (absolute paths, '..' and "
                "backslashes are refused)"
            )
        if _member_is_symlink(info):
            raise ImportRefused(f"the zip holds a symbolic link: {name!r}")
        if name in members:
            raise ImportRefused(f"the zip holds {name!r} twice")
        members[name] = info
    return members


def _read_manifest(archive: zipfile.ZipFile, members: dict[str, Any]) -> dict[str, Any]:
    if "manifest.json" not in members:
        raise ImportRefused("manifest.json is missing: this is not a ReelDesk export")
    try:
        manifest = json.loads(archive.read("manifest.json").decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ImportRefused(f"manifest.json is not valid JSON: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != t.FORMAT:
        raise ImportRefused("manifest.json is not a ReelDesk export manifest")
    if manifest.get("format_version") != t.FORMAT_VERSION:
        raise ImportRefused(
            f"export format version {manifest.get('format_version')!r} is not supported "
            f"(this installation reads version {t.FORMAT_VERSION})"
        )
    for key, kind in (("files", dict), ("tables", dict), ("schema_version", dict)):
        if not isinstance(manifest.get(key), kind):
            raise ImportRefused(f"manifest.json has no valid {key!r}")
    return manifest


def _check_schema(manifest: dict[str, Any], tables: list[t.Table], using: str) -> None:
    ours = t.schema_version(using)
    theirs = manifest["schema_version"]
    for app_label in sorted(set(ours) | set(theirs)):
        if ours.get(app_label) != theirs.get(app_label):
            raise ImportRefused(
                f"schema version differs for {app_label}: the export has "
                f"{theirs.get(app_label) or 'nothing'}, this installation "
                f"{ours.get(app_label) or 'nothing'}. Run the same ReelDesk version "
                "(and migrate) on both sides."
            )
    labels = {table.label for table in tables}
    exported = set(manifest["tables"])
    if exported - labels:
        raise ImportRefused(f"unknown table in the export: {sorted(exported - labels)[0]}")
    if labels - exported:
        raise ImportRefused(f"table missing from the export: {sorted(labels - exported)[0]}")


def _check_files(
    archive: zipfile.ZipFile, members: dict[str, zipfile.ZipInfo], manifest: dict[str, Any]
) -> None:
    listed = manifest["files"]
    present = set(members) - {"manifest.json"}
    missing = sorted(set(listed) - present)
    if missing:
        raise ImportRefused(f"file missing from the zip: {missing[0]}")
    extra = sorted(present - set(listed))
    if extra:
        raise ImportRefused(f"file not listed in the manifest: {extra[0]}")
    for name in sorted(listed):
        expected = listed[name]
        digest = hashlib.sha256()
        size = 0
        with archive.open(name) as handle:
            while chunk := handle.read(COPY_BYTES):
                digest.update(chunk)
                size += len(chunk)
        if not isinstance(expected, dict) or size != expected.get("size"):
            raise ImportRefused(
                f"{name} is damaged: size {size}, the manifest says "
                f"{expected.get('size') if isinstance(expected, dict) else '?'}"
            )
        if digest.hexdigest() != expected.get("sha256"):
            raise ImportRefused(f"{name} is damaged: its SHA-256 does not match the manifest")


def _check_rows(archive: zipfile.ZipFile, manifest: dict[str, Any], tables: list[t.Table]) -> None:
    targets: dict[str, set[str]] = {}
    for table in tables:
        for _column, target, target_column in table.foreign_keys():
            targets.setdefault(target, set()).add(target_column)
    for target in targets:
        if target not in {table.label for table in tables}:
            raise ImportRefused(f"a table points to {target}, which the export does not hold")
    media = {name[len("media/") :] for name in manifest["files"] if name.startswith("media/")}
    allowed_files = media | set(manifest.get("media_missing") or [])
    keys: dict[tuple[str, str], set[Any]] = {}
    for table in tables:
        name = table.data_name + ".json"
        pk_column = table.model._meta.pk.attname
        wanted: dict[str, set[Any]] = {
            c: set() for c in targets.get(table.label, set()) | {pk_column}
        }
        count = 0
        for row in _rows(archive, table):
            count += 1
            where = f"{name} row {count}"
            decoded = _decode(table, row, where)
            pk = row[pk_column]
            if pk in wanted[pk_column]:
                raise ImportRefused(f"{where}: id {pk} appears twice")
            for column, values in wanted.items():
                values.add(row[column])
            for f in table.file_fields:
                value = decoded[f.attname]
                if value and (not safe_member_name(value) or value not in allowed_files):
                    raise ImportRefused(f"{where}: file {value!r} ({f.attname}) is not in the zip")
        if count != manifest["tables"].get(table.label):
            raise ImportRefused(
                f"{name} has {count} rows, the manifest says {manifest['tables'][table.label]}"
            )
        for column in targets.get(table.label, set()):
            keys[(table.label, column)] = wanted[column]
        del wanted
    for table in tables:
        fks = table.foreign_keys()
        if not fks:
            continue
        for number, row in enumerate(_rows(archive, table), start=1):
            for column, target, target_column in fks:
                value = row[column]
                if value is not None and value not in keys[(target, target_column)]:
                    raise ImportRefused(
                        f"{table.data_name}.json row {number} (id {row.get('id')}): {column} "
                        f"{value} points to a {target} row that is not in the export"
                    )


def verify_export(*, path: Path, using: str = "default") -> VerifiedExport:
    """Check the zip completely without changing anything; raises ImportRefused."""
    if not path.is_file():
        raise ImportRefused(f"{path} does not exist")
    if not zipfile.is_zipfile(path):
        raise ImportRefused(f"{path} is not a zip file")
    tables = t.exported_tables()
    try:
        with zipfile.ZipFile(path) as archive:
            members = _check_members(archive)
            manifest = _read_manifest(archive, members)
            _check_schema(manifest, tables, using)
            _check_files(archive, members, manifest)
            _check_rows(archive, manifest, tables)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError) as exc:
        raise ImportRefused(f"the zip is damaged: {exc}") from exc
    return VerifiedExport(manifest=manifest, tables=tables)


def _count_rows(tables: list[t.Table], using: str) -> dict[str, int]:
    return {
        table.label: n
        for table in tables
        if table.label not in t.INSTALLATION_DEFAULTS
        and (n := table.model._base_manager.using(using).count())
    }


def _check_empty(tables: list[t.Table], using: str) -> None:
    counts = _count_rows(tables, using)
    if counts:
        sample = ", ".join(f"{label}: {n}" for label, n in list(counts.items())[:3])
        raise ImportRefused(
            f"the database is not empty ({sample} rows). Import into an empty installation "
            "or pass --replace to delete everything in it first."
        )


def _media_root() -> Path:
    return Path(settings.MEDIA_ROOT).resolve()


def _target(root: Path, name: str) -> Path:
    target = (root / name).resolve()
    if not target.is_relative_to(root) or target == root:
        raise ImportRefused(f"file {name!r} would be written outside MEDIA_ROOT")
    return target


def _stage_files(archive: zipfile.ZipFile, manifest: dict[str, Any], staging: Path) -> int:
    count = 0
    for member, expected in sorted(manifest["files"].items()):
        if not member.startswith("media/"):
            continue
        target = _target(staging, member[len("media/") :])
        target.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        with archive.open(member) as source, target.open("wb") as out:
            while chunk := source.read(COPY_BYTES):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != expected["sha256"]:
            raise ImportRefused(f"{member} changed while it was read")
        os.chmod(target, settings.FILE_UPLOAD_PERMISSIONS or 0o640)
        count += 1
    return count


def _move_staged(staging: Path, root: Path) -> None:
    for folder, _dirs, names in os.walk(staging):
        for name in names:
            source = Path(folder) / name
            target = _target(root, str(source.relative_to(staging)))
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, target)


@contextmanager
def _keep_timestamps(tables: list[t.Table]) -> Iterator[None]:
    """auto_now / auto_now_add would overwrite the exported times on insert."""
    saved: list[tuple[Any, bool, bool]] = []
    for table in tables:
        for f in table.fields:
            if isinstance(f, models.DateField) and (f.auto_now or f.auto_now_add):
                saved.append((f, f.auto_now, f.auto_now_add))
                f.auto_now = f.auto_now_add = False
    try:
        yield
    finally:
        for f, auto_now, auto_now_add in saved:
            f.auto_now, f.auto_now_add = auto_now, auto_now_add


def _delete_all(labels: list[str], using: str) -> None:
    connection = connections[using]
    with connection.cursor() as cursor:
        for label in labels:
            table = apps.get_model(label)._meta.db_table
            cursor.execute(f"DELETE FROM {connection.ops.quote_name(table)}")


def _load(
    archive: zipfile.ZipFile, tables: list[t.Table], using: str, report: Report | None
) -> dict[str, int]:
    counts: dict[str, int] = {}
    with _keep_timestamps(tables):
        for table in tables:
            batch: list[models.Model] = []
            count = 0
            for row in _rows(archive, table):
                batch.append(table.model(**_decode(table, row, table.label)))
                if len(batch) >= BATCH:
                    table.model._base_manager.using(using).bulk_create(batch)
                    count += len(batch)
                    batch = []
            if batch:
                table.model._base_manager.using(using).bulk_create(batch)
                count += len(batch)
            counts[table.label] = count
            if report and count:
                report(f"{table.label}: {count} rows")
    connection = connections[using]
    statements = connection.ops.sequence_reset_sql(no_style(), [x.model for x in tables])
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)
    return counts


def restore_export(
    *, path: Path, replace: bool = False, report: Report | None = None, using: str = "default"
) -> ImportResult:
    """Restore a verified export; all or nothing. Refuses a non-empty database unless replace."""
    verified = verify_export(path=path, using=using)
    tables = verified.tables
    if report:
        report("manifest, files and rows verified")
    if not replace:
        _check_empty(tables, using)
    root = _media_root()
    root.mkdir(parents=True, exist_ok=True)
    staging = root / f".reeldesk-import-{uuid.uuid4().hex}"
    try:
        with zipfile.ZipFile(path) as archive:
            files = _stage_files(archive, verified.manifest, staging)
            if report:
                report(f"{files} files staged")
            try:
                with transaction.atomic(using=using):
                    if replace:
                        _delete_all([*t.DEPENDENT_TABLES, *(x.label for x in tables)], using)
                    else:
                        _check_empty(tables, using)
                        _delete_all(sorted(t.INSTALLATION_DEFAULTS), using)
                    counts = _load(archive, tables, using, report)
            except DatabaseError as exc:
                raise ImportRefused(
                    f"the database refused the rows, nothing was saved: {exc}"
                ) from exc
        _move_staged(staging, root)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return ImportResult(counts=counts, files=files)
