"""Fixtures that find the real services integration tests need.

A missing service skips the test with the reason; under CI=true it fails instead, so
CI can never go green without PostgreSQL, Redis, a Celery worker and the browser.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.db import connection

REPO = Path(__file__).resolve().parents[2]
IN_CI = os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}
CHROMIUM_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser")


def missing(reason: str) -> NoReturn:
    """Skip for want of a service; under CI=true that is a failure."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: integration services are required)", pytrace=False)
    pytest.skip(reason)


def _redis_reachable(url: str) -> str | None:
    """None when Redis at url answers PING, else why not."""
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        client.ping()
        client.close()
    except redis.RedisError as exc:
        return f"Redis at {url} does not answer: {exc.__class__.__name__}"
    return None


@pytest.fixture(scope="session")
def redis_url() -> str:
    """REDIS_URL, checked to answer."""
    url = os.environ.get("REDIS_URL", "").strip()
    if not url:
        missing("REDIS_URL is not set")
    problem = _redis_reachable(url)
    if problem:
        missing(problem)
    return url


@pytest.fixture
def postgresql() -> None:
    """The default database is PostgreSQL (DATABASE_URL set and reachable)."""
    if not os.environ.get("DATABASE_URL", "").strip():
        missing("DATABASE_URL is not set: PostgreSQL tests need it")
    if connection.vendor != "postgresql":
        missing(f"the default database is {connection.vendor}, not PostgreSQL")


@pytest.fixture(scope="session")
def chromium() -> str:
    """Path of a headless-capable Chromium."""
    for path in (*CHROMIUM_PATHS, shutil.which("chromium") or ""):
        if path and os.access(path, os.X_OK):
            return path
    missing("Chromium is not installed (apt-get install chromium fonts-noto-cjk)")


def worker_database_url() -> str:
    """DATABASE_URL of the pytest-django test database (test_<name>), for other processes."""
    parts = urlsplit(os.environ["DATABASE_URL"])
    return parts._replace(path="/" + str(connection.settings_dict["NAME"])).geturl()


@pytest.fixture
def real_celery(redis_url: str) -> Iterator[str]:
    """Send tasks to Redis for real (not eagerly), on a queue of this test's own.

    The private queue keeps a developer's running worker from taking the test's tasks
    and the test worker from taking theirs. Yields the queue name; restores the app.
    """
    from studio.celery import app

    if app.conf.broker_url != redis_url:
        missing(f"Celery's broker is {app.conf.broker_url}, not REDIS_URL")
    queue = f"test-{uuid.uuid4().hex[:12]}"
    saved = {key: app.conf[key] for key in ("task_always_eager", "task_routes")}
    app.conf.update(task_always_eager=False, task_routes={"*": {"queue": queue}})
    _forget_routes(app)
    assert app.conf.task_always_eager is False
    try:
        yield queue
    finally:
        app.conf.update(saved)
        _forget_routes(app)
        _purge(redis_url, queue)


def _forget_routes(app: Any) -> None:
    """Celery caches its router; make it read task_routes again."""
    app.amqp.flush_routes()
    app.amqp.__dict__.pop("router", None)


def _purge(redis_url: str, queue: str) -> None:
    """Drop the test queue and the routing keys kombu kept for it."""
    import redis

    try:
        client = redis.Redis.from_url(redis_url, socket_connect_timeout=2)
        keys = [queue, *client.scan_iter(match=f"_kombu.*{queue}*")]
        client.delete(*keys)
        client.close()
    except redis.RedisError:
        pass


@dataclass
class WorkerProcess:
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for_task(self, name: str, *, timeout: float = 30) -> bool:
        """True once the worker logged that a task `name` succeeded."""
        succeeded = re.compile(rf"Task {re.escape(name)}\[[0-9a-f-]+\] succeeded in ")
        return wait_for(lambda: succeeded.search(self.log()), timeout=timeout)


@pytest.fixture
def celery_worker_process(postgresql: None, redis_url: str, real_celery: str, tmp_path: Path):
    """A real `celery -A studio worker` process on Redis and the test database.

    Use with @pytest.mark.django_db(transaction=True): the worker is another process
    and only sees committed rows. It shares MEDIA_ROOT with the test.
    """
    log_path = tmp_path / "worker.log"
    env = {
        **os.environ,
        "DATABASE_URL": worker_database_url(),
        "REDIS_URL": redis_url,
        "REELDESK_MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "REELDESK_VAR_DIR": str(tmp_path / "var"),
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "PYTHONUNBUFFERED": "1",
    }
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "studio",
        "worker",
        "--loglevel=INFO",
        "--concurrency=1",
        "--without-mingle",
        "--without-gossip",
        "--without-heartbeat",
        "-Q",
        real_celery,
        "-n",
        f"{real_celery}@%h",
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_until_ready(process, log_path, timeout=30)
        yield WorkerProcess(process=process, log_path=log_path)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def _wait_until_ready(process: subprocess.Popen[bytes], log_path: Path, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log_path.read_text(errors="replace")
        if " ready." in text:
            return
        if process.poll() is not None:
            pytest.fail(f"the Celery worker exited with {process.returncode}:\n{text[-3000:]}")
        time.sleep(0.2)
    pytest.fail(
        f"the Celery worker was not ready after {timeout} s:\n{log_path.read_text()[-3000:]}"
    )


def wait_for(check: Callable[[], object], *, timeout: float = 30, interval: float = 0.2) -> bool:
    """Call check() until it is truthy or timeout seconds pass; returns the last result."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return bool(result)
        time.sleep(interval)
