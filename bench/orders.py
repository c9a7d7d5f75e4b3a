"""Time the staff order pages, the client page and the orders API on a throw-away database.

    .venv/bin/python bench/orders.py --orders 5000 [--runs 30]

Builds its own SQLite database in a temporary folder (or uses DATABASE_URL — only a
scratch database: it is filled with bench data), then requests each page through
Django's test client and prints p50/p95 server time and the number of SQL queries.
"""

from __future__ import annotations

import argparse
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
    parser.add_argument("--orders", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=300)
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
    from django.utils import timezone

    settings.ALLOWED_HOSTS = ["*"]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("migrate", verbosity=0)

    from django.contrib.auth import get_user_model

    from orders import portal
    from orders.models import Client, Order
    from studio.models import Membership, StudioProfile
    from studio.services import create_api_token

    rng = random.Random(42)
    StudioProfile.load()
    owner = get_user_model().objects.create_user("bench-owner", password="x")
    Membership.objects.create(user=owner, role="owner")
    clients = Client.objects.bulk_create(
        Client(name=f"Client {i}", email=f"c{i}@example.com") for i in range(args.clients)
    )
    statuses = list(Order.Status)
    now = timezone.now()
    started = time.perf_counter()
    Order.objects.bulk_create(
        (
            Order(
                reference=f"ORD-2026-{i + 1:05d}",
                client=rng.choice(clients),
                title=f"Order {i}",
                price=Decimal(rng.randrange(80_000, 2_000_000)) / 100,
                currency="CNY",
                turnaround_days=7,
                revision_rounds_included=2,
                status=rng.choice(statuses),
                due_at=now + timezone.timedelta(days=rng.randint(-20, 20)),
            )
            for i in range(args.orders)
        ),
        batch_size=2000,
    )
    print(
        f"{args.orders} orders, {args.clients} clients loaded in "
        f"{time.perf_counter() - started:.1f} s ({connection.vendor})"
    )

    order = Order.objects.order_by("pk")[args.orders // 2]
    link = portal.rotate_link(actor=owner, order=order)
    _token, raw = create_api_token(user=owner, name="bench")
    staff = HttpClient()
    staff.force_login(owner)
    api = HttpClient(HTTP_AUTHORIZATION=f"Bearer {raw}")
    client_side = HttpClient()

    targets = [
        ("order board", staff, "/orders/board/"),
        ("order list", staff, "/orders/"),
        ("order list, filtered", staff, "/orders/?status=in_production&q=Order"),
        ("order detail", staff, f"/orders/{order.pk}/"),
        ("client list", staff, "/clients/"),
        ("dashboard", staff, "/"),
        ("client portal", client_side, f"/o/{link.token}/"),
        ("GET /api/orders/?page_size=100", api, "/api/orders/?page_size=100"),
    ]
    print(f"\n{'page':34} {'p50 ms':>8} {'p95 ms':>8} {'queries':>8}")
    for name, http, url in targets:
        http.get(url)  # warm up
        times = []
        counted: list[str] = []

        def count(execute, sql, params, many, context, counted=counted):  # type: ignore[no-untyped-def]
            counted.append(sql)
            return execute(sql, params, many, context)

        # (CaptureQueriesContext would see nothing: every request resets the query log.)
        with connection.execute_wrapper(count):
            response = http.get(url)
        assert response.status_code == 200, (url, response.status_code)
        for _ in range(args.runs):
            t0 = time.perf_counter()
            http.get(url)
            times.append((time.perf_counter() - t0) * 1000)
        times.sort()
        p50 = statistics.median(times)
        p95 = times[max(0, round(0.95 * len(times)) - 1)]
        print(f"{name:34} {p50:8.1f} {p95:8.1f} {len(counted):8d}")


if __name__ == "__main__":
    main()
