"""The large demo: five years of a growing studio, written with bulk inserts.

`build(owner=..., scale=1.0)` (used by `manage.py seed_demo --scale large` and by
bench/pages.py) writes, at scale 1: 2,000 clients, 20,000 orders with timelines for the
last year, 3,000 episodes of short dramas, 120,000 shots, 600,000 takes, 25,000
invoices with their lines and payments, 60,000 expenses (tool subscriptions with their
booked renewals, the rest mostly overhead) and daily USD/EUR/JPY rates. Volumes scale
linearly (`scale=0.001` for tests). The same seed gives the same data.

No per-row services: rows are built in memory and written with multi-row INSERTs
(`Writer`: Django's bulk_create costs ~0.5 ms a row in its SQL compiler here), but they
keep every rule the services keep — invoice totals are sums of rounded lines (billing
.calc), amount_paid is the sum of the payments and the status follows from it, numbers
INV/CN/ORD-YYYY-NNNN are gapless per year in date order with the studio Counter rows
at the last number, a take costs its seconds x the tool's price on its date
(orders.production.cost_of), subscriptions have every renewal up to today booked once.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
import random
import time
from collections import Counter as Tally
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.utils import timezone

from billing import calc
from billing.models import (
    ExchangeRate,
    Expense,
    Invoice,
    InvoiceEvent,
    InvoiceLine,
    Payment,
    Subscription,
)
from billing.models.invoices import snapshot_fields
from billing.services.issuing import payment_snapshot
from orders.models import Client, Episode, Order, OrderEvent, Shot, Tag, Take
from orders.production import cost_of
from studio.models import AITool, Counter, StudioProfile, ToolPrice
from studio.money import quantize
from studio.timeutil import due_from, local_date

S = Order.Status
IS = Invoice.Status
BATCH = 2000
YEARS = 5
# Orders per month grow linearly from 1 to GROWTH over the five years.
GROWTH = 4.0
RATES_TO_CNY = {"USD": Decimal("7.10"), "EUR": Decimal("7.80"), "JPY": Decimal("0.0480")}
CURRENCIES = [("CNY", 0.82), ("USD", 0.12), ("EUR", 0.04), ("JPY", 0.02)]
PRICE_RANGES: dict[str, tuple[int, int]] = {  # CNY
    Order.Kind.CLIP: (800, 3200),
    Order.Kind.AD: (1500, 9000),
    Order.Kind.MUSIC_VIDEO: (2000, 6000),
    Order.Kind.OTHER: (600, 2500),
    Order.Kind.SHORT_DRAMA: (8000, 32000),
}
VIDEO_TOOLS = ["Kling", "Hailuo 02", "Jimeng", "Veo 3", "PixVerse"]
HISTORY_NOTE = "Demo price history."
TAKE_COLUMNS = (
    "shot_id",
    "number",
    "tool_id",
    "mode",
    "prompt",
    "seed",
    "generated_seconds",
    "generated_on",
    "cost",
    "currency",
    "price_per_second",
    "is_selected",
    "created_by_id",
    "created_at",
)

CN_CITIES = ["上海", "杭州", "深圳", "成都", "北京", "广州", "苏州", "厦门"]
CN_NAMES = ["星河", "青禾", "拾光", "云栖", "知行", "月影", "山海", "锦程", "晨曦", "远航"]
CN_TRADES = ["电商", "茶饮", "文旅", "教育", "传媒", "科技", "美妆", "服饰", "游戏", "影业"]
EN_NAMES = ["Northwind", "Pacific", "Harbor Lane", "Bright Orchard", "Lumen", "Bluebird"]
EN_TRADES = ["Media", "Games", "Studios", "Apparel", "Skincare", "Labs", "Foods", "Travel"]
TITLES: dict[str, list[str]] = {
    Order.Kind.CLIP: ["产品短片", "种草短视频 3 条", "Product loop", "门店屏幕视频", "Teaser"],
    Order.Kind.AD: ["15 秒竖屏广告", "大促广告 30s", "Launch ad", "品牌 TVC 重制"],
    Order.Kind.MUSIC_VIDEO: ["AI MV", "Lyric video", "毕业季 MV"],
    Order.Kind.OTHER: ["直播间动画", "Logo sting"],
    Order.Kind.SHORT_DRAMA: ["AI 短剧", "Vertical drama season", "短剧试播集"],
}
TAGS = ["电商", "品牌", "短剧", "overseas", "urgent", "竖屏", "game", "文旅"]
BEATS = [
    ("EXT. NIGHT MARKET - NIGHT", "Steam curls off the stall as Maya lifts the shutter."),
    ("EXT. NIGHT MARKET - NIGHT", "Close on hands pulling noodles, fast and sure."),
    ("INT. OFFICE - DAY", "She reads the message twice, then deletes it."),
    ("EXT. ROOFTOP - NIGHT", "Wide: the two of them on the rooftop, city lights below."),
    ("INT. SUBWAY - MORNING", "He spots her reflection in the window."),
]
# name, plan, amount, currency, period, start (years after the first day), cancelled after
SUBSCRIPTIONS = [
    ("Kling", "黑金会员 月付", "266.00", "CNY", Subscription.Period.MONTHLY, 0.0, None),
    ("Hailuo 02", "Standard", "99.00", "CNY", Subscription.Period.MONTHLY, 1.5, None),
    ("Jimeng", "高级会员", "79.00", "CNY", Subscription.Period.MONTHLY, 0.5, None),
    ("Veo 3", "Google AI Pro", "19.99", "USD", Subscription.Period.MONTHLY, 3.5, None),
    ("PixVerse", "Pro yearly", "480.00", "USD", Subscription.Period.YEARLY, 1.0, 3.8),
    ("ElevenLabs", "Creator", "22.00", "USD", Subscription.Period.MONTHLY, 0.2, None),
    ("Suno", "Pro", "10.00", "USD", Subscription.Period.MONTHLY, 1.2, 3.2),
    ("CapCut / 剪映", "剪映专业版 年付", "499.00", "CNY", Subscription.Period.YEARLY, 0.0, None),
    ("DeepSeek", "API top-up plan", "300.00", "CNY", Subscription.Period.QUARTERLY, 2.0, None),
]
# category, weight, CNY range, on an order (share), vendors
EXPENSES = [
    (Expense.Category.GENERATION_CREDITS, 30, (20, 600), 0.5, ["可灵", "海螺", "即梦"]),
    (Expense.Category.DUBBING, 10, (50, 800), 0.5, ["ElevenLabs", "魔音工坊"]),
    (Expense.Category.MUSIC_LICENCE, 10, (30, 1200), 0.4, ["Artlist", "Epidemic Sound"]),
    (Expense.Category.STOCK, 15, (10, 400), 0.3, ["Shutterstock", "视觉中国"]),
    (Expense.Category.FREELANCER, 8, (300, 3000), 0.6, ["自由剪辑师", "Voice actor"]),
    (Expense.Category.HARDWARE, 2, (500, 12000), 0.0, ["京东", "Apple"]),
    (Expense.Category.OTHER, 25, (10, 800), 0.05, ["阿里云", "滴滴", "办公室", "顺丰"]),
]


@dataclass(frozen=True)
class Volumes:
    clients: int
    orders: int
    episodes: int
    shots: int
    takes: int
    invoices: int
    expenses: int

    @classmethod
    def at(cls, scale: float) -> Volumes:
        full = cls(2000, 20000, 3000, 120000, 600000, 25000, 60000)
        return cls(
            **{
                name: max(1, round(getattr(full, name) * scale))
                for name in cls.__dataclass_fields__
            }
        )


@dataclass
class OrderPlan:
    """What build() decided for one order before writing it."""

    index: int
    client: int  # index into the client list
    created: dt.datetime
    status: str
    kind: str
    currency: str
    price: Decimal
    deposit_percent: Decimal
    turnaround: int
    revisions: int
    times: dict[str, dt.datetime] = field(default_factory=dict)  # to_status -> when
    path: list[str] = field(default_factory=list)
    pk: int = 0
    reference: str = ""

    @property
    def accepted(self) -> dt.datetime | None:
        return self.times.get(S.ACCEPTED)

    @property
    def delivered(self) -> dt.datetime | None:
        return self.times.get(S.DELIVERED)


class Writer:
    """Multi-row INSERTs of model instances or plain rows, with ids given by the writer
    (so that rows can point at each other without reading ids back); sequences are
    reset at the end. Values are adapted per field type, as Django would."""

    def __init__(self) -> None:
        self.ops = connection.ops
        self.next_ids: dict[type[models.Model], int] = {}
        self.models: set[type[models.Model]] = set()

    def adapter(self, f: models.Field) -> Callable[[Any], Any]:
        if isinstance(f, models.DateTimeField):
            return self.ops.adapt_datetimefield_value
        if isinstance(f, models.DateField):
            return self.ops.adapt_datefield_value
        if isinstance(f, models.JSONField):
            return lambda value: f.get_db_prep_save(value, connection)
        if isinstance(f, models.FileField):
            return lambda value: str(value or "")
        return lambda value: value

    def take_ids(self, model: type[models.Model], count: int) -> int:
        """The first of count new ids for model."""
        if model not in self.next_ids:
            top = model._default_manager.aggregate(m=models.Max("pk"))["m"] or 0
            self.next_ids[model] = top + 1
        first = self.next_ids[model]
        self.next_ids[model] = first + count
        return first

    def write(self, objs: list[Any]) -> list[Any]:
        """Insert the instances (all of one model) with new ids; returns them."""
        if not objs:
            return objs
        model = type(objs[0])
        first = self.take_ids(model, len(objs))
        for offset, obj in enumerate(objs):
            obj.pk = first + offset
        fields = model._meta.concrete_fields
        names = [f.attname for f in fields]
        adapters = [self.adapter(f) for f in fields]
        rows = (
            [adapt(getattr(obj, name)) for name, adapt in zip(names, adapters, strict=True)]
            for obj in objs
        )
        self.insert(model, [f.column for f in fields], rows)
        return objs

    def write_rows(
        self, model: type[models.Model], columns: Sequence[str], rows: Iterable[Sequence[Any]]
    ) -> int:
        """Insert plain rows (adapted values for `columns`, given as attnames); the other
        columns get their field's default and the database gives the ids."""
        meta = model._meta
        given = set(columns)
        fixed = [
            (f.column, self.adapter(f)(f.get_default()))
            for f in meta.concrete_fields
            if f.attname not in given and not f.primary_key
        ]
        tail = [value for _column, value in fixed]
        names = [str(meta.get_field(c).column) for c in columns] + [c for c, _v in fixed]  # type: ignore[union-attr]
        self.models.add(model)
        return self.insert(model, names, ([*row, *tail] for row in rows))

    def insert(self, model: type[models.Model], columns: list[str], rows: Iterable[Any]) -> int:
        quote = self.ops.quote_name
        if connection.vendor == "postgresql":
            # COPY: an INSERT's parameters are quoted one by one in Python by the client
            # cursor Django uses, ten times slower than streaming the rows.
            names = ", ".join(quote(c) for c in columns)
            count = 0
            with (
                connection.cursor() as wrapper,
                wrapper.cursor.copy(
                    f"COPY {quote(model._meta.db_table)} ({names}) FROM STDIN"
                ) as copy,
            ):
                for row in rows:
                    copy.write_row(row)
                    count += 1
            return count
        head = (
            f"INSERT INTO {quote(model._meta.db_table)} "
            f"({', '.join(quote(c) for c in columns)}) VALUES "
        )
        one = "(" + ", ".join(["%s"] * len(columns)) + ")"
        size = max(1, min(1000, 30000 // len(columns)))
        written = 0
        chunk: list[Any] = []
        with connection.cursor() as cursor:
            for row in rows:
                chunk.append(row)
                if len(chunk) == size:
                    cursor.execute(head + ", ".join([one] * size), [v for r in chunk for v in r])
                    written += size
                    chunk = []
            if chunk:
                cursor.execute(head + ", ".join([one] * len(chunk)), [v for r in chunk for v in r])
                written += len(chunk)
        return written

    def reset_sequences(self) -> None:
        """PostgreSQL: move the id sequences past the ids written (SQLite's AUTOINCREMENT
        follows by itself)."""
        statements = self.ops.sequence_reset_sql(no_style(), list(self.next_ids))
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)


class Builder:
    def __init__(
        self,
        *,
        owner: Any,
        producer: Any = None,
        artists: Sequence[Any] = (),
        scale: float = 1.0,
        seed: int = 2026,
        now: dt.datetime | None = None,
        out: Callable[[str], Any] | None = None,
    ) -> None:
        self.rng = random.Random(seed)
        self.scale = scale
        self.volumes = Volumes.at(scale)
        self.owner = owner
        self.producer = producer or owner
        self.artists = list(artists)
        self.now = now or timezone.now()
        self.zone = StudioProfile.load().zone
        self.today = local_date(self.now, self.zone)
        self.start = self.now - dt.timedelta(days=round(365.25 * YEARS))
        self.out = out or (lambda _text: None)
        self.counts: dict[str, int] = {}
        self.clients: list[Client] = []
        self.client_times: list[dt.datetime] = []
        self.dramas: list[OrderPlan] = []
        self.plans: list[OrderPlan] = []
        self.prices: dict[int, list[ToolPrice]] = {}
        self.tools: dict[str, AITool] = {}
        self._clock = time.perf_counter()
        self.writer = Writer()
        self._noons: dict[dt.date, Any] = {}

    # --- helpers ------------------------------------------------------------------------

    def done(self, table: str, count: int) -> None:
        elapsed = time.perf_counter() - self._clock
        self.counts[table] = self.counts.get(table, 0) + count
        self.out(f"  {table:<22} {count:>8,d} rows  {elapsed:6.1f} s")
        self._clock = time.perf_counter()

    def moment(self) -> dt.datetime:
        """A time in the five years, denser towards now (the studio grows)."""
        # Density 1 + (GROWTH - 1) u on [0, 1]: invert its cumulative distribution.
        g = GROWTH - 1
        u = (math.sqrt(1 + g * (2 + g) * self.rng.random()) - 1) / g
        return self.start + (self.now - self.start) * u

    def day(self, day: dt.date) -> Any:
        return connection.ops.adapt_datefield_value(day)

    def noon(self, day: dt.date) -> Any:
        """Midday of a studio-local day, adapted for the database (cached per day)."""
        if day not in self._noons:
            moment = dt.datetime.combine(day, dt.time(12), tzinfo=self.zone)
            self._noons[day] = connection.ops.adapt_datetimefield_value(moment)
        return self._noons[day]

    def local(self, moment: dt.datetime) -> dt.date:
        return local_date(moment, self.zone)

    def money(self, cny: float, currency: str) -> Decimal:
        amount = Decimal(str(round(cny, 2))) / (
            RATES_TO_CNY[currency] if currency != "CNY" else Decimal(1)
        )
        # Round prices the way people do: to whole units (tens of yen).
        step = Decimal(10) if currency == "JPY" else Decimal(1)
        return max(step, (amount / step).quantize(Decimal(1)) * step)

    # --- the build ----------------------------------------------------------------------

    def run(self) -> dict[str, int]:
        self.catalog()
        self.rates()
        self.make_clients()
        self.make_orders()
        self.make_breakdown()
        self.make_invoices()
        self.make_expenses()
        self.writer.reset_sequences()
        return self.counts

    def catalog(self) -> None:
        """Older, higher prices for the catalog's video tools, so that every take of the
        five years has a price in force."""
        tools = {t.name: t for t in AITool.objects.filter(name__in=VIDEO_TOOLS)}
        missing = [name for name in VIDEO_TOOLS if name not in tools]
        for name in missing:
            tools[name] = AITool.objects.create(name=name, kind=AITool.Kind.VIDEO_MODEL)
        first = self.start.date() - dt.timedelta(days=31)
        history = [(first, Decimal("1.5")), (dt.date(first.year + 2, 7, 1), Decimal("1.2"))]
        added = []
        for tool in tools.values():
            existing = list(tool.prices.order_by("effective_from"))
            base = existing[0].per_second if existing else Decimal("0.40")
            taken = {p.effective_from for p in existing}
            for day, factor in history:
                if not existing or (day < existing[0].effective_from and day not in taken):
                    added.append(
                        ToolPrice(
                            tool=tool,
                            effective_from=day,
                            per_second=(base * factor).quantize(Decimal("0.0001")),
                            currency="CNY",
                            note=HISTORY_NOTE,
                        )
                    )
        ToolPrice.objects.bulk_create(added)
        self.tools = tools
        self.prices = {
            t.pk: list(t.prices.order_by("-effective_from")) for t in AITool.objects.all()
        }
        self.done("tool prices", len(added))

    def rates(self) -> None:
        rows = []
        first = self.start.date() - dt.timedelta(days=31)
        # Daily; weekly for a tiny build (a conversion takes the latest rate before).
        step = dt.timedelta(days=1 if self.scale >= 0.1 else 7)
        for currency, base in RATES_TO_CNY.items():
            level = 1.0
            day = first
            while day <= self.today:
                level = min(1.12, max(0.9, level * (1 + self.rng.gauss(0, 0.003))))
                rows.append(
                    ExchangeRate(
                        currency=currency,
                        quote_currency="CNY",
                        on=day,
                        rate=(base * Decimal(str(round(level, 6)))).quantize(Decimal("0.000001")),
                        source=ExchangeRate.Source.CSV,
                        created_by=self.owner,
                        created_at=self.now,
                        updated_at=self.now,
                    )
                )
                day += step
        self.writer.write(rows)
        self.done("exchange rates", len(rows))

    def make_clients(self) -> None:
        rng = self.rng
        created = sorted(self.moment() for _ in range(self.volumes.clients))
        created[0] = self.start
        rows = []
        for i, moment in enumerate(created):
            currency = rng.choices([c for c, _w in CURRENCIES], [w for _c, w in CURRENCIES])[0]
            chinese = currency == "CNY"
            if chinese:
                name = rng.choice(CN_CITIES) + rng.choice(CN_NAMES) + rng.choice(CN_TRADES)
                contact = rng.choice("王李张刘陈杨黄赵周吴") + rng.choice(
                    ["磊", "敏", "思", "浩", "婷"]
                )
            else:
                name = f"{rng.choice(EN_NAMES)} {rng.choice(EN_TRADES)}"
                contact = rng.choice(["Karen Wong", "Jordan Reyes", "Emily Carter", "Yuki Sato"])
            rows.append(
                Client(
                    name=f"{name} {i + 1}" if i >= 50 else name,
                    contact_name=contact,
                    email=f"contact{i + 1}@client{i + 1}.example",
                    country="CN" if chinese else {"USD": "US", "EUR": "DE", "JPY": "JP"}[currency],
                    language="zh-hans" if chinese else "en",
                    currency=currency,
                    tax_id=f"91310000MA{i:08d}" if chinese and rng.random() < 0.6 else "",
                    created_at=moment,
                    updated_at=moment,
                )
            )
        self.clients = self.writer.write(rows)
        self.client_times = [c.created_at for c in self.clients]
        self.done("clients", len(rows))

    # --- orders -------------------------------------------------------------------------

    def pick_status(self, age: float) -> str:
        if age >= 45:
            table = {S.COMPLETED: 88, S.CANCELLED: 10, S.ON_HOLD: 1, S.DELIVERED: 1}
        elif age >= 20:
            table = {
                S.COMPLETED: 70,
                S.DELIVERED: 8,
                S.CANCELLED: 8,
                S.IN_REVIEW: 4,
                S.REVISION: 3,
                S.ON_HOLD: 4,
                S.IN_PRODUCTION: 3,
            }
        elif age >= 7:
            table = {
                S.IN_PRODUCTION: 25,
                S.IN_REVIEW: 15,
                S.REVISION: 10,
                S.DELIVERED: 15,
                S.COMPLETED: 15,
                S.ACCEPTED: 5,
                S.ON_HOLD: 5,
                S.CANCELLED: 5,
                S.QUOTED: 5,
            }
        else:
            table = {
                S.INQUIRY: 25,
                S.QUOTED: 25,
                S.ACCEPTED: 20,
                S.IN_PRODUCTION: 20,
                S.IN_REVIEW: 5,
                S.CANCELLED: 5,
            }
        return self.rng.choices(list(table), list(table.values()))[0]

    def plan_path(self, plan: OrderPlan) -> None:
        """The statuses the order went through, with when (compressed into its age)."""
        rng = self.rng
        status = plan.status
        produce: list[str] = [S.ACCEPTED, S.IN_PRODUCTION, S.IN_REVIEW]
        loops = [S.REVISION, S.IN_PRODUCTION, S.IN_REVIEW] * plan.revisions
        path: list[str]
        if status == S.INQUIRY:
            path = []
        elif status == S.QUOTED:
            path = [S.QUOTED]
        elif status in {S.ACCEPTED, S.IN_PRODUCTION}:
            path = [S.QUOTED, *produce[: produce.index(status) + 1]]
        elif status == S.IN_REVIEW:
            path = [S.QUOTED, *produce, *loops]
        elif status == S.REVISION:
            path = [S.QUOTED, *produce, *loops[:-2]]
        elif status in {S.DELIVERED, S.COMPLETED}:
            path = [S.QUOTED, *produce, *loops, S.DELIVERED]
            if status == S.COMPLETED:
                path.append(S.COMPLETED)
        elif status == S.ON_HOLD:
            path = [S.QUOTED, S.ACCEPTED, S.IN_PRODUCTION, S.ON_HOLD]
        else:  # cancelled: most before the work started
            path = [S.QUOTED] if rng.random() < 0.6 else [S.QUOTED, S.ACCEPTED, S.IN_PRODUCTION]
            path.append(S.CANCELLED)
        # Offsets in days from the inquiry.
        offsets: list[float] = []
        t = accepted_at = 0.0
        work = plan.turnaround * rng.uniform(0.6, 1.3)
        steps_in_work = max(1, sum(1 for s in path if s in {S.IN_REVIEW, S.REVISION}) + 1)
        for step in path:
            if step == S.QUOTED:
                t += rng.uniform(0.05, 1.5)
            elif step == S.ACCEPTED:
                t += rng.uniform(0.2, 2.5)
                accepted_at = t
            elif step == S.IN_PRODUCTION and S.IN_PRODUCTION not in path[: len(offsets)]:
                t += rng.uniform(0.0, 1.0)
            elif step in {S.IN_REVIEW, S.REVISION, S.IN_PRODUCTION}:
                t += work / steps_in_work / 2
            elif step == S.DELIVERED:
                t = max(t + 0.1, accepted_at + work)
            elif step == S.COMPLETED:
                t += rng.uniform(0.3, 6)
            else:  # on hold, cancelled
                t += rng.uniform(0.5, 5)
            offsets.append(t)
        age = (self.now - plan.created).total_seconds() / 86400
        room = age * rng.uniform(0.7, 0.97)
        if offsets and offsets[-1] > room:
            factor = room / offsets[-1]
            offsets = [o * factor for o in offsets]
        plan.path = path
        plan.times = {}
        for step, offset in zip(path, offsets, strict=True):
            plan.times[step] = plan.created + dt.timedelta(days=offset)  # last one wins

    def make_orders(self) -> None:
        rng, volumes = self.rng, self.volumes
        created = sorted(self.moment() for _ in range(volumes.orders))
        plans: list[OrderPlan] = []
        kinds = [Order.Kind.CLIP, Order.Kind.AD, Order.Kind.MUSIC_VIDEO, Order.Kind.OTHER]
        for i, moment in enumerate(created):
            available = max(1, bisect.bisect_right(self.client_times, moment))
            # Loyal clients: the older ones order more.
            client = min(available - 1, int(available * rng.random() ** 1.6))
            age = (self.now - moment).total_seconds() / 86400
            status = self.pick_status(age)
            plans.append(
                OrderPlan(
                    index=i,
                    client=client,
                    created=moment,
                    status=status,
                    kind=rng.choices(kinds, [55, 32, 8, 5])[0],
                    currency=self.clients[client].currency,
                    price=Decimal(0),
                    deposit_percent=Decimal(rng.choice([50, 50, 50, 30, 100, 0])),
                    turnaround=rng.choice([5, 7, 7, 7, 7, 10, 10, 14]),
                    revisions=rng.choice([0, 0, 0, 1, 1, 2, 3]) if status != S.REVISION else 1,
                )
            )
        # Short dramas: the orders whose work started, ~6 episodes each.
        started = [p for p in plans if p.status not in {S.INQUIRY, S.QUOTED, S.CANCELLED}]
        dramas = rng.sample(started, min(len(started), max(1, round(volumes.episodes / 6))))
        for plan in dramas:
            plan.kind = Order.Kind.SHORT_DRAMA
            plan.turnaround = rng.choice([14, 21, 30])
        self.dramas = sorted(dramas, key=lambda p: p.index)
        for plan in plans:
            low, high = PRICE_RANGES[plan.kind]
            plan.price = self.money(rng.uniform(low, high), plan.currency)
            self.plan_path(plan)
        # References: ORD-<UTC year of creation>-NNNN, as orders.services numbers them.
        per_year: Tally[int] = Tally()
        for plan in plans:
            year = plan.created.year
            per_year[year] += 1
            plan.reference = f"ORD-{year}-{per_year[year]:04d}"
        self.order_years = per_year
        rows = []
        team = [None, *self.artists] if self.artists else [None]
        for plan in plans:
            last = max(plan.times.values(), default=plan.created)
            accepted = plan.accepted
            assignee = rng.choice(team) if accepted else None
            rows.append(
                Order(
                    reference=plan.reference,
                    client=self.clients[plan.client],
                    title=f"{rng.choice(TITLES[plan.kind])} #{plan.index + 1}",
                    kind=plan.kind,
                    price=plan.price,
                    currency=plan.currency,
                    deposit_percent=plan.deposit_percent,
                    turnaround_days=plan.turnaround,
                    revision_rounds_included=2,
                    revision_rounds_used=sum(1 for s in plan.path if s == S.REVISION),
                    assignee=assignee,
                    status=plan.status,
                    status_before_hold=S.IN_PRODUCTION if plan.status == S.ON_HOLD else "",
                    status_changed_at=last,
                    accepted_at=accepted,
                    due_at=due_from(accepted, days=plan.turnaround, zone=self.zone)
                    if accepted
                    else None,
                    delivered_at=plan.delivered,
                    completed_at=plan.times.get(S.COMPLETED),
                    created_by=self.owner if plan.index % 3 == 0 else self.producer,
                    created_at=plan.created,
                    updated_at=last,
                )
            )
        saved = self.writer.write(rows)
        for plan, order in zip(plans, saved, strict=True):
            plan.pk = order.pk
        self.plans = plans
        self.done("orders", len(rows))
        counters = [Counter(series="ORD", year=y, value=n) for y, n in sorted(per_year.items())]
        Counter.objects.bulk_create(counters)
        self.done("counters (ORD)", len(counters))
        self.make_order_events()
        self.make_tags()

    def make_order_events(self) -> None:
        """Full timelines for the last year's orders (older ones keep their dates only)."""
        since = self.now - dt.timedelta(days=365)
        actors = {self.owner.pk: self.owner, self.producer.pk: self.producer}
        labels = {pk: str(u.get_full_name() or u.get_username()) for pk, u in actors.items()}
        rows = []
        for plan in self.plans:
            if plan.created < since:
                continue
            actor = self.owner if plan.index % 3 == 0 else self.producer
            rows.append(
                OrderEvent(
                    order_id=plan.pk,
                    kind=OrderEvent.Kind.CREATED,
                    to_status=S.INQUIRY,
                    actor=actor,
                    actor_label=labels[actor.pk],
                    created_at=plan.created,
                )
            )
            previous: str = S.INQUIRY
            for step, moment in zip(plan.path, self._path_times(plan), strict=True):
                rows.append(
                    OrderEvent(
                        order_id=plan.pk,
                        kind=OrderEvent.Kind.STATUS_CHANGED,
                        from_status=previous,
                        to_status=step,
                        actor=actor,
                        actor_label=labels[actor.pk],
                        created_at=moment,
                    )
                )
                previous = step
        self.writer.write(rows)
        self.done("order events", len(rows))

    def _path_times(self, plan: OrderPlan) -> list[dt.datetime]:
        """A time for every step of the path, increasing, matching plan.times at the
        last occurrence of each status."""
        times: list[dt.datetime] = []
        last = plan.created
        for position, step in enumerate(plan.path):
            final = step not in plan.path[position + 1 :]
            if final:
                moment = plan.times[step]
            else:
                # An earlier round of the loop: between the previous step and the end.
                following = min(
                    (plan.times[s] for s in plan.path[position + 1 :] if s in plan.times),
                    default=last,
                )
                moment = last + (max(following, last) - last) / 3
            moment = max(moment, last + dt.timedelta(seconds=1))
            times.append(moment)
            last = moment
        return times

    def make_tags(self) -> None:
        tags = {name: Tag.objects.get_or_create(name=name)[0] for name in TAGS}
        through = Order.tags.through
        rows = []
        for plan in self.plans:
            if self.rng.random() < 0.3:
                for name in self.rng.sample(TAGS, self.rng.randint(1, 2)):
                    rows.append(through(order_id=plan.pk, tag_id=tags[name].pk))
        self.writer.write(rows)
        self.done("order tags", len(rows))

    # --- production ---------------------------------------------------------------------

    def make_breakdown(self) -> None:
        rng, volumes = self.rng, self.volumes
        counts = self._spread(volumes.episodes, len(self.dramas), low=1)
        episode_rows = []
        episode_plans: list[tuple[OrderPlan, str]] = []
        for plan, count in zip(self.dramas, counts, strict=True):
            finished = plan.status in {S.DELIVERED, S.COMPLETED}
            for number in range(1, count + 1):
                share = number / count
                status: str
                if finished:
                    status = Episode.Status.APPROVED
                elif plan.status in {S.IN_REVIEW, S.REVISION}:
                    status = Episode.Status.APPROVED if share < 0.7 else Episode.Status.IN_REVIEW
                elif plan.status in {S.IN_PRODUCTION, S.ON_HOLD, S.CANCELLED}:
                    status = (
                        Episode.Status.APPROVED
                        if share < 0.3
                        else Episode.Status.IN_PRODUCTION
                        if share < 0.6
                        else Episode.Status.PLANNED
                    )
                else:
                    status = Episode.Status.PLANNED
                moment = plan.accepted or plan.created
                episode_rows.append(
                    Episode(
                        order_id=plan.pk,
                        number=number,
                        title=f"Episode {number}",
                        status=status,
                        created_at=moment,
                        updated_at=moment,
                    )
                )
                episode_plans.append((plan, status))
        episodes = self.writer.write(episode_rows)
        self.done("episodes", len(episodes))

        shot_counts = self._spread(volumes.shots, len(episodes), low=1)
        video_tools = list(self.tools.values())
        workers = self.artists or [self.owner]
        shot_status_tables: dict[str, dict[str, int]] = {
            Episode.Status.APPROVED: {Shot.Status.APPROVED: 97, Shot.Status.OMITTED: 3},
            Episode.Status.IN_REVIEW: {
                Shot.Status.APPROVED: 70,
                Shot.Status.REVIEW: 25,
                Shot.Status.OMITTED: 5,
            },
            Episode.Status.IN_PRODUCTION: {
                Shot.Status.APPROVED: 35,
                Shot.Status.REVIEW: 15,
                Shot.Status.GENERATING: 20,
                Shot.Status.TODO: 30,
            },
            Episode.Status.PLANNED: {Shot.Status.TODO: 1},
        }
        # Plan every shot first: the take budget goes to the shots that were worked on.
        shot_specs: list[tuple[int, int, str]] = []  # (episode index, position, status)
        for e_index, count in enumerate(shot_counts):
            table = shot_status_tables[episode_plans[e_index][1]]
            statuses = rng.choices(list(table), list(table.values()), k=count)
            shot_specs.extend((e_index, pos, st) for pos, st in enumerate(statuses, start=1))
        idle = {Shot.Status.TODO, Shot.Status.OMITTED}
        worked = sum(1 for _e, _p, st in shot_specs if st not in idle)
        mean_takes = volumes.takes / max(1, worked)
        high = max(1, round(2 * mean_takes - 1))
        shots_written = takes_written = 0
        t_shots = t_takes = 0.0
        for chunk_start in range(0, len(shot_specs), 10000):
            chunk = shot_specs[chunk_start : chunk_start + 10000]
            t0 = time.perf_counter()
            rows = []
            for e_index, position, shot_status in chunk:
                plan = episode_plans[e_index][0]
                scene, description = BEATS[(position + e_index) % len(BEATS)]
                moment = plan.accepted or plan.created
                rows.append(
                    Shot(
                        episode=episodes[e_index],
                        code=f"{position * 10:03d}",
                        position=position,
                        scene=scene,
                        description=description,
                        planned_seconds=Decimal(rng.choice([2, 3, 3, 3, 4, 5])),
                        status=shot_status,
                        assignee=workers[position % len(workers)],
                        tool=video_tools[(position + e_index) % len(video_tools)],
                        created_at=moment,
                        updated_at=moment,
                    )
                )
            shots = self.writer.write(rows)
            shots_written += len(shots)
            t1 = time.perf_counter()
            t_shots += t1 - t0
            takes = []
            for shot, (e_index, _position, shot_status) in zip(shots, chunk, strict=True):
                if shot_status == Shot.Status.TODO:
                    continue
                plan = episode_plans[e_index][0]
                n = rng.randint(1, high)
                if shot_status == Shot.Status.OMITTED:
                    n = rng.randint(0, 2)
                first = self.local(plan.accepted or plan.created)
                last = self.local(plan.delivered or self.now)
                span = max(0, (last - first).days)
                selects = shot_status in {Shot.Status.APPROVED, Shot.Status.REVIEW}
                for number in range(1, n + 1):
                    tool = rng.choice(video_tools)
                    day = first + dt.timedelta(days=round(span * number / (n + 1)))
                    seconds = Decimal(rng.choice([5, 5, 5, 6, 8, 10]))
                    costing = cost_of(
                        tool=tool, seconds=seconds, day=day, prices=self.prices[tool.pk]
                    )
                    takes.append(
                        (
                            shot.pk,
                            number,
                            tool.pk,
                            Take.Mode.IMAGE_TO_VIDEO if number > 1 else Take.Mode.TEXT_TO_VIDEO,
                            shot.description,
                            str(rng.randint(1000, 999999)),
                            seconds,
                            self.day(day),
                            costing.cost,
                            costing.currency,
                            costing.per_second,
                            selects and number == n,
                            shot.assignee_id,
                            self.noon(day),
                        )
                    )
            self.writer.write_rows(Take, TAKE_COLUMNS, takes)
            takes_written += len(takes)
            t_takes += time.perf_counter() - t1
            if shots_written % 40000 == 0:
                self.out(f"    … {shots_written:,d} shots, {takes_written:,d} takes")
        self.out(f"  {'shots':<22} {shots_written:>8,d} rows  {t_shots:6.1f} s")
        self.out(f"  {'takes':<22} {takes_written:>8,d} rows  {t_takes:6.1f} s")
        self.counts["shots"] = shots_written
        self.counts["takes"] = takes_written
        self._clock = time.perf_counter()

    def _spread(self, total: int, buckets: int, *, low: int) -> list[int]:
        """total split over buckets, each at least low, varying ±50% around the mean."""
        if buckets == 0:
            return []
        weights = [self.rng.uniform(0.5, 1.5) for _ in range(buckets)]
        scale = max(0, total - low * buckets) / sum(weights)
        counts = [low + int(w * scale) for w in weights]
        for i in range(max(0, total - sum(counts))):
            counts[i % buckets] += 1
        return counts

    # --- invoices -----------------------------------------------------------------------

    def make_invoices(self) -> None:
        rng, target = self.rng, self.volumes.invoices
        profile = StudioProfile.load()
        seller = snapshot_fields(
            profile, ("name", "legal_name", "address", "tax_id", "email", "phone", "wechat_id")
        )
        seller["logo"] = ""
        payment_details = payment_snapshot()
        finals = [p for p in self.plans if p.delivered is not None]
        deposits = [
            p
            for p in self.plans
            if p.accepted is not None and 0 < p.deposit_percent < 100 and p.status != S.CANCELLED
        ]
        credit_notes = max(0, round(target * 0.003)) if target >= 300 else 0
        room = target - credit_notes
        if room < len(finals):
            finals = sorted(rng.sample(finals, room), key=lambda p: p.index)
            deposits = []
        else:
            deposits = sorted(
                rng.sample(deposits, min(len(deposits), room - len(finals))),
                key=lambda p: p.index,
            )
        with_deposit = {p.index for p in deposits}
        # (issue moment, plan, purpose)
        specs: list[tuple[dt.datetime, OrderPlan, str]] = []
        for plan in deposits:
            assert plan.accepted is not None
            specs.append((plan.accepted + dt.timedelta(hours=2), plan, Invoice.Purpose.DEPOSIT))
        for plan in finals:
            assert plan.delivered is not None
            final = plan.index in with_deposit
            last_one = Invoice.Purpose.FINAL if final else Invoice.Purpose.STANDARD
            specs.append((plan.delivered + dt.timedelta(hours=3), plan, last_one))
        latest = self.now - dt.timedelta(minutes=1)
        specs = sorted(
            ((min(m, latest), p, k) for m, p, k in specs), key=lambda s: (s[0], s[1].index)
        )
        per_year: Tally[tuple[str, int]] = Tally()
        invoices: list[Invoice] = []
        lines: list[list[InvoiceLine]] = []
        payments: list[list[Payment]] = []
        for moment, plan, purpose in specs:
            client = self.clients[plan.client]
            issue_day = self.local(moment)
            fresh = (self.today - issue_day).days
            draft = purpose != Invoice.Purpose.DEPOSIT and fresh <= 2 and rng.random() < 0.5
            tax_rate = Decimal(rng.choice([1, 1, 6, 0])) if plan.currency == "CNY" else Decimal(0)
            deposit = quantize(plan.price * plan.deposit_percent / 100, plan.currency)
            ref = plan.reference
            if purpose == Invoice.Purpose.DEPOSIT:
                items = [(f"Deposit ({plan.deposit_percent:.0f}%) for {ref}", deposit)]
            elif purpose == Invoice.Purpose.FINAL:
                items = [(f"Balance for {ref}", plan.price - deposit)]
            else:
                items = [(f"Video production {ref}", plan.price)]
            if purpose != Invoice.Purpose.DEPOSIT and rng.random() < 0.15:
                items.append(
                    ("Extra revision round", self.money(rng.uniform(200, 800), plan.currency))
                )
            invoice_lines = []
            amounts = []
            for position, (description, unit_price) in enumerate(items, start=1):
                amount = calc.line_amounts(
                    quantity=Decimal(1),
                    unit_price=unit_price,
                    tax_rate=tax_rate,
                    currency=plan.currency,
                    prices_include_tax=False,
                )
                amounts.append(amount)
                invoice_lines.append(
                    InvoiceLine(
                        position=position,
                        description=description,
                        quantity=Decimal(1),
                        unit="项",
                        unit_price=unit_price,
                        tax_rate=tax_rate,
                        net_amount=amount.net,
                        tax_amount=amount.tax,
                        gross_amount=amount.gross,
                    )
                )
            totals = calc.totals(amounts)
            net_days = rng.choice([7, 7, 14, 30])
            invoice = Invoice(
                kind=Invoice.Kind.INVOICE,
                purpose=purpose,
                status=IS.DRAFT,
                client=client,
                order_id=plan.pk,
                currency=plan.currency,
                language=client.language,
                net_days=net_days,
                subtotal=totals.subtotal,
                tax_total=totals.tax,
                total=totals.total,
                created_by=self.owner,
                created_at=moment,
                updated_at=moment,
            )
            invoice_payments: list[Payment] = []
            if not draft:
                year = issue_day.year
                per_year["INV", year] += 1
                sequence = per_year["INV", year]
                invoice.series, invoice.year, invoice.sequence = "INV", year, sequence
                invoice.number = f"INV-{year}-{sequence:04d}"
                invoice.issue_date = issue_day
                invoice.due_date = issue_day + dt.timedelta(days=net_days)
                invoice.seller = seller
                invoice.buyer = snapshot_fields(
                    client,
                    (
                        "name",
                        "contact_name",
                        "billing_address",
                        "tax_id",
                        "email",
                        "phone",
                        "country",
                    ),
                )
                invoice.payment_details = payment_details
                invoice.status = IS.ISSUED
                invoice_payments = self._payments(invoice, plan, fresh)
                invoice.amount_paid = sum((p.amount for p in invoice_payments), Decimal(0))
                if invoice.amount_paid >= invoice.total:
                    invoice.status = IS.PAID
                elif invoice.amount_paid > 0:
                    invoice.status = IS.PARTIALLY_PAID
                elif fresh > 60 and rng.random() < 0.05:
                    invoice.status = IS.VOID
                    invoice.void_reason = "Issued twice by mistake."
                    invoice.voided_at = moment + dt.timedelta(days=1)
                if invoice.status != IS.ISSUED:
                    invoice.updated_at = moment + dt.timedelta(days=1)
            invoices.append(invoice)
            lines.append(invoice_lines)
            payments.append(invoice_payments)
        # Credit notes cancel some unpaid, older invoices in full.
        unpaid = [i for i, inv in enumerate(invoices) if inv.status == IS.ISSUED and inv.issue_date]
        notes: list[tuple[int, Invoice, list[InvoiceLine]]] = []
        for index in sorted(rng.sample(unpaid, min(len(unpaid), credit_notes))):
            original = invoices[index]
            assert original.issue_date is not None
            day = min(self.today, original.issue_date + dt.timedelta(days=rng.randint(3, 30)))
            original.amount_credited = original.total
            original.status = IS.CREDITED
            note = Invoice(
                kind=Invoice.Kind.CREDIT_NOTE,
                purpose=Invoice.Purpose.CREDIT,
                status=IS.ISSUED,
                client=original.client,
                order_id=original.order_id,
                currency=original.currency,
                language=original.language,
                net_days=original.net_days,
                subject=f"Credit note for {original.number}",
                issue_date=day,
                subtotal=original.subtotal,
                tax_total=original.tax_total,
                total=original.total,
                seller=seller,
                buyer=original.buyer,
                created_by=self.owner,
                created_at=dt.datetime.combine(day, dt.time(10), tzinfo=self.zone),
                updated_at=dt.datetime.combine(day, dt.time(10), tzinfo=self.zone),
            )
            copied = [
                InvoiceLine(
                    position=line.position,
                    description=line.description,
                    quantity=line.quantity,
                    unit=line.unit,
                    unit_price=line.unit_price,
                    tax_rate=line.tax_rate,
                    net_amount=line.net_amount,
                    tax_amount=line.tax_amount,
                    gross_amount=line.gross_amount,
                )
                for line in lines[index]
            ]
            notes.append((index, note, copied))
        notes.sort(key=lambda n: (n[1].issue_date, n[0]))
        for _index, note, _copied in notes:
            assert note.issue_date is not None
            year = note.issue_date.year
            per_year["CN", year] += 1
            note.series, note.year, note.sequence = "CN", year, per_year["CN", year]
            note.number = f"CN-{year}-{note.sequence:04d}"

        saved = self.writer.write(invoices)
        for _index, note, _copied in notes:
            note.credited_invoice = saved[_index]
        saved_notes = self.writer.write([n[1] for n in notes])
        self.done("invoices", len(saved) + len(saved_notes))
        line_rows = []
        for invoice, invoice_lines in zip(saved, lines, strict=True):
            for line in invoice_lines:
                line.invoice = invoice
                line_rows.append(line)
        for note, (_index, _note, copied) in zip(saved_notes, notes, strict=True):
            for line in copied:
                line.invoice = note
                line_rows.append(line)
        self.writer.write(line_rows)
        self.done("invoice lines", len(line_rows))
        payment_rows = []
        for invoice, invoice_payments in zip(saved, payments, strict=True):
            for payment in invoice_payments:
                payment.invoice = invoice
                payment_rows.append(payment)
        self.writer.write(payment_rows)
        self.done("payments", len(payment_rows))
        self._invoice_events([*saved, *saved_notes], payment_rows)
        counters = [
            Counter(series=series, year=year, value=value)
            for (series, year), value in sorted(per_year.items())
        ]
        Counter.objects.bulk_create(counters)
        self.done("counters (INV, CN)", len(counters))

    def _payments(self, invoice: Invoice, plan: OrderPlan, fresh: int) -> list[Payment]:
        """What the client paid: nearly everything that is old, less of what is new."""
        rng = self.rng
        assert invoice.issue_date is not None
        chance = 0.97 if fresh > 90 else min(0.9, fresh / (invoice.net_days + 10))
        if plan.status == S.CANCELLED or rng.random() >= chance:
            return []
        method = (
            rng.choice(
                [Payment.Method.BANK_TRANSFER, Payment.Method.ALIPAY, Payment.Method.WECHAT_PAY]
            )
            if invoice.currency == "CNY"
            else rng.choice([Payment.Method.BANK_TRANSFER, Payment.Method.PAYPAL])
        )
        latest = min(self.today, invoice.issue_date + dt.timedelta(days=invoice.net_days + 20))
        span = max(0, (latest - invoice.issue_date).days)
        first_day = invoice.issue_date + dt.timedelta(days=rng.randint(0, span))
        shares = [invoice.total]
        roll = rng.random()
        if roll < 0.08 and invoice.total > 2:
            half = quantize(invoice.total / 2, invoice.currency)
            shares = [half] if fresh < 45 else [half, invoice.total - half]  # partly paid
        elif roll < 0.15 and invoice.total > 2:
            half = quantize(invoice.total / 3, invoice.currency)
            shares = [half, invoice.total - half]
        result = []
        for n, amount in enumerate(shares):
            day = min(self.today, first_day + dt.timedelta(days=n * rng.randint(3, 20)))
            result.append(
                Payment(
                    amount=amount,
                    currency=invoice.currency,
                    method=method,
                    paid_on=day,
                    reference=f"TXN{invoice.number.replace('-', '')}{n + 1}",
                    recorded_by=self.owner,
                    created_at=dt.datetime.combine(day, dt.time(15), tzinfo=self.zone),
                )
            )
        return result

    def _invoice_events(self, invoices: list[Invoice], payments: list[Payment]) -> None:
        since = self.today - dt.timedelta(days=365)
        label = str(self.owner.get_full_name() or self.owner.get_username())
        rows = []
        for invoice in invoices:
            if invoice.created_at.date() < since:
                continue
            rows.append(
                InvoiceEvent(
                    invoice=invoice,
                    kind=InvoiceEvent.Kind.CREATED,
                    actor=self.owner,
                    actor_label=label,
                    created_at=invoice.created_at,
                )
            )
            if invoice.number:
                rows.append(
                    InvoiceEvent(
                        invoice=invoice,
                        kind=InvoiceEvent.Kind.ISSUED,
                        actor=self.owner,
                        actor_label=label,
                        data={"number": invoice.number},
                        created_at=invoice.created_at + dt.timedelta(minutes=5),
                    )
                )
        for payment in payments:
            if payment.paid_on >= since:
                rows.append(
                    InvoiceEvent(
                        invoice=payment.invoice,
                        kind=InvoiceEvent.Kind.PAYMENT,
                        actor=self.owner,
                        actor_label=label,
                        data={"amount": str(payment.amount), "currency": payment.currency},
                        created_at=payment.created_at,
                    )
                )
        self.writer.write(rows)
        self.done("invoice events", len(rows))

    # --- costs --------------------------------------------------------------------------

    def make_expenses(self) -> None:
        rng = self.rng
        tools = {t.name: t for t in AITool.objects.all()}
        first = self.start.date()
        subscriptions = []
        renewals: list[tuple[int, dt.date]] = []
        for index, (name, plan_name, amount, currency, period, start, stop) in enumerate(
            SUBSCRIPTIONS
        ):
            tool = tools.get(name)
            if tool is None:
                continue
            started = first + dt.timedelta(days=round(365.25 * start))
            cancelled = first + dt.timedelta(days=round(365.25 * stop)) if stop else None
            sub = Subscription(
                tool=tool,
                plan_name=plan_name,
                amount=Decimal(amount),
                currency=currency,
                period=period,
                started_on=started,
                next_renewal_on=started,
                cancelled_from=cancelled,
                created_by=self.owner,
                created_at=dt.datetime.combine(started, dt.time(9), tzinfo=self.zone),
                updated_at=self.now,
            )
            day = started
            while day <= self.today and sub.renews_on(day):
                renewals.append((index, day))
                day = sub.renewal_after(day)
            sub.next_renewal_on = day
            subscriptions.append(sub)
        saved_subs = self.writer.write(subscriptions)
        self.done("subscriptions", len(saved_subs))
        by_index = {}
        position = 0
        for index, (name, *_rest) in enumerate(SUBSCRIPTIONS):
            if name in tools:
                by_index[index] = saved_subs[position]
                position += 1
        rows = []
        for index, day in renewals:
            sub = by_index[index]
            moment = dt.datetime.combine(day, dt.time(8), tzinfo=self.zone)
            rows.append(
                Expense(
                    spent_on=day,
                    amount=sub.amount,
                    currency=sub.currency,
                    category=Expense.Category.SUBSCRIPTION,
                    vendor=(sub.tool.vendor or "")[:120],
                    tool=sub.tool,
                    subscription=sub,
                    renewal_on=day,
                    note=f"{sub.plan_name} renewal",
                    created_by=self.owner,
                    created_at=moment,
                    updated_at=moment,
                )
            )
        renewal_count = len(rows)
        working = [p for p in self.plans if p.accepted is not None]
        weights = [w for _c, w, *_r in EXPENSES]
        category_tools = {
            Expense.Category.GENERATION_CREDITS: [tools[n] for n in VIDEO_TOOLS if n in tools],
            Expense.Category.DUBBING: [tools["ElevenLabs"]] if "ElevenLabs" in tools else [],
            Expense.Category.MUSIC_LICENCE: [tools["Suno"]] if "Suno" in tools else [],
        }
        for _ in range(max(0, self.volumes.expenses - renewal_count)):
            category, _w, (low, high), on_order, vendors = rng.choices(EXPENSES, weights)[0]
            plan = rng.choice(working) if working and rng.random() < on_order else None
            if plan is not None:
                assert plan.accepted is not None
                end = plan.delivered or self.now
                moment = plan.accepted + (end - plan.accepted) * rng.random()
            else:
                moment = self.moment()
            day = min(self.today, self.local(moment))
            currency = "USD" if vendors[0].isascii() and rng.random() < 0.5 else "CNY"
            candidates = category_tools.get(category, [])
            rows.append(
                Expense(
                    spent_on=day,
                    amount=self.money(rng.uniform(low, high), currency)
                    if currency != "CNY"
                    else Decimal(str(round(rng.uniform(low, high), 2))),
                    currency=currency,
                    category=category,
                    vendor=rng.choice(vendors),
                    tool=rng.choice(candidates) if candidates else None,
                    order_id=plan.pk if plan is not None else None,
                    created_by=self.owner,
                    created_at=moment,
                    updated_at=moment,
                )
            )
        self.writer.write(rows)
        self.done("expenses", len(rows))


def check_empty() -> None:
    """Refuse to add the large demo next to real data (the small demo's rule)."""
    if Client.objects.exists() or Order.objects.exists() or Invoice.objects.exists():
        raise RuntimeError(
            "This database already has clients, orders or invoices; the large demo only goes "
            "into an empty database."
        )


def build(
    *,
    owner: Any,
    producer: Any = None,
    artists: Sequence[Any] = (),
    scale: float = 1.0,
    seed: int = 2026,
    now: dt.datetime | None = None,
    out: Callable[[str], Any] | None = None,
) -> dict[str, int]:
    """Write the large demo (volumes x scale) into an empty database, in one transaction.
    Deterministic for a seed and `now`; not idempotent (refused when data exists)."""
    check_empty()
    started = time.perf_counter()
    with transaction.atomic():
        counts = Builder(
            owner=owner,
            producer=producer,
            artists=artists,
            scale=scale,
            seed=seed,
            now=now,
            out=out,
        ).run()
        # The rows were written without model signals: fill the stored margins now, so
        # the demo's margin pages show figures at once (billing.services.margins).
        from billing.services.margins import recompute

        recompute()
    if out is not None:
        out(f"Large demo written in {time.perf_counter() - started:.0f} s.")
    return counts


def add_long_episode(
    *, order: Order, shots: int = 300, title: str = "Long episode", seed: int = 7
) -> Episode:
    """An extra episode with `shots` shots, each with two takes (for the benches)."""
    rng = random.Random(seed)
    number = (order.episodes.aggregate(m=models.Max("number"))["m"] or 0) + 1
    episode = Episode.objects.create(
        order=order, number=number, title=title, status=Episode.Status.IN_PRODUCTION
    )
    tools = list(AITool.objects.filter(name__in=VIDEO_TOOLS))
    prices = {t.pk: list(t.prices.order_by("-effective_from")) for t in tools}
    rows = [
        Shot(
            episode=episode,
            code=f"{(i + 1) * 10:04d}",
            position=i + 1,
            scene=BEATS[i % len(BEATS)][0],
            description=BEATS[i % len(BEATS)][1],
            planned_seconds=Decimal(3),
            status=rng.choice([Shot.Status.APPROVED, Shot.Status.REVIEW, Shot.Status.GENERATING]),
            tool=tools[i % len(tools)] if tools else None,
        )
        for i in range(shots)
    ]
    saved = Shot.objects.bulk_create(rows, batch_size=BATCH)
    day = local_date(timezone.now())
    takes = []
    for shot in saved:
        for number in (1, 2):
            tool = tools[(shot.position + number) % len(tools)]
            costing = cost_of(tool=tool, seconds=Decimal(5), day=day, prices=prices[tool.pk])
            takes.append(
                Take(
                    shot=shot,
                    number=number,
                    tool=tool,
                    generated_seconds=Decimal(5),
                    generated_on=day,
                    cost=costing.cost,
                    currency=costing.currency,
                    price_per_second=costing.per_second,
                    is_selected=number == 2 and shot.status != Shot.Status.GENERATING,
                )
            )
    Take.objects.bulk_create(takes, batch_size=BATCH)
    from studio.signals import costs_changed

    costs_changed.send(sender=Take, reason="demo_long_episode")  # bulk_create: no signals
    return episode
