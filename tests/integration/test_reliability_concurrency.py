"""Exactly once under concurrency, on PostgreSQL.

- two beats and eight parallel sweeps over 1,500 due reminders: 1,500 sent, 0 duplicates;
- with a real worker: two beat ticks at once and a retried task give one reminder e-mail.
"""

from __future__ import annotations

import datetime as dt
import random
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core import mail
from django.db import connection, connections
from django.utils import timezone

from orders.models import Client, Order
from studio import reminders, tasks
from studio.models import Notification, Reminder
from tests.factories import UserFactory
from tests.integration.conftest import wait_for
from tests.integration.test_reliability_support import (
    PrivateRedis,
    Worker,
    mail_files,
    point_celery_at,
    private_redis,
    restore_celery,
    start_worker,
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
REMINDERS = 1500
SWEEPERS = 10  # two beats and eight parallel sweeps


def _due_orders(count: int, *, hours: float) -> list[Order]:
    client = Client.objects.create(name="Bulk client", email="bulk@example.com")
    due = timezone.now() + dt.timedelta(hours=hours)
    return Order.objects.bulk_create(
        [
            Order(
                reference=f"ORD-BULK-{i:05d}",
                client=client,
                title=f"Bulk order {i}",
                price=1000,
                currency="CNY",
                turnaround_days=7,
                revision_rounds_included=2,
                status=Order.Status.IN_PRODUCTION,
                due_at=due,
            )
            for i in range(count)
        ],
        batch_size=500,
    )


def test_two_beats_and_eight_parallel_sweeps_send_1500_reminders_once_each(postgresql, monkeypatch):
    assert connection.vendor == "postgresql"
    owner = UserFactory(username="olivia", role="owner")
    _due_orders(REMINDERS, hours=20)
    monkeypatch.setattr(reminders, "DISPATCH_BATCH", 100)  # so the sweeps share the work
    barrier = threading.Barrier(SWEEPERS)
    errors: list[BaseException] = []

    def sweeper(seed: int) -> None:
        try:
            barrier.wait()
            while reminders.sweep():  # eager Celery: each sweep sends its batch itself
                pass
            # Duplicate messages (a retried task, a redelivery) for every reminder.
            ids = list(Reminder.objects.values_list("pk", flat=True))
            random.Random(seed).shuffle(ids)
            for pk in ids[:300]:
                reminders.send_reminder(reminder_id=pk)
        except BaseException as exc:  # report it in the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sweeper, args=(n,)) for n in range(SWEEPERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=240)

    assert errors == []
    assert Reminder.objects.count() == REMINDERS
    assert Reminder.objects.filter(state=Reminder.State.SENT).count() == REMINDERS
    per_order = Counter(Notification.objects.filter(user=owner).values_list("url", flat=True))
    assert len(per_order) == REMINDERS
    assert set(per_order.values()) == {1}  # 0 duplicates
    assert len(mail.outbox) == REMINDERS
    assert len({m.subject for m in mail.outbox}) == REMINDERS


@pytest.fixture
def broker(postgresql, tmp_path: Path) -> Iterator[PrivateRedis]:
    with private_redis(tmp_path / "redis") as server:
        saved = point_celery_at(server.url)
        try:
            yield server
        finally:
            restore_celery(saved)


@pytest.fixture
def worker(broker, tmp_path: Path) -> Iterator[Worker]:
    process = start_worker(broker_url=broker.url, folder=tmp_path, concurrency=2)
    yield process
    process.stop()


def test_two_beat_ticks_at_once_and_a_retried_task_send_one_reminder_e_mail(worker, tmp_path):
    UserFactory(username="olivia", role="owner")
    order = _due_orders(1, hours=20)[0]

    # Two beats fire the same periodic task at the same moment.
    tasks.sweep_reminders.delay()
    tasks.sweep_reminders.delay()
    assert wait_for(lambda: Reminder.objects.filter(state="sent").exists(), timeout=30), (
        worker.log()[-3000:]
    )
    assert wait_for(lambda: mail_files(tmp_path), timeout=30)
    # The task is delivered again (a retry, a redelivery after a lost worker), and so is
    # the e-mail job.
    reminder = Reminder.objects.get()
    notification = Notification.objects.get()
    tasks.send_reminder.delay(reminder.pk)
    tasks.email_notification.delay(notification.pk)
    tasks.sweep_reminders.delay()
    assert wait_for(
        lambda: worker.log().count("studio.tasks.email_notification[") >= 4, timeout=30
    ), worker.log()[-3000:]  # received + succeeded, twice
    assert wait_for(lambda: worker.log().count("succeeded") >= 6, timeout=30)

    sent = mail_files(tmp_path)
    assert len(sent) == 1
    assert order.reference in sent[0]
    assert Reminder.objects.count() == 1
    assert Notification.objects.count() == 1
