"""Moving from SQLite to PostgreSQL is export + import: the data files survive unchanged.

A child process builds the demo studio on SQLite (plus files) and exports it; this test,
on PostgreSQL, imports that zip and exports again: every data file is byte-identical.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from django.conf import settings

from billing.models import Expense
from studio.data.exporter import write_export
from studio.data.importer import restore_export

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

REPO = Path(__file__).resolve().parents[2]
BUILD = """
import datetime as dt, sys
from decimal import Decimal
from django.core.files.base import ContentFile
from django.core.management import call_command
from billing.models import Expense
from studio.models import StudioProfile
from studio.data.exporter import write_export
call_command("seed_demo", verbosity=0)
profile = StudioProfile.load()
profile.logo.save("logo.png", ContentFile(b"logo bytes"), save=True)
Expense.objects.create(spent_on=dt.date(2026, 3, 5), amount=Decimal("0.01"), currency="USD",
    category="other", vendor="Suno", receipt=ContentFile(b"%PDF receipt", name="r.pdf"))
write_export(path=__import__("pathlib").Path(sys.argv[1]))
"""


def _sqlite_export(tmp_path: Path) -> Path:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env["REELDESK_VAR_DIR"] = str(tmp_path / "sqlite-var")
    env["DJANGO_SETTINGS_MODULE"] = "studio.settings"
    manage = [sys.executable, str(REPO / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, cwd=REPO, check=True)
    target = tmp_path / "from-sqlite.zip"
    subprocess.run(
        [*manage, "shell", "-c", BUILD.replace("sys.argv[1]", repr(str(target)))],
        env=env,
        cwd=REPO,
        check=True,
    )
    return target


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_sqlite_export_imports_into_postgresql_and_exports_the_same(postgresql, tmp_path):
    source = _sqlite_export(tmp_path)
    restore_export(path=source, replace=True)

    receipt = Expense.objects.filter(vendor="Suno").exclude(receipt="").get().receipt
    data = (Path(settings.MEDIA_ROOT) / receipt.name).read_bytes()
    assert data == b"%PDF receipt"

    again = tmp_path / "from-postgresql.zip"
    write_export(path=again)
    first, second = _members(source), _members(again)
    assert sorted(first) == sorted(second)
    for name in first:
        if name != "manifest.json":
            assert first[name] == second[name], name
    m1, m2 = json.loads(first["manifest.json"]), json.loads(second["manifest.json"])
    m1.pop("exported_at"), m2.pop("exported_at")
    assert m1 == m2
    assert (
        hashlib.sha256(first["data/orders.order.json"]).hexdigest()
        == (m2["files"]["data/orders.order.json"]["sha256"])
    )

    # New rows get fresh ids after the sequences were reset.
    from orders.models import Client

    existing = max(Client.objects.values_list("pk", flat=True))
    assert Client.objects.create(name="After import").pk > existing
