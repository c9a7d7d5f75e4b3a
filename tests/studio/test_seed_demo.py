"""manage.py seed_demo: a realistic studio, loaded once, never into a real database."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from orders.models import Client, Deliverable, Order, OrderEvent, Tag
from studio.management.commands.seed_demo import DEMO_PASSWORD, DEMO_USERNAME
from studio.models import Membership, StudioProfile
from tests.factories import ClientFactory

pytestmark = pytest.mark.django_db


def _seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def _counts() -> dict[str, int]:
    return {
        "users": get_user_model().objects.count(),
        "memberships": Membership.objects.count(),
        "clients": Client.objects.count(),
        "orders": Order.objects.count(),
        "events": OrderEvent.objects.count(),
        "deliverables": Deliverable.objects.count(),
        "tags": Tag.objects.count(),
    }


def test_seed_demo_loads_a_studio_with_orders_in_every_status():
    output = _seed("--scale", "small")

    assert "Demo data loaded" in output
    assert f"{DEMO_USERNAME} / {DEMO_PASSWORD}" in output
    assert "http://127.0.0.1:8000/" in output
    profile = StudioProfile.load()
    assert profile.name == "Moonlight Frames 月光映画"
    assert profile.time_zone == "Asia/Shanghai"
    assert profile.default_currency == "CNY"
    assert "Bank transfer" in profile.payment_instructions
    assert "银行转账" in profile.payment_instructions
    roles = dict(Membership.objects.values_list("user__username", "role"))
    assert roles == {"demo": "owner", "mei": "producer", "kai": "artist", "ana": "artist"}
    assert get_user_model().objects.get(username=DEMO_USERNAME).check_password(DEMO_PASSWORD)
    assert Client.objects.count() >= 10
    assert set(Client.objects.values_list("currency", flat=True)) == {"CNY", "USD", "HKD"}
    assert set(Client.objects.values_list("language", flat=True)) == {"zh-hans", "en"}
    assert 35 <= Order.objects.count() <= 50
    assert set(Order.objects.values_list("status", flat=True)) == set(Order.Status.values)
    assert Order.objects.late().exists()
    assert Order.objects.due_within(days=3).exists()
    assert Deliverable.objects.filter(kind=Deliverable.Kind.LINK).exists()
    assert Tag.objects.exists()
    prices = list(Order.objects.values_list("price", flat=True))
    assert 800 <= min(prices) <= max(prices) <= 20000


def test_seed_demo_timelines_are_real_and_spread_in_time():
    _seed()

    for order in Order.objects.exclude(status__in=[Order.Status.INQUIRY, Order.Status.QUOTED]):
        events = list(order.events.order_by("pk"))
        assert events[0].kind == OrderEvent.Kind.CREATED
        assert events[-1].created_at <= order.updated_at
        assert [e.created_at for e in events] == sorted(e.created_at for e in events)
        changes = [e for e in events if e.kind == OrderEvent.Kind.STATUS_CHANGED]
        assert changes[-1].to_status == order.status
    accepted = Order.objects.filter(accepted_at__isnull=False)
    never_accepted = [Order.Status.INQUIRY, Order.Status.QUOTED, Order.Status.CANCELLED]
    assert accepted.count() == Order.objects.exclude(status__in=never_accepted).count()
    assert all(o.due_at is not None and o.due_at > o.accepted_at for o in accepted)
    created_days = {o.created_at.date() for o in Order.objects.all()}
    assert len(created_days) > 10
    completed = Order.objects.filter(status=Order.Status.COMPLETED)
    assert all(o.delivered_at <= o.completed_at for o in completed)
    references = sorted(Order.objects.values_list("reference", flat=True))
    assert len(set(references)) == len(references)


def test_seed_demo_twice_changes_nothing_the_second_time():
    _seed()
    before = _counts()

    output = _seed()

    assert "already present; nothing done" in output
    assert f"{DEMO_USERNAME} / {DEMO_PASSWORD}" in output
    assert _counts() == before


def test_seed_demo_says_when_the_demo_password_was_changed():
    _seed()
    user = get_user_model().objects.get(username=DEMO_USERNAME)
    user.set_password("something-else-entirely-42")
    user.save()

    output = _seed()

    assert DEMO_PASSWORD not in output
    assert "changed since the demo was loaded" in output


def test_seed_demo_leaves_a_database_with_real_clients_alone():
    ClientFactory(name="A real client")

    output = _seed()

    assert "not loaded" in output
    assert Client.objects.count() == 1
    assert Order.objects.count() == 0
    assert not get_user_model().objects.filter(username=DEMO_USERNAME).exists()


def test_seed_demo_refuses_to_run_in_production(settings):
    settings.PRODUCTION = True

    with pytest.raises(CommandError, match="production"):
        _seed()

    assert not get_user_model().objects.exists()
    assert Order.objects.count() == 0
