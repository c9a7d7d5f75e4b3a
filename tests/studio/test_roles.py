from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser

from studio import roles
from tests.factories import UserFactory


@pytest.mark.django_db
def test_roles_of_each_persona(owner, producer, artist, outsider):
    assert [roles.role_of(u) for u in (owner, producer, artist, outsider)] == [
        "owner",
        "producer",
        "artist",
        None,
    ]
    assert roles.role_of(AnonymousUser()) is None
    assert roles.can_see_money(producer)
    assert not roles.can_see_money(artist)
    assert roles.is_owner(owner)
    assert not roles.is_owner(producer)


@pytest.mark.django_db
def test_superuser_is_owner_and_inactive_user_has_no_role():
    admin = UserFactory(username="root", is_superuser=True)
    assert roles.role_of(admin) == "owner"
    gone = UserFactory(username="gone", role="producer", is_active=False)
    assert roles.role_of(gone) is None


def _membership_lookups(queries) -> list[str]:
    """Queries that read a role on their own (not as a subquery of the user's read)."""
    return [q["sql"] for q in queries if q["sql"].startswith('SELECT "studio_membership"')]


@pytest.mark.django_db
@pytest.mark.parametrize("how", ["session", "token"])
def test_role_is_read_with_the_user_and_follows_a_change(owner, how):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from studio import services
    from tests.orders.factories_api import bearer_client, make_order, session_client

    make_order(price="1200.00", assignee=owner)  # still visible once an artist
    http = session_client(owner) if how == "session" else bearer_client(owner)
    with CaptureQueriesContext(connection) as seen:
        first = http.get("/api/orders/")
    assert first.status_code == 200
    assert "price" in first.json()["results"][0]  # an owner sees money
    assert _membership_lookups(seen.captured_queries) == []

    services.set_role(user=owner, role="artist")  # the next request reads the new role
    second = http.get("/api/orders/")
    assert second.status_code == 200
    assert "price" not in second.json()["results"][0]


@pytest.mark.django_db
def test_user_without_membership_has_no_role_when_signed_in(outsider):
    from tests.orders.factories_api import session_client

    assert session_client(outsider).get("/api/orders/").status_code == 403
