"""billing.services.expenses: recording, changing and deleting expenses and their
receipts, with the checks, the cost history, and subscription-booked rows kept intact."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.files.storage import default_storage

from billing import services
from billing.models import CostEvent, Expense, Subscription
from billing.services.expenses import RECEIPT_MAX_BYTES
from studio.errors import Conflict, InvalidInput, NotPermitted
from studio.models import AITool
from tests.billing.test_expense_files import JPEG, PDF, PNG, upload
from tests.factories import OrderFactory

D = Decimal
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("studio_profile")]
TODAY = dt.date(2026, 3, 10)


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(dt.datetime(2026, 3, 10, 4, 0, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def kling(db):
    return AITool.objects.get_or_create(name="Kling", defaults={"kind": "video_model"})[0]


def expense(actor, **fields) -> Expense:
    values = {
        "spent_on": dt.date(2026, 3, 5),
        "amount": D("120.50"),
        "currency": "CNY",
        "category": Expense.Category.GENERATION_CREDITS,
    }
    values.update(fields)
    return services.create_expense(actor=actor, **values)


def events(item: Expense) -> list[CostEvent]:
    return list(
        CostEvent.objects.filter(subject="expense", object_id=item.pk).order_by("created_at", "pk")
    )


def booked(owner, kling) -> Expense:
    plan = Subscription.objects.create(
        tool=kling,
        plan_name="Pro",
        amount=D("66"),
        currency="USD",
        started_on=dt.date(2026, 1, 5),
        next_renewal_on=dt.date(2026, 4, 5),
    )
    return Expense.objects.create(
        spent_on=dt.date(2026, 3, 5),
        amount=D("66"),
        currency="USD",
        category=Expense.Category.SUBSCRIPTION,
        tool=kling,
        subscription=plan,
        renewal_on=dt.date(2026, 3, 5),
    )


# --- Create ---------------------------------------------------------------------------------


def test_create_records_a_direct_cost_with_its_event(owner, kling):
    order = OrderFactory()

    item = expense(owner, order=order, tool=kling, vendor="  Kling   AI ", note="Credits pack")

    item.refresh_from_db()
    assert (item.amount, item.currency, item.order, item.tool) == (D("120.50"), "CNY", order, kling)
    assert item.vendor == "Kling AI"
    assert not item.is_overhead
    assert item.created_by == owner
    [event] = events(item)
    assert (event.kind, event.actor, event.actor_label) == ("created", owner, "olivia")
    assert event.data["amount"] == "120.50"


def test_create_without_order_is_overhead(producer):
    item = expense(producer, category=Expense.Category.HARDWARE)

    assert item.is_overhead
    assert Expense.objects.overhead().get() == item


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"amount": D("0")}, "amount", "more than zero"),
        ({"amount": D("-5")}, "amount", "more than zero"),
        ({"amount": "abc"}, "amount", "Enter a number"),
        ({"amount": D("1.005")}, "amount", "at most 2 decimal places"),
        ({"amount": D("1500.5"), "currency": "JPY"}, "amount", "at most 0 decimal places"),
        ({"amount": D("1e13")}, "amount", "too large"),
        ({"currency": "XXX"}, "currency", "not a currency"),
        ({"category": "lunch"}, "category", "Choose a category"),
        ({"spent_on": dt.date(1999, 12, 31)}, "spent_on", "between 2000-01-01"),
        ({"spent_on": dt.date(2027, 3, 12)}, "spent_on", "between 2000-01-01"),
        ({"vendor": "x" * 121}, "vendor", "under 120"),
        ({"note": "x" * 2001}, "note", "under 2000"),
    ],
)
def test_create_refuses_bad_input_and_saves_nothing(owner, fields, field, message):
    with pytest.raises(InvalidInput) as caught:
        expense(owner, **fields)

    assert field in caught.value.fields
    assert message in caught.value.message
    assert not Expense.objects.exists()
    assert not CostEvent.objects.exists()


def test_yen_amount_in_whole_units_is_accepted(owner):
    item = expense(owner, amount=D("1500"), currency="JPY")

    assert item.amount == D("1500")


def test_a_year_ahead_is_the_latest_date(owner):
    assert expense(owner, spent_on=TODAY + dt.timedelta(days=366)).pk


def test_expense_on_a_cancelled_order_is_accepted(owner):
    order = OrderFactory(status="cancelled")

    assert expense(owner, order=order).order == order


def test_deleted_order_or_tool_is_refused(owner, kling):
    order = OrderFactory()
    order_copy = type(order).objects.get(pk=order.pk)
    order.delete()

    with pytest.raises(InvalidInput) as caught:
        expense(owner, order=order_copy)
    assert "order" in caught.value.fields
    kling_copy = AITool.objects.get(pk=kling.pk)
    kling.delete()
    with pytest.raises(InvalidInput) as caught:
        expense(owner, tool=kling_copy)
    assert "tool" in caught.value.fields


def test_artist_and_outsider_cannot_record_expenses(artist, outsider):
    for actor in (artist, outsider):
        with pytest.raises(NotPermitted):
            expense(actor)
    assert not Expense.objects.exists()


# --- Receipts -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        ("receipt.pdf", PDF, "application/pdf"),
        ("photo.jpg", JPEG, "image/jpeg"),
        ("scan.png", PNG, "image/png"),
        ("renamed.pdf", PNG, "image/png"),
    ],
)
def test_receipt_type_comes_from_the_content(owner, name, content, content_type):
    item = expense(owner, receipt=upload(name, content))

    assert item.receipt_content_type == content_type
    assert item.receipt_original_name == name
    stored = item.receipt.name
    assert stored.startswith("billing/receipts/")
    assert name not in stored
    assert stored.endswith("." + content_type.split("/")[1].replace("jpeg", "jpg"))
    assert default_storage.open(stored).read() == content


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"just some text pretending", "PDF, JPEG or PNG"),
        (b"", "empty"),
        (b"PK\x03\x04" + b"\0" * 100, "PDF, JPEG or PNG"),
    ],
)
def test_bad_receipts_are_refused_and_nothing_is_saved(owner, content, message):
    with pytest.raises(InvalidInput) as caught:
        expense(owner, receipt=upload("receipt.pdf", content))

    assert message in caught.value.message
    assert caught.value.fields == {"receipt": [caught.value.message]}
    assert not Expense.objects.exists()


def test_receipt_over_10_mb_is_refused(owner):
    big = upload("big.pdf", PDF + b"0" * (RECEIPT_MAX_BYTES - len(PDF) + 1))

    with pytest.raises(InvalidInput) as caught:
        expense(owner, receipt=big)

    assert "limit is 10.0" in caught.value.message


def test_replacing_and_removing_the_receipt_deletes_the_old_file(
    owner, django_capture_on_commit_callbacks
):
    item = expense(owner, receipt=upload("a.pdf", PDF))
    first = item.receipt.name

    with django_capture_on_commit_callbacks(execute=True):
        item = services.attach_receipt(actor=owner, expense=item, upload=upload("b.png", PNG))

    assert item.receipt.name != first
    assert not default_storage.exists(first)
    second = item.receipt.name
    with django_capture_on_commit_callbacks(execute=True):
        item = services.remove_receipt(actor=owner, expense=item)
    assert item.receipt.name == ""
    assert item.receipt_content_type == ""
    assert not default_storage.exists(second)
    assert [e.data.get("receipt") for e in events(item)] == [True, "attached", "removed"]
    # Removing again changes nothing and writes no event.
    services.remove_receipt(actor=owner, expense=item)
    assert len(events(item)) == 3


# --- Update ---------------------------------------------------------------------------------


def test_update_changes_only_what_is_given_and_records_the_changes(owner, kling):
    item = expense(owner, vendor="Kling", tool=kling, note="pack")
    order = OrderFactory()

    services.update_expense(actor=owner, expense=item, amount=D("99.90"), order=order)

    item.refresh_from_db()
    assert (item.amount, item.order, item.vendor, item.tool) == (D("99.90"), order, "Kling", kling)
    event = events(item)[-1]
    assert event.kind == "updated"
    assert event.data["changes"] == {"amount": ["120.50", "99.90"], "order": [None, order.pk]}


def test_update_can_clear_order_and_tool(owner, kling):
    item = expense(owner, tool=kling, order=OrderFactory())

    services.update_expense(actor=owner, expense=item, tool=None, order=None)

    item.refresh_from_db()
    assert item.tool is None
    assert item.is_overhead


def test_update_with_the_same_values_writes_no_event(owner):
    item = expense(owner)

    services.update_expense(actor=owner, expense=item, amount=D("120.5"), note="")

    assert len(events(item)) == 1


def test_changing_to_yen_rechecks_the_amount(owner):
    item = expense(owner, amount=D("10.50"))

    with pytest.raises(InvalidInput) as caught:
        services.update_expense(actor=owner, expense=item, currency="JPY")

    assert "amount" in caught.value.fields
    item.refresh_from_db()
    assert item.currency == "CNY"


def test_booked_expense_takes_amount_note_and_receipt(owner, kling):
    item = booked(owner, kling)

    services.update_expense(
        actor=owner,
        expense=item,
        amount=D("70"),
        note="price rise",
        spent_on=item.spent_on,  # unchanged values are fine
        receipt=upload("invoice.pdf", PDF),
    )

    item.refresh_from_db()
    assert (item.amount, item.note, item.receipt_content_type) == (
        D("70"),
        "price rise",
        "application/pdf",
    )
    assert (item.subscription_id is not None, item.renewal_on) == (True, dt.date(2026, 3, 5))


@pytest.mark.parametrize(
    "change",
    [
        {"spent_on": dt.date(2026, 3, 6)},
        {"currency": "CNY"},
        {"category": "other"},
        {"order": "order"},
        {"tool": None},
    ],
)
def test_booked_expense_refuses_other_changes(owner, kling, change):
    item = booked(owner, kling)
    if change.get("order") == "order":
        change = {"order": OrderFactory()}

    with pytest.raises(Conflict) as caught:
        services.update_expense(actor=owner, expense=item, **change)

    assert caught.value.code == "booked_by_subscription"
    fresh = Expense.objects.get(pk=item.pk)
    assert (fresh.spent_on, fresh.currency, fresh.category, fresh.order_id, fresh.tool_id) == (
        dt.date(2026, 3, 5),
        "USD",
        "subscription",
        None,
        kling.pk,
    )
    assert not CostEvent.objects.exists()


# --- Delete ---------------------------------------------------------------------------------


def test_delete_removes_the_expense_and_its_receipt(owner, django_capture_on_commit_callbacks):
    item = expense(owner, receipt=upload("a.pdf", PDF))
    name, pk = item.receipt.name, item.pk

    with django_capture_on_commit_callbacks(execute=True):
        services.delete_expense(actor=owner, expense=item)

    assert not Expense.objects.filter(pk=pk).exists()
    assert not default_storage.exists(name)
    assert CostEvent.objects.filter(object_id=pk, kind="deleted", actor=owner).count() == 1
    # Again: nothing left to delete, nothing happens.
    services.delete_expense(actor=owner, expense=item)


def test_booked_expense_cannot_be_deleted(owner, kling):
    item = booked(owner, kling)

    with pytest.raises(Conflict):
        services.delete_expense(actor=owner, expense=item)

    assert Expense.objects.filter(pk=item.pk).exists()


def test_artist_cannot_change_or_delete(owner, artist):
    item = expense(owner)

    with pytest.raises(NotPermitted):
        services.update_expense(actor=artist, expense=item, amount=D("1"))
    with pytest.raises(NotPermitted):
        services.delete_expense(actor=artist, expense=item)
    item.refresh_from_db()
    assert item.amount == D("120.50")
