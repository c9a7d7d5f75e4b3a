"""Measure what the reliability issue promises, against a private Redis and real workers.

    .venv/bin/python bench/reliability.py            # everything
    .venv/bin/python bench/reliability.py --jobs 100 --requests 20

Runs on its own: a temporary SQLite database (or PostgreSQL with --database-url, which must
point at a database the bench may fill and empty), a private `redis-server` on a free port
(never the machine's own Redis), a webhook receiver on 127.0.0.1, and Celery worker
processes it starts and stops. Prints one line per figure:

1. broker paused (CLIENT PAUSE): the slowest of N order-creating API requests, each of
   which queues a webhook job — against a plain `.delay()` with the same paused broker;
2. 100 jobs queued, Redis killed with kill -9, with and without AOF: how many messages
   Redis kept, how many jobs were done from those alone, and how many after the sweep
   re-enqueued the rest from the database (each job done exactly once);
3. a worker's pool process SIGKILLed 20 times in the middle of PDF renders: how many PDFs
   exist (exactly once each) and how long until all were there (the sweep's 5-minute
   claim timeout is aged on purpose, so that the bench does not wait it out 20 times).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Redis:
    def __init__(self, folder: Path, *, aof: bool, port: int | None = None) -> None:
        self.folder, self.aof, self.port = folder, aof, port or free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        binary = shutil.which("redis-server")
        if not binary:
            sys.exit("redis-server is not installed")
        self.process = subprocess.Popen(
            [
                binary,
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "yes" if self.aof else "no",
                "--appendfsync", "everysec",
                "--dir", str(self.folder),
                "--logfile", str(self.folder / "redis.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                self.client().ping()
                return
            except Exception:
                time.sleep(0.05)
        sys.exit(f"redis-server on {self.port} did not start")

    def client(self) -> Any:
        import redis

        return redis.Redis(port=self.port, socket_connect_timeout=1, socket_timeout=10)

    def kill9(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)
            self.process = None

    def stop(self) -> None:
        self.kill9()


class Receiver:
    """Answers every POST with 200 and counts webhook-ids."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.ids.append(self.headers.get("webhook-id", ""))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"


def setup_django(var_dir: Path, redis_url: str, database_url: str) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "studio.settings"
    os.environ["REELDESK_VAR_DIR"] = str(var_dir)
    os.environ["REDIS_URL"] = redis_url
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "false"
    os.environ["DJANGO_EMAIL_BACKEND"] = "django.core.mail.backends.locmem.EmailBackend"
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    else:
        os.environ.pop("DATABASE_URL", None)
    sys.path.insert(0, str(REPO))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def point_celery_at(url: str) -> None:
    from kombu import pools

    from studio.celery import app

    app.conf.update(
        broker_url=url,
        broker_transport_options={
            "socket_connect_timeout": 2,
            "socket_timeout": 5,
            "visibility_timeout": 3600,
            "max_retries": 1,
        },
    )
    pools.reset()
    app._pool = None
    app.amqp._producer_pool = None


def start_worker(var_dir: Path, redis_url: str, database_url: str, name: str) -> Any:
    env = {
        **os.environ,
        "REELDESK_VAR_DIR": str(var_dir),
        "REDIS_URL": redis_url,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "PYTHONUNBUFFERED": "1",
    }
    if database_url:
        env["DATABASE_URL"] = database_url
    log = var_dir / f"worker-{name}.log"
    process = subprocess.Popen(
        [
            sys.executable, "-m", "celery", "-A", "studio", "worker", "--loglevel=INFO",
            "--concurrency=2", "--without-mingle", "--without-gossip", "--without-heartbeat",
            "-n", f"bench-{name}@%h",
        ],
        cwd=REPO,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        if " ready." in log.read_text(errors="replace"):
            return process
        time.sleep(0.2)
    sys.exit(f"worker did not start: {log.read_text()[-2000:]}")


def stop_worker(process: Any) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(process.pid, signal.SIGKILL)


def wait_until(check: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return bool(check())


# --- Figures -------------------------------------------------------------------------------


def paused_broker(redis: Redis, requests: int) -> None:
    """Order-creating API requests while Redis is paused, twice: with the cache as the
    settings configure it (on the same Redis: DRF's throttles read it on every API request)
    and with the cache in local memory (only the job queueing touches Redis)."""
    from django.test.utils import override_settings

    from studio import tasks
    from studio.tasks import heartbeat

    for label, caches in (
        ("cache on Redis, as configured", None),
        (
            "cache in local memory",
            {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
        ),
    ):
        if caches is None:
            timings, statuses = _paused_requests(redis, requests)
        else:
            with override_settings(CACHES=caches):
                timings, statuses = _paused_requests(redis, requests)
        tasks.flush_publisher()
        print(
            f"paused broker (CLIENT PAUSE ALL), {label}: {requests} order-creating API "
            f"requests, slowest {max(timings):.3f} s, median "
            f"{sorted(timings)[len(timings) // 2]:.3f} s, statuses {sorted(set(statuses))}"
        )
    redis.client().execute_command("CLIENT", "PAUSE", "3000", "ALL")
    started = time.monotonic()
    try:
        heartbeat.delay()
        outcome = "returned"
    except Exception as exc:
        outcome = f"raised {exc.__class__.__name__}"
    blocked = time.monotonic() - started
    time.sleep(3.5)
    tasks.flush_publisher()
    print(
        f"  for comparison, a plain .delay() on the paused broker held its caller "
        f"{blocked:.2f} s and {outcome}; ReelDesk queues from a background thread instead"
    )


def _paused_requests(redis: Redis, requests: int) -> tuple[list[float], list[int]]:
    from django.test import Client as HttpClient

    from orders.models import Client
    from studio.services import create_api_token

    owner = owner_user()
    _token, raw = create_api_token(user=owner, name="bench")
    http = HttpClient(raise_request_exception=False, HTTP_AUTHORIZATION=f"Bearer {raw}")
    client = Client.objects.create(name="Bench client")
    pause_ms = 3000
    redis.client().execute_command("CLIENT", "PAUSE", str(pause_ms), "ALL")
    paused_at = time.monotonic()
    timings, statuses = [], []
    for index in range(requests):
        if time.monotonic() - paused_at > pause_ms / 1000 - 0.5:
            time.sleep(max(0.0, pause_ms / 1000 - (time.monotonic() - paused_at)) + 0.2)
            redis.client().execute_command("CLIENT", "PAUSE", str(pause_ms), "ALL")
            paused_at = time.monotonic()
        started = time.monotonic()
        response = http.post(
            "/api/orders/",
            {"client": client.pk, "title": f"Paused {index}", "price": "1000.00"},
            content_type="application/json",
        )
        timings.append(time.monotonic() - started)
        statuses.append(response.status_code)
    time.sleep(max(0.0, pause_ms / 1000 - (time.monotonic() - paused_at)) + 0.3)
    return timings, statuses


def owner_user() -> Any:
    from django.contrib.auth import get_user_model

    from studio.models import Membership, WebhookSettings

    user, _created = get_user_model().objects.get_or_create(
        username="bench-owner", defaults={"email": "owner@example.com"}
    )
    Membership.objects.update_or_create(user=user, defaults={"role": "owner"})
    settings_row = WebhookSettings.load()
    settings_row.allow_private_targets = True
    settings_row.save()
    return user


def kill_dash_9(
    folder: Path, var_dir: Path, database_url: str, receiver: Receiver, *, aof: bool, jobs: int
) -> None:
    from decimal import Decimal

    from orders import services
    from orders.models import Client
    from studio import tasks, webhooks
    from studio.models import WebhookDelivery

    WebhookDelivery.objects.all().delete()
    receiver.ids.clear()
    redis = Redis(folder / ("aof" if aof else "noaof"), aof=aof)
    redis.start()
    point_celery_at(redis.url)
    owner = owner_user()
    client = Client.objects.create(name=f"Kill client {aof}")
    for index in range(jobs):
        services.create_order(
            actor=owner, client=client, title=f"Job {index}", price=Decimal("1000")
        )
    tasks.flush_publisher()
    queued = redis.client().llen("celery")
    time.sleep(1.5)  # appendfsync everysec
    redis.kill9()
    redis.start()  # same port, same folder
    kept = redis.client().llen("celery")
    worker = start_worker(var_dir, redis.url, database_url, name=f"aof-{aof}")
    try:
        wait_until(lambda: WebhookDelivery.objects.filter(state="succeeded").count() >= kept, 60)
        time.sleep(1.0)
        before_sweep = WebhookDelivery.objects.filter(state="succeeded").count()
        webhooks.sweep_deliveries()
        tasks.flush_publisher()
        wait_until(lambda: WebhookDelivery.objects.filter(state="succeeded").count() >= jobs, 60)
        time.sleep(1.0)
        done = WebhookDelivery.objects.filter(state="succeeded").count()
    finally:
        stop_worker(worker)
        redis.stop()
    duplicates = len(receiver.ids) - len(set(receiver.ids))
    print(
        f"{jobs} jobs queued, Redis kill -9, AOF {'on' if aof else 'off'}: "
        f"{queued} messages queued, {kept} kept after restart; "
        f"done from those {before_sweep}/{jobs}; "
        f"after the sweep {done}/{jobs}; receiver got {len(set(receiver.ids))} distinct, "
        f"{duplicates} duplicates"
    )


def _pool_children(process: Any) -> list[int]:
    """The pids of the worker's pool processes (children of its main process)."""
    out = subprocess.run(
        ["pgrep", "-P", str(process.pid)], capture_output=True, text=True, check=False
    ).stdout
    return [int(pid) for pid in out.split()]


def sigkill_renders(
    folder: Path, var_dir: Path, database_url: str, *, kills: int, invoices: int
) -> None:
    """Issue invoices, then SIGKILL the worker's pool process whenever it is rendering a
    PDF (as the OOM killer would), `kills` times; the beat's sweep hands the killed
    renders back. Every PDF must exist exactly once, within 5 minutes."""
    import datetime as dt
    from decimal import Decimal

    from django.core.files.storage import default_storage
    from django.utils import timezone

    from billing import delivery, services
    from billing.models import Invoice, InvoiceEvent, InvoicePdfJob
    from billing.services import LineInput
    from orders.models import Client

    redis = Redis(folder / "renders", aof=False)
    redis.start()
    point_celery_at(redis.url)
    owner = owner_user()
    client = Client.objects.create(name="Render client", language="en")
    line = LineInput(
        description="Clip", quantity=Decimal(1), unit_price=Decimal(1000), tax_rate=Decimal(0)
    )
    worker = start_worker(var_dir, redis.url, database_url, name="renders")
    started = time.monotonic()
    for _index in range(invoices):
        draft = services.create_invoice(actor=owner, client=client, lines=[line])
        services.issue_invoice(actor=owner, invoice=draft)
    ids = set(Invoice.objects.filter(client=client).values_list("pk", flat=True))
    jobs = InvoicePdfJob.objects.filter(invoice_id__in=ids)
    interrupted: set[int] = set()
    hits = 0
    deadline = started + 300

    def sweep_like_beat() -> None:
        # What the sweep does RUNNING_TIMEOUT after a render's worker died, now.
        aged = timezone.now() - delivery.RUNNING_TIMEOUT - dt.timedelta(seconds=1)
        jobs.filter(pk__in=interrupted, state="running").update(claimed_at=aged)
        delivery.sweep_pdf_jobs()

    try:
        while hits < kills and time.monotonic() < deadline:
            running = set(jobs.filter(state="running").values_list("pk", flat=True))
            if not running:
                if not jobs.exclude(state="done").exists():
                    break  # everything rendered before enough kills: issue more next run
                sweep_like_beat()
                time.sleep(0.01)
                continue
            for pid in _pool_children(worker):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.3)
            lost = set(jobs.filter(pk__in=running, state="running").values_list("pk", flat=True))
            if lost:
                hits += 1
                interrupted |= lost
            sweep_like_beat()
        while jobs.exclude(state="done").exists() and time.monotonic() < deadline:
            sweep_like_beat()
            time.sleep(0.5)
        elapsed = time.monotonic() - started
    finally:
        stop_worker(worker)
        redis.stop()
    done = jobs.filter(state="done").count()
    with_pdf = Invoice.objects.filter(pk__in=ids).exclude(pdf_sha256="")
    names = set(with_pdf.values_list("pdf", flat=True))
    year = str(timezone.now().year)
    try:
        _dirs, files = default_storage.listdir(f"billing/invoices/{year}")
    except FileNotFoundError:
        files = []
    ready_events = InvoiceEvent.objects.filter(
        invoice_id__in=ids, kind=InvoiceEvent.Kind.PDF_READY
    ).count()
    attempts = sorted(jobs.values_list("attempts", flat=True))
    print(
        f"worker pool SIGKILLed {hits} times mid-render ({len(interrupted)} renders cut off), "
        f"{invoices} invoices: {done}/{invoices} jobs done, {with_pdf.count()} PDFs stored "
        f"({len(names)} distinct files, {ready_events} 'PDF ready' events, {len(files)} files "
        f"on disk), most attempts {attempts[-1] if attempts else 0}, all within "
        f"{elapsed:.0f} s (limit 300 s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=100)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--database-url", default="", help="PostgreSQL to fill and empty")
    parser.add_argument("--kills", type=int, default=20, help="SIGKILLs during PDF renders")
    parser.add_argument("--invoices", type=int, default=40, help="invoices for the kills")
    parser.add_argument(
        "--only", choices=["paused", "kill9", "renders"], help="run one scenario only"
    )
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="reeldesk-bench-"))
    var_dir = folder / "var"
    first = Redis(folder / "paused", aof=False)
    first.start()
    try:
        setup_django(var_dir, first.url, args.database_url)
        receiver = Receiver()
        from studio import webhooks

        webhooks.create_endpoint(actor=owner_user(), url=receiver.url, events=["order.created"])
        if args.only in (None, "paused"):
            paused_broker(first, args.requests)
        first.stop()
        if args.only in (None, "kill9"):
            for aof in (True, False):
                kill_dash_9(folder, var_dir, args.database_url, receiver, aof=aof, jobs=args.jobs)
        if args.only in (None, "renders"):
            sigkill_renders(
                folder, var_dir, args.database_url, kills=args.kills, invoices=args.invoices
            )
    finally:
        first.stop()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
