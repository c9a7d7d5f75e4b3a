"""Hold a steady rate of mixed page and API traffic against gunicorn on PostgreSQL.

    .venv/bin/python bench/load.py --postgres postgres://postgres@127.0.0.1:5432/reeldesk_load
        [--build] [--rate 50] [--duration 60] [--workers 2] [--port 8190] [--redis URL]

The database must hold the large demo (`manage.py seed_demo --scale large`, or pass
--build to write it into an empty database first). The script then:

1. signs the owner in (a real session row) and makes an API token, in this process;
2. starts `gunicorn studio.wsgi` with --workers on 127.0.0.1:--port (DEBUG off, the
   development settings otherwise), and requests every URL kind once to warm it up;
3. sends --rate requests per second for --duration seconds, open loop: request i is due
   at start + i / rate whatever happened to the earlier ones, so a slow server shows up
   as latency (measured from the moment the request was due) instead of a lower rate;
4. prints, per kind of request and overall, the count, errors (anything but a 200, or no
   answer), and p50/p90/p95/p99/max in milliseconds, and exits 1 when there was any
   error or the achieved rate fell below 98 % of --rate.

Traffic stays on 127.0.0.1. The mix (weights out of 100) is the morning of a busy
studio: dashboard, board, order list pages, order pages, episode pages, the invoice and
margin lists, and the three API lists an integration polls.
"""

from __future__ import annotations

import argparse
import http.client
import os
import queue
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

REFUSED_DATABASES = {"test", "postgres", "template0", "template1"}


@dataclass(frozen=True)
class Kind:
    name: str
    weight: int
    api: bool


KINDS = [
    Kind("dashboard", 10, api=False),
    Kind("order board", 8, api=False),
    Kind("order list", 12, api=False),
    Kind("order detail", 18, api=False),
    Kind("episode page", 8, api=False),
    Kind("invoice list", 8, api=False),
    Kind("margin list", 4, api=False),
    Kind("GET /api/orders/?page_size=100", 10, api=True),
    Kind("GET /api/orders/{id}/", 12, api=True),
    Kind("GET /api/shots/?episode=…", 10, api=True),
]


@dataclass
class Result:
    kind: str
    status: int  # 0: no answer
    latency_ms: float  # from the moment the request was due
    service_ms: float  # from the moment it was sent
    error: str = ""


@dataclass
class Targets:
    session: str
    token: str
    order_ids: list[int]
    episode_ids: list[int]
    paths: dict[str, list[str]] = field(default_factory=dict)


def database_name(url: str) -> str:
    return urlparse(url).path.lstrip("/")


def prepare(*, build: bool) -> Targets:
    """Sign in, make a token and pick the ids the traffic uses (runs in this process)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client as HttpClient

    from orders.models import Episode, Order
    from studio.services import create_api_token

    settings.ALLOWED_HOSTS = ["*"]
    call_command("migrate", verbosity=0)
    if not Order.objects.exists():
        if not build:
            raise SystemExit(
                "The database is empty: run `manage.py seed_demo --scale large` on it, "
                "or pass --build."
            )
        call_command("seed_demo", scale="large")
    users = get_user_model().objects
    owner = users.filter(username="demo").first() or users.filter(username="bench-owner").first()
    if owner is None:
        raise SystemExit("No demo owner (demo or bench-owner) in this database.")
    client = HttpClient()
    client.force_login(owner)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    _token, raw = create_api_token(user=owner, name="bench-load")
    order_ids = list(Order.objects.order_by("-created_at").values_list("id", flat=True)[:1000])
    episode_ids = list(
        Episode.objects.filter(shots__isnull=False)
        .distinct()
        .order_by("-id")
        .values_list("id", flat=True)[:500]
    )
    if not order_ids or not episode_ids:
        raise SystemExit("The database has no orders or no episodes with shots.")
    return Targets(session=session, token=raw, order_ids=order_ids, episode_ids=episode_ids)


def path_for(kind: Kind, targets: Targets, rng: random.Random) -> str:
    order = rng.choice(targets.order_ids)
    episode = rng.choice(targets.episode_ids)
    page = rng.randint(1, 20)
    statuses = ["", "&status=in_production", "&status=delivered", "&status=completed"]
    return {
        "dashboard": "/",
        "order board": "/orders/board/",
        "order list": f"/orders/?page={page}{rng.choice(statuses)}",
        "order detail": f"/orders/{order}/",
        "episode page": f"/episodes/{episode}/",
        "invoice list": f"/invoices/?page={rng.randint(1, 10)}",
        "margin list": "/margins/",
        "GET /api/orders/?page_size=100": f"/api/orders/?page_size=100&page={page}",
        "GET /api/orders/{id}/": f"/api/orders/{order}/",
        "GET /api/shots/?episode=…": f"/api/shots/?episode={episode}",
    }[kind.name]


def check_paths() -> None:
    """Fail early if a path above no longer matches the project's URLs."""
    from django.urls import Resolver404, resolve

    rng = random.Random(0)
    dummy = Targets(session="", token="", order_ids=[1], episode_ids=[1])
    for kind in KINDS:
        path = path_for(kind, dummy, rng).split("?")[0]
        try:
            resolve(path)
        except Resolver404:
            raise SystemExit(f"bench/load.py: {kind.name}: {path} is not a URL") from None


def request(port: int, kind: Kind, path: str, targets: Targets) -> tuple[int, str]:
    headers = {"Host": "127.0.0.1", "Accept-Language": "zh-hans,en;q=0.5"}
    if kind.api:
        headers["Authorization"] = f"Bearer {targets.token}"
        headers["Accept"] = "application/json"
    else:
        headers["Cookie"] = f"sessionid={targets.session}"
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status, "" if response.status == 200 else f"HTTP {response.status}"
    finally:
        connection.close()


def start_server(*, port: int, workers: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    command = [
        str(ROOT / ".venv" / "bin" / "gunicorn"),
        "studio.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--timeout",
        "60",
        "--log-level",
        "warning",
    ]
    server = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited with {server.returncode}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz", headers={"Host": "127.0.0.1"})
            connection.getresponse().read()
            connection.close()
            return server
        except OSError:
            time.sleep(0.2)
    stop_server(server)
    raise SystemExit("gunicorn did not answer within 30 s")


def stop_server(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def run_load(
    *, port: int, rate: float, duration: float, targets: Targets, seed: int = 2026
) -> tuple[list[Result], float]:
    rng = random.Random(seed)
    weights = [kind.weight for kind in KINDS]
    total = int(rate * duration)
    plan = [rng.choices(KINDS, weights)[0] for _ in range(total)]
    paths = [path_for(kind, targets, rng) for kind in plan]
    due: queue.Queue[tuple[float, Kind, str] | None] = queue.Queue()
    results: list[Result] = []
    lock = threading.Lock()

    def worker() -> None:
        while True:
            item = due.get()
            if item is None:
                return
            due_at, kind, path = item
            sent = time.perf_counter()
            try:
                status, error = request(port, kind, path, targets)
            except (OSError, http.client.HTTPException) as exc:
                status, error = 0, f"{type(exc).__name__}: {exc}"
            done = time.perf_counter()
            with lock:
                results.append(
                    Result(
                        kind=kind.name,
                        status=status,
                        latency_ms=(done - due_at) * 1000,
                        service_ms=(done - sent) * 1000,
                        error=error,
                    )
                )

    # Enough senders that a slow answer never holds back the next one that is due.
    senders = [threading.Thread(target=worker, daemon=True) for _ in range(64)]
    for thread in senders:
        thread.start()
    start = time.perf_counter()
    for index, (kind, path) in enumerate(zip(plan, paths, strict=True)):
        due_at = start + index / rate
        pause = due_at - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        due.put((due_at, kind, path))
    for _ in senders:
        due.put(None)
    for thread in senders:
        thread.join(timeout=60)
    elapsed = time.perf_counter() - start
    return results, elapsed


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    position = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[position]


def report(results: list[Result], *, elapsed: float, rate: float, duration: float) -> int:
    names = [kind.name for kind in KINDS] + ["all"]
    width = max(len(name) for name in names)
    print(
        f"\n{'request':<{width}}  {'n':>5}  {'errors':>6}  {'p50':>7}  {'p90':>7}  "
        f"{'p95':>7}  {'p99':>7}  {'max':>7}  (ms, from when each request was due)"
    )
    for name in names:
        rows = results if name == "all" else [r for r in results if r.kind == name]
        if not rows:
            continue
        latency = [r.latency_ms for r in rows]
        errors = sum(1 for r in rows if r.error)
        print(
            f"{name:<{width}}  {len(rows):>5}  {errors:>6}  {percentile(latency, 0.5):>7.1f}  "
            f"{percentile(latency, 0.9):>7.1f}  {percentile(latency, 0.95):>7.1f}  "
            f"{percentile(latency, 0.99):>7.1f}  {max(latency):>7.1f}"
        )
    errors = [r for r in results if r.error]
    # Held means answered as fast as asked: completions over the time until the last one.
    achieved = len(results) / max(elapsed, duration)
    service = [r.service_ms for r in results]
    print(
        f"\n{len(results)} requests in {elapsed:.1f} s (planned {duration:.0f} s): "
        f"{achieved:.1f} requests/s against a target of {rate:g}; "
        f"server time median {statistics.median(service):.1f} ms; {len(errors)} errors."
    )
    for error in sorted({f"{r.kind}: {r.error}" for r in errors})[:20]:
        print("  error:", error)
    ok = not errors and achieved >= 0.98 * rate
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument("--build", action="store_true", help="write the large demo if empty")
    parser.add_argument("--rate", type=float, default=50.0, help="requests per second")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--port", type=int, default=8190)
    parser.add_argument("--redis", default="", help="REDIS_URL for the server's cache")
    args = parser.parse_args()
    if not args.postgres.startswith("postgres"):
        parser.error("--postgres (or DATABASE_URL) must name a PostgreSQL scratch database")
    if database_name(args.postgres) in REFUSED_DATABASES:
        parser.error(f"refusing to use the database {database_name(args.postgres)!r}")
    if args.rate <= 0 or args.duration <= 0:
        parser.error("--rate and --duration must be positive")

    var_dir = Path(f"/tmp/reeldesk-load-{args.port}")
    (var_dir / "staticfiles").mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "DATABASE_URL": args.postgres,
        "REELDESK_VAR_DIR": str(var_dir),
        "DJANGO_DEBUG": "false",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "REELDESK_AXES_ENABLED": "false",
    }
    env.pop("REDIS_URL", None)
    if args.redis:
        env["REDIS_URL"] = args.redis
    os.environ.update({k: v for k, v in env.items() if k != "DJANGO_ALLOWED_HOSTS"})
    if not args.redis:
        os.environ.pop("REDIS_URL", None)

    targets = prepare(build=args.build)
    check_paths()
    server = start_server(port=args.port, workers=args.workers, env=env)
    try:
        rng = random.Random(1)
        for kind in KINDS:  # warm-up: every kind once per worker, not counted
            for _ in range(args.workers):
                _status, error = request(args.port, kind, path_for(kind, targets, rng), targets)
                if error:
                    print(f"warm-up {kind.name}: {error}", file=sys.stderr)
        print(
            f"gunicorn, {args.workers} workers, on {database_name(args.postgres)}: "
            f"{args.rate:g} requests/s for {args.duration:g} s …",
            flush=True,
        )
        results, elapsed = run_load(
            port=args.port, rate=args.rate, duration=args.duration, targets=targets
        )
    finally:
        stop_server(server)
    return report(results, elapsed=elapsed, rate=args.rate, duration=args.duration)


if __name__ == "__main__":
    sys.exit(main())
