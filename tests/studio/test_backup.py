"""manage.py backup: a consistent SQLite copy while a writer writes; keep the last N."""

from __future__ import annotations

import io
import json
import sqlite3
import tarfile
import threading
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.db import connection

from studio.data import backup


def _writer(path: Path, stop: threading.Event, written: list[int]) -> None:
    db = sqlite3.connect(path, timeout=30, isolation_level=None)
    n = 0
    while not stop.is_set():
        # Two rows per transaction: a consistent copy never holds an odd count.
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO t (n, pad) VALUES (?, randomblob(2000))", (n,))
        db.execute("INSERT INTO t (n, pad) VALUES (?, randomblob(2000))", (n,))
        db.execute("COMMIT")
        n += 1
    written.append(n)
    db.close()


def test_sqlite_backup_is_consistent_while_a_writer_is_active(tmp_path):
    source = tmp_path / "live.sqlite3"
    db = sqlite3.connect(source)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER, pad BLOB)")
    db.executemany("INSERT INTO t (n, pad) VALUES (?, randomblob(2000))", [(-1,)] * 2000)
    db.commit()
    db.close()
    stop, written = threading.Event(), []
    thread = threading.Thread(target=_writer, args=(source, stop, written))
    thread.start()
    try:
        target = tmp_path / "copy.sqlite3"
        backup.backup_sqlite(source=str(source), target=target)
    finally:
        stop.set()
        thread.join()
    assert written[0] > 0
    copy = sqlite3.connect(target)
    assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    (rows,) = copy.execute("SELECT count(*) FROM t").fetchone()
    assert rows >= 2000
    assert rows % 2 == 0
    copy.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "sqlite", reason="checks the SQLite online backup; pg_dump is its own test"
)
def test_backup_command_writes_database_and_media_and_keeps_the_last_n(tmp_path):
    default_storage.save("studio/logo.png", ContentFile(b"logo"))
    dest = tmp_path / "backups"
    (dest / "notes").mkdir(parents=True)  # not a backup: never pruned
    for _ in range(3):
        call_command(
            "backup", "--keep", "2", "--dest", str(dest), stdout=io.StringIO(), stderr=io.StringIO()
        )
    folders = sorted(p.name for p in dest.iterdir())
    assert len([f for f in folders if f.startswith("backup-")]) == 2
    assert "notes" in folders
    newest = dest / folders[-2]
    info = json.loads((newest / "backup.json").read_text())
    assert info["database"] == "sqlite"
    assert info["media_files"] == 1
    assert sorted(info["files"]) == ["db.sqlite3", "media.tar.gz"]
    with tarfile.open(newest / "media.tar.gz") as archive:
        assert archive.getnames() == ["studio/logo.png"]
    copy = sqlite3.connect(newest / "db.sqlite3")
    assert copy.execute("SELECT count(*) FROM django_migrations").fetchone()[0] > 0
    copy.close()


def test_keep_must_be_positive(tmp_path):
    with pytest.raises(CommandError, match="at least 1"):
        call_command("backup", "--keep", "0", "--dest", str(tmp_path), stderr=io.StringIO())


def test_missing_pg_dump_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(backup.shutil, "which", lambda name: None)
    with pytest.raises(backup.BackupError, match="pg_dump was not found on PATH"):
        backup.backup_postgresql(config={"NAME": "x"}, target=tmp_path / "db.pgdump")


def test_prune_keeps_the_newest(tmp_path):
    for stamp in ("20260101T000000000000Z", "20260102T000000000000Z", "20260103T000000000000Z"):
        (tmp_path / f"backup-{stamp}").mkdir()
    (tmp_path / "backup-20260104T000000000000Z.partial").mkdir()
    pruned = backup.prune(dest=tmp_path, keep=1)
    assert [p.name for p in pruned] == [
        "backup-20260101T000000000000Z",
        "backup-20260102T000000000000Z",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "backup-20260103T000000000000Z",
        "backup-20260104T000000000000Z.partial",
    ]
