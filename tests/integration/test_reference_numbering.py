"""Order references stay consecutive when many writers race and some roll back."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import connection, connections, transaction
from django.db.backends.sqlite3.base import DatabaseWrapper as SQLiteWrapper
from django.utils import timezone

from orders import services
from orders.models import Order, OrderEvent
from studio.models import Counter
from tests.factories import ClientFactory, UserFactory

THREADS = 10
ORDERS_PER_THREAD = 10


class _RolledBack(Exception):
    """Raised after create_order to throw the transaction (and its number) away."""


def _race(
    *, actor: object, client: object, use_database: Callable[[], None] | None = None
) -> list[BaseException]:
    """THREADS threads, each on its own connection, create ORDERS_PER_THREAD orders;
    every tenth transaction is rolled back after it took its number."""
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def work(thread_no: int) -> None:
        try:
            if use_database is not None:
                use_database()
            start.wait(timeout=30)
            for i in range(ORDERS_PER_THREAD):
                try:
                    with transaction.atomic():
                        services.create_order(
                            actor=actor,
                            client=client,
                            title=f"Clip {thread_no}-{i}",
                            price=Decimal("1500.00"),
                        )
                        if i == thread_no % ORDERS_PER_THREAD:
                            raise _RolledBack
                except _RolledBack:
                    pass
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a writer hung"
    return errors


def _assert_consecutive() -> None:
    year = timezone.now().year
    kept = THREADS * ORDERS_PER_THREAD * 9 // 10
    references = list(Order.objects.order_by("reference").values_list("reference", flat=True))
    assert references == [f"ORD-{year}-{n:04d}" for n in range(1, kept + 1)]
    assert Counter.objects.get(series="ORD", year=year).value == kept
    assert OrderEvent.objects.filter(kind=OrderEvent.Kind.CREATED).count() == kept


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_references_have_no_gap_or_duplicate_under_concurrency_on_postgresql(postgresql):
    actor = UserFactory(username="olivia", role="owner")
    client = ClientFactory()

    errors = _race(actor=actor, client=client)

    assert errors == []
    _assert_consecutive()


def _in_thread(function: Callable[[], object]) -> None:
    """Run function in a fresh thread (so on its own connections) and re-raise its error."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            function()
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=300)
    if errors:
        raise errors[0]


@pytest.fixture
def sqlite_file_database(tmp_path, django_db_blocker) -> Iterator[Callable[[], None]]:
    """A migrated SQLite file database with the project's SQLite OPTIONS (IMMEDIATE
    transactions, WAL, busy timeout), whatever the default database of this run is.

    Yields use(): call it at the start of a thread to point that thread's default
    connection at the file. The in-memory test database cannot serve: threads share it
    through SQLite's shared cache, which fails with "table is locked" instead of waiting.
    """
    default = connections.settings["default"]
    options = dict(default["OPTIONS"]) if default["ENGINE"].endswith("sqlite3") else {}
    # Without DATABASE_URL, settings give SQLite these options; on a PostgreSQL run the
    # same ones are used here, so the embedded configuration is tested in CI too.
    options = options or {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    file_settings = {
        **default,
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(tmp_path / "race.sqlite3"),
        "OPTIONS": options,
        "CONN_MAX_AGE": 0,
        "CONN_HEALTH_CHECKS": False,
        "TEST": {},
    }
    for key in ("USER", "PASSWORD", "HOST", "PORT"):
        file_settings[key] = ""

    def use() -> None:
        connections["default"] = SQLiteWrapper(dict(file_settings), "default")

    with django_db_blocker.unblock():

        def migrate() -> None:
            use()
            try:
                call_command("migrate", verbosity=0, interactive=False)
            finally:
                connection.close()

        _in_thread(migrate)
        try:
            yield use
        finally:
            # Content types are cached per process by alias ("default"): forget the
            # file database's ids so later tests read their own.
            ContentType.objects.clear_cache()


@pytest.mark.integration
def test_references_have_no_gap_or_duplicate_under_concurrency_on_sqlite(sqlite_file_database):
    people: dict[str, object] = {}

    def setup() -> None:
        sqlite_file_database()
        try:
            people["actor"] = UserFactory(username="olivia", role="owner")
            people["client"] = ClientFactory()
        finally:
            connection.close()

    _in_thread(setup)

    errors = _race(**people, use_database=sqlite_file_database)

    assert errors == []

    def check() -> None:
        sqlite_file_database()
        try:
            _assert_consecutive()
        finally:
            connection.close()

    _in_thread(check)
