"""Load a demo studio: profile, team, clients and ~40 orders in every status.

Idempotent: when the `demo` user exists the command does nothing but print the login;
it also refuses to touch a database that already holds clients or orders, and never
runs with production settings (the demo password is public).
"""

# Demo text is Chinese and English: full-width punctuation and the multiplication sign are meant.
# ruff: noqa: RUF001

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from orders import production
from orders import services as order_services
from orders.models import Asset, Client, Deliverable, Order, OrderEvent, Shot, Take
from studio import demo_costs
from studio import services as studio_services
from studio.models import AITool, Membership, StudioProfile
from studio.timeutil import due_from

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo-studio-2026"
DEFAULT_URL = "http://127.0.0.1:8000/"

S = Order.Status
K = Order.Kind

PROFILE = {
    "name": "Moonlight Frames 月光映画",
    "legal_name": "上海月光映画文化传媒工作室 (Shanghai Moonlight Frames Studio)",
    "address": "上海市徐汇区漕溪北路 88 号 12 楼\n12F, 88 Caoxi North Road, Xuhui, Shanghai",
    "email": "hello@moonlightframes.example",
    "phone": "+86 21 5555 0188",
    "wechat_id": "moonlightframes",
    "time_zone": "Asia/Shanghai",
    "default_currency": "CNY",
    "reporting_currency": "CNY",
    "default_turnaround_days": 7,
    "default_revision_rounds": 2,
    "payment_instructions": (
        "银行转账 / Bank transfer\n"
        "户名 Account name: 上海月光映画文化传媒工作室\n"
        "开户行 Bank: 招商银行上海分行 China Merchants Bank, Shanghai Branch\n"
        "账号 Account no.: 6214 8800 0000 2026 (demo)\n"
        "SWIFT: CMBCCNBS\n"
        "支付宝 Alipay: pay@moonlightframes.example\n"
        "微信支付 WeChat Pay: 扫描发票上的二维码 / scan the QR code on the invoice\n"
        "请在付款备注中填写订单号。Please put the order reference in the payment note."
    ),
}

# username -> (first name, last name, role, interface language)
TEAM = {
    DEMO_USERNAME: ("林月", "", Membership.Role.OWNER, ""),
    "mei": ("周美", "", Membership.Role.PRODUCER, "zh-hans"),
    "kai": ("Kai", "Chen", Membership.Role.ARTIST, "zh-hans"),
    "ana": ("Ana", "Souza", Membership.Role.ARTIST, "en"),
}

CLIENTS: dict[str, dict[str, str]] = {
    "xinghe": {
        "name": "星河优选电商",
        "contact_name": "王磊",
        "email": "wanglei@xinghe.example",
        "wechat_id": "xinghe_wanglei",
        "country": "CN",
        "language": "zh-hans",
        "currency": "CNY",
    },
    "qinghe": {
        "name": "青禾茶饮",
        "contact_name": "陈思",
        "email": "chensi@qinghe-tea.example",
        "phone": "+86 138 0000 1234",
        "country": "CN",
        "language": "zh-hans",
        "currency": "CNY",
    },
    "shiguang": {
        "name": "拾光短剧工作室",
        "contact_name": "刘畅",
        "email": "liuchang@shiguang.example",
        "wechat_id": "shiguang_drama",
        "country": "CN",
        "language": "zh-hans",
        "currency": "CNY",
    },
    "yunqi": {
        "name": "云栖文旅集团",
        "contact_name": "赵敏",
        "email": "zhaomin@yunqi.example",
        "country": "CN",
        "language": "zh-hans",
        "currency": "CNY",
    },
    "zhixing": {
        "name": "知行教育",
        "contact_name": "孙浩",
        "email": "sunhao@zhixing.example",
        "country": "CN",
        "language": "zh-hans",
        "currency": "CNY",
    },
    "island": {
        "name": "港岛美妆 Island Glow",
        "contact_name": "黄嘉欣",
        "email": "carmen@islandglow.example",
        "country": "HK",
        "language": "zh-hans",
        "currency": "HKD",
    },
    "harbor": {
        "name": "Harbor Lane Media",
        "contact_name": "Karen Wong",
        "email": "karen@harborlane.example",
        "country": "HK",
        "language": "en",
        "currency": "HKD",
    },
    "northwind": {
        "name": "Northwind Games",
        "contact_name": "Jordan Reyes",
        "email": "jordan@northwind.example",
        "country": "US",
        "language": "en",
        "currency": "USD",
    },
    "pacific": {
        "name": "Pacific Shorts",
        "contact_name": "Emily Carter",
        "email": "emily@pacificshorts.example",
        "country": "US",
        "language": "en",
        "currency": "USD",
    },
    "orchard": {
        "name": "Bright Orchard Apparel",
        "contact_name": "Oliver Hughes",
        "email": "oliver@brightorchard.example",
        "country": "GB",
        "language": "en",
        "currency": "USD",
    },
    "lumen": {
        "name": "Lumen Skincare",
        "contact_name": "Priya Nair",
        "email": "priya@lumenskin.example",
        "country": "SG",
        "language": "en",
        "currency": "USD",
    },
}

_CHINESE = {key for key, fields in CLIENTS.items() if fields["language"] == "zh-hans"}


@dataclass(frozen=True)
class OrderSpec:
    client: str
    title: str
    kind: str
    price: str
    status: str
    age: float  # days since the inquiry came in
    turnaround: int = 7
    last: float = 0.2  # days since the latest change
    assignee: str = ""
    tags: tuple[str, ...] = ()
    revisions: int = 0
    hold_from: str = S.IN_PRODUCTION
    brief: str = ""
    note: str = ""
    deposit: str = "50"
    extra: dict[str, Any] = field(default_factory=dict)


# fmt: off
ORDERS: list[OrderSpec] = [
    # Inquiries
    OrderSpec("qinghe", "夏季新品茶饮 15 秒竖屏广告", K.AD, "1200", S.INQUIRY, 1, last=1,
              tags=("品牌", "竖屏"), brief="三款新品，每款 5 秒，清爽夏日风格。"),
    OrderSpec("northwind", "Launch trailer for “Skyforge” (60 s)", K.AD, "2400", S.INQUIRY, 2,
              last=1.5, tags=("game", "overseas")),
    OrderSpec("zhixing", "课程宣传片：AI 绘画入门", K.CLIP, "2600", S.INQUIRY, 2, last=2),
    OrderSpec("lumen", "Serum texture close-ups (6 clips)", K.CLIP, "1100", S.INQUIRY, 0.5,
              last=0.4, tags=("beauty", "overseas")),
    # Quotes sent
    OrderSpec("xinghe", "双11 预热种草视频 ×3", K.AD, "4500", S.QUOTED, 3, last=2,
              tags=("电商", "双11")),
    OrderSpec("harbor", "Brand film: Harbor Lane 10th anniversary", K.AD, "12000", S.QUOTED, 4,
              last=3, turnaround=14, tags=("brand",)),
    OrderSpec("pacific", "AI short drama S2 pilot — episode 1", K.SHORT_DRAMA, "3200", S.QUOTED,
              2, last=1, turnaround=10, tags=("短剧", "overseas")),
    OrderSpec("yunqi", "古镇夜游 AI 宣传短片", K.CLIP, "6800", S.QUOTED, 5, last=4,
              turnaround=10, tags=("文旅",)),
    # Accepted, not started
    OrderSpec("xinghe", "618 大促产品短片", K.AD, "1800", S.ACCEPTED, 2, assignee="kai",
              tags=("电商", "618"), brief="主推扫地机器人，30 秒横屏 + 15 秒竖屏各一版。"),
    OrderSpec("island", "新品唇釉 AI 试色短视频", K.CLIP, "2200", S.ACCEPTED, 1, turnaround=5,
              assignee="ana", tags=("美妆",)),
    OrderSpec("orchard", "Lookbook motion: autumn capsule", K.CLIP, "1600", S.ACCEPTED, 3,
              turnaround=10, tags=("fashion", "overseas")),
    OrderSpec("zhixing", "寒假训练营招生短片", K.CLIP, "980", S.ACCEPTED, 4, deposit="100"),
    # In production
    OrderSpec("shiguang", "AI 短剧《逆光》第 1–3 集", K.SHORT_DRAMA, "15000", S.IN_PRODUCTION, 9,
              turnaround=10, assignee="kai", tags=("短剧",), deposit="30",
              note="人物镜头用可灵生成，远景用海螺；每集不超过 2 分钟。"),
    OrderSpec("pacific", "AI short drama S1 — 6 episodes", K.SHORT_DRAMA, "9600",
              S.IN_PRODUCTION, 12, turnaround=14, assignee="ana", tags=("短剧", "overseas"),
              deposit="30", brief="Six vertical episodes, at most two minutes each, English "
              "dubbing and burned-in subtitles."),
    OrderSpec("xinghe", "直播间开场动画", K.CLIP, "800", S.IN_PRODUCTION, 8, turnaround=5,
              assignee="kai", tags=("电商", "urgent")),
    OrderSpec("qinghe", "门店屏幕循环视频 ×4", K.CLIP, "3200", S.IN_PRODUCTION, 6,
              assignee="ana", tags=("品牌",)),
    OrderSpec("northwind", "Character teaser: Mira (30 s)", K.CLIP, "1800", S.IN_PRODUCTION, 7,
              assignee="kai", tags=("game", "overseas")),
    OrderSpec("yunqi", "景区 AI 导览数字人视频", K.CLIP, "7200", S.IN_PRODUCTION, 10,
              turnaround=10, tags=("文旅",)),
    OrderSpec("harbor", "Product explainer: smart kettle", K.AD, "5600", S.IN_PRODUCTION, 9,
              assignee="ana", tags=("brand", "urgent")),
    # In review
    OrderSpec("lumen", "Founder story, 90 s", K.CLIP, "2400", S.IN_REVIEW, 8, turnaround=10,
              assignee="kai", tags=("beauty", "overseas")),
    OrderSpec("island", "节日礼盒 AI 广告 15s+30s", K.AD, "4800", S.IN_REVIEW, 6,
              assignee="ana", tags=("美妆",)),
    OrderSpec("xinghe", "抖音种草短视频 ×5", K.CLIP, "3500", S.IN_REVIEW, 9, turnaround=8,
              assignee="kai", tags=("电商", "竖屏")),
    OrderSpec("shiguang", "AI 短剧《逆光》预告片", K.SHORT_DRAMA, "2000", S.IN_REVIEW, 7,
              assignee="ana", tags=("短剧",)),
    OrderSpec("orchard", "Runway reel remix", K.MUSIC_VIDEO, "2100", S.IN_REVIEW, 12,
              turnaround=10, assignee="kai", tags=("fashion", "overseas")),
    # Revision requested
    OrderSpec("qinghe", "品牌 TVC AI 重制版", K.AD, "9800", S.REVISION, 11, turnaround=12,
              assignee="kai", tags=("品牌",), revisions=1),
    OrderSpec("northwind", "Gameplay sizzle (Steam page)", K.CLIP, "2800", S.REVISION, 10,
              turnaround=10, assignee="ana", tags=("game", "overseas"), revisions=2),
    OrderSpec("zhixing", "讲师形象片", K.CLIP, "1500", S.REVISION, 13, turnaround=10,
              assignee="ana", revisions=3, note="第三轮修改超出报价包含的两轮，需另行报价。"),
    # Delivered, waiting for the client's sign-off
    OrderSpec("xinghe", "年货节主图视频 ×8", K.CLIP, "2400", S.DELIVERED, 14, turnaround=10,
              last=1.5, assignee="kai", tags=("电商",)),
    OrderSpec("pacific", "Vertical cutdowns for TikTok (10×)", K.CLIP, "1200", S.DELIVERED, 10,
              last=0.8, assignee="ana", tags=("overseas", "竖屏")),
    OrderSpec("yunqi", "樱花季 AI 风光片", K.CLIP, "5200", S.DELIVERED, 16, turnaround=12,
              last=3, assignee="kai", tags=("文旅",), revisions=1),
    OrderSpec("harbor", "Social teasers ×3", K.CLIP, "3600", S.DELIVERED, 9, last=2,
              assignee="ana", tags=("brand",)),
    # Completed
    OrderSpec("xinghe", "38 女神节产品短片", K.AD, "1600", S.COMPLETED, 60, last=48,
              assignee="kai", tags=("电商",)),
    OrderSpec("shiguang", "AI 短剧《星桥》全 6 集", K.SHORT_DRAMA, "19800", S.COMPLETED, 75,
              turnaround=30, last=36, assignee="ana", tags=("短剧",), revisions=1, deposit="30"),
    OrderSpec("lumen", "Ingredient animation loop", K.CLIP, "900", S.COMPLETED, 40, last=30,
              assignee="kai", tags=("beauty", "overseas"), deposit="100"),
    OrderSpec("qinghe", "春季新品预告 AI 动画", K.CLIP, "2600", S.COMPLETED, 50, turnaround=10,
              last=38, assignee="ana", tags=("品牌",)),
    OrderSpec("island", "农历新年贺岁短片", K.AD, "6600", S.COMPLETED, 90, turnaround=14,
              last=72, assignee="kai", tags=("美妆",)),
    OrderSpec("northwind", "Key art animation (Steam capsule)", K.CLIP, "1400", S.COMPLETED, 35,
              last=25, assignee="ana", tags=("game", "overseas")),
    # On hold
    OrderSpec("orchard", "Store window loop, Shanghai flagship", K.CLIP, "2000", S.ON_HOLD, 9,
              turnaround=10, last=4, assignee="kai", tags=("fashion",),
              note="Waiting for the client's product photos before we continue."),
    OrderSpec("zhixing", "毕业季纪念 MV", K.MUSIC_VIDEO, "4200", S.ON_HOLD, 6, turnaround=14,
              last=2, hold_from=S.ACCEPTED, note="等客户确认歌曲版权后再开始。"),
    # Cancelled
    OrderSpec("yunqi", "非遗手作纪录短片", K.CLIP, "8000", S.CANCELLED, 20, last=15,
              note="客户预算调整，项目取消。"),
    OrderSpec("pacific", "Holiday promo", K.AD, "1800", S.CANCELLED, 30, last=26,
              note="The client moved the campaign to next year."),
]
# fmt: on


# The short drama whose breakdown the demo shows (episodes, shots, takes, characters).
BREAKDOWN_ORDER = "AI short drama S1 — 6 episodes"
DEMO_TOOLS = ["Kling", "Hailuo 02", "Jimeng", "Veo 3"]
# name, kind, description, prompt fragment
DEMO_CAST = [
    (
        "MAYA",
        Asset.Kind.CHARACTER,
        "Runs her late mother's noodle stall; 26, stubborn, warm.",
        "Maya, 26-year-old Chinese woman, shoulder-length black hair, red apron over a grey "
        "hoodie, silver hoop earrings",
    ),
    (
        "JUN",
        Asset.Kind.CHARACTER,
        "Delivery rider who always orders the same bowl.",
        "Jun, 28-year-old man, yellow delivery jacket, helmet under his arm, tired kind eyes",
    ),
    (
        "GRANDMA LIN",
        Asset.Kind.CHARACTER,
        "Owns the stall next door; knows everyone's secrets.",
        "elderly woman with white bun, knitted cardigan, reading glasses on a chain",
    ),
    (
        "THE CRITIC",
        Asset.Kind.CHARACTER,
        "Food blogger with a million followers.",
        "sharp-suited man in his forties, phone on a gimbal, slicked-back hair",
    ),
    (
        "NIGHT MARKET",
        Asset.Kind.LOCATION,
        "Narrow alley of food stalls under neon signs.",
        "crowded night market alley, neon signs in Chinese, steam rising, wet pavement",
    ),
    (
        "ROOFTOP",
        Asset.Kind.LOCATION,
        "Rooftop above the market, laundry lines, city skyline.",
        "rooftop at night, laundry lines, distant skyline, warm string lights",
    ),
    (
        "LOOK",
        Asset.Kind.STYLE,
        "Series look.",
        "vertical 9:16, cinematic, shallow depth of field, teal and orange grade, 35mm lens",
    ),
]
# title, synopsis, episode status, share of shots approved
DEMO_EPISODES = [
    ("The Last Bowl", "Maya reopens the stall the night after the funeral.", "approved", 1.0),
    ("Regulars", "Jun keeps coming back; Grandma Lin notices.", "approved", 0.95),
    ("The Critic", "A famous blogger sits down at the worst possible moment.", "in_review", 0.7),
    ("Bad Review", "The video goes viral for the wrong reasons.", "in_production", 0.4),
    ("Rooftop", "Jun shows Maya the view her mother loved.", "in_production", 0.1),
    ("Broth", "The recipe was never written down. Or was it?", "planned", 0.0),
]
# scene, description, dialogue, cast
DEMO_BEATS = [
    (
        "EXT. NIGHT MARKET - NIGHT",
        "Steam curls off the stall as Maya lifts the shutter.",
        "",
        ["MAYA", "NIGHT MARKET", "LOOK"],
    ),
    (
        "EXT. NIGHT MARKET - NIGHT",
        "Close on Maya's hands pulling noodles, fast and sure.",
        "MAYA: Same as always?",
        ["MAYA", "LOOK"],
    ),
    (
        "EXT. NIGHT MARKET - NIGHT",
        "Jun parks his scooter and pulls off his helmet.",
        "JUN: Same as always.",
        ["JUN", "NIGHT MARKET", "LOOK"],
    ),
    (
        "EXT. NIGHT MARKET - NIGHT",
        "Grandma Lin peers over her glasses from the next stall.",
        "GRANDMA LIN: Third night in a row.",
        ["GRANDMA LIN", "NIGHT MARKET"],
    ),
    (
        "EXT. NIGHT MARKET - NIGHT",
        "Two-shot: Jun and Maya across the counter, neon behind.",
        "JUN: It tastes like it used to.\nMAYA: It's her recipe.",
        ["MAYA", "JUN", "LOOK"],
    ),
    (
        "EXT. NIGHT MARKET - NIGHT",
        "The Critic films his bowl from every angle.",
        "THE CRITIC: Let's see if the legend holds up.",
        ["THE CRITIC", "NIGHT MARKET"],
    ),
    ("EXT. NIGHT MARKET - NIGHT", "Maya freezes, ladle in the air.", "", ["MAYA", "LOOK"]),
    (
        "EXT. NIGHT MARKET - NIGHT",
        "Insert: phone screen, comments scrolling up fast.",
        "",
        ["THE CRITIC"],
    ),
    (
        "EXT. ROOFTOP - NIGHT",
        "Wide: the two of them on the rooftop, city lights below.",
        "JUN: She used to come up here after closing.",
        ["MAYA", "JUN", "ROOFTOP"],
    ),
    (
        "EXT. ROOFTOP - NIGHT",
        "Maya finds a folded note tucked in the string lights.",
        "MAYA: This is her handwriting.",
        ["MAYA", "ROOFTOP", "LOOK"],
    ),
    (
        "EXT. NIGHT MARKET - NIGHT",
        "Grandma Lin slides a bowl across to the Critic.",
        "GRANDMA LIN: Try it again. Slowly.",
        ["GRANDMA LIN", "THE CRITIC"],
    ),
    (
        "EXT. NIGHT MARKET - NIGHT",
        "Last light of the night; Maya pulls the shutter down.",
        "",
        ["MAYA", "NIGHT MARKET", "LOOK"],
    ),
]
DEMO_TAKE_NOTES = [
    "Hands melted into the noodles; retry with image to video.",
    "Face drifted from the reference; added the prompt fragment.",
    "Neon text came out as gibberish.",
    "Too slow; asked for faster camera move.",
]


def _path(spec: OrderSpec) -> list[str]:
    """The transitions that take a new order to spec.status (after its starting status)."""
    produce: list[str] = [S.ACCEPTED, S.IN_PRODUCTION, S.IN_REVIEW]
    loops = [S.REVISION, S.IN_PRODUCTION, S.IN_REVIEW] * spec.revisions
    paths: dict[str, list[str]] = {
        S.INQUIRY: [],
        S.QUOTED: [],
        S.ACCEPTED: [S.ACCEPTED],
        S.IN_PRODUCTION: [S.ACCEPTED, S.IN_PRODUCTION],
        S.IN_REVIEW: [*produce, *loops],
        S.REVISION: [*produce, *loops[:-2]],
        S.DELIVERED: [*produce, *loops, S.DELIVERED],
        S.COMPLETED: [*produce, *loops, S.DELIVERED, S.COMPLETED],
        S.ON_HOLD: [*produce[: produce.index(spec.hold_from) + 1], S.ON_HOLD]
        if spec.hold_from in produce
        else [S.ON_HOLD],
        S.CANCELLED: [S.CANCELLED],
    }
    return paths[spec.status]


def _start_status(spec: OrderSpec) -> str:
    return S.INQUIRY if spec.status in {S.INQUIRY} or spec.age >= 25 else S.QUOTED


class Command(BaseCommand):
    help = "Load the demo studio (team, clients, orders in every status) once, and print the login."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--scale",
            choices=["small", "large"],
            default="small",
            help="How much demo data to load (small: ~10 clients, ~40 orders; large: five "
            "years of a busy studio, see studio.demo_scale).",
        )
        parser.add_argument(
            "--url", default=DEFAULT_URL, help="Address printed with the demo login."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError(
                "seed_demo does not run with DJANGO_ENV=production: the demo login's password "
                "is public."
            )
        user_model = get_user_model()
        url = options["url"]
        existing = user_model.objects.filter(username=DEMO_USERNAME).first()
        if existing is not None:
            self.stdout.write("Demo data already present; nothing done.")
            self._print_login(url, password_unchanged=existing.check_password(DEMO_PASSWORD))
            return
        if Client.objects.exists() or Order.objects.exists():
            self.stdout.write(
                "This database already has clients or orders, so the demo data was not loaded "
                "(it only goes into an empty database)."
            )
            return
        if options["scale"] == "large":
            from studio import demo_scale

            with transaction.atomic():
                studio_services.update_profile(profile=StudioProfile.load(), fields=dict(PROFILE))
                team = self._team()
                demo_scale.build(
                    owner=team[DEMO_USERNAME],
                    producer=team["mei"],
                    artists=[team["kai"], team["ana"]],
                    out=self.stdout.write,
                )
            self._print_login(url, password_unchanged=True)
            return
        with transaction.atomic():
            counts = self._seed()
        self.stdout.write(
            self.style.SUCCESS(
                "Demo data loaded: {team} team members, {clients} clients, {orders} orders, "
                "a short drama broken down into {episodes} episodes, {shots} shots and {takes} "
                "takes; {invoices} invoices, {subscriptions} tool subscriptions, {expenses} "
                "expenses and {rates} exchange rates.".format(**counts)
            )
        )
        self._print_login(url, password_unchanged=True)

    # --- building ----------------------------------------------------------------------

    def _seed(self) -> dict[str, int]:
        studio_services.update_profile(profile=StudioProfile.load(), fields=dict(PROFILE))
        team = self._team()
        owner, producer = team[DEMO_USERNAME], team["mei"]
        clients = {
            key: order_services.create_client(actor=owner, **fields)
            for key, fields in CLIENTS.items()
        }
        now = timezone.now()
        zone = StudioProfile.load().zone
        breakdown = {"episodes": 0, "shots": 0, "takes": 0}
        drama: Order | None = None
        for index, spec in enumerate(ORDERS):
            actor = owner if index % 3 == 0 else producer
            order = order_services.create_order(
                actor=actor,
                client=clients[spec.client],
                title=spec.title,
                price=Decimal(spec.price),
                kind=spec.kind,
                brief=spec.brief,
                deposit_percent=Decimal(spec.deposit),
                turnaround_days=spec.turnaround,
                assignee=team.get(spec.assignee),
                tags=list(spec.tags),
                status=_start_status(spec),
            )
            self._walk(order, spec, actor=actor, team=team)
            if spec.title == BREAKDOWN_ORDER:
                breakdown = self._breakdown(order, owner=owner, artists=team, now=now)
            self._spread_in_time(order, spec, now=now, zone=zone)
            if spec.title == BREAKDOWN_ORDER:
                drama = order
        money = demo_costs.seed(owner=owner, drama=drama)
        return {
            "team": len(team),
            "clients": len(clients),
            "orders": len(ORDERS),
            **breakdown,
            **money,
        }

    def _team(self) -> dict[str, Any]:
        user_model = get_user_model()
        # One hash for all demo users keeps the command fast (the hasher is slow on purpose).
        password = make_password(DEMO_PASSWORD)
        team: dict[str, Any] = {}
        for username, (first, last, role, language) in TEAM.items():
            user = user_model.objects.create(
                username=username,
                first_name=first,
                last_name=last,
                email=f"{username}@moonlightframes.example",
                password=password,
            )
            membership = studio_services.set_role(user=user, role=role)
            if language:
                Membership.objects.filter(pk=membership.pk).update(language=language)
            team[username] = user
        return team

    def _walk(self, order: Order, spec: OrderSpec, *, actor: Any, team: dict[str, Any]) -> None:
        """Move the order through its lifecycle with the services, as the team would."""
        artist = team.get(spec.assignee)
        version_links = 0
        steps = _path(spec)
        needs_quote = spec.status == S.QUOTED or (steps and steps[0] == S.ACCEPTED)
        if needs_quote and order.status == S.INQUIRY:
            order = order_services.change_status(actor=actor, order=order, to_status=S.QUOTED).order
        for position, step in enumerate(steps):
            mover = actor
            if artist is not None and (order.status, step) in Order.ARTIST_TRANSITIONS:
                mover = artist
            if step == S.IN_REVIEW:
                version_links += 1
                order_services.add_deliverable(
                    actor=mover,
                    order=order,
                    title="成片 Final cut" if spec.client in _CHINESE else "Final cut",
                    url=f"https://share.moonlightframes.example/{order.reference.lower()}"
                    f"/v{version_links}.mp4",
                )
            if step == S.DELIVERED:
                # The studio checks the AI-content labels (GB 45438-2025) before delivery.
                for deliverable in order_services.latest_deliverables(order):
                    production.set_ai_label_checks(
                        actor=actor, deliverable=deliverable, visible=True, metadata=True
                    )
            is_last = position == len(steps) - 1
            note = spec.note if is_last and step in {S.ON_HOLD, S.CANCELLED} else ""
            order = order_services.change_status(
                actor=mover, order=order, to_status=step, note=note
            ).order
        if spec.note and spec.status not in {S.ON_HOLD, S.CANCELLED}:
            order_services.add_note(actor=actor, order=order, text=spec.note)

    def _spread_in_time(
        self, order: Order, spec: OrderSpec, *, now: dt.datetime, zone: dt.tzinfo
    ) -> None:
        """Demo data only: move the order's timeline back so it reads like real work."""
        created = now - dt.timedelta(days=spec.age)
        last = now - dt.timedelta(days=min(spec.last, spec.age * 0.9))
        events = list(OrderEvent.objects.filter(order=order).order_by("pk"))
        accepted_index = next((i for i, e in enumerate(events) if e.to_status == S.ACCEPTED), None)
        times = [created] * len(events)
        if accepted_index is None:
            # Quotes, cancellations: the changes spread evenly up to the latest one.
            count = len(events) - 1
            for offset in range(count):
                times[1 + offset] = created + (last - created) * (offset + 1) / count
        else:
            # Accepted about a day after the inquiry; the work spreads from there.
            start = created + min(dt.timedelta(days=1), (last - created) / 3)
            for i in range(1, accepted_index):
                times[i] = created + (start - created) * i / accepted_index
            count = len(events) - accepted_index
            for offset in range(count):
                fraction = offset / (count - 1) if count > 1 else 1
                times[accepted_index + offset] = start + (last - start) * fraction
        status_times: dict[str, dt.datetime] = {}
        for event, moment in zip(events, times, strict=True):
            OrderEvent.objects.filter(pk=event.pk).update(created_at=moment)
            if event.kind == OrderEvent.Kind.STATUS_CHANGED:
                status_times[event.to_status] = moment
            if event.kind == OrderEvent.Kind.DELIVERABLE_ADDED:
                Deliverable.objects.filter(pk=event.data.get("deliverable")).update(
                    created_at=moment
                )
        fields: dict[str, Any] = {
            "created_at": created,
            "updated_at": times[-1],
            "status_changed_at": max(status_times.values(), default=created),
        }
        if S.ACCEPTED in status_times:
            accepted = status_times[S.ACCEPTED]
            fields["accepted_at"] = accepted
            fields["due_at"] = due_from(accepted, days=spec.turnaround, zone=zone)
        if S.DELIVERED in status_times:
            fields["delivered_at"] = status_times[S.DELIVERED]
        if S.COMPLETED in status_times:
            fields["completed_at"] = status_times[S.COMPLETED]
        Order.objects.filter(pk=order.pk).update(**fields)

    def _breakdown(
        self, order: Order, *, owner: Any, artists: dict[str, Any], now: dt.datetime
    ) -> dict[str, int]:
        """A six-episode vertical short drama: characters, shots in every status, and
        takes made with several tools over the order's production days."""
        rng = random.Random(2026)
        tools = {tool.name: tool for tool in AITool.objects.filter(name__in=DEMO_TOOLS)}
        assets = {
            name: production.create_asset(
                actor=owner,
                order=order,
                name=name,
                kind=kind,
                description=description,
                prompt_fragment=fragment,
            )
            for name, kind, description, fragment in DEMO_CAST
        }
        counts = {"episodes": 0, "shots": 0, "takes": 0}
        workers = [artists["ana"], artists["kai"]]
        for number, (title, synopsis, status, done) in enumerate(DEMO_EPISODES, start=1):
            episode = production.create_episode(
                actor=owner,
                order=order,
                number=number,
                title=title,
                synopsis=synopsis,
                status=status,
            )
            counts["episodes"] += 1
            # Episode 3 has more shots than fit its two minutes, as first drafts do.
            shot_count = 12 if number == 3 else rng.randint(8, 12)
            for index in range(shot_count):
                beat = DEMO_BEATS[(number * 3 + index) % len(DEMO_BEATS)]
                scene, description, line, cast = beat
                planned = Decimal(rng.choice(["5", "5", "6", "8", "10", "10", "12"]))
                if number == 3:
                    planned += 3
                progress = index / shot_count
                if progress < done:
                    shot_status = Shot.Status.APPROVED
                elif progress < done + 0.25:
                    shot_status = rng.choice([Shot.Status.REVIEW, Shot.Status.GENERATING])
                else:
                    shot_status = Shot.Status.TODO
                if number == 2 and index == shot_count - 1:
                    shot_status = Shot.Status.OMITTED
                shot = production.create_shot(
                    actor=owner,
                    episode=episode,
                    code=f"{(index + 1) * 10:03d}",
                    scene=scene,
                    description=description,
                    dialogue=line,
                    planned_seconds=planned,
                    assignee=workers[index % 2],
                    tool=tools.get("Kling" if "MAYA" in cast else "Hailuo 02"),
                    assets=[assets[name] for name in cast],
                )
                counts["shots"] += 1
                if shot_status in {Shot.Status.TODO, Shot.Status.OMITTED}:
                    if shot_status == Shot.Status.OMITTED:
                        production.change_shot_status(actor=owner, shot=shot, to_status=shot_status)
                    continue
                takes = rng.randint(1, 4)
                lengths = ["12", "15", "15"] if number == 3 else ["5", "5", "6", "10"]
                day = (now - dt.timedelta(days=10 - number)).date()
                for attempt in range(takes):
                    tool = tools[rng.choice(DEMO_TOOLS)]
                    take = production.add_take(
                        actor=shot.assignee,
                        shot=shot,
                        tool=tool,
                        generated_seconds=Decimal(rng.choice(lengths)),
                        generated_on=day,
                        mode=Take.Mode.IMAGE_TO_VIDEO if attempt else Take.Mode.TEXT_TO_VIDEO,
                        prompt=f"{description} {assets[cast[0]].prompt_fragment}",
                        seed=str(rng.randint(1000, 999999)),
                        notes="" if attempt + 1 == takes else rng.choice(DEMO_TAKE_NOTES),
                        select=attempt + 1 == takes and shot_status != Shot.Status.GENERATING,
                    )
                    counts["takes"] += 1
                    Take.objects.filter(pk=take.pk).update(
                        created_at=now - dt.timedelta(days=10 - number, hours=takes - attempt)
                    )
                if shot_status != Shot.Status.GENERATING:
                    production.change_shot_status(actor=owner, shot=shot, to_status=shot_status)
        return counts

    # --- output ------------------------------------------------------------------------

    def _print_login(self, url: str, *, password_unchanged: bool) -> None:
        password = DEMO_PASSWORD if password_unchanged else "(changed since the demo was loaded)"
        lines = [
            "ReelDesk demo studio: Moonlight Frames 月光映画",
            f"  Open      {url}",
            f"  Sign in   {DEMO_USERNAME} / {password}   (owner)",
            "  Also      mei (producer), kai and ana (artists), same demo password",
        ]
        rule = "=" * 64
        self.stdout.write(self.style.SUCCESS(rule))
        for line in lines:
            self.stdout.write(self.style.SUCCESS(line))
        self.stdout.write(self.style.SUCCESS(rule))
