"""Seed the AI tool catalog with the tools short-drama studios commonly use.

Prices are editable demo values (CNY per generated second), not claims about any
vendor's price list: check your own plan and change them on the Tools page. Tools that
already exist (same name) are left alone, so running this on a studio that has entered
its own catalog changes nothing.
"""

import datetime as dt
from decimal import Decimal

from django.db import migrations

DEMO_NOTE = "Demo value; check your plan and edit it."
EFFECTIVE_FROM = dt.date(2025, 1, 1)

# name, vendor, kind, website, CNY per second (None: not priced per second)
TOOLS = [
    ("Hailuo 02", "MiniMax", "video_model", "https://hailuoai.com/", "0.35"),
    ("Kling", "Kuaishou", "video_model", "https://klingai.com/", "0.50"),
    ("Jimeng", "ByteDance", "video_model", "https://jimeng.jianying.com/", "0.30"),
    ("Veo 3", "Google", "video_model", "https://deepmind.google/models/veo/", "1.00"),
    ("PixVerse", "PixVerse", "video_model", "https://pixverse.ai/", "0.20"),
    ("DeepSeek", "DeepSeek", "llm", "https://www.deepseek.com/", None),
    ("ElevenLabs", "ElevenLabs", "voice", "https://elevenlabs.io/", None),
    ("Suno", "Suno", "music", "https://suno.com/", None),
    ("CapCut / 剪映", "ByteDance", "editing", "https://www.capcut.com/", None),
]


def seed(apps, schema_editor):
    AITool = apps.get_model("studio", "AITool")
    ToolPrice = apps.get_model("studio", "ToolPrice")
    for name, vendor, kind, website, per_second in TOOLS:
        if AITool.objects.filter(name=name).exists():
            continue
        tool = AITool.objects.create(name=name, vendor=vendor, kind=kind, website=website)
        if per_second is not None:
            ToolPrice.objects.create(
                tool=tool,
                effective_from=EFFECTIVE_FROM,
                per_second=Decimal(per_second),
                currency="CNY",
                note=DEMO_NOTE,
            )


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0003_production_breakdown"),
        ("studio", "0003_tool_catalog"),
    ]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
