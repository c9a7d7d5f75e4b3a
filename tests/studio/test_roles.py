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
