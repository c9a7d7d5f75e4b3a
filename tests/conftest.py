"""Persona fixtures shared by every test: owner, producer, artist, outsider."""

from __future__ import annotations

import pytest
from django.test import Client as HttpClient

from studio.models import StudioProfile
from tests.factories import UserFactory


@pytest.fixture(autouse=True, scope="session")
def _eager_celery():
    """Unit tests run tasks in-process; integration tests start real workers instead."""
    from studio.celery import app

    app.conf.update(task_always_eager=True, task_eager_propagates=True)
    yield
    app.conf.update(task_always_eager=False)


@pytest.fixture(autouse=True)
def _isolated_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    from django.core.cache import cache

    cache.clear()
    from django.utils import translation

    settings.AXES_ENABLED = False
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    # A request in Chinese leaves its language active on the thread; start each test in English.
    translation.activate("en")
    yield
    translation.deactivate()


@pytest.fixture
def studio_profile(db):
    profile = StudioProfile.load()
    profile.name = "Moonlight Frames"
    profile.save()
    return profile


@pytest.fixture
def owner(db):
    return UserFactory(username="olivia", role="owner")


@pytest.fixture
def producer(db):
    return UserFactory(username="pete", role="producer")


@pytest.fixture
def artist(db):
    return UserFactory(username="ada", role="artist")


@pytest.fixture
def outsider(db):
    """Signed in, but not on the studio team."""
    return UserFactory(username="oscar")


def _signed_in(user) -> HttpClient:
    http = HttpClient()
    http.force_login(user)
    return http


@pytest.fixture
def owner_http(owner):
    return _signed_in(owner)


@pytest.fixture
def producer_http(producer):
    return _signed_in(producer)


@pytest.fixture
def artist_http(artist):
    return _signed_in(artist)


@pytest.fixture
def outsider_http(outsider):
    return _signed_in(outsider)
