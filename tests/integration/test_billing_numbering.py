"""Invoice numbers stay consecutive when many issuers race and some roll back, on
PostgreSQL (counter row FOR UPDATE) and on SQLite (IMMEDIATE transactions)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.utils import timezone

from billing import services
from billing.models import BillingSettings, Invoice, InvoicePdfJob
from studio.models import Counter, StudioProfile
from tests.factories import ClientFactory, UserFactory

# The SQLite file-database fixture and the thread helper of the orders race test.
from tests.integration.test_reference_numbering import (  # noqa: F401
    _in_thread,
    sqlite_file_database,
)

THREADS = 10
PER_THREAD = 10


class _RolledBack(Exception):
    """Raised after issue_invoice to throw the transaction (and its number) away."""


@pytest.fixture(autouse=True)
def _no_broker(monkeypatch):
    """The race is about numbers: PDF jobs are written, their messages not sent."""
    from billing import delivery

    monkeypatch.setattr(delivery, "enqueue_pdf", lambda job_id: None)


def _drafts(actor: object, count: int) -> list[int]:
    StudioProfile.load()  # the single rows exist before the threads start
    BillingSettings.load()
    client = ClientFactory()
    line = services.LineInput(
        description="Episode", quantity=Decimal(1), unit_price=Decimal("1500.00")
    )
    return [
        services.create_invoice(actor=actor, client=client, lines=[line]).pk for _ in range(count)
    ]


def _race(
    *, actor: object, draft_ids: list[int], use_database: Callable[[], None] | None = None
) -> list[BaseException]:
    """THREADS threads, each on its own connection, issue PER_THREAD drafts; one
    transaction in ten is rolled back after it took its number."""
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def work(thread_no: int) -> None:
        try:
            if use_database is not None:
                use_database()
            mine = draft_ids[thread_no * PER_THREAD : (thread_no + 1) * PER_THREAD]
            start.wait(timeout=30)
            for i, pk in enumerate(mine):
                try:
                    with transaction.atomic():
                        invoice = Invoice.objects.get(pk=pk)
                        services.issue_invoice(actor=actor, invoice=invoice)
                        if i == thread_no % PER_THREAD:
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
        thread.join(timeout=180)
    assert not any(t.is_alive() for t in threads), "an issuer hung"
    return errors


def _assert_consecutive() -> None:
    year = timezone.localdate().year
    kept = THREADS * PER_THREAD * 9 // 10
    numbers = sorted(Invoice.objects.exclude(number="").values_list("number", flat=True))
    # The issue year is the studio's; around New Year it may differ from UTC's.
    year = int(numbers[0].split("-")[1]) if numbers else year
    assert numbers == [f"INV-{year}-{n:04d}" for n in range(1, kept + 1)]
    assert sorted(
        Invoice.objects.exclude(sequence=None).values_list("sequence", flat=True)
    ) == list(range(1, kept + 1))
    assert Counter.objects.get(series="INV", year=year).value == kept
    assert Invoice.objects.filter(status=Invoice.Status.DRAFT).count() == THREADS
    assert InvoicePdfJob.objects.count() == kept


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_invoice_numbers_have_no_gap_or_duplicate_under_concurrency_on_postgresql(postgresql):
    actor = UserFactory(username="olivia", role="owner")
    draft_ids = _drafts(actor, THREADS * PER_THREAD)

    errors = _race(actor=actor, draft_ids=draft_ids)

    assert errors == []
    _assert_consecutive()


@pytest.mark.integration
def test_invoice_numbers_have_no_gap_or_duplicate_under_concurrency_on_sqlite(
    sqlite_file_database,  # noqa: F811
):
    people: dict[str, object] = {}

    def setup() -> None:
        sqlite_file_database()
        try:
            actor = UserFactory(username="olivia", role="owner")
            people["actor"] = actor
            people["draft_ids"] = _drafts(actor, THREADS * PER_THREAD)
        finally:
            connection.close()

    _in_thread(setup)

    errors = _race(
        actor=people["actor"],
        draft_ids=people["draft_ids"],  # type: ignore[arg-type]
        use_database=sqlite_file_database,
    )

    assert errors == []

    def check() -> None:
        sqlite_file_database()
        try:
            _assert_consecutive()
        finally:
            connection.close()

    _in_thread(check)
