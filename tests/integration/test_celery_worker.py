"""A real Celery worker process on Redis runs the project's tasks against PostgreSQL."""

from __future__ import annotations

import hashlib
import struct
import zlib
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from orders import services
from orders.models import Deliverable
from studio.models import Heartbeat
from studio.tasks import heartbeat
from tests.factories import ClientFactory, UserFactory
from tests.integration.conftest import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _png(width: int = 4, height: int = 4) -> bytes:
    """A small valid PNG (the upload check reads the real type from the content)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\x20\x40\x80" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def test_worker_fingerprints_an_uploaded_deliverable(celery_worker_process):
    owner = UserFactory(username="olivia", role="owner")
    order = services.create_order(
        actor=owner, client=ClientFactory(), title="Launch clip", price=Decimal("1500.00")
    )
    content = _png()

    deliverable = services.add_deliverable(
        actor=owner,
        order=order,
        title="Storyboard frame",
        upload=SimpleUploadedFile("frame.png", content, content_type="image/png"),
    )

    expected = hashlib.sha256(content).hexdigest()
    fingerprinted = wait_for(
        lambda: Deliverable.objects.filter(pk=deliverable.pk, sha256=expected).exists(),
        timeout=30,
    )
    assert fingerprinted, "the worker did not store the file's SHA-256 within 30 s"
    assert celery_worker_process.wait_for_task("orders.tasks.fingerprint_deliverable")


def test_worker_records_its_heartbeat_and_healthz_sees_it(celery_worker_process, client):
    assert not Heartbeat.objects.exists()

    heartbeat.delay()

    assert wait_for(lambda: Heartbeat.objects.filter(name="worker").exists(), timeout=30), (
        "the worker did not run the heartbeat task within 30 s"
    )
    assert celery_worker_process.wait_for_task("studio.tasks.heartbeat")
    health = client.get("/healthz")
    assert health.status_code == 200
    assert health.json()["worker"]["ok"] is True
