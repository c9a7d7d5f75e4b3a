"""GET /healthz: 200 when the database and the broker answer, 503 naming what is down."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import OperationalError, connection
from django.utils import timezone

from studio import health
from studio.models import Heartbeat

pytestmark = pytest.mark.django_db


@pytest.fixture
def embedded_broker(settings, tmp_path):
    """The filesystem broker of `make run`, in folders of this test's own."""
    folders = {name: tmp_path / "broker" / name for name in ("queue", "control", "processed")}
    for folder in folders.values():
        folder.mkdir(parents=True)
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(folders["queue"]),
        "data_folder_out": str(folders["queue"]),
        "control_folder": str(folders["control"]),
        "processed_folder": str(folders["processed"]),
        "store_processed": False,
    }
    return folders


@pytest.fixture
def unreachable_broker(settings):
    """A Redis URL where nothing listens (port 1)."""
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {
        "socket_connect_timeout": 1,
        "socket_timeout": 1,
        "max_retries": 0,
    }


class _BrokenCursor:
    def __enter__(self) -> _BrokenCursor:
        raise OperationalError("connection refused")

    def __exit__(self, *args: object) -> None:
        return None


class _BrokenConnection:
    vendor = "postgresql"

    def cursor(self) -> _BrokenCursor:
        return _BrokenCursor()


def test_healthz_is_ok_with_the_database_and_the_embedded_broker(client, embedded_broker):
    response = client.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["down"] == []
    assert body["database"] == {"ok": True, "vendor": connection.vendor}
    assert body["broker"] == {"ok": True, "transport": "filesystem"}
    assert body["worker"] == {"ok": None, "last_seen": None}
    assert response["Cache-Control"].startswith("max-age=0")


def test_healthz_reports_a_recent_worker_heartbeat(client, embedded_broker):
    Heartbeat.objects.create(name="worker", beat_at=timezone.now() - dt.timedelta(seconds=30))

    body = client.get("/healthz").json()

    assert body["worker"]["ok"] is True


def test_healthz_reports_a_stale_worker_without_failing(client, embedded_broker):
    Heartbeat.objects.create(name="worker", beat_at=timezone.now() - dt.timedelta(hours=1))

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json()["worker"]["ok"] is False


def test_healthz_is_503_naming_the_broker_when_it_is_down(client, unreachable_broker):
    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down"
    assert body["down"] == ["broker"]
    assert body["broker"]["ok"] is False
    assert body["broker"]["error"]
    assert body["database"]["ok"] is True


def test_healthz_is_503_when_the_embedded_broker_folder_is_gone(client, embedded_broker):
    embedded_broker["queue"].rmdir()

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["down"] == ["broker"]


def test_healthz_is_503_naming_the_database_when_it_is_down(client, embedded_broker, monkeypatch):
    monkeypatch.setattr(health, "connection", _BrokenConnection())

    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["down"] == ["database"]
    assert body["database"] == {"ok": False, "error": "OperationalError"}
    assert body["broker"]["ok"] is True
    assert body["worker"] == {"ok": None}


def test_healthz_names_both_when_everything_is_down(client, unreachable_broker, monkeypatch):
    monkeypatch.setattr(health, "connection", _BrokenConnection())

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["down"] == ["database", "broker"]


def test_healthz_only_answers_get(client, embedded_broker):
    response = client.post("/healthz")

    assert response.status_code == 405
