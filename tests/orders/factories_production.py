"""Helpers for the breakdown tests: tools with prices, episodes, shots and takes, and
bulk rows for the query-count tests."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from typing import Any

from orders.models import Asset, Casting, Episode, Order, Shot, Take
from studio.models import AITool, ToolPrice
from tests.orders.factories_pages import make_order

_names = itertools.count(1)
PRICE_DAY = dt.date(2026, 1, 1)


def make_tool(
    name: str | None = None,
    *,
    per_second: str | None = "0.50",
    since: dt.date = PRICE_DAY,
    kind: str = AITool.Kind.VIDEO_MODEL,
    currency: str = "CNY",
) -> AITool:
    """A tool (not one of the seeded ones) with one price from `since`."""
    tool = AITool.objects.create(name=name or f"Test model {next(_names)}", kind=kind)
    if per_second is not None:
        ToolPrice.objects.create(
            tool=tool, effective_from=since, per_second=Decimal(per_second), currency=currency
        )
    return tool


def make_episode(order: Order | None = None, **fields: Any) -> Episode:
    order = order or make_order(kind=Order.Kind.SHORT_DRAMA, status=Order.Status.IN_PRODUCTION)
    values: dict[str, Any] = {"number": (order.episodes.count() + 1), **fields}
    return Episode.objects.create(order=order, **values)


def make_shot(episode: Episode | None = None, **fields: Any) -> Shot:
    episode = episode or make_episode()
    count = episode.shots.count()
    values: dict[str, Any] = {
        "code": f"{(count + 1) * 10:03d}",
        "position": count + 1,
        "planned_seconds": Decimal(5),
        **fields,
    }
    return Shot.objects.create(episode=episode, **values)


def make_take(shot: Shot, tool: AITool, **fields: Any) -> Take:
    values: dict[str, Any] = {
        "number": shot.takes.count() + 1,
        "generated_seconds": Decimal(5),
        "generated_on": PRICE_DAY + dt.timedelta(days=30),
        "cost": Decimal("2.50"),
        "currency": "CNY",
        **fields,
    }
    return Take.objects.create(shot=shot, tool=tool, **values)


def make_asset(order: Order, name: str = "MAYA", **fields: Any) -> Asset:
    return Asset.objects.create(order=order, name=name, **fields)


def bulk_shots(
    episode: Episode,
    count: int,
    *,
    takes_per_shot: int = 0,
    tools: list[AITool] | None = None,
    assignee: Any = None,
    assets: list[Asset] | None = None,
) -> list[Shot]:
    """count shots (and their takes, the last one selected, and castings) in a few inserts."""
    start = episode.shots.count()
    shots = Shot.objects.bulk_create(
        Shot(
            episode=episode,
            code=f"{(start + i + 1) * 10:04d}",
            position=start + i + 1,
            description=f"Bulk shot {i}",
            planned_seconds=Decimal("4.5"),
            status=[Shot.Status.TODO, Shot.Status.REVIEW, Shot.Status.APPROVED][i % 3],
            assignee=assignee,
        )
        for i in range(count)
    )
    if takes_per_shot and tools:
        Take.objects.bulk_create(
            Take(
                shot=shot,
                tool=tools[(i + n) % len(tools)],
                number=n + 1,
                generated_seconds=Decimal("5.25"),
                generated_on=PRICE_DAY,
                cost=Decimal("2.63"),
                currency="CNY",
                is_selected=n == takes_per_shot - 1,
            )
            for i, shot in enumerate(shots)
            for n in range(takes_per_shot)
        )
    if assets:
        Casting.objects.bulk_create(
            Casting(shot=shot, asset=assets[i % len(assets)]) for i, shot in enumerate(shots)
        )
    return shots
