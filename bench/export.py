"""Time and peak memory of export_studio and import_studio, small against large data.

    .venv/bin/python bench/export.py [--sizes 1000,20000] [--files-per 10]

For each size it bulk-builds a throw-away SQLite studio (orders with events, link and
file deliverables, expenses and draft invoices with lines), then runs each step in
its own child process and prints wall time, the child's peak RSS (ru_maxrss) and, in a
second child, tracemalloc's peak of Python allocations. Flat memory means the large
figures stay close to the small ones while rows and files grow twentyfold.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def _setup(var_dir: str) -> None:
    os.environ["REELDESK_VAR_DIR"] = var_dir
    os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")
    os.environ["REELDESK_AXES_ENABLED"] = "false"
    # As in production: DEBUG would keep every SQL statement in connection.queries.
    os.environ["DJANGO_DEBUG"] = "false"
    import django

    django.setup()
    if os.environ.get("REELDESK_BENCH_TRACE"):
        # Measure the step, not Django's start-up: trace from here on.
        import tracemalloc

        tracemalloc.start()


def build(var_dir: str, orders: int, files_per: int) -> dict[str, object]:
    _setup(var_dir)
    import datetime as dt
    import random
    from decimal import Decimal

    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import transaction
    from django.utils import timezone

    from billing.models import Expense, Invoice, InvoiceLine
    from orders.models import Client, Deliverable, Order, OrderEvent
    from studio.models import Membership, StudioProfile

    call_command("migrate", verbosity=0)
    rng = random.Random(7)
    started = time.perf_counter()
    media = Path(os.environ["REELDESK_VAR_DIR"]) / "media"
    with transaction.atomic():
        StudioProfile.load()
        owner = get_user_model().objects.create_user("bench-owner", password="x")
        Membership.objects.create(user=owner, role="owner")
        clients = Client.objects.bulk_create(
            Client(name=f"客户 {i}", email=f"c{i}@example.com") for i in range(max(orders // 60, 5))
        )
        statuses = list(Order.Status)
        now = timezone.now()
        Order.objects.bulk_create(
            (
                Order(
                    reference=f"ORD-2026-{i + 1:05d}",
                    client=rng.choice(clients),
                    title=f"竖屏广告 Order {i}",
                    brief="三款新品，每款 5 秒。" * 3,
                    price=Decimal(rng.randrange(80_000, 2_000_000)) / 100,
                    currency="CNY",
                    turnaround_days=7,
                    revision_rounds_included=2,
                    status=rng.choice(statuses),
                    due_at=now + dt.timedelta(days=rng.randint(-20, 20)),
                    created_by=owner,
                )
                for i in range(orders)
            ),
            batch_size=2000,
        )
        order_ids = list(Order.objects.values_list("pk", flat=True))
        OrderEvent.objects.bulk_create(
            (
                OrderEvent(order_id=pk, kind="note", message=f"event {n}", actor=owner)
                for pk in order_ids
                for n in range(3)
            ),
            batch_size=5000,
        )
        Deliverable.objects.bulk_create(
            (
                Deliverable(
                    order_id=pk, title="Cut", version=1, kind="link", url="https://x.example/v"
                )
                for pk in order_ids
            ),
            batch_size=5000,
        )
        file_count = orders // files_per if files_per else 0
        (media / "deliverables").mkdir(parents=True, exist_ok=True)
        rows = []
        for i in range(file_count):
            name = f"deliverables/bench-{i}.mp4"
            (media / name).write_bytes(os.urandom(64 * 1024))
            rows.append(
                Deliverable(order_id=order_ids[i], title="File", version=2, kind="file", file=name)
            )
        Deliverable.objects.bulk_create(rows, batch_size=2000)
        Expense.objects.bulk_create(
            (
                Expense(
                    spent_on=dt.date(2026, 1, 1) + dt.timedelta(days=i % 300),
                    amount=Decimal(rng.randrange(100, 100_000)) / 100,
                    currency="CNY",
                    category="other",
                    vendor="Kling",
                    order_id=order_ids[i % len(order_ids)],
                )
                for i in range(orders // 4)
            ),
            batch_size=2000,
        )
        invoices = Invoice.objects.bulk_create(
            (
                Invoice(
                    client_id=clients[i % len(clients)].pk, order_id=order_ids[i], currency="CNY"
                )
                for i in range(orders // 2)
            ),
            batch_size=2000,
        )
        InvoiceLine.objects.bulk_create(
            (
                InvoiceLine(
                    invoice_id=inv.pk,
                    position=n,
                    description="Episode",
                    quantity=Decimal(1),
                    unit_price=Decimal("750.00"),
                    tax_rate=Decimal("0.06"),
                    net_amount=Decimal("750.00"),
                    tax_amount=Decimal("45.00"),
                    gross_amount=Decimal("795.00"),
                )
                for inv in invoices
                for n in (1, 2)
            ),
            batch_size=5000,
        )
    return {"seconds": time.perf_counter() - started, "files": file_count}


def _reset_peak() -> None:
    import tracemalloc

    if tracemalloc.is_tracing():
        tracemalloc.reset_peak()


def export(var_dir: str, target: str) -> dict[str, object]:
    _setup(var_dir)
    from studio.data import tables
    from studio.data.exporter import write_export

    tables.schema_version()  # loads the migration graph before the measured part
    _reset_peak()
    started = time.perf_counter()
    result = write_export(path=Path(target))
    return {
        "seconds": time.perf_counter() - started,
        "rows": sum(result.counts.values()),
        "files": result.files,
        "bytes": result.size,
    }


def migrate_only(var_dir: str) -> dict[str, object]:
    _setup(var_dir)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return {}


def restore(var_dir: str, source: str) -> dict[str, object]:
    _setup(var_dir)
    from studio.data import tables
    from studio.data.importer import restore_export

    tables.schema_version()
    _reset_peak()
    started = time.perf_counter()
    result = restore_export(path=Path(source))
    return {"seconds": time.perf_counter() - started, "rows": sum(result.counts.values())}


STEPS = {"build": build, "export": export, "migrate": migrate_only, "import": restore}


def child(step: str, args: list[str], trace: bool) -> None:
    import tracemalloc

    if trace:
        os.environ["REELDESK_BENCH_TRACE"] = "1"
    func = STEPS[step]
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out = func(*[int(a) if a.isdigit() else a for a in args])  # type: ignore[operator]
    out["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["start_rss_mb"] = base_rss / 1024
    if trace:
        out["tracemalloc_peak_mb"] = tracemalloc.get_traced_memory()[1] / 1024 / 1024
    print("RESULT " + json.dumps(out))


def run(step: str, *args: object, trace: bool = False) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", step, *map(str, args)]
    if trace:
        command.append("--trace")
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=REPO)
    if done.returncode != 0:
        raise SystemExit(f"{step} failed:\n{done.stderr[-3000:]}")
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
    return json.loads(line[len("RESULT ") :])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,20000")
    parser.add_argument("--files-per", type=int, default=10, help="one 64 KiB file per N orders")
    parser.add_argument("--child", nargs="+")
    parser.add_argument("--trace", action="store_true")
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1:], args.trace)
        return
    print(
        f"{'orders':>7} {'step':7} {'rows':>8} {'files':>6} {'MB zip':>7} {'seconds':>8} "
        f"{'RSS MB':>7} {'tracemalloc MB':>15}"
    )
    for size in [int(s) for s in args.sizes.split(",")]:
        work = tempfile.mkdtemp(prefix="reeldesk-export-bench-")
        source, target = f"{work}/source", f"{work}/target"
        zip_path = f"{work}/export.zip"
        built = run("build", source, size, args.files_per)
        print(f"{size:7d} {'build':7} {'':>8} {built['files']:6} {'':>7} {built['seconds']:8.1f}")
        exported = run("export", source, zip_path)
        traced = run("export", source, zip_path + ".t", trace=True)
        print(
            f"{size:7d} {'export':7} {exported['rows']:8} {exported['files']:6} "
            f"{exported['bytes'] / 1e6:7.1f} {exported['seconds']:8.1f} "
            f"{exported['maxrss_mb']:7.0f} {traced['tracemalloc_peak_mb']:15.1f}"
        )
        run("migrate", target)
        imported = run("import", target, zip_path)
        shutil.rmtree(f"{target}/media", ignore_errors=True)
        run("migrate", target + "2")
        traced = run("import", target + "2", zip_path, trace=True)
        print(
            f"{size:7d} {'import':7} {imported['rows']:8} {'':>6} {'':>7} "
            f"{imported['seconds']:8.1f} {imported['maxrss_mb']:7.0f} "
            f"{traced['tracemalloc_peak_mb']:15.1f}"
        )
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
