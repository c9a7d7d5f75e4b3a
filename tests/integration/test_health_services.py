"""/healthz against the real services: PostgreSQL and Redis answer, so 200."""

from __future__ import annotations

import pytest
from django.db import connection

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def test_healthz_is_ok_on_real_redis(client, settings, redis_url):
    settings.CELERY_BROKER_URL = redis_url
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {
        "socket_connect_timeout": 2,
        "socket_timeout": 5,
        "visibility_timeout": 3600,
        "max_retries": 1,
    }

    response = client.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert body["down"] == []
    assert body["broker"] == {"ok": True, "transport": "redis"}
    assert body["database"] == {"ok": True, "vendor": connection.vendor}


def test_healthz_is_ok_on_postgresql(client, postgresql):
    response = client.get("/healthz")

    assert response.json()["database"] == {"ok": True, "vendor": "postgresql"}
