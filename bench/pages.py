"""Time the busy pages and API lists on the large demo data: p50/p95 and queries per page.

    .venv/bin/python bench/pages.py [--runs 20] [--scale 1.0] [--small-scale 0.01]
        [--var-dir /tmp/reeldesk-bench-large --reuse]
        [--postgres postgres://postgres@127.0.0.1:5432/reeldesk_scale]

For each database — SQLite in a throw-away folder (or --var-dir), and PostgreSQL when
--postgres (or DATABASE_URL) names a scratch database — it migrates, writes the large
demo (studio.demo_scale, five years of a busy studio, seed 2026) unless --reuse finds
it already there, adds an episode with 300 shots, then requests each page `--runs`
times and prints p50/p95 and the number of SQL queries of one request. The same pages
are then measured on the demo built at --small-scale (SQLite) and the query counts are
printed side by side: a page whose count grows with the data has an N+1 query.

Server time is measured in-process: Django's test client runs the whole middleware,
view and template stack without a socket (what a live server adds is the same for
every page and was mostly noise on this shared 2-core machine). Queries are counted
with connection.execute_wrapper (CaptureQueriesContext sees nothing: every request
resets the query log). Each database runs in its own child process.

Never point --postgres at a database you care about: a non-empty one is refused unless
--reuse is given, and `test`/`postgres` are always refused.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PAGES = [
    "dashboard",
    "order board",
    "order list",
    "order detail",
    "episode, 300 shots",
    "invoice list",
    "margin list",
    "GET /api/orders/?page_size=100",
    "GET /api/shots/?episode=…",
]
TARGETS_MS = {"dashboard": 150.0}
PAGE_TARGET_MS, API_TARGET_MS, QUERY_TARGET = 100.0, 80.0, 15


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")
    os.environ["REELDESK_AXES_ENABLED"] = "false"
    import django

    django.setup()
    from django.conf import settings

    settings.ALLOWED_HOSTS = ["*"]
    settings.DEBUG = False  # as in production: no SQL log kept per query
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def prepare(*, scale: float, reuse: bool) -> dict[str, Any]:
    """Migrate, build (or reuse) the demo, and return what the pages need."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection

    from orders.models import Client, Episode, Order
    from studio import demo_scale
    from studio import services as studio_services
    from studio.models import Membership

    call_command("migrate", verbosity=0)
    users = get_user_model().objects
    built_in = None
    if Client.objects.exists():
        if not reuse:
            raise SystemExit("The bench database already has data: pass --reuse or empty it.")
        # Data from an earlier bench run, or from `manage.py seed_demo --scale large`.
        owner = users.filter(username="bench-owner").first() or users.get(username="demo")
    else:
        owner = users.create_user("bench-owner", password="x")
        studio_services.set_role(user=owner, role=Membership.Role.OWNER)
        producer = users.create_user("bench-producer", password="x")
        studio_services.set_role(user=producer, role=Membership.Role.PRODUCER)
        artists = []
        for name in ("bench-kai", "bench-ana"):
            artists.append(users.create_user(name, password="x"))
            studio_services.set_role(user=artists[-1], role=Membership.Role.ARTIST)
        started = time.perf_counter()
        demo_scale.build(
            owner=owner,
            producer=producer,
            artists=artists,
            scale=scale,
            out=lambda line: print(line, file=sys.stderr),
        )
        built_in = time.perf_counter() - started
    long_episode = Episode.objects.filter(title="Long episode").first()
    if long_episode is None:
        drama = (
            Order.objects.filter(kind=Order.Kind.SHORT_DRAMA, status=Order.Status.IN_PRODUCTION)
            .order_by("-created_at")
            .first()
        ) or Order.objects.filter(kind=Order.Kind.SHORT_DRAMA).order_by("-created_at").first()
        assert drama is not None
        long_episode = demo_scale.add_long_episode(order=drama, shots=300)
    if connection.vendor == "postgresql":
        # A production server's autovacuum keeps the visibility map and statistics
        # current (index-only scans, COUNT(*) on an index); this machine's server runs
        # with autovacuum off, so do by hand what it would have done after the bulk load.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    # An order with a full page: the latest completed one with invoices.
    detail = (
        Order.objects.filter(status=Order.Status.COMPLETED, invoices__isnull=False)
        .order_by("-created_at")
        .first()
    ) or Order.objects.order_by("-created_at").first()
    assert detail is not None
    return {"owner": owner, "episode": long_episode, "order": detail, "built_in": built_in}


def measure(*, runs: int, data: dict[str, Any]) -> dict[str, Any]:
    from django.db import connection
    from django.test import Client as HttpClient
    from django.urls import reverse

    from studio.services import create_api_token

    owner = data["owner"]
    _token, raw = create_api_token(user=owner, name="bench")
    staff = HttpClient()
    staff.force_login(owner)
    api = HttpClient(HTTP_AUTHORIZATION=f"Bearer {raw}")
    episode, order = data["episode"], data["order"]
    urls = {
        "dashboard": (staff, "/"),
        "order board": (staff, reverse("order-board")),
        "order list": (staff, reverse("order-list")),
        "order detail": (staff, reverse("order-detail", args=[order.pk])),
        "episode, 300 shots": (staff, reverse("episode-detail", args=[episode.pk])),
        "invoice list": (staff, reverse("invoice-list")),
        "margin list": (staff, reverse("margin-list")),
        "GET /api/orders/?page_size=100": (api, "/api/orders/?page_size=100"),
        "GET /api/shots/?episode=…": (api, f"/api/shots/?episode={episode.pk}&page_size=100"),
    }
    results: dict[str, Any] = {}
    for name in PAGES:
        http, url = urls[name]
        response = http.get(url)  # warm up (and check it works)
        counted: list[tuple[float, str]] = []

        def count(execute, sql, params, many, context, counted=counted):  # type: ignore[no-untyped-def]
            started = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                counted.append(((time.perf_counter() - started) * 1000, sql))

        with connection.execute_wrapper(count):
            response = http.get(url)
        body = response.content.decode(errors="replace")
        note = ""
        if response.status_code != 200:
            note = f"HTTP {response.status_code}"
        elif "SCAFFOLD" in body or "scaffold" in body.lower():
            note = "scaffold"
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            http.get(url)
            times.append((time.perf_counter() - started) * 1000)
        times.sort()
        results[name] = {
            "url": url,
            "p50": statistics.median(times),
            "p95": times[max(0, round(0.95 * len(times)) - 1)],
            "queries": len(counted),
            "sql_ms": sum(ms for ms, _sql in counted),
            "slowest_sql": [(round(ms, 1), sql[:400]) for ms, sql in sorted(counted)[-3:]],
            "bytes": len(response.content),
            "note": note,
        }
    return results


def child(args: argparse.Namespace) -> None:
    setup_django()
    from django.db import connection

    data = prepare(scale=args.scale, reuse=args.reuse)
    results = measure(runs=args.runs, data=data)
    print(
        json.dumps(
            {"vendor": connection.vendor, "built_in": data["built_in"], "pages": results},
            ensure_ascii=False,
        )
    )


def run_child(label: str, env: dict[str, str], args: argparse.Namespace, scale: float) -> Any:
    command = [
        sys.executable,
        __file__,
        "--child",
        "--runs",
        str(args.runs),
        "--scale",
        str(scale),
    ]
    if args.reuse:
        command.append("--reuse")
    print(f"\n== {label}: building or reusing the data (scale {scale}) …", flush=True)
    done = subprocess.run(
        command, env={**os.environ, **env}, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        print(done.stderr[-3000:])
        raise SystemExit(f"{label}: the bench failed")
    progress = [line for line in done.stderr.splitlines() if line.startswith("  ")]
    for line in progress:
        print(line)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if result["built_in"]:
        print(f"  built in {result['built_in']:.0f} s")
    return result


def target_of(name: str) -> float:
    if name.startswith("GET /api"):
        return API_TARGET_MS
    return TARGETS_MS.get(name, PAGE_TARGET_MS)


def print_sql(label: str, pages: dict[str, Any]) -> None:
    """Where the time of one request went: SQL total and the slowest statements."""
    print(f"\n{label}: SQL time of one request and its slowest statements")
    for name in PAGES:
        row = pages[name]
        print(f"  {name}: {row['sql_ms']:.1f} ms in {row['queries']} queries")
        for ms, sql in reversed(row["slowest_sql"]):
            print(f"      {ms:7.1f} ms  {sql[:200]}")


def print_table(label: str, pages: dict[str, Any], small: dict[str, Any] | None) -> None:
    print(f"\n{label}")
    print(
        f"{'page':34} {'p50 ms':>8} {'p95 ms':>8} {'target':>7} {'queries':>8} {'small':>6}  missed"
    )
    for name in PAGES:
        row = pages[name]
        missed = []
        if row["p95"] > target_of(name):
            missed.append("time")
        if row["queries"] > QUERY_TARGET:
            missed.append("queries")
        small_count = small[name]["queries"] if small else None
        if small_count is not None and small_count != row["queries"]:
            missed.append("grows")
        if row["note"]:
            missed.append(row["note"])
        print(
            f"{name:34} {row['p50']:8.1f} {row['p95']:8.1f} {target_of(name):7.0f} "
            f"{row['queries']:8d} {'' if small_count is None else small_count:>6}  "
            f"{', '.join(missed)}"
        )


def refuse_precious(url: str) -> None:
    name = urlparse(url).path.lstrip("/")
    if name in {"", "test", "postgres", "template0", "template1"}:
        raise SystemExit(f"Refusing to fill the database {name!r}: give a scratch database.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--small-scale", type=float, default=0.01)
    parser.add_argument("--var-dir", help="SQLite folder to keep (with --reuse, to reuse)")
    parser.add_argument("--reuse", action="store_true", help="use the data already there")
    parser.add_argument("--postgres", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument("--sql", action="store_true", help="also print the slowest SQL")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    base = {"DATABASE_URL": ""}
    small_dir = tempfile.mkdtemp(prefix="reeldesk-bench-small-")
    reuse = args.reuse
    args.reuse = False
    small = run_child(
        "SQLite, small", {**base, "REELDESK_VAR_DIR": small_dir}, args, args.small_scale
    )["pages"]
    args.reuse = reuse
    runs = []
    if not args.no_sqlite:
        var_dir = args.var_dir or tempfile.mkdtemp(prefix="reeldesk-bench-large-")
        runs.append(("SQLite", {**base, "REELDESK_VAR_DIR": var_dir}))
    if args.postgres:
        refuse_precious(args.postgres)
        runs.append(("PostgreSQL", {"DATABASE_URL": args.postgres}))
    results = [(label, run_child(label, env, args, args.scale)["pages"]) for label, env in runs]
    print_table(f"SQLite, small (scale {args.small_scale})", small, None)
    for label, pages in results:
        if args.sql:
            print_sql(label, pages)
        print_table(
            f"{label}, large (scale {args.scale}); 'small' = queries at small scale", pages, small
        )


if __name__ == "__main__":
    main()
