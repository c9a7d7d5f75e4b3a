"""PostgreSQL only: an index in the margin list's order for "margin % high to low", empty
percentages last (studio.sql.ordering_term). PostgreSQL puts NULLs first in a descending
index, so the model's index (margin_percent DESC) cannot serve that order; SQLite accepts
no NULLS LAST in an index, so this one is not declared on the model."""

from django.db import migrations

NAME = "margin_row_pct_desc_nulls_last"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {NAME} ON billing_ordermarginrow "
            "(margin_percent DESC NULLS LAST, reference)"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {NAME}")


class Migration(migrations.Migration):
    dependencies = [("billing", "0005_invoice_totals_index")]

    operations = [migrations.RunPython(create, drop)]
