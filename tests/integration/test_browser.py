"""Headless Chromium renders a live page of the running app (CSS, CJK text and all)."""

from __future__ import annotations

import subprocess

import pytest

from studio.models import StudioProfile

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _dump_dom(chromium: str, url: str, profile_dir: str) -> str:
    result = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",  # CI runs as root
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            f"--user-data-dir={profile_dir}",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_chromium_renders_the_sign_in_page(chromium, live_server, tmp_path):
    profile = StudioProfile.load()
    profile.name = "Moonlight Frames 月光映画"
    profile.save()

    dom = _dump_dom(chromium, f"{live_server.url}/accounts/login/", str(tmp_path / "chromium"))

    assert "Moonlight Frames 月光映画" in dom
    assert 'name="username"' in dom
    assert 'name="password"' in dom
    assert 'name="csrfmiddlewaretoken"' in dom
