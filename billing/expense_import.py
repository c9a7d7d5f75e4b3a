"""Import expenses from the CSV files of Excel, WPS or Google Sheets, with the
spreadsheet machinery of orders.spreadsheet_import (upload, columns, preview, confirm).

A row's natural key is its date, amount, currency, vendor and note; its fingerprint adds
the category, tool and order, so a row whose category was corrected in the sheet
updates the expense it made. Rows are saved through billing.services.create_expense and
update_expense (same checks, one CostEvent each).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models.functions import Upper
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from billing.models import Expense
from billing.models.invoices import today_in_studio
from billing.services import expenses as expense_services
from orders.csv_tools import fingerprint, loose_text
from orders.models import ImportedRow, Order, SheetImport
from orders.spreadsheet_import import (
    Column,
    Row,
    SheetSpec,
    aliases,
    check_places,
    read_day,
    read_money,
    row_key,
)
from studio.errors import DomainError
from studio.models import AITool, StudioProfile
from studio.money import Money

Category = Expense.Category


def category_names() -> dict[str, str]:
    """Expense categories by value, English and Chinese label, and common words."""
    names: dict[str, str] = {}
    for value, label in Category.choices:
        names[loose_text(value)] = value
        names[loose_text(value.replace("_", " "))] = value
        for language in ("en", "zh-hans"):
            with translation.override(language):
                names[loose_text(str(label))] = value
    extra = {
        Category.SUBSCRIPTION: ("订阅", "会员", "月费", "年费"),
        Category.GENERATION_CREDITS: ("生成积分", "积分", "算力", "生成", "credits", "点数"),
        Category.DUBBING: ("配音", "dub", "voice"),
        Category.MUSIC_LICENCE: ("音乐", "版权", "音乐版权", "music", "music license"),
        Category.STOCK: ("素材", "图库", "stock"),
        Category.FREELANCER: ("外包", "兼职", "劳务", "contractor"),
        Category.HARDWARE: ("硬件", "设备", "电脑"),
        Category.OTHER: ("其他", "其它", "杂项", "misc"),
    }
    for value, words in extra.items():
        for word in words:
            names.setdefault(loose_text(word), value)
    return names


@dataclass
class ExpenseLookups:
    default_currency: str
    today: dt.date
    categories: dict[str, str]
    tools: dict[str, tuple[int, str]]
    orders: dict[str, tuple[int, str]]  # upper-cased reference -> pk, reference
    current: dict[int, Expense] = field(default_factory=dict)


class ExpenseSheet(SheetSpec):
    kind = SheetImport.Kind.EXPENSES
    title = gettext_lazy("Import expenses")
    help_text = gettext_lazy(
        "One expense per row. An order reference (ORD-2026-0001, or your own reference "
        "from an orders import) makes it a direct cost of that order; without one it is "
        "overhead. Tools are matched by name in the tool catalog."
    )
    list_url = "expense-list"
    upload_url = "expense-import"
    batch_url = "expense-import-batch"
    options = ("day_order",)
    columns = (
        Column(
            "date",
            gettext_lazy("Date"),
            aliases("date|spent on|day|日期|支出日期|消费日期|付款日期|时间"),
            required=True,
        ),
        Column(
            "amount",
            gettext_lazy("Amount"),
            aliases("amount|price|cost|total|金额|费用|价格|支出|花费"),
            required=True,
        ),
        Column("currency", gettext_lazy("Currency"), aliases("currency|币种|货币")),
        Column(
            "category",
            gettext_lazy("Category"),
            aliases("category|type|类别|分类|类型"),
        ),
        Column(
            "vendor",
            gettext_lazy("Vendor"),
            aliases("vendor|supplier|payee|merchant|供应商|商家|收款方|商户"),
        ),
        Column("tool", gettext_lazy("Tool"), aliases("tool|model|工具|模型")),
        Column(
            "order",
            gettext_lazy("Order"),
            aliases("order|order reference|order no|订单|订单号|订单编号"),
        ),
        Column(
            "note",
            gettext_lazy("Note"),
            aliases("note|notes|memo|description|备注|说明|描述"),
        ),
    )

    def prepare(self, cells: list[dict[str, str]], options: dict[str, Any]) -> ExpenseLookups:
        refs = sorted({c["order"].strip().upper() for c in cells if c.get("order", "").strip()})
        orders: dict[str, tuple[int, str]] = {}
        if refs:
            found = Order.objects.annotate(ref=Upper("reference")).filter(ref__in=refs)
            for pk, reference in found.values_list("pk", "reference"):
                orders[reference.upper()] = (pk, reference)
            external = ImportedRow.objects.filter(
                kind=SheetImport.Kind.ORDERS,
                external_ref__in={c["order"].strip() for c in cells if c.get("order")},
            ).values_list("external_ref", "object_id")
            known = dict(
                Order.objects.filter(pk__in=[pk for _r, pk in external]).values_list(
                    "pk", "reference"
                )
            )
            for ref, pk in external:
                if pk in known:
                    orders.setdefault(ref.upper(), (pk, known[pk]))
        return ExpenseLookups(
            default_currency=StudioProfile.load().default_currency,
            today=today_in_studio(),
            categories=category_names(),
            tools={
                loose_text(name): (pk, name)
                for pk, name in AITool.objects.values_list("pk", "name")
            },
            orders=orders,
        )

    def read_row(self, row: Row, cells: dict[str, str], ctx: Any, options: dict[str, Any]) -> None:
        col = self.column
        values: dict[str, Any] = {}
        raw_day = cells.get("date", "").strip()
        day = read_day(row, col("date"), raw_day, options)
        if not raw_day:
            row.fail(col("date"), _("the date is empty."))
        elif day is not None:
            try:
                expense_services.check_day(day, "spent_on", today=ctx.today)
            except DomainError as exc:
                row.fail(col("date"), exc.message)
            values["date"] = day.isoformat()
        amount, currency = read_money(
            row,
            col("amount"),
            cells.get("amount", ""),
            currency_column=col("currency"),
            currency_raw=cells.get("currency", ""),
        )
        currency = currency or ctx.default_currency
        values["currency"] = currency
        if amount is not None:
            if amount <= 0:
                row.fail(col("amount"), _("the amount must be more than zero."))
            elif amount > Decimal("999999999999.99"):
                row.fail(col("amount"), _("the amount is too large."))
            check_places(row, col("amount"), amount, currency)
            values["amount"] = str(amount)
        category_raw = cells.get("category", "").strip()
        category = ctx.categories.get(loose_text(category_raw)) if category_raw else Category.OTHER
        if category is None:
            row.fail(
                col("category"),
                _("“%(value)s” is not a category. Use one of: %(names)s.")
                % {"value": category_raw, "names": ", ".join(str(c) for c in Category.labels)},
            )
        values["category"] = category or Category.OTHER
        vendor = " ".join(cells.get("vendor", "").split())
        if len(vendor) > expense_services.MAX_VENDOR:
            row.fail(col("vendor"), _("keep it under 120 characters."))
        values["vendor"] = vendor
        tool_raw = " ".join(cells.get("tool", "").split())
        tool = ctx.tools.get(loose_text(tool_raw)) if tool_raw else None
        if tool_raw and tool is None:
            row.fail(
                col("tool"),
                _("no tool is called “%(name)s” in the tool catalog.") % {"name": tool_raw},
            )
        values["tool"] = tool[0] if tool else None
        order_raw = cells.get("order", "").strip()
        order = ctx.orders.get(order_raw.upper()) if order_raw else None
        if order_raw and order is None:
            row.fail(col("order"), _("no order has the reference “%(ref)s”.") % {"ref": order_raw})
        values["order"] = order[0] if order else None
        note = cells.get("note", "").strip()
        if len(note) > expense_services.MAX_NOTE:
            row.fail(col("note"), _("keep it under 2000 characters."))
        values["note"] = note
        row.values = values
        row.shown = {
            "date": values.get("date", raw_day),
            "amount": Money(amount, currency).format() if amount is not None else "",
            "currency": currency,
            "category": str(Category(values["category"]).label),
            "vendor": vendor,
            "tool": tool[1] if tool else tool_raw,
            "order": order[1] if order else order_raw,
            "note": note,
        }
        row.key = row_key(
            "expense",
            values.get("date"),
            values.get("amount"),
            currency,
            loose_text(vendor),
            loose_text(note),
        )
        row.fingerprint = fingerprint(values)

    def match(self, rows: list[Row], known: dict[str, ImportedRow], ctx: Any) -> None:
        ctx.current = Expense.objects.in_bulk(
            [known[r.key].object_id for r in rows if r.key in known]
        )
        for row in rows:
            record = known.get(row.key)
            expense = ctx.current.get(record.object_id) if record else None
            if expense is None:
                row.action = "new"
                continue
            row.target = expense.pk
            now = {
                "category": expense.category,
                "tool": expense.tool_id,
                "order": expense.order_id,
            }
            row.changes = [name for name, value in now.items() if row.values[name] != value]
            if (record and record.fingerprint == row.fingerprint) or not row.changes:
                row.action, row.changes = "unchanged", []
            else:
                row.action = "update"

    def save(self, *, actor: Any, batch: SheetImport, rows: list[Row], ctx: Any) -> list[Row]:
        tools = AITool.objects.in_bulk([r.values["tool"] for r in rows if r.values["tool"]])
        orders = Order.objects.in_bulk([r.values["order"] for r in rows if r.values["order"]])
        for row in rows:
            values = row.values
            tool = tools.get(values["tool"]) if values["tool"] else None
            order = orders.get(values["order"]) if values["order"] else None
            if row.action == "new":
                expense = expense_services.create_expense(
                    actor=actor,
                    spent_on=dt.date.fromisoformat(values["date"]),
                    amount=Decimal(values["amount"]),
                    currency=values["currency"],
                    category=values["category"],
                    vendor=values["vendor"],
                    tool=tool,
                    order=order,
                    note=values["note"],
                )
                row.target = expense.pk
            else:
                changes: dict[str, Any] = {}
                if "category" in row.changes:
                    changes["category"] = values["category"]
                if "tool" in row.changes:
                    changes["tool"] = tool
                if "order" in row.changes:
                    changes["order"] = order
                expense_services.update_expense(
                    actor=actor, expense=ctx.current[row.target], **changes
                )
        if rows:
            # The expense saves mark the stored margins stale already (once per
            # transaction); say so for the whole import too, should a path bypass them.
            from billing.services.margins import mark_dirty

            mark_dirty()
        return rows


EXPENSES = ExpenseSheet()
