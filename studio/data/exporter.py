"""Write the whole installation into one zip, streamed: rows and files go straight in.

Layout of the zip (documented for users in the README.md written into it):

    manifest.json          format, schema version, row counts, SHA-256 and size of every
                           other file in the zip, exported_at (the only varying value)
    schema.json            every table's columns and types
    README.md              how to read the files
    data/<app>.<model>.csv   one per table, UTF-8 with BOM (opens in Excel/WPS)
    data/<app>.<model>.json  the same rows, a JSON array with one row per line
    media/<path>           every file a row points to, at its path under MEDIA_ROOT

Memory stays flat: tables are read with iterator(chunk_size=…) and written row by row,
files are copied in 1 MiB chunks. What grows with the data is only zipfile's own
directory of entries (one small record per file).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from django.core.files.storage import default_storage
from django.utils import timezone

from studio.data import tables as t
from studio.data.snapshot import snapshot

CHUNK_ROWS = 2000
COPY_BYTES = 1024 * 1024
FLUSH_CHARS = 256 * 1024
FIXED_DATE = (1980, 1, 1, 0, 0, 0)  # entry dates carry nothing: same data, same entries


@dataclass
class Progress:
    tables_total: int = 0
    tables_done: int = 0
    rows_done: int = 0
    files_done: int = 0


ProgressCallback = Callable[[Progress], None]


@dataclass
class ExportResult:
    path: Path
    size: int
    sha256: str
    counts: dict[str, int]
    files: int
    media_missing: list[str] = field(default_factory=list)


class _Entry:
    """One zip entry being written, hashed and counted on the way."""

    def __init__(self, archive: zipfile.ZipFile, name: str, *, compress: bool = True) -> None:
        info = zipfile.ZipInfo(name, date_time=FIXED_DATE)
        info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
        info.external_attr = 0o644 << 16
        self.name = name
        self.stream: IO[bytes] = archive.open(info, "w", force_zip64=True)
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> None:
        self.digest.update(data)
        self.size += len(data)
        self.stream.write(data)

    def close(self) -> dict[str, Any]:
        self.stream.close()
        return {"sha256": self.digest.hexdigest(), "size": self.size}


class _TextBuffer:
    """csv.writer target that hands UTF-8 bytes to an entry every FLUSH_CHARS."""

    def __init__(self, entry: _Entry) -> None:
        self.entry = entry
        self.buffer = io.StringIO()

    def write(self, text: str) -> int:
        self.buffer.write(text)
        if self.buffer.tell() >= FLUSH_CHARS:
            self.flush()
        return len(text)

    def flush(self) -> None:
        data = self.buffer.getvalue()
        if data:
            self.entry.write(data.encode("utf-8"))
        self.buffer = io.StringIO()


def safe_member_name(name: str) -> bool:
    """A relative POSIX path without `..`, empty parts, backslashes or a drive."""
    if not name or name.startswith("/") or "\\" in name or "\x00" in name:
        return False
    parts = name.split("/")
    return all(part not in {"", ".", ".."} for part in parts) and ":" not in parts[0]


def _rows(table: t.Table, using: str) -> Iterator[tuple[Any, ...]]:
    return (
        table.model._base_manager.using(using)
        .order_by("pk")
        .values_list(*table.columns)
        .iterator(chunk_size=CHUNK_ROWS)
    )


def _write_table(
    archive: zipfile.ZipFile,
    table: t.Table,
    *,
    using: str,
    files: dict[str, Any],
    progress: Progress,
    report: ProgressCallback | None,
) -> int:
    """Write the table's CSV, then its JSON (zipfile writes one entry at a time)."""
    csv_entry = _Entry(archive, table.data_name + ".csv")
    csv_entry.write("\ufeff".encode())
    csv_text = _TextBuffer(csv_entry)
    writer = csv.writer(csv_text, lineterminator="\r\n")
    writer.writerow(table.columns)
    for values in _rows(table, using):
        writer.writerow([t.to_csv_value(f, v) for f, v in zip(table.fields, values, strict=True)])
    csv_text.flush()
    files[csv_entry.name] = csv_entry.close()

    json_entry = _Entry(archive, table.data_name + ".json")
    json_text = _TextBuffer(json_entry)
    json_text.write("[")
    count = 0
    for values in _rows(table, using):
        row = {f.attname: t.to_json_value(f, v) for f, v in zip(table.fields, values, strict=True)}
        json_text.write(("\n" if count == 0 else ",\n") + t.json_line(row))
        count += 1
        progress.rows_done += 1
        if report and count % CHUNK_ROWS == 0:
            report(progress)
    json_text.write("\n]\n")
    json_text.flush()
    files[json_entry.name] = json_entry.close()
    return count


def _write_media(
    archive: zipfile.ZipFile,
    table: t.Table,
    *,
    using: str,
    files: dict[str, Any],
    missing: list[str],
    progress: Progress,
    report: ProgressCallback | None,
) -> None:
    columns = [f.attname for f in table.file_fields]
    names = (
        table.model._base_manager.using(using)
        .order_by("pk")
        .values_list(*columns)
        .iterator(chunk_size=CHUNK_ROWS)
    )
    for values in names:
        for name in values:
            if not name:
                continue
            member = f"media/{name}"
            if member in files or name in missing:
                continue
            if not safe_member_name(name):
                missing.append(name)
                continue
            try:
                source = default_storage.open(name, "rb")
            except (FileNotFoundError, IsADirectoryError):
                missing.append(name)
                continue
            entry = _Entry(archive, member, compress=False)
            with source:
                while chunk := source.read(COPY_BYTES):
                    entry.write(chunk)
            files[member] = entry.close()
            progress.files_done += 1
            if report and progress.files_done % 50 == 0:
                report(progress)


def readme_text(tables: list[t.Table]) -> str:
    lines = [
        "# ReelDesk data export",
        "",
        "Every table of the studio, as CSV and as JSON, and every uploaded file.",
        "",
        "- `manifest.json`: row counts per table, the SHA-256 and size of every other file",
        "  in this zip, the schema version (latest migration per app) and when it was made.",
        "- `schema.json`: the columns of every table with their types.",
        "- `data/<app>.<model>.csv`: UTF-8 with a byte-order mark, one header row. An empty",
        "  cell is empty text or no value (null); the JSON file tells the two apart.",
        "- `data/<app>.<model>.json`: the same rows, a JSON array, one row per line.",
        "- `media/<path>`: the uploaded files (deliverables, take results, asset images,",
        "  receipts, logos, fapiao files) and the rendered invoice PDFs, at the path the row",
        "  names in its file column (e.g. `billing.invoice` column `pdf`).",
        "",
        "Values: ids are the primary keys as stored; a column ending in `_id` holds the id",
        "of a row in the table named in schema.json. Money is an exact decimal written as",
        "text (`1500.00`), always next to its currency column (`currency`, 3 letters).",
        "Date-times are ISO 8601 in UTC (`2026-03-05T08:00:00.000000Z`), dates ISO 8601.",
        "Secrets are stored as their SHA-256 digests (API tokens, client-link digests).",
        "",
        "Not exported (caches, logs, or rebuilt by `migrate`): sessions, login-attempt logs",
        "(django-axes), the admin log, content types and permissions, the worker heartbeat",
        "and the export jobs.",
        "",
        "Restore into an empty installation with `manage.py import_studio <this zip>`.",
        "",
        "## Tables",
        "",
    ]
    lines += [f"- `{table.label}` ({table.model._meta.db_table})" for table in tables]
    return "\n".join(lines) + "\n"


def _write_bytes(archive: zipfile.ZipFile, name: str, data: bytes) -> dict[str, Any]:
    entry = _Entry(archive, name)
    entry.write(data)
    return entry.close()


def write_export(
    *, path: Path, report: ProgressCallback | None = None, using: str = "default"
) -> ExportResult:
    """Write the full export zip at path (replacing it); reads one consistent snapshot."""
    tables = t.exported_tables()
    progress = Progress(tables_total=len(tables))
    files: dict[str, Any] = {}
    counts: dict[str, int] = {}
    missing: list[str] = []
    partial = path.with_name(path.name + ".partial")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with (
            snapshot(using) as alias,
            zipfile.ZipFile(partial, "w", allowZip64=True) as archive,
        ):
            schema = {
                "format": t.FORMAT,
                "format_version": t.FORMAT_VERSION,
                "tables": [t.describe(table) for table in tables],
            }
            files["schema.json"] = _write_bytes(
                archive, "schema.json", _dumps(schema).encode("utf-8")
            )
            files["README.md"] = _write_bytes(
                archive, "README.md", readme_text(tables).encode("utf-8")
            )
            for table in tables:
                counts[table.label] = _write_table(
                    archive, table, using=alias, files=files, progress=progress, report=report
                )
                progress.tables_done += 1
                if report:
                    report(progress)
            for table in tables:
                if table.file_fields:
                    _write_media(
                        archive,
                        table,
                        using=alias,
                        files=files,
                        missing=missing,
                        progress=progress,
                        report=report,
                    )
            manifest = {
                "format": t.FORMAT,
                "format_version": t.FORMAT_VERSION,
                "exported_at": t.to_json_value(None, timezone.now()),  # type: ignore[arg-type]
                "schema_version": t.schema_version(using),
                "tables": counts,
                "files": dict(sorted(files.items())),
                "media_missing": sorted(missing),
            }
            _write_bytes(archive, "manifest.json", _dumps(manifest).encode("utf-8"))
        if report:
            report(progress)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(COPY_BYTES):
            digest.update(chunk)
    return ExportResult(
        path=path,
        size=path.stat().st_size,
        sha256=digest.hexdigest(),
        counts=counts,
        files=progress.files_done,
        media_missing=sorted(missing),
    )


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2) + "\n"
