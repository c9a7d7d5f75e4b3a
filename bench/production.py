"""Time the breakdown pages and API on a throw-away database.

    .venv/bin/python bench/production.py [--episodes 50] [--shots 40] [--takes 5] [--runs 30]

Builds its own SQLite database in a temporary folder (or uses DATABASE_URL — only a
scratch database: it is filled with bench data): one short-drama order with
episodes x shots x takes (50 x 40 x 5 = 2,000 shots and 10,000 takes by default), then
requests each page through Django's test client and prints p50/p95 server time and the
number of SQL queries.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=50)
    parser.add_argument("--shots", type=int, default=40, help="shots per episode")
    parser.add_argument("--takes", type=int, default=5, help="takes per shot")
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix="reeldesk-bench-")
    os.environ.setdefault("REELDESK_VAR_DIR", workdir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")
    os.environ["REELDESK_AXES_ENABLED"] = "false"
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client as HttpClient
    from django.test.utils import CaptureQueriesContext

    settings.ALLOWED_HOSTS = ["*"]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("migrate", verbosity=0)

    from django.contrib.auth import get_user_model

    from orders.models import Asset, Casting, Client, Episode, Order, Shot, Take
    from studio.models import AITool, Membership, StudioProfile
    from studio.services import create_api_token

    rng = random.Random(42)
    StudioProfile.load()
    owner = get_user_model().objects.create_user("bench-owner", password="x")
    Membership.objects.create(user=owner, role="owner")
    client = Client.objects.create(name="Bench client")
    order = Order.objects.create(
        reference="ORD-2026-00001",
        client=client,
        title="Bench short drama",
        kind=Order.Kind.SHORT_DRAMA,
        price=Decimal("20000"),
        currency="CNY",
        turnaround_days=30,
        revision_rounds_included=2,
        status=Order.Status.IN_PRODUCTION,
    )
    tools = list(AITool.objects.filter(kind=AITool.Kind.VIDEO_MODEL))
    assets = Asset.objects.bulk_create(
        Asset(order=order, name=f"Character {i}", prompt_fragment="a consistent look")
        for i in range(8)
    )
    started = time.perf_counter()
    episodes = Episode.objects.bulk_create(
        Episode(order=order, number=n + 1, title=f"Episode {n + 1}") for n in range(args.episodes)
    )
    statuses = list(Shot.Status.values)
    shots = Shot.objects.bulk_create(
        (
            Shot(
                episode=episode,
                code=f"{(i + 1) * 10:03d}",
                position=i + 1,
                description=f"Shot {i + 1} of episode {episode.number}",
                dialogue="MAYA: Same as always?\nJUN: Same as always.",
                planned_seconds=Decimal(rng.choice([3, 4, 5, 6, 8])),
                status=rng.choice(statuses),
                assignee=owner,
                tool=rng.choice(tools),
            )
            for episode in episodes
            for i in range(args.shots)
        ),
        batch_size=2000,
    )
    day = dt.date(2026, 6, 1)
    Take.objects.bulk_create(
        (
            Take(
                shot=shot,
                tool=rng.choice(tools),
                number=n + 1,
                generated_seconds=Decimal(rng.choice(["5", "6", "10"])),
                generated_on=day,
                cost=Decimal(rng.randrange(100, 1000)) / 100,
                currency="CNY",
                is_selected=n == args.takes - 1,
            )
            for shot in shots
            for n in range(args.takes)
        ),
        batch_size=2000,
    )
    Casting.objects.bulk_create(
        (Casting(shot=shot, asset=assets[i % len(assets)]) for i, shot in enumerate(shots)),
        batch_size=2000,
    )
    total_takes = len(shots) * args.takes
    print(
        f"{args.episodes} episodes x {args.shots} shots x {args.takes} takes = {len(shots)} shots, "
        f"{total_takes} takes loaded in {time.perf_counter() - started:.1f} s ({connection.vendor})"
    )

    episode = episodes[len(episodes) // 2]
    _token, raw = create_api_token(user=owner, name="bench")
    staff = HttpClient()
    staff.force_login(owner)
    api = HttpClient(HTTP_AUTHORIZATION=f"Bearer {raw}")

    targets = [
        ("episode page", staff, f"/episodes/{episode.pk}/"),
        ("order breakdown page", staff, f"/orders/{order.pk}/breakdown/"),
        ("order page (summary panel)", staff, f"/orders/{order.pk}/"),
        ("GET /api/shots/?episode=…", api, f"/api/shots/?episode={episode.pk}"),
        (
            "GET /api/shots/?episode=…&page_size=200",
            api,
            f"/api/shots/?episode={episode.pk}&page_size=200",
        ),
        ("GET /api/episodes/{id}/ (nested)", api, f"/api/episodes/{episode.pk}/"),
    ]
    print(f"\n{'page':40} {'p50 ms':>8} {'p95 ms':>8} {'queries':>8}")
    for name, http, url in targets:
        http.get(url)  # warm up
        with CaptureQueriesContext(connection) as queries:
            response = http.get(url)
        # Count now: later requests reset the connection's query log.
        query_count = len(queries)
        assert response.status_code == 200, (url, response.status_code)
        times = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            http.get(url)
            times.append((time.perf_counter() - t0) * 1000)
        times.sort()
        p50 = statistics.median(times)
        p95 = times[max(0, round(0.95 * len(times)) - 1)]
        print(f"{name:40} {p50:8.1f} {p95:8.1f} {query_count:8d}")


if __name__ == "__main__":
    main()
