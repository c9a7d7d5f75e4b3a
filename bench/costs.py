"""Time the margin and report pages and API on a throw-away database.

    .venv/bin/python bench/costs.py [--orders 5000] [--takes 6] [--runs 20]

Builds its own SQLite database in a temporary folder (or uses DATABASE_URL — only a
scratch database: it is filled with bench data; with --existing it only reads what is
there, e.g. a copy of the large demo): orders accepted over twelve months,
each with takes (some in USD, some not priced), direct expenses, twelve months of
overhead and subscription renewals, invoices and credit notes with payments, and
exchange rates; then requests each page through Django's test client and prints
p50/p95 server time and the number of SQL queries. Run it at two sizes
(--orders 500, --orders 5000) to see that the query counts do not move.

The pages read the stored margin rows (billing.services.margins): the bench recomputes
them once after loading and prints how long that took (what the Celery task costs after
each burst of changes), then times the pages on fresh rows.
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
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=5000)
    parser.add_argument("--takes", type=int, default=6, help="takes per order")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--profile", action="store_true", help="profile the margin list")
    parser.add_argument(
        "--existing",
        action="store_true",
        help="use the data already in DATABASE_URL (no load; a bench owner is added)",
    )
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

    settings.ALLOWED_HOSTS = ["*"]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("migrate", verbosity=0)

    from django.contrib.auth import get_user_model

    from billing.models import ExchangeRate, Expense, Invoice, Payment, Subscription
    from orders.models import Client, Episode, Order, Shot, Take
    from studio.models import AITool, Membership, StudioProfile

    rng = random.Random(42)
    zone = StudioProfile.load().zone
    owner, _new = get_user_model().objects.get_or_create(username="bench-owner")
    Membership.objects.get_or_create(user=owner, defaults={"role": "owner"})
    if args.existing:
        run_pages(args, owner, Order.objects.filter(status=Order.Status.IN_PRODUCTION).first())
        return
    clients = Client.objects.bulk_create(Client(name=f"Bench client {i}") for i in range(40))
    tools = list(AITool.objects.filter(kind=AITool.Kind.VIDEO_MODEL)) or [
        AITool.objects.create(name="Bench model", kind=AITool.Kind.VIDEO_MODEL)
    ]
    first = dt.date(2026, 1, 1)

    def local(moment: dt.datetime | None) -> dt.date:
        assert moment is not None
        return moment.astimezone(zone).date()

    started = time.perf_counter()

    ExchangeRate.objects.bulk_create(
        ExchangeRate(
            currency="USD",
            quote_currency="CNY",
            on=first + dt.timedelta(days=d),
            rate=Decimal("7.1") + Decimal(rng.randrange(0, 30)) / 100,
        )
        for d in range(0, 365, 7)
    )
    statuses = [
        Order.Status.IN_PRODUCTION,
        Order.Status.IN_REVIEW,
        Order.Status.DELIVERED,
        Order.Status.COMPLETED,
        Order.Status.CANCELLED,
        Order.Status.QUOTED,
    ]
    orders = []
    for i in range(args.orders):
        accepted = first + dt.timedelta(days=rng.randrange(0, 350))
        status = statuses[i % len(statuses)]
        accepted_at = dt.datetime.combine(accepted, dt.time(10), tzinfo=zone)
        delivered = accepted_at + dt.timedelta(days=rng.randrange(5, 14))
        usd = i % 7 == 0
        orders.append(
            Order(
                reference=f"ORD-B-{i + 1:05d}",
                client=clients[i % len(clients)],
                title=f"Bench order {i + 1}",
                price=Decimal(rng.randrange(800, 2500)) if not usd else Decimal(300),
                currency="USD" if usd else "CNY",
                turnaround_days=7,
                revision_rounds_included=2,
                status=status,
                accepted_at=None if status == Order.Status.QUOTED else accepted_at,
                due_at=accepted_at + dt.timedelta(days=10),
                delivered_at=delivered
                if status in (Order.Status.DELIVERED, Order.Status.COMPLETED)
                else None,
                status_changed_at=delivered,
            )
        )
    orders = Order.objects.bulk_create(orders, batch_size=1000)
    episodes = Episode.objects.bulk_create(
        (Episode(order=o, number=1, title="Episode 1") for o in orders), batch_size=2000
    )
    shots = Shot.objects.bulk_create(
        (Shot(episode=e, code="010", position=1, planned_seconds=Decimal(5)) for e in episodes),
        batch_size=2000,
    )
    takes = []
    for order, shot in zip(orders, shots, strict=True):
        base = local(order.accepted_at or order.due_at)
        for n in range(args.takes):
            usd = n == 0 and order.pk % 5 == 0
            takes.append(
                Take(
                    shot=shot,
                    tool=rng.choice(tools),
                    number=n + 1,
                    generated_seconds=Decimal(rng.choice(["5", "6", "10"])),
                    generated_on=base + dt.timedelta(days=n),
                    cost=None
                    if n == 1 and order.pk % 4 == 0
                    else Decimal(rng.randrange(50, 600)) / 100,
                    currency="USD" if usd else "CNY",
                )
            )
    Take.objects.bulk_create(takes, batch_size=5000)

    subscriptions = [
        Subscription.objects.create(
            tool=tools[i % len(tools)],
            plan_name=f"Plan {i}",
            amount=Decimal(amount),
            currency=currency,
            started_on=first,
            next_renewal_on=dt.date(2027, 1, 1),
        )
        for i, (amount, currency) in enumerate([("199", "CNY"), ("35", "USD"), ("699", "CNY")])
    ]
    expenses = [
        Expense(
            spent_on=dt.date(2026, m, 1),
            amount=s.amount,
            currency=s.currency,
            category=Expense.Category.SUBSCRIPTION,
            subscription=s,
            renewal_on=dt.date(2026, m, 1),
            tool=s.tool,
        )
        for s in subscriptions
        for m in range(1, 13)
    ]
    expenses += [
        Expense(
            spent_on=dt.date(2026, m, rng.randrange(1, 28)),
            amount=Decimal(rng.randrange(100, 5000)) / 10,
            currency="CNY",
            category=rng.choice(
                [Expense.Category.HARDWARE, Expense.Category.STOCK, Expense.Category.OTHER]
            ),
        )
        for m in range(1, 13)
        for _ in range(8)
    ]
    expenses += [
        Expense(
            spent_on=local(o.accepted_at or o.due_at),
            amount=Decimal(rng.randrange(50, 400)),
            currency="CNY",
            category=Expense.Category.DUBBING,
            order=o,
        )
        for o in orders[::3]
    ]
    Expense.objects.bulk_create(expenses, batch_size=2000)

    invoiced = [o for o in orders if o.status in (Order.Status.DELIVERED, Order.Status.COMPLETED)]
    invoices = Invoice.objects.bulk_create(
        (
            Invoice(
                client=o.client,
                order=o,
                currency=o.currency,
                status=Invoice.Status.PAID if n % 2 else Invoice.Status.ISSUED,
                number=f"INV-B-{n + 1:05d}",
                issue_date=local(o.delivered_at),
                subtotal=o.price,
                tax_total=Decimal(0),
                total=o.price,
                amount_paid=o.price if n % 2 else Decimal(0),
            )
            for n, o in enumerate(invoiced)
        ),
        batch_size=2000,
    )
    Invoice.objects.bulk_create(
        (
            Invoice(
                client=inv.client,
                order=inv.order,
                kind=Invoice.Kind.CREDIT_NOTE,
                credited_invoice=inv,
                currency=inv.currency,
                status=Invoice.Status.ISSUED,
                number=f"CN-B-{n + 1:05d}",
                issue_date=inv.issue_date,
                subtotal=Decimal(50),
                total=Decimal(50),
            )
            for n, inv in enumerate(invoices[::10])
        ),
        batch_size=2000,
    )
    Payment.objects.bulk_create(
        (
            Payment(
                invoice=inv,
                amount=inv.total,
                currency=inv.currency,
                method=Payment.Method.BANK_TRANSFER,
                paid_on=(inv.issue_date or first) + dt.timedelta(days=3),
            )
            for inv in invoices
            if inv.status == Invoice.Status.PAID
        ),
        batch_size=2000,
    )
    print(
        f"{len(orders)} orders, {len(takes)} takes, {len(expenses)} expenses, "
        f"{len(invoices)} invoices loaded in {time.perf_counter() - started:.1f} s "
        f"({connection.vendor})"
    )

    run_pages(args, owner, next(o for o in orders if o.status == Order.Status.IN_PRODUCTION))


def run_pages(args: argparse.Namespace, owner: Any, order: Any) -> None:
    from django.db import connection
    from django.test import Client as HttpClient
    from django.test.utils import CaptureQueriesContext

    from billing.margin import compute_margins
    from billing.services import margins
    from orders.models import Order
    from studio.services import create_api_token

    count = Order.objects.count()
    t0 = time.perf_counter()
    compute_margins()
    engine_ms = (time.perf_counter() - t0) * 1000
    done = margins.recompute()
    print(
        f"recompute of the stored rows at {count} orders: {done.duration_ms} ms "
        f"(the engine alone, as every page ran it before: {engine_ms:.0f} ms)"
    )
    _token, raw = create_api_token(user=owner, name="bench")
    staff = HttpClient()
    staff.force_login(owner)
    api = HttpClient(HTTP_AUTHORIZATION=f"Bearer {raw}")

    targets = [
        ("margin list page", staff, "/margins/"),
        ("margin list page, all orders, page 3", staff, "/margins/?status=all&page=3"),
        (
            "margin list page, status filter",
            staff,
            "/margins/?status=delivered&sort=-margin_percent",
        ),
        ("monthly report page (12 months)", staff, "/reports/monthly/?end=2026-12&months=12"),
        ("monthly report CSV", staff, "/reports/monthly/?end=2026-12&months=12&format=csv"),
        ("GET /api/margins/", api, "/api/margins/"),
        ("GET /api/reports/monthly/", api, "/api/reports/monthly/?end=2026-12&months=12"),
        ("GET /api/orders/?include=margin", api, "/api/orders/?include=margin"),
        ("order page (with margin section)", staff, f"/orders/{order.pk}/"),
    ]
    if args.profile:
        import cProfile
        import pstats

        staff.get("/margins/")
        cProfile.runctx("staff.get('/margins/')", globals(), locals(), "/tmp/costs.prof")
        pstats.Stats("/tmp/costs.prof").sort_stats("tottime").print_stats(25)
        return
    print(f"\n{'page':40} {'p50 ms':>8} {'p95 ms':>8} {'queries':>8}")
    for name, http, url in targets:
        http.get(url)  # warm up
        with CaptureQueriesContext(connection) as queries:
            response = http.get(url)
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

    # The margin section alone, as the order page calls it.
    from django.test import RequestFactory

    from billing import sections_margin
    from studio.models import StudioProfile

    request = RequestFactory().get(f"/orders/{order.pk}/")
    request.user = owner
    assert margins.read_state().is_fresh(margins.studio_today(StudioProfile.load()))
    with CaptureQueriesContext(connection) as queries:
        sections_margin.staff_order_section(request, order)
    times = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        sections_margin.staff_order_section(request, order)
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    p50 = statistics.median(times)
    p95 = times[max(0, round(0.95 * len(times)) - 1)]
    print(f"{'margin section alone':40} {p50:8.1f} {p95:8.1f} {len(queries):8d}")


if __name__ == "__main__":
    main()
