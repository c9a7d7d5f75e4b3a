"""manage.py backup [--keep N] [--dest DIR]: a consistent snapshot of the running app."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from studio.data.backup import BackupError, make_backup


class Command(BaseCommand):
    help = (
        "Back up the database (SQLite online backup API, or pg_dump for PostgreSQL) and "
        "MEDIA_ROOT into a timestamped folder while the app keeps running; keeps the last N."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dest",
            type=Path,
            default=None,
            help="Folder for the backups (default: REELDESK_VAR_DIR/backups).",
        )
        parser.add_argument(
            "--keep", type=int, default=7, help="How many backups to keep (default: 7)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        dest: Path = options["dest"] or Path(settings.VAR_DIR) / "backups"
        try:
            result = make_backup(dest=dest, keep=options["keep"])
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        for name, info in result.files.items():
            self.stderr.write(f"{name}: {info['size']} bytes, sha256 {info['sha256']}")
        for folder in result.pruned:
            self.stderr.write(f"pruned {folder}")
        self.stdout.write(str(result.folder))
