"""Reads behind the breakdown pages and API: permission-checked fetches, the episode
page, the order's breakdown summary, asset lists.

Query budgets are fixed: an episode page costs the same number of queries for 10 shots
as for 300 shots with 2,000 takes (one query per kind of row, sums grouped in the
database). Sums of money and seconds run on whole hundredths so they are exact on
SQLite too, where decimals are stored as floating point.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, TypeVar, cast

from django.db.models import (
    Count,
    Exists,
    F,
    FilteredRelation,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
)
from django.db.models.functions import Coalesce
from django.http import Http404
from django.shortcuts import get_object_or_404

from orders.models import Asset, Episode, Order, Shot, Take
from studio import roles
from studio.money import Money
from studio.sql import InIds, exact_sum

S = Shot.Status
HUNDREDTHS = 100


def from_hundredths(value: int | None) -> Decimal:
    return (Decimal(value or 0) / HUNDREDTHS).quantize(Decimal("0.01"))


# --- Access ------------------------------------------------------------------------------


def breakdown_orders(user: Any) -> QuerySet[Order]:
    """Orders whose breakdown the user may open: all for owners and producers; for an
    artist, orders assigned to them and orders with a shot assigned to them."""
    if roles.can_manage_business(user):
        return Order.objects.all()
    if roles.is_artist(user):
        mine = Shot.objects.filter(episode__order=OuterRef("pk"), assignee_id=user.pk)
        return Order.objects.filter(Q(assignee_id=user.pk) | Q(Exists(mine)))
    return Order.objects.none()


def access_breakdown_order(user: Any, pk: int) -> Order:
    return get_object_or_404(breakdown_orders(user).select_related("client", "assignee"), pk=pk)


def visible_episodes(user: Any) -> QuerySet[Episode]:
    """Episodes the user may open: all for owners and producers; for an artist, those
    with a shot assigned to them."""
    if roles.can_manage_business(user):
        return Episode.objects.all()
    if roles.is_artist(user):
        mine = Shot.objects.filter(episode=OuterRef("pk"), assignee_id=user.pk)
        return Episode.objects.filter(Exists(mine))
    return Episode.objects.none()


def access_episode(user: Any, pk: int) -> Episode:
    return get_object_or_404(visible_episodes(user).select_related("order", "order__client"), pk=pk)


def access_shot(user: Any, pk: int) -> Shot:
    return get_object_or_404(
        Shot.objects.for_user(user).select_related(
            "episode", "episode__order", "episode__order__client", "assignee", "tool"
        ),
        pk=pk,
    )


def visible_takes(user: Any) -> QuerySet[Take]:
    return Take.objects.filter(shot__in=Shot.objects.for_user(user))


def access_take(user: Any, pk: int) -> Take:
    return get_object_or_404(
        visible_takes(user).select_related(
            "shot", "shot__episode", "shot__episode__order", "tool", "created_by"
        ),
        pk=pk,
    )


def visible_assets(user: Any) -> QuerySet[Asset]:
    """All assets for owners and producers; for an artist, those cast in their shots."""
    if roles.can_manage_business(user):
        return Asset.objects.all()
    if roles.is_artist(user):
        mine = Shot.objects.filter(castings__asset=OuterRef("pk"), assignee_id=user.pk)
        return Asset.objects.filter(Exists(mine))
    return Asset.objects.none()


def access_asset(user: Any, pk: int) -> Asset:
    return get_object_or_404(visible_assets(user).select_related("order"), pk=pk)


def require_business(user: Any) -> None:
    """404 (not 403) for artists on breakdown management pages of orders they can see
    in part: the page simply is not theirs."""
    if not roles.can_manage_business(user):
        raise Http404


# --- Shots with their numbers ----------------------------------------------------------


def prepare_shots(shots: QuerySet[Shot]) -> QuerySet[Shot]:
    """Shots with what a table row shows: assignee, intended tool, selected take, casting."""
    return shots.select_related("assignee", "tool").prefetch_related(
        Prefetch(
            "takes",
            queryset=Take.objects.filter(is_selected=True).select_related("tool"),
            to_attr="selected_takes",
        ),
        Prefetch("assets", queryset=Asset.objects.only("id", "name", "kind", "order_id")),
    )


def shot_rows(shots: QuerySet[Shot], ordering: tuple[str, ...] = ("position", "pk")) -> list[Shot]:
    """Shots ready for a table, each with its number of takes, generated seconds and cost
    per currency (four queries whatever the number of shots and takes)."""
    rows = list(prepare_shots(shots).order_by(*ordering))
    attach_take_numbers(rows)
    return rows


@dataclass
class TakeNumbers:
    """A shot's takes summed: how many, generated seconds, cost per currency, unpriced."""

    take_count: int = 0
    generated: Decimal = field(default_factory=lambda: Decimal("0.00"))
    costs: list[Money] = field(default_factory=list)
    unpriced: int = 0


def take_numbers(shot_ids: Sequence[int]) -> dict[int, TakeNumbers]:
    """TakeNumbers for each of these shots, in one grouped query (exact on SQLite too)."""
    numbers = {pk: TakeNumbers() for pk in shot_ids}
    if not numbers:
        return numbers
    sums = (
        Take.objects.filter(InIds("shot_id", list(numbers)))
        .order_by()
        .values("shot_id", "currency")
        .annotate(
            n=Count("pk"),
            seconds=exact_sum(F("generated_seconds")),
            cents=exact_sum(F("cost")),
            unpriced=Count("pk", filter=Q(cost__isnull=True)),
        )
        .order_by("shot_id", "currency")
        .values_list("shot_id", "currency", "n", "seconds", "cents", "unpriced")
    )
    for shot_id, currency, n, seconds, cents, unpriced in sums:
        number = numbers[shot_id]
        number.take_count += n
        number.generated += from_hundredths(seconds)
        number.unpriced += unpriced
        if n > unpriced:
            number.costs.append(Money(from_hundredths(cents), currency))
    return numbers


def attach_take_numbers(rows: list[Shot]) -> None:
    """Set selected_take, runtime, take_count, generated, costs and unpriced on each shot."""
    numbers = take_numbers([shot.pk for shot in rows])
    for shot in rows:
        selected = shot.selected_takes[0] if shot.selected_takes else None  # type: ignore[attr-defined]
        shot.selected_take = selected  # type: ignore[attr-defined]
        shot.runtime = selected.generated_seconds if selected else shot.planned_seconds  # type: ignore[attr-defined]
        number = numbers[shot.pk]
        shot.take_count = number.take_count  # type: ignore[attr-defined]
        shot.generated = number.generated  # type: ignore[attr-defined]
        shot.costs = number.costs  # type: ignore[attr-defined]
        shot.unpriced = number.unpriced  # type: ignore[attr-defined]


# --- Episode page ------------------------------------------------------------------------


@dataclass
class EpisodePage:
    episode: Episode
    shots: list[Shot]  # every shot the user may see, in order
    runtime: Decimal = Decimal("0.00")
    planned: Decimal = Decimal("0.00")
    generated: Decimal = Decimal("0.00")
    take_count: int = 0
    unpriced: int = 0
    costs: list[Money] = field(default_factory=list)
    status_counts: dict[str, int] = field(default_factory=dict)

    @property
    def over_limit(self) -> bool:
        return self.runtime > self.episode.runtime_limit

    @property
    def over_by(self) -> Decimal:
        return max(Decimal(0), self.runtime - self.episode.runtime_limit)

    @property
    def counted(self) -> int:
        return sum(n for status, n in self.status_counts.items() if status != S.OMITTED)

    @property
    def approved(self) -> int:
        return self.status_counts.get(S.APPROVED, 0)


def episode_page(episode: Episode, user: Any) -> EpisodePage:
    """Every shot of the episode the user may see, with totals (omitted shots do not
    count towards runtime)."""
    shots = shot_rows(Shot.objects.for_user(user).filter(episode=episode))
    page = EpisodePage(episode=episode, shots=shots)
    costs: dict[str, Decimal] = defaultdict(Decimal)
    counts: dict[str, int] = dict.fromkeys(S.values, 0)
    for shot in shots:
        counts[shot.status] += 1
        page.take_count += shot.take_count  # type: ignore[attr-defined]
        page.generated += shot.generated  # type: ignore[attr-defined]
        page.unpriced += shot.unpriced  # type: ignore[attr-defined]
        for money in shot.costs:  # type: ignore[attr-defined]
            costs[money.currency] += money.amount
        if shot.status != S.OMITTED:
            page.runtime += shot.runtime  # type: ignore[attr-defined]
            page.planned += shot.planned_seconds
    page.costs = [Money(amount, currency) for currency, amount in sorted(costs.items())]
    page.status_counts = counts
    return page


def episode_summary(episode: Episode, user: Any) -> EpisodePage:
    """The episode page's totals over every shot the user may see, summed in the
    database (two queries, whatever the number of shots and takes); `shots` is left
    empty: the page shows one page of rows (episode_shot_rows). Same figures as
    episode_page(), which loads every shot (the API needs them all)."""
    shots = Shot.objects.for_user(user).filter(episode=episode)
    page = EpisodePage(episode=episode, shots=[])
    counts: dict[str, int] = dict.fromkeys(S.values, 0)
    runtime = planned = 0
    for row in (
        with_runtime(shots)
        .order_by()
        .values("status")
        .annotate(
            n=Count("pk"),
            runtime=exact_sum(_runtime()),
            planned=exact_sum(F("planned_seconds")),
        )
    ):
        counts[row["status"]] = row["n"]
        if row["status"] != S.OMITTED:
            runtime += row["runtime"] or 0
            planned += row["planned"] or 0
    page.status_counts = counts
    page.runtime, page.planned = from_hundredths(runtime), from_hundredths(planned)
    costs: list[Money] = []
    for row in (
        Take.objects.filter(shot__in=shots)
        .order_by()
        .values("currency")
        .annotate(
            n=Count("pk"),
            seconds=exact_sum(F("generated_seconds")),
            cents=exact_sum(F("cost")),
            unpriced=Count("pk", filter=Q(cost__isnull=True)),
        )
        .order_by("currency")
    ):
        page.take_count += row["n"]
        page.generated += from_hundredths(row["seconds"])
        page.unpriced += row["unpriced"]
        if row["n"] > row["unpriced"]:
            costs.append(Money(from_hundredths(row["cents"]), row["currency"]))
    page.costs = costs
    return page


def episode_shots(
    episode: Episode, user: Any, *, status: str = "", assignee: str = ""
) -> QuerySet[Shot]:
    """The episode's shots the user may see, filtered in the database, in position order
    (status "open": neither approved nor omitted; assignee "none": nobody, or a user id)."""
    shots = Shot.objects.for_user(user).filter(episode=episode)
    if status == "open":
        shots = shots.exclude(status__in=[S.APPROVED, S.OMITTED])
    elif status:
        shots = shots.filter(status=status)
    if assignee == "none":
        shots = shots.filter(assignee__isnull=True)
    elif assignee.isdigit():
        shots = shots.filter(assignee_id=int(assignee))
    return prepare_shots(shots).order_by("position", "pk")


# --- Order breakdown ---------------------------------------------------------------------


@dataclass
class ToolRow:
    tool_id: int
    name: str
    takes: int = 0
    generated: Decimal = Decimal("0.00")
    selected: int = 0
    selected_seconds: Decimal = Decimal("0.00")
    unpriced: int = 0
    costs: list[Money] = field(default_factory=list)


@dataclass
class Breakdown:
    episodes: int = 0
    shots: int = 0  # not omitted
    approved: int = 0
    runtime: Decimal = Decimal("0.00")
    finished_seconds: Decimal = Decimal("0.00")  # runtime of approved shots
    takes: int = 0
    takes_on_approved: int = 0
    generated: Decimal = Decimal("0.00")
    unpriced: int = 0
    costs: list[Money] = field(default_factory=list)
    tools: list[ToolRow] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not (self.episodes or self.shots or self.takes)

    @property
    def cost_per_finished_second(self) -> list[Money]:
        if not self.finished_seconds:
            return []
        return [
            Money(money.amount / self.finished_seconds, money.currency).rounded()
            for money in self.costs
        ]

    @property
    def takes_per_approved_shot(self) -> Decimal | None:
        if not self.approved:
            return None
        return (Decimal(self.takes_on_approved) / self.approved).quantize(
            Decimal("0.1"), rounding=ROUND_HALF_UP
        )

    @property
    def done_percent(self) -> int:
        return round(100 * self.approved / self.shots) if self.shots else 0


def _runtime() -> Any:
    """A shot's runtime: its selected take's seconds, else its planned seconds (needs the
    `chosen` filtered relation)."""
    return Coalesce(F("chosen__generated_seconds"), F("planned_seconds"))


def with_runtime(shots: QuerySet[Shot]) -> QuerySet[Shot]:
    return shots.annotate(chosen=FilteredRelation("takes", condition=Q(takes__is_selected=True)))


# --- What the staff order page reads once ------------------------------------------------

T = TypeVar("T")


def open_page_reads(order: Order) -> None:
    """Let the sections of one order page share what one of them has read (read_once):
    the order page (orders.views.order_pages) opens this memo on the order it fetched for
    the request, so it lives as long as the request; nothing else opens it."""
    order.page_reads = {}  # type: ignore[attr-defined]


def read_once(order: Order, key: str, read: Callable[[], T]) -> T:
    """read(), once per order page: the production summary and billing's invoice and
    margin sections need the same takes and invoices of the order. Without an open memo
    (any other caller) it simply reads, so that a caller that changes rows in between
    never gets stale ones."""
    memo = getattr(order, "page_reads", None)
    if not isinstance(memo, dict):
        return read()
    if key not in memo:
        memo[key] = read()
    return cast("T", memo[key])


def _take_sums(takes: QuerySet[Take]) -> list[dict[str, Any]]:
    """takes summed per tool, currency and day, sums in whole hundredths."""
    selected = Q(is_selected=True)
    return list(
        takes.order_by()
        .values("tool_id", "tool__name", "currency", "generated_on")
        .annotate(
            n=Count("pk"),
            seconds=exact_sum(F("generated_seconds")),
            cents=exact_sum(F("cost")),
            unpriced=Count("pk", filter=Q(cost__isnull=True)),
            selected=Count("pk", filter=selected),
            selected_seconds=exact_sum(F("generated_seconds"), selected),
            on_approved=Count("pk", filter=Q(shot__status=S.APPROVED)),
        )
    )


def order_take_sums(order: Order) -> list[dict[str, Any]]:
    """All the order's takes summed per tool (tool_id, tool__name), currency and day
    (generated_on): n, seconds, cents (whole hundredths, None when no take has a cost),
    unpriced, selected, selected_seconds, on_approved. One query, read once per order
    page: the production summary sums them per tool, billing's margin per day."""
    return read_once(
        order,
        "orders.take_sums",
        lambda: _take_sums(Take.objects.filter(shot__episode__order_id=order.pk)),
    )


def order_breakdown(order: Order, user: Any) -> Breakdown:
    """The order's production numbers (two queries whatever its size: episodes and shots,
    then the takes, which the order page shares with billing's margin section). For an
    artist, the numbers of their own shots."""
    summary = Breakdown()
    business = roles.can_manage_business(user)
    episodes = Episode.objects.filter(order=order)
    mine = Q()
    if not business:
        episodes = visible_episodes(user).filter(order=order)
        # Shot.objects.for_user for an artist (no role at all: no episode either).
        mine = Q(shots__assignee_id=user.pk)
    counted = mine & ~Q(shots__status=S.OMITTED)
    approved = mine & Q(shots__status=S.APPROVED)
    runtime = Coalesce(F("chosen__generated_seconds"), F("shots__planned_seconds"))
    totals = (
        episodes.annotate(
            chosen=FilteredRelation("shots__takes", condition=Q(shots__takes__is_selected=True))
        )
        .order_by()
        .aggregate(
            episodes=Count("pk", distinct=True),
            counted=Count("shots", filter=counted),
            approved=Count("shots", filter=approved),
            runtime=exact_sum(runtime, counted),
            finished=exact_sum(runtime, approved),
        )
    )
    summary.episodes = totals["episodes"] or 0
    summary.shots = totals["counted"] or 0
    summary.approved = totals["approved"] or 0
    summary.runtime = from_hundredths(totals["runtime"])
    summary.finished_seconds = from_hundredths(totals["finished"])
    if business:
        rows = order_take_sums(order)
    else:
        shots = Shot.objects.for_user(user).filter(episode__order=order)
        rows = _take_sums(Take.objects.filter(shot__in=shots))
    # Per tool and currency, in the order the page lists them.
    keys = ("n", "seconds", "cents", "unpriced", "selected", "selected_seconds", "on_approved")
    groups: dict[tuple[str, str, int], dict[str, int]] = {}
    for row in rows:
        group = groups.setdefault(
            (row["tool__name"], row["currency"], row["tool_id"]), dict.fromkeys(keys, 0)
        )
        for key in keys:
            group[key] += row[key] or 0
    tools: dict[int, ToolRow] = {}
    costs: dict[str, Decimal] = defaultdict(Decimal)
    for (name, currency, tool_id), row in sorted(groups.items(), key=lambda g: g[0][:2]):
        tool = tools.setdefault(tool_id, ToolRow(tool_id, name))
        tool.takes += row["n"]
        tool.generated += from_hundredths(row["seconds"])
        tool.selected += row["selected"]
        tool.selected_seconds += from_hundredths(row["selected_seconds"])
        tool.unpriced += row["unpriced"]
        if row["n"] > row["unpriced"]:
            amount = from_hundredths(row["cents"])
            tool.costs.append(Money(amount, currency))
            costs[currency] += amount
        summary.takes += row["n"]
        summary.generated += from_hundredths(row["seconds"])
        summary.unpriced += row["unpriced"]
        summary.takes_on_approved += row["on_approved"]
    summary.tools = sorted(tools.values(), key=lambda t: (-t.generated, t.name))
    summary.costs = [Money(amount, currency) for currency, amount in sorted(costs.items())]
    return summary


@dataclass
class EpisodeRow:
    episode: Episode
    shots: int = 0
    approved: int = 0
    runtime: Decimal = Decimal("0.00")
    takes: int = 0
    costs: list[Money] = field(default_factory=list)

    @property
    def over_limit(self) -> bool:
        return self.runtime > self.episode.runtime_limit


def episode_rows(order: Order, user: Any) -> list[EpisodeRow]:
    """The order's episodes the user may see, each with its shot counts, runtime, takes
    and cost (three queries)."""
    episodes = list(visible_episodes(user).filter(order=order).order_by("number"))
    rows = {episode.pk: EpisodeRow(episode) for episode in episodes}
    if not rows:
        return []
    shots = Shot.objects.for_user(user).filter(episode_id__in=list(rows))
    counted = ~Q(status=S.OMITTED)
    for row in (
        with_runtime(shots)
        .order_by()
        .values("episode_id")
        .annotate(
            n=Count("pk", filter=counted),
            done=Count("pk", filter=Q(status=S.APPROVED)),
            runtime=exact_sum(_runtime(), counted),
        )
    ):
        target = rows[row["episode_id"]]
        target.shots, target.approved = row["n"], row["done"]
        target.runtime = from_hundredths(row["runtime"])
    for row in (
        Take.objects.filter(shot__in=shots)
        .order_by()
        .values("shot__episode_id", "currency")
        .annotate(
            n=Count("pk"),
            cents=exact_sum(F("cost")),
            unpriced=Count("pk", filter=Q(cost__isnull=True)),
        )
        .order_by("shot__episode_id", "currency")
    ):
        target = rows[row["shot__episode_id"]]
        target.takes += row["n"]
        if row["n"] > row["unpriced"]:
            target.costs.append(Money(from_hundredths(row["cents"]), row["currency"]))
    return list(rows.values())


# --- Assets ------------------------------------------------------------------------------


def asset_rows(order: Order, user: Any) -> list[Asset]:
    """The order's assets the user may see, each with the number of shots it appears in
    (for an artist: of their shots)."""
    qs = visible_assets(user).filter(order=order)
    if roles.can_manage_business(user):
        counted = Count("castings", filter=~Q(castings__shot__status=S.OMITTED))
    else:
        counted = Count(
            "castings",
            filter=Q(castings__shot__assignee_id=user.pk) & ~Q(castings__shot__status=S.OMITTED),
        )
    return list(qs.annotate(shot_count=counted).order_by("kind", "name"))


def asset_shots(asset: Asset, user: Any) -> list[Shot]:
    """The shots an asset appears in that the user may see, in episode order."""
    return shot_rows(
        Shot.objects.for_user(user).filter(castings__asset=asset).select_related("episode"),
        ordering=("episode__number", "position", "pk"),
    )


def my_shots(user: Any, *, status: str = "") -> QuerySet[Shot]:
    """The shots assigned to user, open ones first by episode order."""
    qs = Shot.objects.filter(assignee_id=user.pk).select_related(
        "episode", "episode__order", "tool"
    )
    if status == "open":
        qs = qs.exclude(status__in=[S.APPROVED, S.OMITTED])
    elif status in S.values:
        qs = qs.filter(status=status)
    return qs.order_by("episode__order__reference", "episode__number", "position", "pk")
