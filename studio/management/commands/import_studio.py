"""manage.py import_studio PATH [--replace]: restore an export zip, all or nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from studio.data.importer import ImportRefused, restore_export


class Command(BaseCommand):
    help = (
        "Restore a zip written by export_studio into this installation. Verifies the "
        "manifest, every hash and every reference first; refuses a database that holds "
        "data unless --replace; loads everything in one transaction."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="The export zip.")
        parser.add_argument(
            "--replace",
            action="store_true",
            help="Delete every row of this installation first (users included).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = restore_export(
                path=options["path"], replace=options["replace"], report=self.stderr.write
            )
        except ImportRefused as exc:
            raise CommandError(f"Import refused, nothing was changed: {exc}") from exc
        self.stdout.write(
            f"restored {sum(result.counts.values())} rows in {len(result.counts)} tables "
            f"and {result.files} files"
        )
