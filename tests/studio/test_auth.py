"""Sign-in, sign-out and the lockout after repeated failures (django-axes)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.test import Client as HttpClient
from django.urls import reverse
from django.utils import timezone

from tests.factories import UserFactory

PASSWORD = "correct horse battery staple"


@pytest.fixture
def axes_on(settings):
    settings.AXES_ENABLED = True
    return settings


def sign_in(http: HttpClient, username: str, password: str, **extra: str):
    return http.post(reverse("login"), {"username": username, "password": password, **extra})


def test_login_page_is_styled_and_has_language_switcher(db, studio_profile):
    response = HttpClient().get(reverse("login"))

    body = response.content.decode()
    assert response.status_code == 200
    assert 'class="auth-box"' in body
    assert f'action="{reverse("set_language")}"' in body
    assert 'autocomplete="current-password"' in body
    assert "Moonlight Frames" in body


def test_login_page_in_chinese_switches_language_link(db, studio_profile):
    http = HttpClient(headers={"accept-language": "zh-hans"})

    body = http.get(reverse("login")).content.decode()

    assert '<html lang="zh-hans">' in body
    assert 'value="en"' in body


def test_member_signs_in_and_lands_on_dashboard(owner):
    http = HttpClient()

    response = sign_in(http, "olivia", PASSWORD)

    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard")
    assert http.session["_auth_user_id"] == str(owner.pk)


def test_wrong_password_shows_error_and_does_not_sign_in(owner):
    http = HttpClient()

    response = sign_in(http, "olivia", "wrong")

    assert response.status_code == 200
    assert "Please enter a correct username and password." in response.content.decode()
    assert "_auth_user_id" not in http.session


def test_next_is_honoured_for_a_local_path(owner):
    response = sign_in(HttpClient(), "olivia", PASSWORD, next="/studio/tokens/")

    assert response["Location"] == "/studio/tokens/"


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/x", "javascript:alert(1)"]
)
def test_next_to_another_site_is_ignored(owner, target):
    response = sign_in(HttpClient(), "olivia", PASSWORD, next=target)

    assert response["Location"] == reverse("dashboard")


def test_login_page_keeps_next_in_form(db):
    response = HttpClient().get(reverse("login") + "?next=/studio/team/")

    assert '<input type="hidden" name="next" value="/studio/team/">' in response.content.decode()


def test_signed_in_user_visiting_login_with_next_to_login_is_not_a_loop(owner_http):
    response = owner_http.get(reverse("login") + "?next=" + reverse("login"))

    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard")


def test_outsider_can_sign_in_but_gets_403_on_dashboard(outsider):
    http = HttpClient()
    sign_in(http, "oscar", PASSWORD)

    response = http.get(reverse("dashboard"))

    assert response.status_code == 403


def test_inactive_user_cannot_sign_in(db):
    UserFactory(username="gone", role="artist", is_active=False)
    http = HttpClient()

    response = sign_in(http, "gone", PASSWORD)

    assert response.status_code == 200
    assert "_auth_user_id" not in http.session


def test_logout_is_post_only_and_returns_to_login(owner_http):
    assert owner_http.get(reverse("logout")).status_code == 405
    assert "_auth_user_id" in owner_http.session

    response = owner_http.post(reverse("logout"))

    assert response.status_code == 302
    assert response["Location"] == reverse("login")
    assert "_auth_user_id" not in owner_http.session


def test_five_failures_lock_out_username_and_ip_with_429(axes_on, owner):
    http = HttpClient()
    for _ in range(4):
        assert sign_in(http, "olivia", "wrong").status_code == 200

    fifth = sign_in(http, "olivia", "wrong")

    assert fifth.status_code == 429
    assert "Too many sign-in attempts" in fifth.content.decode()
    assert "Wait 15 minutes, then try again." in fifth.content.decode()
    templates = [t.name for t in fifth.templates]
    assert "registration/locked_out.html" in templates

    with_right_password = sign_in(http, "olivia", PASSWORD)

    assert with_right_password.status_code == 429
    assert "_auth_user_id" not in http.session


def test_lockout_ends_after_fifteen_minutes(axes_on, owner):
    http = HttpClient()
    for _ in range(5):
        sign_in(http, "olivia", "wrong")

    with time_machine.travel(timezone.now() + dt.timedelta(minutes=16)):
        response = sign_in(http, "olivia", PASSWORD)

    assert response.status_code == 302
    assert http.session["_auth_user_id"] == str(owner.pk)


def test_lockout_is_per_username(axes_on, owner, producer):
    http = HttpClient()
    for _ in range(5):
        sign_in(http, "olivia", "wrong")

    response = sign_in(http, "pete", PASSWORD)

    assert response.status_code == 302


def test_lockout_is_per_ip_address(axes_on, owner):
    for _ in range(5):
        sign_in(HttpClient(REMOTE_ADDR="10.0.0.1"), "olivia", "wrong")

    response = sign_in(HttpClient(REMOTE_ADDR="10.0.0.2"), "olivia", PASSWORD)

    assert response.status_code == 302


def test_successful_sign_in_resets_the_failure_count(axes_on, owner):
    http = HttpClient()
    for _ in range(4):
        sign_in(http, "olivia", "wrong")
    assert sign_in(http, "olivia", PASSWORD).status_code == 302
    http.post(reverse("logout"))

    responses = [sign_in(http, "olivia", "wrong").status_code for _ in range(4)]

    assert responses == [200, 200, 200, 200]
    assert sign_in(http, "olivia", PASSWORD).status_code == 302


def test_locked_out_page_is_translated(axes_on, owner):
    http = HttpClient(headers={"accept-language": "zh-hans"})
    for _ in range(5):
        response = sign_in(http, "olivia", "wrong")

    assert response.status_code == 429
    assert '<html lang="zh-hans">' in response.content.decode()
