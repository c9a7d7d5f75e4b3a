"""Reads behind the staff pages: permission-checked fetches, filters, board and totals.

Every function here has a fixed query budget that does not grow with the number of
orders: lists are paginated, sums and counts are database aggregates.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import groupby
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import (
    Count,
    Expression,
    F,
    Q,
    QuerySet,
    Window,
)
from django.db.models.functions import RowNumber
from django.http import Http404
from django.shortcuts import get_object_or_404

from orders.models import Client, ClientAction, Deliverable, Order, OrderEvent, OrderQuerySet
from studio import roles
from studio.money import Money
from studio.sql import exact_sum

# Cards shown per board column; the column's head counts them all and links to the list.
BOARD_CARD_LIMIT = 25
# Order.price has two decimal places whatever the currency; sums run on whole hundredths
# so that they are exact on SQLite too, where decimals are stored as floating point.
PRICE_SCALE = 100

# Columns an order card or list row needs; the brief and user passwords stay in the DB.
ORDER_ROW_FIELDS = (
    "id",
    "reference",
    "title",
    "kind",
    "status",
    "price",
    "currency",
    "due_at",
    "created_at",
    "client__id",
    "client__name",
    "assignee__id",
    "assignee__username",
    "assignee__first_name",
    "assignee__last_name",
)


def exact_price_sum(condition: Q | None = None) -> Expression:
    """Sum of Order.price in hundredths (an integer), optionally over matching rows only."""
    return exact_sum("price", condition)


def cents_to_money(cents: int | None, currency: str) -> Money:
    return Money(Decimal(cents or 0) / PRICE_SCALE, currency).rounded()


# --- Access ------------------------------------------------------------------------------


def access_order(user: Any, pk: int, *, queryset: OrderQuerySet | None = None) -> Order:
    """The order if user may see it, else 404 (so an artist cannot probe other orders)."""
    base = queryset if queryset is not None else Order.objects.all()
    return get_object_or_404(base.for_user(user).select_related("client", "assignee"), pk=pk)


def access_client(user: Any, pk: int) -> Client:
    """The client if user manages the business, else 404."""
    if not roles.can_manage_business(user):
        raise Http404
    return get_object_or_404(Client, pk=pk)


def access_file_deliverable(user: Any, order_pk: int, deliverable_pk: int) -> Deliverable:
    """A file deliverable of an order the user may see; 404 for anything else."""
    order = access_order(user, order_pk)
    deliverable = get_object_or_404(
        Deliverable, pk=deliverable_pk, order_id=order.pk, kind=Deliverable.Kind.FILE
    )
    deliverable.order = order
    return deliverable


def team_members() -> QuerySet[Any]:
    """Users who hold a studio role (the only valid assignees)."""
    return (
        get_user_model()
        .objects.filter(is_active=True, membership__isnull=False)
        .order_by("first_name", "last_name", "username")
    )


# --- Order list ----------------------------------------------------------------------------

SORTS: dict[str, tuple[Any, ...]] = {
    "due": (F("due_at").asc(nulls_last=True), "-created_at", "-pk"),
    "-due": (F("due_at").desc(nulls_last=True), "-created_at", "-pk"),
    "created": ("created_at", "pk"),
    "-created": ("-created_at", "-pk"),
    "price": ("price", "-created_at", "-pk"),
    "-price": ("-price", "-created_at", "-pk"),
}
MONEY_SORTS = frozenset({"price", "-price"})
DEFAULT_SORT = "-created"


@dataclass(frozen=True)
class OrderFilters:
    """Validated list filters; empty values mean 'no filter'."""

    q: str = ""
    status: str = ""
    kind: str = ""
    client_id: int | None = None
    assignee_id: int | None = None
    unassigned: bool = False
    due: str = ""
    tag: str = ""
    sort: str = DEFAULT_SORT
    nothing: bool = False  # a filter named something that does not exist: no rows


def filter_orders(
    user: Any, filters: OrderFilters, *, now: dt.datetime | None = None
) -> OrderQuerySet:
    """Orders the user may see, narrowed by filters and sorted (rows ready for a table)."""
    qs = Order.objects.for_user(user)
    if filters.nothing:
        qs = qs.none()
    if filters.q:
        qs = qs.search(filters.q)
    if filters.status == "open":
        qs = qs.open()
    elif filters.status:
        qs = qs.filter(status=filters.status)
    if filters.kind:
        qs = qs.filter(kind=filters.kind)
    if filters.client_id:
        qs = qs.filter(client_id=filters.client_id)
    if filters.unassigned:
        qs = qs.filter(assignee__isnull=True)
    elif filters.assignee_id:
        qs = qs.filter(assignee_id=filters.assignee_id)
    if filters.due == "late":
        qs = qs.late(now=now)
    elif filters.due == "week":
        qs = qs.due_within(days=7, now=now)
    if filters.tag:
        qs = qs.filter(tags__name__iexact=filters.tag)
    sort = filters.sort if filters.sort in SORTS else DEFAULT_SORT
    if sort in MONEY_SORTS and not roles.can_see_money(user):
        sort = DEFAULT_SORT
    return order_rows(qs).order_by(*SORTS[sort])


def order_rows(qs: OrderQuerySet) -> OrderQuerySet:
    """The columns and relations an order row shows (tags prefetched in one query)."""
    return qs.select_related("client", "assignee").only(*ORDER_ROW_FIELDS).prefetch_related("tags")


# --- Board ----------------------------------------------------------------------------------


@dataclass
class BoardColumn:
    status: str
    label: str
    count: int = 0
    totals: list[Money] = field(default_factory=list)
    cards: list[Order] = field(default_factory=list)

    @property
    def has_more(self) -> bool:
        return self.count > len(self.cards)


def board_columns(user: Any, *, limit: int = BOARD_CARD_LIMIT) -> list[BoardColumn]:
    """One column per board status: count, value per currency, the most urgent cards.

    Two queries whatever the number of orders: one aggregate, one windowed card list.
    """
    visible = Order.objects.for_user(user).filter(status__in=Order.BOARD_COLUMNS)
    columns = {
        status: BoardColumn(status=status, label=str(Order.Status(status).label))
        for status in Order.BOARD_COLUMNS
    }
    show_money = roles.can_see_money(user)
    sums = (
        visible.order_by()
        .values("status", "currency")
        .annotate(n=Count("pk"), cents=exact_price_sum())
        .order_by("status", "currency")
    )
    for row in sums:
        column = columns[row["status"]]
        column.count += row["n"]
        if show_money:
            column.totals.append(cents_to_money(row["cents"], row["currency"]))
    ranked = (
        visible.select_related("client", "assignee")
        .only(*ORDER_ROW_FIELDS)
        .annotate(
            board_rank=Window(
                RowNumber(),
                partition_by=[F("status")],
                order_by=[F("due_at").asc(nulls_last=True), F("created_at").desc(), F("pk").desc()],
            )
        )
        .filter(board_rank__lte=limit)
        .order_by("board_rank")
    )
    for order in ranked:
        columns[order.status].cards.append(order)
    return [columns[status] for status in Order.BOARD_COLUMNS]


# --- Order detail --------------------------------------------------------------------------


@dataclass
class DeliverableGroup:
    title: str
    versions: list[Deliverable]

    @property
    def latest(self) -> Deliverable:
        return self.versions[0]


def deliverable_groups(order: Order) -> list[DeliverableGroup]:
    """The order's deliverables grouped by title (newest upload first), versions newest first."""
    rows = list(
        Deliverable.objects.filter(order=order)
        .select_related("uploaded_by")
        .order_by("title", "-version")
    )
    groups = [
        DeliverableGroup(title=title, versions=list(versions))
        for title, versions in groupby(rows, key=lambda d: d.title)
    ]
    groups.sort(key=lambda g: g.latest.created_at, reverse=True)
    return groups


def latest_versions(groups: list[DeliverableGroup]) -> list[Deliverable]:
    """The newest version of each deliverable, by title (as services.latest_deliverables
    gives them, without its query)."""
    return sorted((group.latest for group in groups), key=lambda d: d.title)


# Timeline kinds that speak of money (invoice numbers, amounts, who was billed).
MONEY_EVENT_KINDS = frozenset({OrderEvent.Kind.INVOICE})


def order_timeline(order: Order, *, limit: int = 200, user: Any = None) -> list[OrderEvent]:
    """The newest timeline events of an order, newest first; money events only for
    people who may see money."""
    events = OrderEvent.objects.filter(order=order)
    if user is not None and not roles.can_see_money(user):
        events = events.exclude(kind__in=MONEY_EVENT_KINDS)
    return list(events.order_by("-created_at", "-pk")[:limit])


def permitted_transitions(order: Order, user: Any) -> list[str]:
    """The next statuses that this user may move the order to now."""
    from orders.services import check_transition
    from studio.errors import DomainError

    allowed = []
    for status in order.allowed_next():
        try:
            check_transition(order=order, to_status=status, actor=user)
        except DomainError:
            continue
        allowed.append(status)
    return allowed


# --- Clients ----------------------------------------------------------------------------------


def client_rows(*, q: str = "", archived: bool = False) -> QuerySet[Client]:
    """Clients for the list page, each with its orders count and open orders count."""
    qs = Client.objects.search(q)
    qs = qs.filter(archived_at__isnull=not archived)
    return qs.annotate(
        orders_count=Count("orders"),
        open_orders_count=Count("orders", filter=~Q(orders__status__in=Order.CLOSED_STATUSES)),
    ).order_by("name", "pk")


@dataclass(frozen=True)
class CurrencyTotals:
    currency: str
    open: Money
    completed: Money
    open_count: int
    completed_count: int


def client_totals(client: Client) -> list[CurrencyTotals]:
    """Order value per currency: open orders and completed orders (cancelled left out)."""
    open_q = ~Q(status__in=Order.CLOSED_STATUSES)
    done_q = Q(status=Order.Status.COMPLETED)
    rows = (
        Order.objects.filter(client=client)
        .order_by()
        .values("currency")
        .annotate(
            open_cents=exact_price_sum(open_q),
            completed_cents=exact_price_sum(done_q),
            open_n=Count("pk", filter=open_q),
            completed_n=Count("pk", filter=done_q),
        )
        .order_by("currency")
    )
    totals = []
    for row in rows:
        if not (row["open_n"] or row["completed_n"]):
            continue
        totals.append(
            CurrencyTotals(
                currency=row["currency"],
                open=cents_to_money(row["open_cents"], row["currency"]),
                completed=cents_to_money(row["completed_cents"], row["currency"]),
                open_count=row["open_n"],
                completed_count=row["completed_n"],
            )
        )
    return totals


def client_feedback(order: Order, *, limit: int = 20) -> list[ClientAction]:
    """What the client did on their page, newest first, with timecoded comments."""
    return list(
        order.client_actions.select_related("deliverable").prefetch_related("comments")[:limit]
    )
