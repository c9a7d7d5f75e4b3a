"""The breakdown services: costing takes, the selected take, runtime, artists' limits,
bulk status, reordering, re-costing when prices change, and the AI-label rule."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from orders import production, production_selectors, services
from orders.models import Casting, Deliverable, Episode, Order, OrderEvent, Shot, Take
from studio import tools as tool_services
from studio.errors import Conflict, InvalidInput, NotPermitted
from tests.factories import UserFactory
from tests.orders.factories_pages import make_order
from tests.orders.factories_production import (
    PRICE_DAY,
    make_asset,
    make_episode,
    make_shot,
    make_take,
    make_tool,
)

pytestmark = pytest.mark.django_db
S = Shot.Status
DAY = PRICE_DAY + dt.timedelta(days=10)


@pytest.fixture
def kling():
    return make_tool("Kling test", per_second="0.35")


@pytest.fixture
def shot(artist):
    return make_shot(assignee=artist)


# --- Costing -------------------------------------------------------------------------------


def test_take_cost_is_seconds_times_price_on_its_date_rounded_half_up(owner, shot, kling):
    take = production.add_take(
        actor=owner, shot=shot, tool=kling, generated_seconds="5.5", generated_on=DAY
    )

    take.refresh_from_db()
    # 5.5 x 0.35 = 1.925 -> 1.93 (half-up, not banker's 1.92)
    assert take.cost == Decimal("1.93")
    assert isinstance(take.cost, Decimal)
    assert take.currency == "CNY"
    assert take.price_per_second == Decimal("0.3500")
    assert take.cost_is_manual is False
    assert take.number == 1


def test_take_uses_the_price_in_force_on_its_date_not_today(owner, shot, kling):
    tool_services.add_price(
        actor=owner, tool=kling, effective_from=DAY, per_second="0.80", note="New plan"
    )

    before = production.add_take(
        actor=owner,
        shot=shot,
        tool=kling,
        generated_seconds="10",
        generated_on=DAY - dt.timedelta(days=1),
    )
    on = production.add_take(
        actor=owner, shot=shot, tool=kling, generated_seconds="10", generated_on=DAY
    )

    assert (before.cost, on.cost) == (Decimal("3.50"), Decimal("8.00"))
    assert (before.number, on.number) == (1, 2)


def test_take_before_any_price_has_no_cost(owner, shot, kling):
    take = production.add_take(
        actor=owner,
        shot=shot,
        tool=kling,
        generated_seconds="5",
        generated_on=PRICE_DAY - dt.timedelta(days=1),
    )

    assert take.cost is None
    assert take.price_per_second is None


def test_owner_may_enter_a_cost_by_hand(owner, shot, kling):
    take = production.add_take(
        actor=owner, shot=shot, tool=kling, generated_seconds="5", generated_on=DAY, cost="12.00"
    )

    assert (take.cost, take.cost_is_manual, take.price_per_second) == (Decimal("12.00"), True, None)


def test_artist_cannot_enter_a_cost_and_nothing_is_saved(artist, shot, kling):
    with pytest.raises(NotPermitted):
        production.add_take(actor=artist, shot=shot, tool=kling, generated_seconds="5", cost="1.00")

    assert not Take.objects.exists()


@pytest.mark.parametrize("seconds", ["-1", "abc", "5.555", "100000", "NaN", "Infinity", ""])
def test_bad_seconds_are_refused(owner, shot, kling, seconds):
    with pytest.raises(InvalidInput) as refused:
        production.add_take(actor=owner, shot=shot, tool=kling, generated_seconds=seconds)

    assert "generated_seconds" in refused.value.fields
    assert not Take.objects.exists()


def test_changing_a_takes_seconds_recomputes_its_cost_unless_entered_by_hand(owner, shot, kling):
    computed = production.add_take(
        actor=owner, shot=shot, tool=kling, generated_seconds="5", generated_on=DAY
    )
    manual = production.add_take(
        actor=owner, shot=shot, tool=kling, generated_seconds="5", generated_on=DAY, cost="9.99"
    )

    production.update_take(actor=owner, take=computed, generated_seconds="10")
    production.update_take(actor=owner, take=manual, generated_seconds="10")

    computed.refresh_from_db()
    manual.refresh_from_db()
    assert computed.cost == Decimal("3.50")
    assert manual.cost == Decimal("9.99")

    production.update_take(actor=owner, take=manual, clear_cost=True)
    manual.refresh_from_db()
    assert (manual.cost, manual.cost_is_manual) == (Decimal("3.50"), False)


def test_a_new_price_recosts_computed_takes_from_its_date_on(owner, shot, kling):
    early = production.add_take(
        actor=owner, shot=shot, tool=kling, generated_seconds="10", generated_on=DAY
    )
    late = production.add_take(
        actor=owner,
        shot=shot,
        tool=kling,
        generated_seconds="10",
        generated_on=DAY + dt.timedelta(days=5),
    )
    manual = production.add_take(
        actor=owner,
        shot=shot,
        tool=kling,
        generated_seconds="10",
        generated_on=DAY + dt.timedelta(days=6),
        cost="1.00",
    )

    price = tool_services.add_price(
        actor=owner, tool=kling, effective_from=DAY + dt.timedelta(days=1), per_second="1.00"
    )

    for take in (early, late, manual):
        take.refresh_from_db()
    assert (early.cost, late.cost, manual.cost) == (
        Decimal("3.50"),
        Decimal("10.00"),
        Decimal("1.00"),
    )

    tool_services.delete_price(actor=owner, price=price)

    late.refresh_from_db()
    assert late.cost == Decimal("3.50")


# --- Selected take and runtime ----------------------------------------------------------


def test_one_selected_take_per_shot_is_a_database_rule(shot, kling):
    make_take(shot, kling, is_selected=True)

    with pytest.raises(IntegrityError), transaction.atomic():
        make_take(shot, kling, is_selected=True)


def test_selecting_a_take_unselects_the_others_and_sets_the_runtime(owner, artist, shot, kling):
    first = production.add_take(
        actor=owner, shot=shot, tool=kling, generated_seconds="6", select=True
    )
    second = production.add_take(actor=artist, shot=shot, tool=kling, generated_seconds="7.5")

    production.select_take(actor=artist, take=second)
    production.select_take(actor=artist, take=second)  # idempotent

    assert list(Take.objects.filter(is_selected=True)) == [second]
    rows = production_selectors.shot_rows(Shot.objects.filter(pk=shot.pk))
    assert rows[0].runtime == Decimal("7.50")
    production.unselect_take(actor=artist, take=second)
    rows = production_selectors.shot_rows(Shot.objects.filter(pk=shot.pk))
    assert rows[0].runtime == Decimal("5.00")  # the planned seconds
    assert first.pk != second.pk


def test_first_take_moves_a_shot_to_generating(artist, shot, kling):
    production.add_take(actor=artist, shot=shot, tool=kling, generated_seconds="5")

    shot.refresh_from_db()
    assert shot.status == S.GENERATING


def test_episode_runtime_counts_selected_takes_and_planned_seconds_not_omitted_shots(owner, kling):
    episode = make_episode()
    with_take = make_shot(episode, planned_seconds=Decimal(10))
    make_take(with_take, kling, generated_seconds=Decimal("6.25"), is_selected=True)
    make_take(with_take, kling, generated_seconds=Decimal(99))
    make_shot(episode, planned_seconds=Decimal("4.5"))
    make_shot(episode, planned_seconds=Decimal(50), status=S.OMITTED)

    page = production_selectors.episode_page(episode, owner)

    assert page.runtime == Decimal("10.75")
    assert page.take_count == 2
    assert not page.over_limit


def test_episode_over_its_limit_is_flagged(owner):
    episode = make_episode(runtime_limit=Decimal(120))
    make_shot(episode, planned_seconds=Decimal(100))
    make_shot(episode, planned_seconds=Decimal("20.5"))

    page = production_selectors.episode_page(episode, owner)

    assert page.over_limit
    assert page.over_by == Decimal("0.50")


def test_order_breakdown_sums_cost_per_tool_and_cost_per_finished_second(owner, kling):
    hailuo = make_tool("Hailuo test", per_second="0.20")
    episode = make_episode()
    done = make_shot(episode, status=S.APPROVED)
    make_take(done, kling, generated_seconds=Decimal(5), cost=Decimal("1.75"))
    make_take(done, hailuo, generated_seconds=Decimal(10), cost=Decimal("2.00"), is_selected=True)
    open_shot = make_shot(episode, status=S.GENERATING)
    make_take(open_shot, kling, generated_seconds=Decimal(5), cost=None)

    summary = production_selectors.order_breakdown(episode.order, owner)

    assert (summary.episodes, summary.shots, summary.approved, summary.takes) == (1, 2, 1, 3)
    assert summary.generated == Decimal("20.00")
    assert summary.finished_seconds == Decimal("10.00")
    assert [str(m) for m in summary.costs] == ["¥3.75"]
    assert [str(m) for m in summary.cost_per_finished_second] == ["¥0.38"]
    assert summary.takes_per_approved_shot == Decimal("2.0")
    assert summary.unpriced == 1
    by_tool = {t.name: (t.takes, t.generated, [str(m) for m in t.costs]) for t in summary.tools}
    assert by_tool == {
        "Hailuo test": (1, Decimal("10.00"), ["¥2.00"]),
        "Kling test": (2, Decimal("10.00"), ["¥1.75"]),
    }


# --- Shots -------------------------------------------------------------------------------


def test_shot_codes_stay_text_with_leading_zeros_and_are_unique_per_episode(owner):
    episode = make_episode()
    first = production.create_shot(actor=owner, episode=episode, code="010", planned_seconds="5")
    production.create_shot(actor=owner, episode=episode, code="010A")

    with pytest.raises(InvalidInput) as refused:
        production.create_shot(actor=owner, episode=episode, code="010")

    assert first.code == "010"
    assert "code" in refused.value.fields
    assert sorted(episode.shots.values_list("code", flat=True)) == ["010", "010A"]
    other = make_episode(episode.order)
    assert production.create_shot(actor=owner, episode=other, code="010").code == "010"
    assert production.suggest_next_code(episode) == "020"


@pytest.mark.parametrize("code", ["", "01 0", "a,b", "x" * 17])
def test_bad_shot_codes_are_refused(owner, code):
    episode = make_episode()

    with pytest.raises(InvalidInput):
        production.create_shot(actor=owner, episode=episode, code=code)

    assert not episode.shots.exists()


def test_artist_updates_own_shot_within_the_generation_loop(artist, shot):
    production.update_shot(
        actor=artist, shot=shot, description="Closer on the hands", status=S.GENERATING
    )
    production.change_shot_status(actor=artist, shot=shot, to_status=S.REVIEW)

    shot.refresh_from_db()
    assert (shot.description, shot.status) == ("Closer on the hands", S.REVIEW)


@pytest.mark.parametrize("target", [S.APPROVED, S.OMITTED])
def test_artist_cannot_approve_or_omit(artist, shot, target):
    Shot.objects.filter(pk=shot.pk).update(status=S.REVIEW)
    shot.refresh_from_db()

    with pytest.raises(NotPermitted):
        production.change_shot_status(actor=artist, shot=shot, to_status=target)

    shot.refresh_from_db()
    assert shot.status == S.REVIEW


def test_artist_cannot_touch_a_shot_assigned_to_someone_else(artist, kling):
    other = make_shot(assignee=UserFactory(username="kai", role="artist"))

    with pytest.raises(NotPermitted):
        production.update_shot(actor=artist, shot=other, description="mine now")
    with pytest.raises(NotPermitted):
        production.add_take(actor=artist, shot=other, tool=kling, generated_seconds="5")

    other.refresh_from_db()
    assert other.description == ""
    assert not Take.objects.exists()


def test_artist_cannot_reassign_or_recode_their_shot(artist, producer, shot):
    with pytest.raises(NotPermitted):
        production.update_shot(actor=artist, shot=shot, assignee=producer)
    with pytest.raises(NotPermitted):
        production.update_shot(actor=artist, shot=shot, code="999")

    shot.refresh_from_db()
    assert (shot.assignee_id, shot.code) == (shot.assignee_id, "010")


def test_bulk_status_change_is_all_or_nothing_and_leaves_one_event(owner, artist):
    episode = make_episode()
    mine = [make_shot(episode, assignee=artist) for _ in range(3)]
    theirs = make_shot(episode)

    with pytest.raises(NotPermitted):
        production.bulk_change_status(
            actor=artist,
            episode=episode,
            shot_ids=[s.pk for s in [*mine, theirs]],
            to_status=S.GENERATING,
        )
    assert set(episode.shots.values_list("status", flat=True)) == {S.TODO}
    assert not OrderEvent.objects.filter(kind=OrderEvent.Kind.PRODUCTION).exists()

    result = production.bulk_change_status(
        actor=owner, episode=episode, shot_ids=[s.pk for s in mine], to_status=S.APPROVED
    )

    assert result.changed == ["010", "020", "030"]
    assert set(
        episode.shots.filter(pk__in=[s.pk for s in mine]).values_list("status", flat=True)
    ) == {S.APPROVED}
    event = OrderEvent.objects.get(kind=OrderEvent.Kind.PRODUCTION)
    assert event.public is False
    assert "010, 020, 030" in event.message
    assert event.data["status"] == S.APPROVED


def test_bulk_status_refuses_shots_of_another_episode(owner):
    episode = make_episode()
    stranger = make_shot()

    with pytest.raises(InvalidInput):
        production.bulk_change_status(
            actor=owner, episode=episode, shot_ids=[stranger.pk], to_status=S.APPROVED
        )

    stranger.refresh_from_db()
    assert stranger.status == S.TODO


def test_reorder_puts_shots_in_the_given_order(owner, artist):
    episode = make_episode()
    a, b, c = (make_shot(episode) for _ in range(3))

    production.reorder_shots(actor=owner, episode=episode, shot_ids=[c.pk, a.pk])

    assert list(episode.shots.order_by("position").values_list("code", "position")) == [
        ("030", 1),
        ("010", 2),
        ("020", 3),
    ]
    with pytest.raises(NotPermitted):
        production.reorder_shots(actor=artist, episode=episode, shot_ids=[b.pk])
    with pytest.raises(InvalidInput):
        production.reorder_shots(actor=owner, episode=episode, shot_ids=[make_shot().pk])


def test_a_shot_with_takes_cannot_be_deleted(owner, shot, kling):
    make_take(shot, kling)

    with pytest.raises(Conflict):
        production.delete_shot(actor=owner, shot=shot)
    with pytest.raises(Conflict):
        production.delete_episode(actor=owner, episode=shot.episode)

    assert Shot.objects.filter(pk=shot.pk).exists()


def test_casting_stays_within_the_order(owner, shot):
    mine = make_asset(shot.episode.order, "MAYA")
    foreign = make_asset(make_order(), "JUN")

    production.set_casting(actor=owner, shot=shot, assets=[mine])
    with pytest.raises(InvalidInput):
        production.set_casting(actor=owner, shot=shot, assets=[mine, foreign])

    assert list(Casting.objects.values_list("asset__name", flat=True)) == ["MAYA"]


def test_asset_names_are_unique_per_order_whatever_their_case(owner):
    order = make_order()
    production.create_asset(actor=owner, order=order, name="Maya")

    with pytest.raises(InvalidInput):
        production.create_asset(actor=owner, order=order, name="MAYA")

    assert production.create_asset(actor=owner, order=make_order(), name="MAYA").name == "MAYA"


def test_episode_numbers_are_unique_per_order_and_default_to_the_next(owner, artist):
    order = make_order()
    first = production.create_episode(actor=owner, order=order)
    second = production.create_episode(actor=owner, order=order, title="  Regulars  ")

    with pytest.raises(InvalidInput):
        production.create_episode(actor=owner, order=order, number=1)
    with pytest.raises(NotPermitted):
        production.create_episode(actor=artist, order=order)

    assert (first.number, first.runtime_limit, first.aspect_ratio) == (1, Decimal(120), "9:16")
    assert (second.number, second.title) == (2, "Regulars")
    assert Episode.objects.filter(order=order).count() == 2


# --- AI-content labels ----------------------------------------------------------------------


def _in_review_with_deliverable(owner) -> tuple[Order, Deliverable]:
    order = make_order(status=Order.Status.IN_REVIEW)
    deliverable = services.add_deliverable(
        actor=owner, order=order, title="Final cut", url="https://example.com/cut.mp4"
    )
    return order, deliverable


def test_delivering_with_unchecked_ai_labels_is_refused(producer, owner):
    order, _deliverable = _in_review_with_deliverable(owner)

    with pytest.raises(Conflict) as refused:
        services.change_status(actor=producer, order=order, to_status=Order.Status.DELIVERED)

    assert refused.value.code == "ai_label_unchecked"
    assert "Final cut" in refused.value.message
    order.refresh_from_db()
    assert order.status == Order.Status.IN_REVIEW


def test_only_the_owner_may_deliver_anyway_and_the_timeline_says_so(producer, owner):
    order, deliverable = _in_review_with_deliverable(owner)

    with pytest.raises(NotPermitted):
        services.change_status(
            actor=producer, order=order, to_status=Order.Status.DELIVERED, override_ai_labels=True
        )
    services.change_status(
        actor=owner, order=order, to_status=Order.Status.DELIVERED, override_ai_labels=True
    )

    order.refresh_from_db()
    assert order.status == Order.Status.DELIVERED
    event = order.events.get(kind=OrderEvent.Kind.AI_LABELS)
    assert event.data == {"override": True, "deliverables": [deliverable.pk]}
    assert event.public is False


def test_checked_labels_let_the_order_be_delivered(producer, owner):
    order, deliverable = _in_review_with_deliverable(owner)

    production.set_ai_label_checks(
        actor=producer, deliverable=deliverable, visible=True, metadata=True
    )
    services.change_status(actor=producer, order=order, to_status=Order.Status.DELIVERED)

    deliverable.refresh_from_db()
    order.refresh_from_db()
    assert order.status == Order.Status.DELIVERED
    assert deliverable.ai_labels_checked
    assert deliverable.ai_label_checked_by == producer
    assert order.events.filter(kind=OrderEvent.Kind.AI_LABELS).count() == 1  # the check


def test_only_the_latest_version_needs_checked_labels(owner):
    order, first = _in_review_with_deliverable(owner)
    second = services.add_deliverable(
        actor=owner, order=order, title="Final cut", url="https://example.com/cut-v2.mp4"
    )

    production.set_ai_label_checks(actor=owner, deliverable=second, visible=True, metadata=True)
    services.change_status(actor=owner, order=order, to_status=Order.Status.DELIVERED)

    first.refresh_from_db()
    assert not first.ai_labels_checked


def test_one_label_checked_is_not_enough(owner):
    order, deliverable = _in_review_with_deliverable(owner)
    production.set_ai_label_checks(
        actor=owner, deliverable=deliverable, visible=True, metadata=False
    )

    with pytest.raises(Conflict):
        services.change_status(actor=owner, order=order, to_status=Order.Status.DELIVERED)


def test_an_unassigned_artist_cannot_check_labels(artist, owner):
    _order, deliverable = _in_review_with_deliverable(owner)

    with pytest.raises(NotPermitted):
        production.set_ai_label_checks(
            actor=artist, deliverable=deliverable, visible=True, metadata=True
        )

    deliverable.refresh_from_db()
    assert deliverable.ai_label_visible_at is None


# --- Demo data -------------------------------------------------------------------------------


def test_seed_demo_loads_a_short_drama_breakdown():
    from io import StringIO

    from django.core.management import call_command
    from django.db.models import Count

    from studio.management.commands.seed_demo import BREAKDOWN_ORDER

    call_command("seed_demo", stdout=StringIO())

    order = Order.objects.get(title=BREAKDOWN_ORDER)
    episodes = list(order.episodes.annotate(n=Count("shots")).order_by("number"))
    assert len(episodes) == 6
    assert all(8 <= e.n <= 12 for e in episodes)
    takes = Take.objects.filter(shot__episode__order=order)
    per_shot = set(takes.values("shot").annotate(n=Count("pk")).values_list("n", flat=True))
    assert per_shot <= {1, 2, 3, 4}
    assert not takes.filter(cost__isnull=True).exists()
    assert order.assets.filter(kind="character").count() >= 3
    statuses = set(Shot.objects.filter(episode__order=order).values_list("status", flat=True))
    assert statuses == set(S.values)
    owner = order.created_by
    assert any(production_selectors.episode_page(e, owner).over_limit for e in episodes)
    delivered = Order.objects.filter(status=Order.Status.DELIVERED)
    assert delivered.exists()
    assert all(d.ai_labels_checked for o in delivered for d in services.latest_deliverables(o))
