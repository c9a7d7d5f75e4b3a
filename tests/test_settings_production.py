"""Production settings (DJANGO_ENV=production): check --deploy is clean, the secret is
required, and responses carry the security headers. Each case runs manage.py in a fresh
process, because settings are read once at start-up."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HOST = "reeldesk.example.com"

HEADERS_SCRIPT = """
import json
from django.test import Client
http = Client(HTTP_HOST="reeldesk.example.com")
secure = http.get("/healthz", secure=True)
plain = http.get("/accounts/login/")
print("RESULT " + json.dumps({
    "secure_status": secure.status_code,
    "secure": dict(secure.headers),
    "plain_status": plain.status_code,
    "plain_location": plain.headers.get("Location", ""),
}))
"""


def _production_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "REELDESK_")) and key not in {"DATABASE_URL", "REDIS_URL"}
    }
    env.update(
        DJANGO_ENV="production",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS=HOST,
        REELDESK_VAR_DIR=str(tmp_path / "var"),
        PYTHONUNBUFFERED="1",
    )
    env.update(overrides)
    return {key: value for key, value in env.items() if value != ""}


def _manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    result = _manage(_production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNINGS" not in result.stdout + result.stderr


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    result = _manage(_production_env(tmp_path, DJANGO_SECRET_KEY=""), "check")

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_production_responses_carry_hsts_csp_and_nosniff(tmp_path):
    env = _production_env(tmp_path)

    result = _manage(env, "shell", "--no-imports", "-c", HEADERS_SCRIPT)

    assert result.returncode == 0, result.stdout + result.stderr
    line = next(x for x in result.stdout.splitlines() if x.startswith("RESULT "))
    data = json.loads(line.removeprefix("RESULT "))
    headers = data["secure"]
    assert data["secure_status"] in {200, 503}  # 503 only says no worker/broker here
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert headers["X-Content-Type-Options"] == "nosniff"
    csp = headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert headers["X-Frame-Options"] == "DENY"
    # Plain HTTP is sent to HTTPS (only /healthz is exempt, for load balancers).
    assert data["plain_status"] == 301
    assert data["plain_location"] == f"https://{HOST}/accounts/login/"


def test_production_without_allowed_hosts_serves_nobody(tmp_path):
    env = _production_env(tmp_path, DJANGO_ALLOWED_HOSTS="")

    result = _manage(env, "shell", "--no-imports", "-c", HEADERS_SCRIPT)

    # Django refuses every Host (400 DisallowedHost) rather than trusting any.
    assert result.returncode == 0, result.stdout + result.stderr
    line = next(x for x in result.stdout.splitlines() if x.startswith("RESULT "))
    assert json.loads(line.removeprefix("RESULT "))["secure_status"] == 400
