"""Order lifecycle, numbering, due dates and deliverables through the services."""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile

from orders import services
from orders.models import Deliverable, Order, OrderEvent
from studio.errors import Conflict, InvalidInput, NotPermitted
from tests.factories import ClientFactory, OrderFactory

S = Order.Status
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 64

VALID = [(src, dst) for src, targets in Order.TRANSITIONS.items() for dst in sorted(targets)]
INVALID = [
    (S.INQUIRY, S.ACCEPTED),
    (S.INQUIRY, S.DELIVERED),
    (S.QUOTED, S.IN_PRODUCTION),
    (S.ACCEPTED, S.DELIVERED),
    (S.IN_PRODUCTION, S.COMPLETED),
    (S.IN_REVIEW, S.COMPLETED),
    (S.DELIVERED, S.CANCELLED),
    (S.DELIVERED, S.IN_PRODUCTION),
    (S.COMPLETED, S.IN_PRODUCTION),
    (S.COMPLETED, S.CANCELLED),
    (S.CANCELLED, S.INQUIRY),
    (S.CANCELLED, S.QUOTED),
    (S.QUOTED, S.QUOTED),
]


def _order_in(status: str, *, before: str = S.IN_PRODUCTION, **extra) -> Order:
    fields = {"status": status}
    if status == S.ON_HOLD:
        fields["status_before_hold"] = before
    return OrderFactory(**fields, **extra)


@pytest.mark.django_db
@pytest.mark.parametrize(("source", "target"), VALID)
def test_every_valid_transition_changes_status_and_writes_event(
    owner, studio_profile, source, target
):
    before = target if target != S.CANCELLED else S.IN_PRODUCTION
    order = _order_in(source, before=before)

    result = services.change_status(actor=owner, order=order, to_status=target)

    order.refresh_from_db()
    assert order.status == target
    event = order.events.get(kind=OrderEvent.Kind.STATUS_CHANGED)
    assert (event.from_status, event.to_status, event.actor) == (source, target, owner)
    assert result.order.status == target


@pytest.mark.django_db
@pytest.mark.parametrize(("source", "target"), INVALID)
def test_invalid_transition_is_refused_and_changes_nothing(owner, source, target):
    order = _order_in(source)
    updated_before = Order.objects.get(pk=order.pk).updated_at

    with pytest.raises(Conflict) as refused:
        services.change_status(actor=owner, order=order, to_status=target)

    assert refused.value.code == "invalid_transition"
    order.refresh_from_db()
    assert order.status == source
    assert order.updated_at == updated_before
    assert not order.events.exists()


@pytest.mark.django_db
def test_unknown_status_is_invalid_input(owner):
    order = _order_in(S.INQUIRY)
    with pytest.raises(InvalidInput):
        services.change_status(actor=owner, order=order, to_status="shipped")
    order.refresh_from_db()
    assert order.status == S.INQUIRY


@pytest.mark.django_db
def test_on_hold_resumes_only_to_the_status_it_left(owner):
    order = _order_in(S.IN_REVIEW)
    services.change_status(actor=owner, order=order, to_status=S.ON_HOLD)
    order.refresh_from_db()
    assert order.status_before_hold == S.IN_REVIEW
    assert order.allowed_next() == [S.IN_REVIEW, S.CANCELLED]

    with pytest.raises(Conflict):
        services.change_status(actor=owner, order=order, to_status=S.QUOTED)

    services.change_status(actor=owner, order=order, to_status=S.IN_REVIEW)
    order.refresh_from_db()
    assert (order.status, order.status_before_hold) == (S.IN_REVIEW, "")


@pytest.mark.django_db
def test_revision_counts_rounds_and_warns_past_included(owner):
    order = _order_in(S.IN_REVIEW, revision_rounds_included=1)

    first = services.change_status(actor=owner, order=order, to_status=S.REVISION)
    assert first.warning == ""
    services.change_status(actor=owner, order=order, to_status=S.IN_PRODUCTION)
    services.change_status(actor=owner, order=order, to_status=S.IN_REVIEW)
    second = services.change_status(actor=owner, order=order, to_status=S.REVISION)

    order.refresh_from_db()
    assert order.revision_rounds_used == 2
    assert "round 2" in second.warning
    assert order.revisions_over_included == 1
    limit = order.events.get(kind=OrderEvent.Kind.REVISION_LIMIT)
    assert limit.data == {"used": 2, "included": 1}
    assert limit.public is False


@pytest.mark.django_db
def test_artist_may_move_own_order_through_production_only(artist, producer):
    order = _order_in(S.ACCEPTED, assignee=artist)
    services.change_status(actor=artist, order=order, to_status=S.IN_PRODUCTION)
    services.change_status(actor=artist, order=order, to_status=S.IN_REVIEW)

    with pytest.raises(NotPermitted):
        services.change_status(actor=artist, order=order, to_status=S.DELIVERED)
    order.refresh_from_db()
    assert order.status == S.IN_REVIEW

    other = _order_in(S.ACCEPTED, assignee=producer)
    with pytest.raises(NotPermitted):
        services.change_status(actor=artist, order=other, to_status=S.IN_PRODUCTION)
    other.refresh_from_db()
    assert other.status == S.ACCEPTED


@pytest.mark.django_db
def test_outsider_cannot_change_status(outsider):
    order = _order_in(S.INQUIRY)
    with pytest.raises(NotPermitted):
        services.change_status(actor=outsider, order=order, to_status=S.QUOTED)


@pytest.mark.django_db
def test_acceptance_sets_due_at_end_of_local_day_after_turnaround(owner, studio_profile):
    # 23:30 UTC on the 24th is 07:30 on the 25th in Shanghai: the local day counts.
    order = _order_in(S.QUOTED, turnaround_days=7)
    with time_machine.travel(dt.datetime(2026, 11, 24, 23, 30, tzinfo=dt.UTC), tick=False):
        services.change_status(actor=owner, order=order, to_status=S.ACCEPTED)
    order.refresh_from_db()
    assert order.accepted_at == dt.datetime(2026, 11, 24, 23, 30, tzinfo=dt.UTC)
    # 2026-12-02 23:59:59 in Asia/Shanghai (UTC+8)
    assert order.due_at == dt.datetime(2026, 12, 2, 15, 59, 59, tzinfo=dt.UTC)


@pytest.mark.django_db
def test_due_date_follows_the_studio_zone(owner, studio_profile):
    studio_profile.time_zone = "America/Los_Angeles"
    studio_profile.save()
    order = _order_in(S.QUOTED, turnaround_days=10)
    # 2026-03-01 05:00 UTC is Feb 28 21:00 in Los Angeles; due Mar 10 23:59:59 PDT
    # (daylight saving time began on Mar 8).
    with time_machine.travel(dt.datetime(2026, 3, 1, 5, 0, tzinfo=dt.UTC), tick=False):
        services.change_status(actor=owner, order=order, to_status=S.ACCEPTED)
    order.refresh_from_db()
    assert order.due_at == dt.datetime(2026, 3, 11, 6, 59, 59, tzinfo=dt.UTC)


@pytest.mark.django_db
def test_days_left_counts_local_days(studio_profile):
    order = OrderFactory(due_at=dt.datetime(2026, 12, 2, 15, 59, 59, tzinfo=dt.UTC))
    with time_machine.travel(dt.datetime(2026, 11, 30, 17, 0, tzinfo=dt.UTC), tick=False):
        # 01:00 on Dec 1 in Shanghai: one day left
        from django.utils import timezone

        with timezone.override(studio_profile.zone):
            assert order.days_left(timezone.localdate()) == 1


@pytest.mark.django_db
def test_create_order_numbers_references_per_year_and_applies_defaults(owner, studio_profile):
    studio_profile.default_turnaround_days = 10
    studio_profile.default_revision_rounds = 3
    studio_profile.save()
    client = ClientFactory(currency="USD")
    with time_machine.travel(dt.datetime(2026, 5, 1, tzinfo=dt.UTC)):
        first = services.create_order(actor=owner, client=client, title="A", price=Decimal("1200"))
        second = services.create_order(actor=owner, client=client, title="B", price=Decimal("900"))
    with time_machine.travel(dt.datetime(2027, 1, 2, tzinfo=dt.UTC)):
        third = services.create_order(actor=owner, client=client, title="C", price=Decimal("1"))

    assert [first.reference, second.reference, third.reference] == [
        "ORD-2026-0001",
        "ORD-2026-0002",
        "ORD-2027-0001",
    ]
    assert (first.currency, first.turnaround_days, first.revision_rounds_included) == (
        "USD",
        10,
        3,
    )
    assert first.events.get().kind == OrderEvent.Kind.CREATED


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"price": Decimal("-1")}, "price"),
        ({"deposit_percent": Decimal("150")}, "deposit_percent"),
        ({"currency": "XXX"}, "currency"),
        ({"turnaround_days": 0}, "turnaround_days"),
        ({"status": S.ACCEPTED}, "status"),
        ({"title": ""}, "title"),
    ],
)
def test_create_order_bad_input_saves_nothing(owner, changes, field):
    client = ClientFactory()
    kwargs = {"title": "Clip", "price": Decimal("1500"), **changes}
    with pytest.raises(InvalidInput) as refused:
        services.create_order(actor=owner, client=client, **kwargs)
    assert field in refused.value.fields
    assert Order.objects.count() == 0
    assert OrderEvent.objects.count() == 0


@pytest.mark.django_db
def test_orders_for_archived_clients_are_refused(owner):
    client = ClientFactory()
    services.archive_client(actor=owner, client=client)
    with pytest.raises(InvalidInput):
        services.create_order(actor=owner, client=client, title="X", price=Decimal(1))
    assert Order.objects.count() == 0


@pytest.mark.django_db
def test_archive_and_restore_are_idempotent(producer):
    client = ClientFactory()
    assert services.archive_client(actor=producer, client=client) is True
    assert services.archive_client(actor=producer, client=client) is False
    assert client.is_archived
    assert services.restore_client(actor=producer, client=client) is True
    assert services.restore_client(actor=producer, client=client) is False


@pytest.mark.django_db
def test_artist_cannot_create_clients_or_orders(artist):
    with pytest.raises(NotPermitted):
        services.create_client(actor=artist, name="Sneaky")
    with pytest.raises(NotPermitted):
        services.create_order(actor=artist, client=ClientFactory(), title="X", price=Decimal(1))


@pytest.mark.django_db
def test_update_order_records_internal_event_and_sets_tags(owner):
    order = services.create_order(
        actor=owner, client=ClientFactory(), title="X", price=Decimal(1), tags=["618", "kling"]
    )
    services.update_order(actor=owner, order=order, price=Decimal("2000.00"), tags=["kling"])
    order.refresh_from_db()
    assert order.price == Decimal("2000.00")
    assert list(order.tags.values_list("name", flat=True)) == ["kling"]
    event = order.events.get(kind=OrderEvent.Kind.UPDATED)
    assert event.data == {"fields": ["price"]}
    assert event.public is False


@pytest.mark.django_db
def test_closed_orders_cannot_be_edited(owner):
    order = _order_in(S.COMPLETED)
    with pytest.raises(Conflict):
        services.update_order(actor=owner, order=order, title="New")
    order.refresh_from_db()
    assert order.title != "New"


@pytest.mark.django_db
def test_deliverable_versions_count_per_title_and_fingerprint_runs(
    owner, producer, django_capture_on_commit_callbacks
):
    order = _order_in(S.IN_PRODUCTION)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        one = services.add_deliverable(
            actor=owner, order=order, title="Cut", upload=SimpleUploadedFile("cut.mp4", MP4)
        )
    assert len(callbacks) == 1
    two = services.add_deliverable(
        actor=producer, order=order, title="Cut", upload=SimpleUploadedFile("cut v2.mp4", MP4)
    )
    link = services.add_deliverable(
        actor=owner, order=order, title="Poster", url="https://example.com/p.png"
    )
    assert (one.version, two.version, link.version) == (1, 2, 1)
    one.refresh_from_db()
    # Celery runs eagerly in unit tests; the on-commit hook ran the fingerprint task.
    assert one.sha256 == hashlib.sha256(MP4).hexdigest()
    assert one.file.name.startswith(f"deliverables/{order.pk}/")
    assert "cut" not in one.file.name
    assert one.original_name == "cut.mp4"
    assert order.events.filter(kind=OrderEvent.Kind.DELIVERABLE_ADDED).count() == 3


@pytest.mark.django_db
def test_deliverable_needs_exactly_one_of_file_or_link(owner):
    order = _order_in(S.IN_PRODUCTION)
    with pytest.raises(InvalidInput):
        services.add_deliverable(actor=owner, order=order, title="Cut")
    with pytest.raises(InvalidInput):
        services.add_deliverable(
            actor=owner,
            order=order,
            title="Cut",
            url="https://example.com/x",
            upload=SimpleUploadedFile("cut.mp4", MP4),
        )
    with pytest.raises(InvalidInput):
        services.add_deliverable(actor=owner, order=order, title="Cut", url="javascript:alert(1)")
    assert Deliverable.objects.count() == 0


@pytest.mark.django_db
def test_unassigned_artist_cannot_add_deliverables(artist):
    order = _order_in(S.IN_PRODUCTION)
    with pytest.raises(NotPermitted):
        services.add_deliverable(actor=artist, order=order, title="x", url="https://e.com/x")
    assert Deliverable.objects.count() == 0


@pytest.mark.django_db
def test_closed_order_takes_no_deliverables(owner):
    order = _order_in(S.CANCELLED)
    with pytest.raises(Conflict):
        services.add_deliverable(actor=owner, order=order, title="x", url="https://e.com/x")


@pytest.mark.django_db
def test_notes_are_internal_and_not_empty(owner):
    order = _order_in(S.INQUIRY)
    with pytest.raises(InvalidInput):
        services.add_note(actor=owner, order=order, text="   ")
    event = services.add_note(actor=owner, order=order, text="Client prefers 9:16")
    assert (event.public, event.message, event.actor_label) == (
        False,
        "Client prefers 9:16",
        "olivia",
    )


@pytest.mark.django_db
def test_prices_must_fit_the_currency_minor_unit(owner):
    client = ClientFactory(currency="JPY")
    with pytest.raises(InvalidInput) as refused:
        services.create_order(actor=owner, client=client, title="X", price=Decimal("1000.50"))
    assert "price" in refused.value.fields
    order = services.create_order(actor=owner, client=client, title="X", price=Decimal("1000"))
    with pytest.raises(InvalidInput):
        services.update_order(actor=owner, order=order, price=Decimal("99.5"))
    order.refresh_from_db()
    assert order.price == Decimal("1000")


@pytest.mark.django_db
def test_orders_cannot_move_to_an_archived_client(owner):
    order = services.create_order(actor=owner, client=ClientFactory(), title="X", price=Decimal(1))
    archived = ClientFactory()
    services.archive_client(actor=owner, client=archived)
    with pytest.raises(InvalidInput):
        services.update_order(actor=owner, order=order, client=archived)
    order.refresh_from_db()
    assert order.client != archived


@pytest.mark.django_db
def test_services_announce_domain_events(owner):
    from studio import events

    seen: list[tuple[str, dict]] = []

    def listener(name: str, payload: dict) -> None:
        seen.append((name, payload))

    events.subscribe(listener)
    try:
        order = services.create_order(
            actor=owner, client=ClientFactory(), title="X", price=Decimal(1)
        )
        services.change_status(actor=owner, order=order, to_status=S.QUOTED)
        services.add_deliverable(actor=owner, order=order, title="Cut", url="https://e.com/c")
    finally:
        events._subscribers.remove(listener)
    assert [name for name, _p in seen] == [
        "order.created",
        "order.status_changed",
        "deliverable.added",
    ]
    assert seen[1][1]["to_status"] == "quoted"
    assert seen[0][1]["order"]["reference"] == order.reference
