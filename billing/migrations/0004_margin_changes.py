"""Margin change markers instead of a generation counter on the state row.

Every transaction that changed an input of the margins used to UPDATE the one
MarginState row, so they all queued on its lock (and could deadlock with the numbering
counters). Now each inserts a MarginChange row; the state row is the worker's alone.
Rows that were stale before the migration stay stale: one marker stands for the changes
they did not show yet (and back: a marker left makes the counter one ahead).
"""

from django.db import migrations, models
from django.db.models import F


def carry_staleness_forward(apps, schema_editor):
    MarginChange = apps.get_model("billing", "MarginChange")
    MarginState = apps.get_model("billing", "MarginState")
    if MarginState.objects.filter(generation__gt=F("computed_generation")).exists():
        MarginChange.objects.create()


def carry_staleness_back(apps, schema_editor):
    MarginChange = apps.get_model("billing", "MarginChange")
    MarginState = apps.get_model("billing", "MarginState")
    if MarginChange.objects.exists():
        MarginState.objects.update(generation=F("computed_generation") + 1)


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0003_margin_rows"),
    ]

    operations = [
        migrations.CreateModel(
            name="MarginChange",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
            options={
                "verbose_name": "margin change",
                "verbose_name_plural": "margin changes",
            },
        ),
        migrations.RunPython(carry_staleness_forward, carry_staleness_back),
        migrations.RemoveField(model_name="marginstate", name="changed_at"),
        migrations.RemoveField(model_name="marginstate", name="claimed_generation"),
        migrations.RemoveField(model_name="marginstate", name="computed_generation"),
        migrations.RemoveField(model_name="marginstate", name="generation"),
        migrations.AddConstraint(
            model_name="marginstate",
            constraint=models.CheckConstraint(
                condition=models.Q(("pk", 1)), name="margin_state_singleton"
            ),
        ),
    ]
