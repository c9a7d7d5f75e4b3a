"""manage.py create_api_token."""

from __future__ import annotations

import hashlib
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from studio.models import ApiToken
from studio.services import authenticate_api_token
from tests.factories import UserFactory


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("create_api_token", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_prints_token_once_on_last_line_and_stores_only_its_digest(producer):
    out, err = run("pete", "--name", "Storefront")

    lines = out.strip().splitlines()
    raw = lines[-1]
    assert lines == [raw]
    assert raw.startswith("rdk_")
    assert raw not in err
    token = ApiToken.objects.get(user=producer)
    assert token.name == "Storefront"
    assert token.digest == hashlib.sha256(raw.encode()).hexdigest()
    assert token.digest != raw
    assert raw not in {token.name, token.prefix, token.digest}
    assert authenticate_api_token(raw) == token


def test_default_name_and_one_token_per_run(artist):
    first, _ = run("ada")
    second, _ = run("ada")

    assert first.strip() != second.strip()
    assert list(ApiToken.objects.values_list("name", flat=True)) == ["Command line"] * 2


def test_superuser_without_membership_gets_a_token(db):
    UserFactory(username="root", is_superuser=True)

    out, _ = run("root")

    assert out.strip().startswith("rdk_")


@pytest.mark.parametrize(
    ("username", "message"),
    [
        ("nobody", "No user is called “nobody”."),
        ("gone", "The user “gone” is deactivated; reactivate them first."),
        ("oscar", "The user “oscar” has no role in the studio"),
    ],
)
def test_refuses_unknown_inactive_or_outside_users(outsider, username, message):
    UserFactory(username="gone", role="artist", is_active=False)

    with pytest.raises(CommandError) as excinfo:
        run(username)

    assert str(excinfo.value).startswith(message)
    assert not ApiToken.objects.exists()


def test_refuses_empty_name(owner):
    with pytest.raises(CommandError, match="--name must not be empty"):
        run("olivia", "--name", "  ")

    assert not ApiToken.objects.exists()
