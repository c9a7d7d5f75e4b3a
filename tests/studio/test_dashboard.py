"""The dashboard: each section's figures on a small fixture, who sees what, both
languages, charts, and a query count that stays flat with the data."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from billing import services
from billing.margin import month_start
from billing.models import ExchangeRate, Expense, Invoice, MarginState, Subscription
from billing.services import margins
from orders.models import Order, Shot
from studio import dashboard
from studio.charts import Series
from studio.charts_extra import hbar_chart
from tests.billing.helpers import issued, line
from tests.factories import ClientFactory
from tests.orders.factories_pages import make_order
from tests.orders.factories_production import make_episode, make_shot, make_take, make_tool


def now_local() -> dt.datetime:
    return timezone.now()


def today(profile) -> dt.date:
    return timezone.now().astimezone(profile.zone).date()


def invoice(owner, *, price: str, due: dt.date | None = None, issue: dt.date | None = None, **kw):
    inv = issued(owner, lines=[line(price=price, rate="0")], **kw)
    changes = {}
    if due is not None:
        changes["due_date"] = due
    if issue is not None:
        changes["issue_date"] = issue
    if changes:
        Invoice.objects.filter(pk=inv.pk).update(**changes)
        inv.refresh_from_db()
    return inv


def snapshot(profile) -> dashboard.Snapshot:
    return dashboard.compute_snapshot(now=timezone.now(), profile=profile)


# --- Money ------------------------------------------------------------------------------


def test_receivables_aging_buckets_are_exact_and_name_what_has_no_rate(owner, studio_profile):
    day = today(studio_profile)
    invoice(owner, price="100.00", due=day + dt.timedelta(days=3))  # current
    invoice(owner, price="50.00", due=day)  # due today: still current
    partly = invoice(owner, price="300.00", due=day - dt.timedelta(days=10))  # 1-30
    services.record_payment(
        actor=owner, invoice=partly, amount=Decimal("120.00"), method="cash", paid_on=day
    )
    invoice(owner, price="200.00", due=day - dt.timedelta(days=30))  # 1-30 (30 days)
    invoice(owner, price="400.00", due=day - dt.timedelta(days=31))  # 31-60
    invoice(owner, price="800.00", due=day - dt.timedelta(days=61))  # 60+
    usd = ClientFactory(currency="USD")
    invoice(owner, price="10.00", due=day - dt.timedelta(days=61), client=usd, currency="USD")
    ExchangeRate.objects.create(currency="USD", quote_currency="CNY", on=day, rate=Decimal("7.1"))
    eur = ClientFactory(currency="EUR")
    invoice(owner, price="5.00", due=day, client=eur, currency="EUR")  # no EUR rate
    paid = invoice(owner, price="999.00", due=day - dt.timedelta(days=40))
    services.record_payment(
        actor=owner, invoice=paid, amount=Decimal("999.00"), method="cash", paid_on=day
    )

    snap = snapshot(studio_profile)

    assert snap.aging == {
        "current": Decimal("150.00"),
        "1_30": Decimal("380.00"),
        "31_60": Decimal("400.00"),
        "60_plus": Decimal("871.00"),
    }
    assert snap.aging_counts == {"current": 3, "1_30": 2, "31_60": 1, "60_plus": 2}
    assert snap.overdue == Decimal("1651.00")
    assert snap.overdue_count == 5
    assert snap.missing == {"EUR": Decimal("5.00")}
    assert snap.unconverted == ["EUR"]


def test_invoiced_and_received_this_month_against_last_month(owner, studio_profile):
    day = today(studio_profile)
    last_month = month_start(day) - dt.timedelta(days=1)
    invoice(owner, price="1000.00", issue=day)
    invoice(owner, price="600.00", issue=last_month)
    old = invoice(owner, price="250.00", issue=last_month)
    services.record_payment(
        actor=owner, invoice=old, amount=Decimal("250.00"), method="cash", paid_on=day
    )

    snap = snapshot(studio_profile)

    assert snap.this_month.invoiced == Decimal("1000.00")
    assert snap.last_month.invoiced == Decimal("850.00")
    assert snap.this_month.received == Decimal("250.00")
    assert snap.last_month.received == Decimal(0)


def test_next_renewals_and_tool_spend_this_month(owner, studio_profile):
    day = today(studio_profile)
    kling, veo = make_tool("Kling test"), make_tool("Veo test")
    Subscription.objects.create(
        tool=kling,
        plan_name="Pro",
        amount=Decimal("66.00"),
        currency="CNY",
        started_on=day - dt.timedelta(days=20),
        next_renewal_on=day + dt.timedelta(days=10),
    )
    Subscription.objects.create(
        tool=veo,
        plan_name="Ended",
        amount=Decimal("99.00"),
        currency="CNY",
        started_on=day - dt.timedelta(days=20),
        next_renewal_on=day + dt.timedelta(days=5),
        cancelled_from=day + dt.timedelta(days=1),
    )
    Expense.objects.create(
        spent_on=month_start(day),
        amount=Decimal("66.00"),
        currency="CNY",
        category=Expense.Category.SUBSCRIPTION,
        tool=kling,
    )
    Expense.objects.create(
        spent_on=month_start(day) - dt.timedelta(days=1),
        amount=Decimal("500.00"),
        currency="CNY",
        category=Expense.Category.SUBSCRIPTION,
        tool=veo,
    )  # last month: not counted
    shot = make_shot(make_episode(make_order(status=Order.Status.IN_PRODUCTION)))
    make_take(shot, veo, generated_on=day, cost=Decimal("12.50"), generated_seconds=Decimal(8))
    make_take(shot, veo, generated_on=day, cost=None, generated_seconds=Decimal(4))

    snap = snapshot(studio_profile)

    assert [(r.tool, r.plan, r.on) for r in snap.renewals] == [
        ("Kling test", "Pro", day + dt.timedelta(days=10))
    ]
    spend = {t.name: (t.generation, t.expenses, t.seconds, t.unpriced) for t in snap.tools}
    assert spend == {
        "Veo test": (Decimal("12.50"), Decimal(0), Decimal("12.00"), 1),
        "Kling test": (Decimal(0), Decimal("66.00"), Decimal(0), 0),
    }


# --- Production -------------------------------------------------------------------------


def test_takes_per_approved_shot_and_cost_per_finished_second_by_model(studio_profile):
    day = today(studio_profile)
    a, b = make_tool("Model A"), make_tool("Model B")
    episode = make_episode(make_order(status=Order.Status.IN_PRODUCTION))
    approved = Shot.Status.APPROVED
    s1, s2, s3 = (make_shot(episode, status=approved) for _ in range(3))
    s4 = make_shot(episode, status=Shot.Status.REVIEW)
    for n in range(3):
        make_take(s1, a, generated_on=day, is_selected=n == 2)
    make_take(s2, a, generated_on=day, is_selected=True)
    make_take(s3, a, generated_on=day)
    make_take(s3, b, generated_on=day)
    make_take(s3, b, generated_on=day, is_selected=True)
    make_take(s4, a, generated_on=day)  # shot not approved: left out
    make_take(s2, a, generated_on=day - dt.timedelta(days=120))  # outside 90 days

    models = {m.name: m for m in snapshot(studio_profile).models}

    assert (models["Model A"].takes, models["Model A"].approved) == (5, 2)
    assert models["Model A"].takes_per_shot == Decimal("2.5")
    assert models["Model A"].cost_per_second == Decimal("1.25")  # 5 x 2.50 / 10 s
    assert models["Model B"].takes_per_shot == Decimal("2.0")
    assert models["Model B"].cost_per_second == Decimal("1.00")


def test_shots_by_status_and_episodes_over_their_runtime_limit(owner, studio_profile):
    episode = make_episode(
        make_order(status=Order.Status.IN_PRODUCTION), runtime_limit=Decimal(12), title="Pilot"
    )
    make_shot(episode, planned_seconds=Decimal(8))
    make_shot(episode, planned_seconds=Decimal(6), status=Shot.Status.APPROVED)
    make_shot(episode, planned_seconds=Decimal(30), status=Shot.Status.OMITTED)  # not counted
    fits = make_episode(make_order(status=Order.Status.IN_PRODUCTION), runtime_limit=Decimal(60))
    make_shot(fits, planned_seconds=Decimal(10))
    closed = make_episode(make_order(status=Order.Status.COMPLETED), runtime_limit=Decimal(1))
    make_shot(closed, planned_seconds=Decimal(10))

    production = dashboard.production_figures(owner, month=month_start(today(studio_profile)))

    counts = {status: n for status, _label, n in production.shots_by_status}
    assert counts == {"todo": 2, "generating": 0, "review": 0, "approved": 1, "omitted": 1}
    assert production.episodes_over_count == 1
    over = production.episodes_over[0]
    assert (over.episode_id, over.runtime, over.limit) == (episode.pk, Decimal(14), Decimal(12))


# --- Business ---------------------------------------------------------------------------


def test_on_time_rate_turnaround_order_value_and_top_clients(owner, studio_profile):
    now = timezone.now()
    day = today(studio_profile)

    def delivered(days_ago: float, turnaround: float, late: bool, **kw) -> Order:
        at = now - dt.timedelta(days=days_ago)
        due = at + dt.timedelta(hours=-1 if late else 1)
        return make_order(
            status=Order.Status.DELIVERED,
            accepted_at=at - dt.timedelta(days=turnaround),
            due_at=due,
            delivered_at=at,
            **kw,
        )

    delivered(2, 5, late=False, price=Decimal("1000.00"))
    delivered(10, 9, late=True, price=Decimal("2000.00"))
    delivered(20, 7, late=False, price=Decimal("1500.00"))
    delivered(100, 30, late=True)  # delivered before the 90 days: left out of the rate
    make_order(status=Order.Status.CANCELLED, accepted_at=now, price=Decimal("99999.00"))
    big, small = ClientFactory(name="Big Tea"), ClientFactory(name="Small Shop")
    invoice(owner, price="3000.00", issue=day, client=big)
    credited = invoice(owner, price="1000.00", issue=day, client=big)
    note = services.credit_invoice(
        actor=owner, invoice=credited, lines=[line(price="400.00", rate="0")]
    )
    assert note.issue_date is not None
    invoice(owner, price="500.00", issue=day, client=small)

    snap = snapshot(studio_profile)

    assert (snap.delivered, snap.with_due, snap.on_time) == (3, 3, 2)
    assert snap.on_time_rate == Decimal("66.7")
    assert snap.turnaround_days == Decimal("7.0")
    assert snap.order_count == 4  # accepted in the last 12 months, not cancelled
    assert snap.average_order_value == Decimal("1500.00")
    assert [(c.name, c.revenue) for c in snap.top_clients] == [
        ("Big Tea", Decimal("3600.00")),
        ("Small Shop", Decimal("500.00")),
    ]


# --- The page ---------------------------------------------------------------------------


def _due(days: float) -> dt.datetime:
    return timezone.now() + dt.timedelta(days=days)


def test_today_counts_link_to_filtered_lists(owner_http, studio_profile):
    make_order(status=Order.Status.IN_PRODUCTION, due_at=_due(-2))
    make_order(status=Order.Status.IN_PRODUCTION, due_at=_due(3))
    make_order(status=Order.Status.REVISION, due_at=_due(30))
    make_order(status=Order.Status.QUOTED)
    make_order(status=Order.Status.DELIVERED, due_at=_due(-5))  # delivered: not late
    make_order(status=Order.Status.COMPLETED, due_at=_due(-5))

    response = owner_http.get(reverse("dashboard"))

    today_figures = response.context["page"].today
    assert (today_figures.late, today_figures.due_week, today_figures.revisions) == (1, 1, 1)
    assert (today_figures.quotes, today_figures.awaiting_approval) == (1, 1)
    assert today_figures.open_total == 5
    body = response.content.decode()
    orders = reverse("order-list")
    for href in (
        f"{orders}?due=late&amp;sort=due",
        f"{orders}?status=revision",
        f"{orders}?status=quoted",
        f"{orders}?status=delivered",
        reverse("notification-list"),
        reverse("calendar"),
        f"{reverse('invoice-list')}?status=overdue",
    ):
        assert f'href="{href}"' in body
    assert "2 days late" in body


def test_owner_sees_every_section_with_real_charts(owner, owner_http, studio_profile):
    day = today(studio_profile)
    invoice(owner, price="800.00", due=day - dt.timedelta(days=40), issue=day)
    shot = make_shot(make_episode(make_order(status=Order.Status.IN_PRODUCTION)))
    make_take(shot, make_tool("Hailuo test"), generated_on=day)

    body = owner_http.get(reverse("dashboard")).content.decode()

    for section in ("today", "money", "production", "business"):
        assert f'data-section="{section}"' in body
    assert body.count("<svg") >= 5
    assert "Receivables by age" in body
    assert "31-60 days overdue" in body
    assert "Revenue and gross margin, last 12 months" in body
    assert "¥800.00" in body
    assert "Hailuo test" in body


def test_artist_sees_no_money_and_only_their_own_work(artist, artist_http, owner, studio_profile):
    day = today(studio_profile)
    mine = make_order(
        status=Order.Status.IN_PRODUCTION, assignee=artist, due_at=_due(2), title="My clip"
    )
    make_order(status=Order.Status.IN_PRODUCTION, due_at=_due(2), title="Someone else's")
    tool = make_tool("Kling mine")
    my_shot = make_shot(make_episode(mine), assignee=artist)
    make_take(my_shot, tool, generated_on=day, generated_seconds=Decimal(6))
    other = make_shot(make_episode(make_order(status=Order.Status.IN_PRODUCTION)))
    make_take(other, tool, generated_on=day, generated_seconds=Decimal(50))
    invoice(owner, price="777.00", due=day - dt.timedelta(days=5))

    response = artist_http.get(reverse("dashboard"))

    page = response.context["page"]
    assert page.snapshot is None
    assert page.today.open_total == 1
    assert [o.pk for o in page.today.due_orders] == [mine.pk]
    assert page.production.shots_total == 1
    assert page.production.my_seconds == [("Kling mine", Decimal("6.00"), 1)]
    body = response.content.decode()
    assert 'data-section="money"' not in body
    assert 'data-section="business"' not in body
    assert "Someone else" not in body
    assert "¥" not in body
    assert "777" not in body
    assert reverse("invoice-list") not in body


@pytest.mark.parametrize(("language", "expected"), [("en", "Receivables by age"), ("zh-hans", "")])
def test_dashboard_renders_in_english_and_chinese(owner_http, studio_profile, language, expected):
    owner_http.cookies["django_language"] = language
    response = owner_http.get(reverse("dashboard"), HTTP_ACCEPT_LANGUAGE=language)

    assert response.status_code == 200
    body = response.content.decode()
    assert f'lang="{language}"' in body
    assert expected in body
    assert body.count("<svg") >= 3


def test_snapshot_is_cached_and_recomputed_after_a_payment(owner, owner_http, studio_profile):
    day = today(studio_profile)
    unpaid = invoice(owner, price="300.00", due=day)
    first = owner_http.get(reverse("dashboard")).context["page"].snapshot
    again = owner_http.get(reverse("dashboard")).context["page"].snapshot
    assert again.computed_at == first.computed_at

    services.record_payment(
        actor=owner, invoice=unpaid, amount=Decimal("100.00"), method="cash", paid_on=day
    )
    after = owner_http.get(reverse("dashboard")).context["page"].snapshot

    assert after.receivable == Decimal("200.00")
    assert after.this_month.received == Decimal("100.00")


def _make_data(count: int, owner, artist) -> None:
    day = dt.date.today()
    clients = ClientFactory.create_batch(3)
    tool = make_tool()
    for i in range(count):
        order = make_order(
            client=clients[i % 3],
            assignee=artist if i % 2 else None,
            status=[Order.Status.IN_PRODUCTION, Order.Status.DELIVERED, Order.Status.QUOTED][i % 3],
            due_at=_due((i % 15) - 5),
            accepted_at=_due(-10),
            delivered_at=_due(-1) if i % 3 == 1 else None,
        )
        shot = make_shot(make_episode(order), assignee=artist if i % 2 else None)
        make_take(shot, tool, generated_on=day, is_selected=True)
        if i % 4 == 0:
            invoice(owner, price="100.00", due=day - dt.timedelta(days=i), client=clients[i % 3])


# Queries of the whole page (issue 8: at most 15 and the same at every data size), with
# the margin rows stored by the background recompute, the usual state. Warm: the business
# snapshot comes from the cache: 8 (profile, session, user with its role and the bell's
# unread count: 3, studio.auth_backends; today: 2; production: 2; "Needs attention": 1,
# studio.attention). Cold (owners and producers: the cache is empty, or a save
# invalidated the snapshot): the warm page plus the snapshot's 7.
WARM_BUDGET = 8
COLD_BUDGET = 15
# Before the first recompute a small studio's 12-month report is computed live: 5 more.
FIRST_COLD_BUDGET = 20
SIZES = (4, 40)  # orders added: the second studio is ten times larger


def _cold_and_warm(http, budget: int, django_assert_max_num_queries) -> tuple[int, int]:
    dashboard.invalidate()
    with django_assert_max_num_queries(budget), CaptureQueriesContext(connection) as cold:
        assert http.get(reverse("dashboard")).status_code == 200
    with django_assert_max_num_queries(WARM_BUDGET), CaptureQueriesContext(connection) as warm:
        assert http.get(reverse("dashboard")).status_code == 200
    return len(cold), len(warm)


@pytest.mark.parametrize("persona", ["owner", "producer", "artist"])
def test_dashboard_query_count_is_flat(
    request, owner, artist, studio_profile, django_assert_max_num_queries, persona
):
    """Cold and warm, a small studio and one ten times larger cost the same queries."""
    http = request.getfixturevalue(f"{persona}_http")
    counts = []
    for size in SIZES:
        _make_data(size, owner, artist)
        margins.recompute()
        counts.append(_cold_and_warm(http, COLD_BUDGET, django_assert_max_num_queries))

    assert counts[0] == counts[1]
    cold, warm = counts[0]
    if persona == "artist":
        assert cold == warm  # artists see no snapshot
    else:
        assert cold > warm


@pytest.mark.parametrize("persona", ["owner", "producer"])
def test_dashboard_query_count_is_flat_before_the_first_margin_recompute(
    request, owner, artist, studio_profile, django_assert_max_num_queries, persona
):
    http = request.getfixturevalue(f"{persona}_http")
    counts = []
    for size in SIZES:
        _make_data(size, owner, artist)
        counts.append(_cold_and_warm(http, FIRST_COLD_BUDGET, django_assert_max_num_queries))

    assert not MarginState.objects.filter(computed_at__isnull=False).exists()
    assert counts[0] == counts[1]


def test_stored_report_gives_the_figures_of_the_live_one(owner, studio_profile):
    day = today(studio_profile)
    _make_data(6, owner, None)
    last_month = month_start(day) - dt.timedelta(days=1)
    old = invoice(owner, price="250.00", issue=last_month)
    services.record_payment(
        actor=owner, invoice=old, amount=Decimal("100.00"), method="cash", paid_on=day
    )
    live = snapshot(studio_profile)

    margins.recompute()
    kept = snapshot(studio_profile)

    assert live.report_freshness.live
    assert kept.report_freshness.computed
    assert kept.report_freshness.fresh
    assert kept.report == live.report
    assert (kept.this_month.received, kept.last_month.invoiced) == (
        Decimal("100.00"),
        Decimal("250.00"),
    )


def test_stale_margin_rows_are_shown_with_their_time_and_cached_briefly(
    owner, owner_http, studio_profile, monkeypatch
):
    day = today(studio_profile)
    unpaid = invoice(owner, price="300.00", due=day)
    margins.recompute()
    services.record_payment(
        actor=owner, invoice=unpaid, amount=Decimal("100.00"), method="cash", paid_on=day
    )  # marks the rows stale; this test's transaction never commits, so no recompute
    ttls = []

    class Spy:
        def get(self, key):
            return cache.get(key)

        def set(self, key, value, timeout):
            ttls.append(timeout)
            cache.set(key, value, timeout)

    monkeypatch.setattr(dashboard, "cache", Spy())

    response = owner_http.get(reverse("dashboard"))

    snap = response.context["page"].snapshot
    assert snap.receivable == Decimal("200.00")  # live
    assert snap.this_month.received == Decimal(0)  # from the rows, until their recompute
    assert "recomputing…" in response.content.decode()
    assert ttls == [dashboard.STALE_TTL]


def test_large_studio_before_the_first_recompute_says_so_and_writes_nothing(
    owner, owner_http, studio_profile, monkeypatch
):
    invoice(owner, price="800.00", issue=today(studio_profile))
    make_order(status=Order.Status.IN_PRODUCTION)
    monkeypatch.setattr(margins, "SYNC_LIMIT", 0)  # more orders than it computes live

    with CaptureQueriesContext(connection) as ctx:
        response = owner_http.get(reverse("dashboard"))

    assert response.status_code == 200
    assert not [q for q in ctx.captured_queries if not q["sql"].lstrip("(").startswith("SELECT")]
    snap = response.context["page"].snapshot
    assert snap.report is None
    assert response.context["page"].charts["revenue"] is None
    body = response.content.decode()
    assert "being computed for the first time" in body
    assert 'data-section="business"' in body


# --- Charts -----------------------------------------------------------------------------


def test_horizontal_bar_chart_has_axis_unit_labels_and_data_table():
    chart = hbar_chart(
        labels=["Current", "1-30 <days>"],
        series=[Series("Owed", [Decimal("100"), Decimal("250.5")])],
        title="Aging",
        unit="CNY",
    )

    assert 'role="img"' in chart.svg
    assert "<title id=" in chart.svg
    assert "1-30 &lt;days&gt;" in chart.svg
    assert ">CNY</text>" in chart.svg
    assert chart.svg.count("<rect") == 2
    assert chart.formatted == [["Current", "100"], ["1-30 <days>", "250.5"]]


def test_stacked_horizontal_bars_refuse_negative_values():
    with pytest.raises(ValueError, match="negative"):
        hbar_chart(
            labels=["A"],
            series=[Series("x", [Decimal(-1)])],
            title="t",
            stacked=True,
        )
