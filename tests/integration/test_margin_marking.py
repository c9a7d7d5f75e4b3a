"""Marking the stored margin rows stale never serializes the changing transactions on
PostgreSQL, and never loses a change: each transaction inserts its own marker row (no
shared row lock, so no waiting and no deadlock with the numbering counters), and a
recompute deletes only the markers committed before it read the inputs."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, transaction

from billing.models import Expense, MarginChange, MarginMonth
from billing.services import margins
from studio.models import Counter, StudioProfile
from studio.services import next_number

WAIT = 10.0  # seconds: far above what any step takes when nothing blocks
QUICK = 3.0  # a change that does not wait for another transaction commits well within this
MONTH = dt.date(2026, 3, 1)


@pytest.fixture
def doorbells(monkeypatch) -> list[str]:
    """The doorbells rung after each commit, instead of a recompute run eagerly in the
    committing thread: the test decides when to recompute."""
    rung: list[str] = []

    def ring() -> None:
        connection.margin_marked = None  # type: ignore[attr-defined]
        rung.append(threading.current_thread().name)

    monkeypatch.setattr(margins, "_ring", ring)
    return rung


@pytest.fixture
def computed(postgresql, doorbells) -> None:
    StudioProfile.load()  # created: a change, with its doorbell
    margins.recompute()
    assert fresh()
    doorbells.clear()


def fresh() -> bool:
    return margins.read_state().is_fresh(margins.studio_today(StudioProfile.load()))


def spend(day: int, amount: str) -> Expense:
    """A change to a margin input: an overhead expense in MONTH."""
    return Expense.objects.create(
        spent_on=MONTH.replace(day=day),
        amount=Decimal(amount),
        currency="CNY",
        category=Expense.Category.OTHER,
    )


def stored_overhead() -> Decimal:
    row = MarginMonth.objects.filter(month=MONTH).first()
    return row.other_expenses if row else Decimal(0)


def _lock_timeout() -> None:
    """A lock wait becomes an error instead of a hang (this transaction only)."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL lock_timeout = '5s'")


class Threads:
    """Run functions in threads, each on its own connection; collect their errors."""

    def __init__(self) -> None:
        self.errors: list[BaseException] = []
        self.threads: list[threading.Thread] = []

    def start(self, name: str, work: Callable[[], None]) -> None:
        def run() -> None:
            try:
                work()
            except BaseException as exc:
                self.errors.append(exc)
            finally:
                connection.close()

        thread = threading.Thread(target=run, name=name)
        self.threads.append(thread)
        thread.start()

    def join(self) -> None:
        for thread in self.threads:
            thread.join(timeout=60)
        assert not any(t.is_alive() for t in self.threads), "a thread hung"


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_changing_transactions_do_not_wait_for_each_other_and_mark_stale_on_commit(
    computed, doorbells
):
    a_changed, b_committed, a_may_commit = threading.Event(), threading.Event(), threading.Event()
    seen: dict[str, Any] = {}
    threads = Threads()

    def a() -> None:
        with transaction.atomic():
            spend(10, "100.00")
            a_changed.set()
            # Hold the transaction (and whatever it locked) open while B works.
            seen["b_committed_while_a_open"] = b_committed.wait(WAIT)
            assert a_may_commit.wait(WAIT)

    def b() -> None:
        assert a_changed.wait(WAIT)
        started = time.monotonic()
        with transaction.atomic():
            _lock_timeout()
            spend(11, "20.00")
        seen["b_seconds"] = time.monotonic() - started
        b_committed.set()

    threads.start("A", a)
    threads.start("B", b)
    try:
        assert b_committed.wait(WAIT), "B never committed"
        assert seen["b_seconds"] < QUICK
        # B's commit made the rows stale; a recompute (while A is still open, and without
        # waiting for it) folds B in and is fresh: A's marker is not committed yet.
        assert not fresh()
        assert margins.refresh() == 1
        assert fresh()
        assert stored_overhead() == Decimal("20.00")
    finally:
        a_may_commit.set()
        threads.join()
    assert threads.errors == []
    assert seen["b_committed_while_a_open"] is True
    # A's commit makes the rows stale again; the next recompute folds it in.
    assert not fresh()
    assert margins.refresh() == 1
    assert fresh()
    assert stored_overhead() == Decimal("120.00")
    assert not MarginChange.objects.exists()
    assert sorted(doorbells) == ["A", "B"]  # one doorbell per committed transaction


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_change_and_a_numbering_counter_taken_in_opposite_orders_do_not_deadlock(
    computed, doorbells
):
    """A changes an input, then takes a number; B takes a number, then changes an input.
    With a shared state row updated by every change this was a lock cycle."""
    year = 2026
    a_changed, b_has_counter = threading.Event(), threading.Event()
    threads = Threads()

    def a() -> None:
        with transaction.atomic():
            _lock_timeout()
            spend(12, "7.00")
            a_changed.set()
            assert b_has_counter.wait(WAIT)
            next_number(series="INV", year=year)  # waits for B's counter lock: fine

    def b() -> None:
        assert a_changed.wait(WAIT)
        with transaction.atomic():
            _lock_timeout()
            next_number(series="INV", year=year)
            b_has_counter.set()
            time.sleep(0.3)  # A is now waiting for the counter
            spend(13, "8.00")

    with transaction.atomic():
        next_number(series="INV", year=year)  # the counter row exists before the race
    threads.start("A", a)
    threads.start("B", b)
    threads.join()

    assert threads.errors == []
    assert Counter.objects.get(series="INV", year=year).value == 3
    assert not fresh()
    assert margins.refresh() == 1
    assert stored_overhead() == Decimal("15.00")


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("older_id", [False, True], ids=["newer marker", "older marker"])
def test_a_change_committed_during_a_recompute_leaves_the_rows_stale(
    computed, doorbells, monkeypatch, older_id
):
    """The change commits after the recompute noted the markers and before it stored its
    rows. With older_id its transaction took its marker id before a change that
    committed first (ids are handed out at insert, not at commit): "every marker up to
    the largest one seen" would have swallowed it."""
    marked, go, committed = threading.Event(), threading.Event(), threading.Event()
    threads = Threads()

    def late() -> None:
        with transaction.atomic():
            if older_id:
                spend(14, "5.00")  # the marker's id is taken now...
                marked.set()
                assert go.wait(WAIT)
            else:
                assert go.wait(WAIT)
                spend(14, "5.00")
        committed.set()  # ...and committed only now, during the recompute

    threads.start("late", late)
    if older_id:
        assert marked.wait(WAIT)
    spend(15, "30.00")  # committed before the recompute starts
    before_start = list(MarginChange.objects.values_list("pk", flat=True))
    real = margins.compute_margins

    def compute_while_a_change_commits(**kwargs: Any) -> Any:
        go.set()
        assert committed.wait(WAIT)
        return real(**kwargs)

    monkeypatch.setattr(margins, "compute_margins", compute_while_a_change_commits)
    try:
        done = margins.recompute()
    finally:
        go.set()
        threads.join()
    assert threads.errors == []
    monkeypatch.setattr(margins, "compute_margins", real)

    assert done.changes == 1  # only the marker committed before the start
    left = list(MarginChange.objects.values_list("pk", flat=True))
    assert len(left) == 1
    assert left[0] not in before_start
    if older_id:
        assert left[0] < max(before_start)
    assert not fresh()  # the late change is not lost
    assert margins.refresh() == 1
    assert fresh()
    assert stored_overhead() == Decimal("35.00")
