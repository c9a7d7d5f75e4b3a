"""Consistent backups of a running installation: the database plus MEDIA_ROOT.

SQLite is copied with the online backup API (a consistent copy while writers keep
writing); PostgreSQL with `pg_dump --format=custom` (one snapshot). Each backup is a
folder `backup-<UTC time>` written as `.partial` and renamed when complete, so a
folder without the suffix is always whole; only such folders are ever pruned.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connections
from django.utils import timezone

from studio.data import tables as t

NAME_PATTERN = re.compile(r"^backup-\d{8}T\d{12}Z$")
PAGES_PER_STEP = 256


class BackupError(Exception):
    """The backup could not be made; the message says why."""


@dataclass
class BackupResult:
    folder: Path
    files: dict[str, dict[str, Any]]
    pruned: list[Path]


def backup_sqlite(*, source: str, target: Path) -> None:
    """Copy a live SQLite database with the online backup API (consistent snapshot)."""
    uri = source.startswith("file:")
    src = sqlite3.connect(source, uri=uri, timeout=30)
    dst = sqlite3.connect(str(target))
    try:
        # Small steps let writers in between; a write during the copy restarts it.
        src.backup(dst, pages=PAGES_PER_STEP, sleep=0.005)
    finally:
        dst.close()
        src.close()


def backup_postgresql(*, config: dict[str, Any], target: Path) -> None:
    """pg_dump --format=custom of the configured database into target."""
    pg_dump = shutil.which("pg_dump")
    if not pg_dump:
        raise BackupError(
            "pg_dump was not found on PATH; install the PostgreSQL client tools "
            "(e.g. apt-get install postgresql-client) matching the server version"
        )
    command = [pg_dump, "--format=custom", "--no-owner", f"--file={target}"]
    for option, key in (("--host", "HOST"), ("--port", "PORT"), ("--username", "USER")):
        if config.get(key):
            command.append(f"{option}={config[key]}")
    command.append(str(config["NAME"]))
    env = {**os.environ}
    if config.get("PASSWORD"):
        env["PGPASSWORD"] = str(config["PASSWORD"])
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BackupError(f"pg_dump failed: {result.stderr.strip()[:500]}")


def archive_media(*, root: Path, target: Path) -> int:
    """A tar.gz of MEDIA_ROOT (paths relative to it); returns the number of files."""
    count = 0
    with tarfile.open(target, "w:gz") as archive:
        if root.is_dir():
            for folder, dirs, names in os.walk(root):
                dirs[:] = sorted(d for d in dirs if not d.startswith(".reeldesk-import-"))
                for name in sorted(names):
                    path = Path(folder) / name
                    if path.is_symlink() or not path.is_file():
                        continue
                    archive.add(path, arcname=str(path.relative_to(root)), recursive=False)
                    count += 1
    return count


def _digest(path: Path) -> dict[str, Any]:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return {"sha256": digest.hexdigest(), "size": path.stat().st_size}


def prune(*, dest: Path, keep: int) -> list[Path]:
    """Delete all but the newest `keep` complete backup folders in dest."""
    folders = sorted(p for p in dest.iterdir() if p.is_dir() and NAME_PATTERN.match(p.name))
    doomed = folders[: max(len(folders) - keep, 0)]
    for folder in doomed:
        shutil.rmtree(folder)
    return doomed


def make_backup(*, dest: Path, keep: int, using: str = "default") -> BackupResult:
    """Write one backup folder into dest and prune to the newest `keep`; not idempotent."""
    if keep < 1:
        raise BackupError("--keep must be at least 1")
    dest.mkdir(parents=True, exist_ok=True)
    name = "backup-" + timezone.now().strftime("%Y%m%dT%H%M%S%fZ")
    folder = dest / name
    partial = dest / (name + ".partial")
    partial.mkdir(mode=0o700)
    connection = connections[using]
    config = connection.settings_dict
    try:
        if connection.vendor == "sqlite":
            database = partial / "db.sqlite3"
            backup_sqlite(source=str(config["NAME"]), target=database)
        elif connection.vendor == "postgresql":
            database = partial / "db.pgdump"
            backup_postgresql(config=config, target=database)
        else:
            raise BackupError(f"backups of {connection.vendor} databases are not supported")
        media = partial / "media.tar.gz"
        media_files = archive_media(root=Path(settings.MEDIA_ROOT), target=media)
        files = {p.name: _digest(p) for p in (database, media)}
        info = {
            "created_at": timezone.now().isoformat(),
            "database": connection.vendor,
            "schema_version": t.schema_version(using),
            "media_files": media_files,
            "files": files,
        }
        (partial / "backup.json").write_text(json.dumps(info, indent=2) + "\n")
        partial.rename(folder)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return BackupResult(folder=folder, files=files, pruned=prune(dest=dest, keep=keep))
