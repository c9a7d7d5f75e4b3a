"""Private Redis servers and Celery worker processes for the reliability fault tests
(support only: this module holds no tests).

Each test gets its own `redis-server` on a free port (never the machine's own Redis) and
its own worker processes, started in a process group of their own so that a SIGKILL takes
the whole worker (main process and pool children) down at once, like the OOM killer.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings

from tests.integration.conftest import REPO, missing, wait_for, worker_database_url


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PrivateRedis:
    """A redis-server of the test's own on 127.0.0.1 (optionally with AOF)."""

    folder: Path
    aof: bool = False
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            missing("redis-server is not installed (apt-get install redis-server)")
        self.folder.mkdir(parents=True, exist_ok=True)
        command = [
            binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "yes" if self.aof else "no",
            "--appendfsync",
            "everysec",
            "--dir",
            str(self.folder),
            "--logfile",
            str(self.folder / "redis.log"),
        ]
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
        )
        if not wait_for(self.ping, timeout=10, interval=0.05):
            raise RuntimeError(f"private redis-server on {self.port} did not start")

    def ping(self) -> bool:
        import redis

        try:
            client = redis.Redis(port=self.port, socket_connect_timeout=0.5, socket_timeout=0.5)
            client.ping()
            client.close()
        except redis.RedisError:
            return False
        return True

    def client(self) -> Any:
        import redis

        return redis.Redis(port=self.port, socket_connect_timeout=2, socket_timeout=5)

    def stop(self, *, kill: bool = False) -> None:
        """Stop it: SIGTERM (a clean shutdown) or SIGKILL (kill -9, nothing flushed)."""
        if self.process is None:
            return
        if kill:
            self.process.kill()
        else:
            self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        self.process = None


@contextmanager
def private_redis(folder: Path, *, aof: bool = False) -> Iterator[PrivateRedis]:
    server = PrivateRedis(folder=folder, aof=aof)
    server.start()
    try:
        yield server
    finally:
        server.stop(kill=True)


def point_celery_at(url: str) -> dict[str, Any]:
    """Send this process's tasks to the private Redis at url (for real, not eagerly), on
    the default queue as in production: tasks that queue tasks inside the worker need
    no routing. Returns what to give back to restore_celery."""
    from studio.celery import app

    keys = ("broker_url", "task_always_eager", "task_routes", "broker_transport_options")
    saved = {key: app.conf[key] for key in keys}
    app.conf.update(
        broker_url=url,
        task_always_eager=False,
        task_routes=None,
        broker_transport_options={
            "socket_connect_timeout": 1,
            "socket_timeout": 2,
            "visibility_timeout": 3600,
            "max_retries": 0,
        },
        broker_connection_timeout=1,
        task_publish_retry_policy={"max_retries": 0},
    )
    _reset_connections(app)
    return saved


def restore_celery(saved: dict[str, Any]) -> None:
    from studio import tasks
    from studio.celery import app

    tasks.flush_publisher()
    app.conf.update(saved)
    _reset_connections(app)


def _reset_connections(app: Any) -> None:
    """Forget pooled connections and producers, so the next message uses broker_url."""
    from kombu import pools

    pools.reset()
    app._pool = None
    app.amqp._producer_pool = None
    app.amqp.flush_routes()
    app.amqp.__dict__.pop("router", None)


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL the whole worker: main process and pool children."""
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            self.kill()


def start_worker(*, broker_url: str, folder: Path, concurrency: int = 1, name: str = "") -> Worker:
    """A real `celery -A studio worker` on broker_url and the test database."""
    folder.mkdir(parents=True, exist_ok=True)
    log_path = folder / f"worker-{name or uuid.uuid4().hex[:6]}.log"
    env = {
        **os.environ,
        "DATABASE_URL": worker_database_url(),
        "REDIS_URL": broker_url,
        "REELDESK_MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "REELDESK_VAR_DIR": str(folder / "var"),
        "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
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
        f"--concurrency={concurrency}",
        "--without-mingle",
        "--without-gossip",
        "--without-heartbeat",
        "-n",
        f"reliability-{name or uuid.uuid4().hex[:6]}@%h",
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    worker = Worker(process=process, log_path=log_path)
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        if " ready." in worker.log():
            return worker
        if process.poll() is not None:
            raise RuntimeError(f"the worker exited with {process.returncode}:\n{worker.log()}")
        time.sleep(0.2)
    worker.kill()
    raise RuntimeError(f"the worker was not ready in 40 s:\n{worker.log()[-3000:]}")


def mail_files(folder: Path) -> list[str]:
    """E-mails the worker processes wrote with the file backend."""
    mail_dir = folder / "var" / "mail"
    if not mail_dir.is_dir():
        return []
    return [p.read_text(errors="replace") for p in sorted(mail_dir.glob("*.log"))]
