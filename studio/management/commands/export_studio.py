"""manage.py export_studio PATH: write every table and file of the studio into one zip."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from studio.data.exporter import Progress, write_export


class Command(BaseCommand):
    help = (
        "Export every table (CSV and JSON), every uploaded file and the invoice PDFs into "
        "one zip with a manifest of counts and SHA-256 hashes. Progress goes to stderr."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="Where to write the zip.")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["path"]
        last = 0.0

        def report(progress: Progress) -> None:
            nonlocal last
            now = time.monotonic()
            if now - last < 0.5 and progress.tables_done < progress.tables_total:
                return
            last = now
            self.stderr.write(
                f"tables {progress.tables_done}/{progress.tables_total}, "
                f"rows {progress.rows_done}, files {progress.files_done}"
            )

        result = write_export(path=path, report=report)
        for name in result.media_missing:
            self.stderr.write(self.style.WARNING(f"file missing from MEDIA_ROOT: {name}"))
        self.stdout.write(
            f"{path}: {sum(result.counts.values())} rows in {len(result.counts)} tables, "
            f"{result.files} files, {result.size} bytes, sha256 {result.sha256}"
        )
