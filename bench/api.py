"""Measure the API list endpoints against their floor, in the same run.

    .venv/bin/python bench/api.py --var-dir /tmp/reeldesk-bench-large [--runs 20]
    .venv/bin/python bench/api.py --postgres postgres://postgres@127.0.0.1:5432/reeldesk_scale

The floor of a list is the same rows fetched by one raw SQL query and serialized with
orjson in this process: every column the endpoint shows (for a shot: its episode's order
and number, its assets, its takes' count, seconds and cost, every column of its selected
take and the tool's name; for an order: its client's name, tags, deposit and client-link
nonce), leaving out only what the endpoint derives in Python (allowed transitions, the
link's HMAC token, dialogue lines). The endpoint is the real request through Django's
test client (middleware, auth, throttling, DRF, filters, pagination, rendering). It
prints p50/p95 of both, the ratio of the p50s (target: within 3x) and the SQL queries of
one request, for 100 orders (GET /api/orders/?page_size=100), an episode's ~40 shots
(GET /api/shots/?episode=…) and 2,000 shots of one order (GET /api/shots/?order=…: ten
pages of 200, the API's largest page, against one query of 2,000 rows).

Set REDIS_URL (e.g. redis://127.0.0.1:6379/13) to measure with the production cache:
the API's rate limits count requests in the cache, which without REDIS_URL is a folder
of files.

It reuses the data of bench/pages.py (same helpers: the database is migrated and the
large demo built when empty, see that module's docstring for the safety rules) and adds
an order with 2,000 shots the first time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.pages import prepare, refuse_precious, setup_django

# The floors read every column the endpoints show, in one query each: the order with its
# client's name, tags, deposit and active client-link nonce; the shot with its episode's
# order and number, its assets, its takes' count, seconds and cost, and every column of
# its selected take with the tool's name. What the endpoints compute in Python from those
# columns (allowed transitions, the link's HMAC token, dialogue lines) is left out.
ORDER_SQL = """
SELECT o.id, o.reference, o.client_id, c.name, o.title, o.kind, o.brief, o.price,
       o.currency, o.deposit_percent, ROUND(o.price * o.deposit_percent / 100, 2),
       o.turnaround_days, o.revision_rounds_included, o.revision_rounds_used,
       o.assignee_id, o.status, o.status_before_hold,
       o.accepted_at, o.due_at, o.delivered_at, o.completed_at, o.created_at, o.updated_at,
       (SELECT {agg} FROM orders_order_tags ot JOIN orders_tag t ON t.id = ot.tag_id
         WHERE ot.order_id = o.id) AS tags,
       (SELECT p.nonce FROM orders_portallink p
         WHERE p.order_id = o.id AND p.revoked_at IS NULL) AS portal
FROM orders_order o JOIN orders_client c ON c.id = o.client_id
ORDER BY o.created_at DESC, o.id DESC
LIMIT 100
"""

SHOT_SQL = """
SELECT s.id, e.order_id, s.episode_id, e.number, s.code, s.position, s.scene,
       s.description, s.dialogue, s.planned_seconds, s.status, s.assignee_id, s.tool_id,
       (SELECT {agg} FROM orders_casting ca WHERE ca.shot_id = s.id) AS assets,
       s.notes, s.created_at, s.updated_at,
       agg.n, agg.seconds, agg.cost, agg.currency,
       sel.id, sel.number, sel.tool_id, tool.name, sel.mode, sel.prompt, sel.negative_prompt,
       sel.seed, sel.reference_urls, sel.generated_seconds, sel.generated_on, sel.cost,
       sel.currency, sel.cost_is_manual, sel.price_per_second, sel.result_url,
       sel.result_file, sel.notes, sel.is_selected, sel.created_by_id, sel.created_at
FROM orders_shot s
JOIN orders_episode e ON e.id = s.episode_id
LEFT JOIN (SELECT t.shot_id, COUNT(*) AS n, SUM(t.generated_seconds) AS seconds,
                  SUM(t.cost) AS cost, MIN(t.currency) AS currency
             FROM orders_take t JOIN orders_shot s2 ON s2.id = t.shot_id
             JOIN orders_episode e2 ON e2.id = s2.episode_id
            WHERE {where2}
            GROUP BY t.shot_id) agg ON agg.shot_id = s.id
LEFT JOIN orders_take sel ON sel.shot_id = s.id AND sel.is_selected
LEFT JOIN studio_aitool tool ON tool.id = sel.tool_id
WHERE {where}
ORDER BY e.order_id, e.number, s.position, s.id
"""

SHOT_KEYS = [
    "id",
    "order",
    "episode",
    "episode_number",
    "code",
    "position",
    "scene",
    "description",
    "dialogue",
    "planned_seconds",
    "status",
    "assignee",
    "tool",
    "assets",
    "notes",
    "created_at",
    "updated_at",
    "take_count",
    "generated_seconds",
    "cost",
    "currency",
]
TAKE_KEYS = [
    "id",
    "number",
    "tool",
    "tool_name",
    "mode",
    "prompt",
    "negative_prompt",
    "seed",
    "reference_urls",
    "generated_seconds",
    "generated_on",
    "cost",
    "currency",
    "cost_is_manual",
    "price_per_second",
    "result_url",
    "result_file",
    "notes",
    "is_selected",
    "created_by",
    "created_at",
]
ORDER_KEYS = [
    "id",
    "reference",
    "client",
    "client_name",
    "title",
    "kind",
    "brief",
    "price",
    "currency",
    "deposit_percent",
    "deposit_amount",
    "turnaround_days",
    "revision_rounds_included",
    "revision_rounds_used",
    "assignee",
    "status",
    "status_before_hold",
    "accepted_at",
    "due_at",
    "delivered_at",
    "completed_at",
    "created_at",
    "updated_at",
    "tags",
    "portal_url",
]


def timed(function: Callable[[], Any], runs: int) -> tuple[float, float]:
    function()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[max(0, round(0.95 * len(times)) - 1)]


def count_queries(function: Callable[[], Any]) -> int:
    """SQL statements run by one call (CaptureQueriesContext sees nothing: every request
    resets the query log)."""
    from django.db import connection

    seen = 0

    def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        nonlocal seen
        seen += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        function()
    return seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--var-dir", help="SQLite folder (shared with bench/pages.py)")
    parser.add_argument("--reuse", action="store_true", help="use the data already there")
    parser.add_argument("--postgres", default=os.environ.get("DATABASE_URL", ""))
    args = parser.parse_args()
    if args.postgres:
        refuse_precious(args.postgres)
        os.environ["DATABASE_URL"] = args.postgres
    else:
        os.environ["DATABASE_URL"] = ""
        os.environ["REELDESK_VAR_DIR"] = args.var_dir or tempfile.mkdtemp(prefix="reeldesk-api-")
    setup_django()
    import orjson
    from django.db import connection
    from django.test import Client as HttpClient

    from orders.models import Episode, Order, Shot
    from studio import demo_scale
    from studio.services import create_api_token

    data = prepare(scale=args.scale, reuse=args.reuse)
    big = Episode.objects.filter(title="Bench: 2,000 shots").select_related("order").first()
    if big is None:
        order = Order.objects.filter(kind=Order.Kind.SHORT_DRAMA).order_by("created_at").first()
        assert order is not None
        have = Shot.objects.filter(episode__order=order).count()
        big = demo_scale.add_long_episode(
            order=order, shots=max(1, 2000 - have), title="Bench: 2,000 shots"
        )
    big_order = big.order_id
    episode = (
        Episode.objects.exclude(title__startswith="Bench")
        .exclude(title="Long episode")
        .filter(shots__isnull=False)
        .order_by("-order__created_at", "number")
        .first()
    )
    assert episode is not None
    _token, raw = create_api_token(user=data["owner"], name="bench-api")
    api = HttpClient(HTTP_AUTHORIZATION=f"Bearer {raw}")
    postgres = connection.vendor == "postgresql"
    agg = "string_agg(t.name, ',')" if postgres else "group_concat(t.name)"
    asset_agg = "string_agg(ca.asset_id::text, ',')" if postgres else "group_concat(ca.asset_id)"
    order_sql = ORDER_SQL.format(agg=agg)
    true = "TRUE" if postgres else "1"

    def floor_orders() -> bytes:
        with connection.cursor() as cursor:
            cursor.execute(order_sql)
            rows = cursor.fetchall()
        items = []
        for row in rows:
            item = dict(zip(ORDER_KEYS, row, strict=True))
            item["tags"] = item["tags"].split(",") if item["tags"] else []
            item["url"] = f"http://testserver/orders/{item['id']}/"
            if item["portal_url"]:
                item["portal_url"] = f"http://testserver/o/{item['portal_url']}/"
            items.append(item)
        return orjson.dumps({"count": len(items), "results": items}, default=str)

    def floor_shots(where: str, where2: str, params: list[Any]) -> Callable[[], bytes]:
        sql = SHOT_SQL.format(where=where, where2=where2, agg=asset_agg).replace(
            "AND sel.is_selected", f"AND sel.is_selected = {true}"
        )

        def run() -> bytes:
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                rows = cursor.fetchall()
            items = []
            n = len(SHOT_KEYS)
            for row in rows:
                item = dict(zip(SHOT_KEYS, row[:n], strict=True))
                item["assets"] = (
                    [int(a) for a in item["assets"].split(",")] if item["assets"] else []
                )
                take = dict(zip(TAKE_KEYS, row[n:], strict=True)) if row[n] is not None else None
                if take is not None and isinstance(take["reference_urls"], str):
                    take["reference_urls"] = orjson.loads(take["reference_urls"])  # SQLite
                item["selected_take"] = take
                item["url"] = f"http://testserver/shots/{item['id']}/"
                items.append(item)
            return orjson.dumps({"count": len(items), "results": items}, default=str)

        return run

    def endpoint(url: str, pages: int = 1) -> Callable[[], int]:
        def run() -> int:
            size = 0
            for page in range(1, pages + 1):
                response = api.get(f"{url}&page={page}" if pages > 1 else url)
                assert response.status_code == 200, (url, response.status_code)
                size += len(response.content)
            return size

        return run

    episode_shots = Shot.objects.filter(episode=episode).count()
    order_shots = Shot.objects.filter(episode__order_id=big_order).count()
    pages_needed = -(-order_shots // 200)
    cases = [
        ("100 orders", endpoint("/api/orders/?page_size=100"), floor_orders, 1),
        (
            f"episode's {episode_shots} shots",
            endpoint(f"/api/shots/?episode={episode.pk}&page_size=200"),
            floor_shots("s.episode_id = %s", "s2.episode_id = %s", [episode.pk, episode.pk]),
            1,
        ),
        (
            f"{order_shots} shots of an order ({pages_needed} pages)",
            endpoint(f"/api/shots/?order={big_order}&page_size=200", pages=pages_needed),
            floor_shots("e.order_id = %s", "e2.order_id = %s", [big_order, big_order]),
            pages_needed,
        ),
    ]
    print(f"\n{connection.vendor}: API list vs floor (raw SQL + orjson), {args.runs} runs")
    print(
        f"{'list':40} {'api p50':>8} {'p95':>7} {'floor p50':>9} {'p95':>7} {'ratio':>6} "
        f"{'queries':>7}"
    )
    for name, api_call, floor_call, pages in cases:
        floor_rows = orjson.loads(floor_call())["count"]
        print(f"  ({name}: the floor fetches {floor_rows} rows)")
        api_call()  # warm: a token's first request also records its use
        queries = count_queries(api_call) // pages
        api_p50, api_p95 = timed(api_call, args.runs)
        floor_p50, floor_p95 = timed(floor_call, args.runs)
        ratio = api_p50 / floor_p50 if floor_p50 else float("inf")
        flag = "" if ratio <= 3 else "  > 3x"
        print(
            f"{name:40} {api_p50:8.1f} {api_p95:7.1f} {floor_p50:9.1f} {floor_p95:7.1f} "
            f"{ratio:6.1f} {queries:7d}{flag}"
        )
    print("(queries: per request; ratio: api p50 / floor p50, target <= 3)")


if __name__ == "__main__":
    main()
