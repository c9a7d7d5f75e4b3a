"""Import clients and orders from the CSV files of Excel, WPS or Google Sheets.

Three steps, nothing saved before the last: `upload_sheet` reads the file into a
SheetImport (cells, a column mapping suggested from the header or remembered from the
last file with the same header, and the preview); `set_mapping` lets people choose the
columns and options and plans again; `apply_sheet` plans once more against the database
as it is now, refuses if that differs from what was shown, and saves every valid row in
one transaction (rows with errors are skipped and listed).

Each row has a natural key (clients: the name, case and spaces ignored; orders: the
sheet's own reference if mapped, else client + title + date) stored with the
fingerprint of its values in ImportedRow, so importing the same file again finds
every row "unchanged", and a row changed in the sheet updates the object it made.
Expenses use the same machinery from billing.expense_import.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from orders import services
from orders.csv_tools import (
    DayOrder,
    ValueProblem,
    decode_upload,
    fingerprint,
    header_key,
    loose_text,
    parse_amount,
    parse_currency,
    parse_date,
    read_table,
    read_upload,
)
from orders.models import Client, ImportedRow, ImportMapping, Order, OrderEvent, SheetImport
from studio import roles
from studio.errors import Conflict, InvalidInput, NotPermitted
from studio.models import StudioProfile
from studio.money import MINOR_UNITS, Money
from studio.signals import costs_changed
from studio.timeutil import due_from, end_of_local_day, local_date

MAX_ROWS = 5000
MAX_ERRORS_SHOWN = 200
ROWS_PER_PAGE = 100
LOOKUP_CHUNK = 500
S = Order.Status


# --- What a kind of import reads ------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    name: str
    label: Any
    aliases: frozenset[str]
    required: bool = False


@dataclass
class Row:
    """One data row of the sheet as the preview shows it (JSON-ready)."""

    line: int
    values: dict[str, Any] = field(default_factory=dict)
    shown: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    key: str = ""
    fingerprint: str = ""
    action: str = ""  # new, update, unchanged (or "" with errors)
    target: int | None = None
    changes: list[str] = field(default_factory=list)

    def fail(self, column: Column | None, message: str) -> None:
        self.errors.append(f"{column.label}: {message}" if column else message)


class SheetSpec:
    """A kind of import: its columns, how a row is read, matched and saved."""

    kind: str = ""
    columns: tuple[Column, ...] = ()
    title: Any = ""
    help_text: Any = ""
    list_url: str = ""
    upload_url: str = ""
    batch_url: str = ""
    options: tuple[str, ...] = ("day_order",)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    def prepare(self, cells: list[dict[str, str]], options: dict[str, Any]) -> Any:
        """What rows refer to, loaded once (a fixed number of queries)."""
        raise NotImplementedError

    def read_row(self, row: Row, cells: dict[str, str], ctx: Any, options: dict[str, Any]) -> None:
        raise NotImplementedError

    def match(self, rows: list[Row], known: dict[str, ImportedRow], ctx: Any) -> None:
        """Set action, target and changes of the rows without errors."""
        raise NotImplementedError

    def save(self, *, actor: Any, batch: SheetImport, rows: list[Row], ctx: Any) -> list[Row]:
        """Create or update what the rows say (inside apply's transaction); the rows
        saved, with their target set."""
        raise NotImplementedError

    def extra(self, rows: list[Row], ctx: Any) -> dict[str, Any]:
        return {}


def require_importer(actor: Any) -> None:
    if not roles.can_manage_business(actor):
        raise NotPermitted(_("Only owners and producers can import spreadsheets."))


def header_signature(header: list[str]) -> str:
    return fingerprint([header_key(cell) for cell in header])


def suggest_mapping(spec: SheetSpec, header: list[str]) -> dict[str, int]:
    """{field: column index} from the header names (English or Chinese)."""
    keys = [header_key(cell) for cell in header]
    mapping: dict[str, int] = {}
    for column in spec.columns:
        for index, key in enumerate(keys):
            if key in column.aliases and index not in mapping.values():
                mapping[column.name] = index
                break
    return mapping


def _remembered(spec: SheetSpec, header: list[str], signature: str) -> tuple[dict, dict] | None:
    saved = ImportMapping.objects.filter(kind=spec.kind, signature=signature).first()
    if saved is None:
        return None
    positions = {header_key(cell): index for index, cell in reversed(list(enumerate(header)))}
    names = {c.name for c in spec.columns}
    mapping = {
        name: positions[key]
        for name, key in saved.mapping.items()
        if name in names and key in positions
    }
    return mapping, dict(saved.options)


def _remember(batch: SheetImport) -> None:
    header = batch.header
    ImportMapping.objects.update_or_create(
        kind=batch.kind,
        signature=batch.signature,
        defaults={
            "mapping": {name: header_key(header[index]) for name, index in batch.mapping.items()},
            "options": batch.options,
        },
    )


def clean_options(spec: SheetSpec, options: dict[str, Any]) -> dict[str, Any]:
    day_order = options.get("day_order") or DayOrder.AUTO
    clean: dict[str, Any] = {
        "day_order": day_order if day_order in DayOrder.CHOICES else DayOrder.AUTO
    }
    if "create_clients" in spec.options:
        clean["create_clients"] = bool(options.get("create_clients"))
    return clean


# --- Planning -------------------------------------------------------------------------------


def _known_rows(kind: str, keys: list[str]) -> dict[str, ImportedRow]:
    known: dict[str, ImportedRow] = {}
    for start in range(0, len(keys), LOOKUP_CHUNK):
        chunk = keys[start : start + LOOKUP_CHUNK]
        for record in ImportedRow.objects.filter(kind=kind, key__in=chunk):
            known[record.key] = record
    return known


def plan_sheet(spec: SheetSpec, batch: SheetImport) -> tuple[dict[str, Any], list[Row], Any]:
    """Read every row with the batch's mapping against the database as it is now."""
    mapping: dict[str, int] = batch.mapping
    missing = [str(c.label) for c in spec.columns if c.required and c.name not in mapping]
    used = set(mapping.values())
    unused = [cell for index, cell in enumerate(batch.header) if index not in used and cell]
    if missing:
        plan = {"missing": missing, "unused": unused, "rows": [], "errors": 0}
        plan["counts"] = {"new": 0, "update": 0, "unchanged": 0}
        plan["signature"] = []
        return plan, [], None
    cells = [
        {
            name: (row_cells[index].strip() if index < len(row_cells) else "")
            for name, index in mapping.items()
        }
        for _line, row_cells in batch.cells
    ]
    ctx = spec.prepare(cells, batch.options)
    rows: list[Row] = []
    first_line: dict[str, int] = {}
    for (line, _raw), row_cells in zip(batch.cells, cells, strict=True):
        row = Row(line=line)
        spec.read_row(row, row_cells, ctx, batch.options)
        if not row.errors:
            if row.key in first_line:
                row.errors.append(
                    _("The same row as line %(line)s; it is imported once.")
                    % {"line": first_line[row.key]}
                )
            else:
                first_line[row.key] = line
        rows.append(row)
    valid = [row for row in rows if not row.errors]
    spec.match(valid, _known_rows(spec.kind, [row.key for row in valid]), ctx)
    counted = Counter(row.action for row in rows if not row.errors)
    plan = {
        "missing": [],
        "unused": unused,
        "rows": [asdict(row) for row in rows],
        "errors": sum(1 for row in rows if row.errors),
        "counts": {key: counted.get(key, 0) for key in ("new", "update", "unchanged")},
        "signature": [[r.line, r.action, r.target, r.fingerprint, len(r.errors)] for r in rows],
        **spec.extra(valid, ctx),
    }
    return plan, rows, ctx


def _store_plan(spec: SheetSpec, batch: SheetImport) -> SheetImport:
    plan, _rows, _ctx = plan_sheet(spec, batch)
    batch.plan = plan
    batch.error_count = plan["errors"]
    batch.save(update_fields=["mapping", "options", "plan", "error_count"])
    return batch


def upload_sheet(*, actor: Any, spec: SheetSpec, upload: Any) -> SheetImport:
    """Read an uploaded CSV into a pending import with its preview; changes nothing
    else. Refuses files over 5 MB, binary files and files without data rows."""
    require_importer(actor)
    decoded = decode_upload(read_upload(upload))
    table = read_table(decoded.text, max_rows=MAX_ROWS)
    if not table.rows:
        message = _("The file has a header but no rows below it.")
        raise InvalidInput(message, fields={"file": [message]})
    header = [cell[:200] for cell in table.header]
    signature = header_signature(header)
    remembered = _remembered(spec, header, signature)
    mapping, options = remembered or (suggest_mapping(spec, header), {})
    batch = SheetImport(
        kind=spec.kind,
        filename=str(getattr(upload, "name", "") or "")[:255],
        encoding=decoded.encoding,
        delimiter=table.delimiter,
        signature=signature,
        header=header,
        cells=[[line, cells] for line, cells in table.rows],
        mapping=mapping,
        options=clean_options(spec, options),
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    batch.plan = {"remembered": remembered is not None}
    with transaction.atomic():
        # Previews nobody confirmed are dropped after a week.
        SheetImport.objects.filter(
            status=SheetImport.Status.PENDING,
            created_at__lt=timezone.now() - dt.timedelta(days=7),
        ).delete()
        batch.save()
        _store_plan(spec, batch)
        batch.plan["remembered"] = remembered is not None
        SheetImport.objects.filter(pk=batch.pk).update(plan=batch.plan)
    return batch


def _check_pending(batch: SheetImport) -> None:
    if batch.status != SheetImport.Status.PENDING:
        raise Conflict(_("This import was already confirmed or discarded."))


def set_mapping(
    *,
    actor: Any,
    spec: SheetSpec,
    batch: SheetImport,
    mapping: dict[str, int | None],
    options: dict,
) -> SheetImport:
    """Choose which column feeds which field (and the options), plan again and remember
    the mapping for the next file with this header. Idempotent."""
    require_importer(actor)
    _check_pending(batch)
    chosen: dict[str, int] = {}
    for column in spec.columns:
        index = mapping.get(column.name)
        if index is None:
            continue
        if not 0 <= index < len(batch.header):
            raise InvalidInput(_("Choose one of the file's columns."))
        if index in chosen.values():
            taken = next(n for n, i in chosen.items() if i == index)
            message = _("The column “%(column)s” is chosen for both %(a)s and %(b)s.") % {
                "column": batch.header[index],
                "a": spec.column(taken).label,
                "b": column.label,
            }
            raise InvalidInput(message, fields={column.name: [message]})
        chosen[column.name] = index
    batch.mapping = chosen
    batch.options = clean_options(spec, options)
    with transaction.atomic():
        _store_plan(spec, batch)
        _remember(batch)
    return batch


def discard_sheet(*, actor: Any, batch: SheetImport) -> bool:
    """Drop a preview without importing anything. Idempotent."""
    require_importer(actor)
    return (
        SheetImport.objects.filter(pk=batch.pk, status=SheetImport.Status.PENDING).update(
            status=SheetImport.Status.DISCARDED
        )
        == 1
    )


class _Stale(Exception):
    pass


def apply_sheet(*, actor: Any, spec: SheetSpec, batch: SheetImport) -> dict[str, int]:
    """Save every valid row of a previewed import in one transaction (rows with errors
    are skipped). Refuses, and refreshes the preview, if the data changed since it was
    shown. Confirming twice imports once."""
    require_importer(actor)
    try:
        with transaction.atomic():
            claimed = SheetImport.objects.filter(
                pk=batch.pk, status=SheetImport.Status.PENDING
            ).update(status=SheetImport.Status.APPLIED, applied_at=timezone.now())
            if claimed != 1:
                raise Conflict(_("This import was already confirmed or discarded."))
            plan, rows, ctx = plan_sheet(spec, batch)
            if plan["missing"]:
                raise InvalidInput(
                    _("Choose a column for every required field first: %(fields)s.")
                    % {"fields": ", ".join(plan["missing"])}
                )
            if plan["signature"] != batch.plan.get("signature"):
                raise _Stale
            todo = [row for row in rows if not row.errors and row.action != "unchanged"]
            saved = spec.save(actor=actor, batch=batch, rows=todo, ctx=ctx)
            if saved:  # queryset updates bypass the model signals billing listens to
                costs_changed.send(sender=SheetImport, reason="spreadsheet_import")
            unchanged = [row for row in rows if not row.errors and row.action == "unchanged"]
            _record_rows(spec.kind, batch, saved + unchanged)
            summary = {**plan["counts"], "skipped": plan["errors"]}
            SheetImport.objects.filter(pk=batch.pk).update(summary=summary)
            _remember(batch)
    except _Stale:
        _store_plan(spec, batch)
        raise Conflict(
            _(
                "The data changed since this preview was made. The preview is now up to "
                "date; check it and confirm again."
            )
        ) from None
    batch.refresh_from_db()
    return summary


def _record_rows(kind: str, batch: SheetImport, rows: list[Row]) -> None:
    known = _known_rows(kind, [row.key for row in rows])
    new, changed = [], []
    for row in rows:
        if row.target is None:
            continue
        ref = str(row.values.get("reference", ""))[:120]
        record = known.get(row.key)
        if record is None:
            new.append(
                ImportedRow(
                    kind=kind,
                    key=row.key,
                    fingerprint=row.fingerprint,
                    object_id=row.target,
                    external_ref=ref,
                    batch=batch,
                )
            )
        elif (record.fingerprint, record.object_id) != (row.fingerprint, row.target):
            record.fingerprint, record.object_id, record.batch = row.fingerprint, row.target, batch
            record.external_ref = ref
            changed.append(record)
    ImportedRow.objects.bulk_create(new, batch_size=LOOKUP_CHUNK)
    ImportedRow.objects.bulk_update(
        changed, ["fingerprint", "object_id", "batch", "external_ref"], batch_size=LOOKUP_CHUNK
    )


def row_key(*parts: Any) -> str:
    return fingerprint(*parts)


def read_day(row: Row, column: Column, raw: str, options: dict[str, Any]) -> dt.date | None:
    if not raw:
        return None
    try:
        return parse_date(raw, order=options.get("day_order", DayOrder.AUTO))
    except ValueProblem as exc:
        row.fail(column, str(exc))
        return None


def read_money(
    row: Row, column: Column, raw: str, *, currency_column: Column, currency_raw: str
) -> tuple[Decimal | None, str | None]:
    """The amount and the currency it or the currency column names (None: not given)."""
    amount: Decimal | None = None
    named: str | None = None
    try:
        amount, named = parse_amount(raw)
    except ValueProblem as exc:
        row.fail(column, str(exc))
    if currency_raw:
        try:
            code = parse_currency(currency_raw)
        except ValueProblem as exc:
            row.fail(currency_column, str(exc))
            return amount, named
        if named and named != code:
            row.fail(
                column,
                _("the amount is in %(a)s but the currency column says %(b)s.")
                % {"a": named, "b": code},
            )
        named = code
    return amount, named


def check_places(row: Row, column: Column, amount: Decimal, currency: str) -> None:
    places = MINOR_UNITS.get(currency, 2)
    if amount != amount.quantize(Decimal(1).scaleb(-places)):
        row.fail(
            column,
            _("a %(currency)s amount has at most %(places)s decimal places.")
            % {"currency": currency, "places": places},
        )


def aliases(names: str) -> frozenset[str]:
    """Header names, separated by |, compared as header_key does."""
    return frozenset(header_key(name) for name in names.split("|"))


def status_names() -> dict[str, str]:
    """Order statuses by value, English and Chinese label, and common Chinese words."""
    names: dict[str, str] = {}
    for value, label in S.choices:
        names[loose_text(value)] = value
        names[loose_text(value.replace("_", " "))] = value
        with translation.override("en"):
            names[loose_text(str(label))] = value
        with translation.override("zh-hans"):
            names[loose_text(str(label))] = value
    extra = {
        S.INQUIRY: ("询价", "咨询", "洽谈", "inquiry", "enquiry", "lead"),
        S.QUOTED: ("已报价", "报价", "quote"),
        S.ACCEPTED: ("已接单", "已接受", "接单", "已确认", "已签约"),
        S.IN_PRODUCTION: ("制作中", "生产中", "进行中", "in progress"),
        S.IN_REVIEW: ("审核中", "待审核", "客户审核", "review"),
        S.REVISION: ("修改中", "返修", "需修改", "revision"),
        S.DELIVERED: ("已交付", "交付", "已交片"),
        S.COMPLETED: ("已完成", "完成", "已结束", "done", "closed"),
        S.ON_HOLD: ("暂停", "搁置", "已暂停", "hold", "paused"),
        S.CANCELLED: ("已取消", "取消", "canceled"),
    }
    for value, words in extra.items():
        for word in words:
            names.setdefault(loose_text(word), value)
    return names


# --- Clients --------------------------------------------------------------------------------

LANGUAGES = {
    "en": "en",
    "english": "en",
    "英文": "en",
    "英语": "en",
    "zh": "zh-hans",
    "zh-hans": "zh-hans",
    "zh-cn": "zh-hans",
    "chinese": "zh-hans",
    "中文": "zh-hans",
    "简体中文": "zh-hans",
    "汉语": "zh-hans",
}


@dataclass
class ClientLookups:
    by_name: dict[str, int]
    by_email: dict[str, int]
    current: dict[int, Client] = field(default_factory=dict)


class ClientSheet(SheetSpec):
    kind = SheetImport.Kind.CLIENTS
    title = gettext_lazy("Import clients")
    help_text = gettext_lazy(
        "One client per row. Clients already here are matched by name (case and spaces "
        "ignored) or e-mail and updated; empty cells leave what is saved."
    )
    list_url = "client-list"
    upload_url = "client-import"
    batch_url = "sheet-import"
    columns = (
        Column(
            "name",
            gettext_lazy("Name"),
            aliases(
                "name|client|client name|customer|company|"
                "客户|客户名称|客户名|公司|公司名称|名称|姓名"
            ),
            required=True,
        ),
        Column("contact_name", gettext_lazy("Contact"), aliases("contact|contact name|联系人")),
        Column(
            "email",
            gettext_lazy("E-mail"),
            aliases("email|e-mail|mail|邮箱|电子邮件|电子邮箱|邮件"),
        ),
        Column(
            "phone",
            gettext_lazy("Phone"),
            aliases("phone|tel|telephone|mobile|电话|手机|联系电话"),
        ),
        Column("wechat_id", gettext_lazy("WeChat"), aliases("wechat|wechat id|微信|微信号")),
        Column("country", gettext_lazy("Country"), aliases("country|国家|国家代码")),
        Column("language", gettext_lazy("Language"), aliases("language|语言")),
        Column("currency", gettext_lazy("Currency"), aliases("currency|币种|货币")),
        Column(
            "billing_address",
            gettext_lazy("Billing address"),
            aliases("address|billing address|地址|账单地址|开票地址"),
        ),
        Column(
            "tax_id",
            gettext_lazy("Tax id"),
            aliases("tax id|vat|vat id|税号|纳税人识别号"),
        ),
        Column("notes", gettext_lazy("Notes"), aliases("notes|note|备注")),
    )
    options = ()

    def prepare(self, cells: list[dict[str, str]], options: dict[str, Any]) -> ClientLookups:
        by_name: dict[str, int] = {}
        by_email: dict[str, int] = {}
        for pk, name, email in Client.objects.values_list("pk", "name", "email").order_by("pk"):
            by_name.setdefault(loose_text(name), pk)
            if email:
                by_email.setdefault(email.strip().lower(), pk)
        return ClientLookups(by_name=by_name, by_email=by_email)

    def read_row(self, row: Row, cells: dict[str, str], ctx: Any, options: dict[str, Any]) -> None:
        values: dict[str, Any] = {}
        for name, raw in cells.items():
            text = raw.strip()
            if not text:
                continue
            column = self.column(name)
            if name == "name":
                text = " ".join(text.split())
            elif name == "email":
                text = text.lower()
                try:
                    validate_email(text)
                except ValidationError:
                    row.fail(column, _("“%(value)s” is not an e-mail address.") % {"value": raw})
                    continue
            elif name == "country":
                text = text.upper()
                if len(text) != 2 or not text.isalpha():
                    row.fail(column, _("use the two-letter code, e.g. CN or US."))
                    continue
            elif name == "language":
                found = LANGUAGES.get(text.lower())
                if found is None:
                    row.fail(column, _("use en or zh-hans (English or 中文)."))
                    continue
                text = found
            elif name == "currency":
                try:
                    text = parse_currency(text)
                except ValueProblem as exc:
                    row.fail(column, str(exc))
                    continue
            values[name] = text
        if not values.get("name"):
            row.fail(self.column("name"), _("the name is empty."))
            return
        try:
            Client(**values).full_clean()
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                known = name in {c.name for c in self.columns}
                row.fail(self.column(name) if known else None, messages[0])
        row.values = values
        row.shown = dict(values)
        row.key = row_key("client", loose_text(values["name"]))
        row.fingerprint = fingerprint(values)

    def match(self, rows: list[Row], known: dict[str, ImportedRow], ctx: Any) -> None:
        for row in rows:
            record = known.get(row.key)
            row.target = (
                record.object_id
                if record
                else ctx.by_name.get(loose_text(row.values["name"]))
                or ctx.by_email.get(row.values.get("email", ""))
            )
        ctx.current = Client.objects.in_bulk([r.target for r in rows if r.target])
        for row in rows:
            client = ctx.current.get(row.target) if row.target else None
            record = known.get(row.key)
            if client is None:
                row.action, row.target = "new", None
                continue
            row.changes = [
                n
                for n, v in row.values.items()
                if getattr(client, n) != v
                and not (n == "name" and loose_text(v) == loose_text(client.name))
            ]
            if (record and record.fingerprint == row.fingerprint) or not row.changes:
                row.action, row.changes = "unchanged", []
            else:
                row.action = "update"

    def save(self, *, actor: Any, batch: SheetImport, rows: list[Row], ctx: Any) -> list[Row]:
        for row in rows:
            if row.action == "new":
                row.target = services.create_client(actor=actor, **row.values).pk
            else:
                client = ctx.current[row.target]
                services.update_client(
                    actor=actor, client=client, **{n: row.values[n] for n in row.changes}
                )
        return rows


# --- Orders ---------------------------------------------------------------------------------

ACCEPTED_OR_LATER = frozenset(
    {S.ACCEPTED, S.IN_PRODUCTION, S.IN_REVIEW, S.REVISION, S.DELIVERED, S.COMPLETED}
)
DATE_FIELDS = ("created", "accepted", "due", "delivered")


@dataclass(frozen=True)
class ImportedState:
    """An order's status and moments as a sheet gives them, checked and completed."""

    status: str
    created_at: dt.datetime | None
    accepted_at: dt.datetime | None
    due_at: dt.datetime | None
    delivered_at: dt.datetime | None
    completed_at: dt.datetime | None


def _noon(day: dt.date | None, zone: dt.tzinfo) -> dt.datetime | None:
    if day is None:
        return None
    return dt.datetime.combine(day, dt.time(12), tzinfo=zone).astimezone(dt.UTC)


def check_imported_state(
    *,
    status: str,
    created_on: dt.date | None,
    accepted_on: dt.date | None,
    due_on: dt.date | None,
    delivered_on: dt.date | None,
    turnaround_days: int,
    zone: dt.tzinfo,
    today: dt.date,
) -> ImportedState:
    """Check a sheet's status and dates and fill what follows from them (acceptance
    for accepted orders, due = accepted + turnaround, delivery for delivered ones).
    Raises InvalidInput listing every problem."""
    problems = []
    if status not in S.values:
        problems.append(_("“%(status)s” is not an order status.") % {"status": status})
    for label, day in ((_("created"), created_on), (_("delivered"), delivered_on)):
        if day and day > today:
            problems.append(_("The %(what)s date is in the future.") % {"what": label})
    if accepted_on is None and status in ACCEPTED_OR_LATER:
        accepted_on = created_on or today
    if created_on and accepted_on and accepted_on < created_on:
        problems.append(_("The order was accepted before it was created."))
    if accepted_on and due_on and due_on < accepted_on:
        problems.append(_("The due date is before the acceptance date."))
    if accepted_on and delivered_on and delivered_on < accepted_on:
        problems.append(_("The order was delivered before it was accepted."))
    if delivered_on is None and status in {S.DELIVERED, S.COMPLETED}:
        delivered_on = min(due_on, today) if due_on else (accepted_on or today)
    if problems:
        raise InvalidInput(" ".join(problems))
    accepted_at = _noon(accepted_on, zone)
    due_at = end_of_local_day(due_on, zone) if due_on else None
    if due_at is None and accepted_at is not None:
        due_at = due_from(accepted_at, days=turnaround_days, zone=zone)
    delivered_at = _noon(delivered_on, zone)
    return ImportedState(
        status=status,
        created_at=_noon(created_on, zone),
        accepted_at=accepted_at,
        due_at=due_at,
        delivered_at=delivered_at,
        completed_at=delivered_at if status == S.COMPLETED else None,
    )


def _write_state(*, actor: Any, order: Order, state: ImportedState, source: str) -> None:
    updates: dict[str, Any] = {
        "status": state.status,
        "status_changed_at": timezone.now(),
        "accepted_at": state.accepted_at,
        "due_at": state.due_at,
        "delivered_at": state.delivered_at,
        "completed_at": state.completed_at,
        "status_before_hold": (
            (S.ACCEPTED if state.accepted_at else S.INQUIRY) if state.status == S.ON_HOLD else ""
        ),
    }
    if state.created_at is not None:
        updates["created_at"] = state.created_at
    from_status = order.status
    Order.objects.filter(pk=order.pk).update(**updates)
    for name, value in updates.items():
        setattr(order, name, value)
    services.record_event(
        order=order,
        kind=OrderEvent.Kind.IMPORTED,
        actor=actor,
        from_status=from_status,
        to_status=state.status,
        public=False,
        message=_("Imported from the spreadsheet %(file)s as “%(status)s”.")
        % {"file": source or "CSV", "status": S(state.status).label},
        data={"source": source},
    )


def import_order(
    *,
    actor: Any,
    client: Client,
    title: str,
    price: Decimal,
    currency: str,
    state: ImportedState,
    brief: str = "",
    source: str = "",
) -> Order:
    """Create an order from a sheet row with its historical status and dates, numbered
    like every order (ORD-YYYY-NNNN) by services.create_order, and one "imported"
    timeline event instead of a walk through the lifecycle. Not idempotent: apply_sheet
    dedupes rows by their natural key."""
    require_importer(actor)
    with transaction.atomic():
        order = services.create_order(
            actor=actor, client=client, title=title, price=price, currency=currency, brief=brief
        )
        _write_state(actor=actor, order=order, state=state, source=source)
    return order


def update_imported_order(
    *, actor: Any, order: Order, fields: dict[str, Any], state: ImportedState | None, source: str
) -> Order:
    """Apply a changed sheet row to the order it made (terms through
    services.update_order, status and dates with an "imported" event). Closed orders
    are refused. Idempotent: the same values change nothing."""
    require_importer(actor)
    with transaction.atomic():
        order = Order.objects.select_for_update().select_related("client").get(pk=order.pk)
        if order.is_closed:
            raise Conflict(_("A completed or cancelled order cannot be changed by an import."))
        if fields:
            services.update_order(actor=actor, order=order, **fields)
        if state is not None:
            _write_state(actor=actor, order=order, state=state, source=source)
    return order


@dataclass
class OrderLookups:
    clients: dict[str, tuple[int, str, str, bool]]  # loose name -> pk, name, currency, archived
    default_currency: str
    turnaround_days: int
    zone: dt.tzinfo
    today: dt.date
    statuses: dict[str, str]
    current: dict[int, Order] = field(default_factory=dict)
    client_objects: dict[int, Client] = field(default_factory=dict)


class OrderSheet(SheetSpec):
    kind = SheetImport.Kind.ORDERS
    title = gettext_lazy("Import orders")
    help_text = gettext_lazy(
        "One order per row. Each gets the next ORD-YYYY-NNNN number; your sheet's own "
        "order number, if you map it, is kept as the external reference and matches the "
        "row again on the next import. The status is set as the sheet says, with an "
        "“imported” line on the order's timeline."
    )
    list_url = "order-list"
    upload_url = "order-import"
    batch_url = "sheet-import"
    options = ("day_order", "create_clients")
    columns = (
        Column(
            "reference",
            gettext_lazy("Your reference"),
            aliases(
                "reference|ref|order no|order number|order id|no|id|订单号|编号|订单编号|单号|序号"
            ),
        ),
        Column(
            "client",
            gettext_lazy("Client"),
            aliases("client|client name|customer|company|客户|客户名称|客户名|公司|甲方"),
            required=True,
        ),
        Column(
            "title",
            gettext_lazy("Title"),
            aliases("title|project|project name|item|order|标题|项目|项目名称|订单名称|内容|名称"),
            required=True,
        ),
        Column(
            "price",
            gettext_lazy("Price"),
            aliases("price|amount|total|fee|金额|价格|报价|总价|费用|单价"),
            required=True,
        ),
        Column("currency", gettext_lazy("Currency"), aliases("currency|币种|货币")),
        Column("status", gettext_lazy("Status"), aliases("status|state|状态|进度")),
        Column(
            "created",
            gettext_lazy("Created"),
            aliases(
                "created|created at|created on|date|order date|"
                "日期|下单日期|创建日期|创建时间|下单时间"
            ),
        ),
        Column(
            "accepted",
            gettext_lazy("Accepted"),
            aliases(
                "accepted|accepted at|accepted on|start|start date|"
                "接单日期|确认日期|开始日期|接单时间"
            ),
        ),
        Column(
            "due",
            gettext_lazy("Due"),
            aliases("due|due date|due at|deadline|截止|截止日期|截止时间|交付期限|交期|到期日"),
        ),
        Column(
            "delivered",
            gettext_lazy("Delivered"),
            aliases("delivered|delivered at|delivered on|delivery date|交付日期|交付时间|交片日期"),
        ),
        Column(
            "brief",
            gettext_lazy("Brief"),
            aliases("brief|description|notes|note|描述|备注|需求|说明"),
        ),
    )

    def prepare(self, cells: list[dict[str, str]], options: dict[str, Any]) -> OrderLookups:
        profile = StudioProfile.load()
        zone = profile.zone
        clients: dict[str, tuple[int, str, str, bool]] = {}
        rows = Client.objects.values_list("pk", "name", "currency", "archived_at").order_by("pk")
        for pk, name, currency, archived_at in rows:
            clients.setdefault(loose_text(name), (pk, name, currency, archived_at is not None))
        return OrderLookups(
            clients=clients,
            default_currency=profile.default_currency,
            turnaround_days=profile.default_turnaround_days,
            zone=zone,
            today=local_date(timezone.now(), zone),
            statuses=status_names(),
        )

    def read_row(self, row: Row, cells: dict[str, str], ctx: Any, options: dict[str, Any]) -> None:
        col = self.column
        values: dict[str, Any] = {}
        reference = cells.get("reference", "").strip()
        if len(reference) > 120:
            row.fail(col("reference"), _("keep it under 120 characters."))
        elif reference:
            values["reference"] = reference
        client_name = " ".join(cells.get("client", "").split())
        found = ctx.clients.get(loose_text(client_name)) if client_name else None
        client_currency = ctx.default_currency
        if not client_name:
            row.fail(col("client"), _("the client is empty."))
        elif found is None and not options.get("create_clients"):
            row.fail(
                col("client"),
                _(
                    "no client is called “%(name)s”. Import your clients first, or tick "
                    "“Create missing clients”."
                )
                % {"name": client_name},
            )
        elif found is None:
            values["new_client"] = client_name[:160]
            row.notes.append(_("New client “%(name)s”.") % {"name": client_name})
        elif found[3]:
            row.fail(
                col("client"), _("“%(name)s” is archived; restore it first.") % {"name": found[1]}
            )
        else:
            values["client"] = found[0]
            client_currency = found[2]
        title = " ".join(cells.get("title", "").split())
        if not title:
            row.fail(col("title"), _("the title is empty."))
        elif len(title) > 200:
            row.fail(col("title"), _("keep it under 200 characters."))
        values["title"] = title
        price, currency = read_money(
            row,
            col("price"),
            cells.get("price", ""),
            currency_column=col("currency"),
            currency_raw=cells.get("currency", ""),
        )
        currency = currency or client_currency
        values["currency"] = currency
        if price is not None:
            if price < 0:
                row.fail(col("price"), _("the price cannot be negative."))
            elif price >= Decimal("1e10"):
                row.fail(col("price"), _("the price is too large."))
            check_places(row, col("price"), price, currency)
            values["price"] = str(price)
        status_raw = cells.get("status", "").strip()
        status = ctx.statuses.get(loose_text(status_raw), "") if status_raw else S.INQUIRY
        if not status:
            row.fail(
                col("status"),
                _("“%(value)s” is not a status. Use one of: %(names)s.")
                % {"value": status_raw, "names": ", ".join(str(label) for label in S.labels)},
            )
        values["status"] = status or S.INQUIRY
        days: dict[str, dt.date | None] = {}
        for name in DATE_FIELDS:
            day = days[name] = read_day(row, col(name), cells.get(name, ""), options)
            if day:
                values[name] = day.isoformat()
        brief = cells.get("brief", "").strip()
        if len(brief) > 10000:
            row.fail(col("brief"), _("keep it under 10000 characters."))
        elif brief:
            values["brief"] = brief
        if not row.errors:
            try:
                check_imported_state(
                    status=values["status"],
                    created_on=days["created"],
                    accepted_on=days["accepted"],
                    due_on=days["due"],
                    delivered_on=days["delivered"],
                    turnaround_days=ctx.turnaround_days,
                    zone=ctx.zone,
                    today=ctx.today,
                )
            except InvalidInput as exc:
                row.errors.append(exc.message)
        row.values = values
        row.shown = {
            "reference": reference,
            "client": client_name,
            "title": title,
            "price": Money(price, currency).format() if price is not None else "",
            "status": str(S(values["status"]).label),
            **{name: values.get(name, "") for name in DATE_FIELDS},
        }
        if reference:
            row.key = row_key("order-ref", loose_text(reference))
        else:
            day = days["created"] or days["due"] or days["accepted"] or days["delivered"]
            row.key = row_key("order", loose_text(client_name), loose_text(title), str(day or ""))
        row.fingerprint = fingerprint({**values, "client_name": loose_text(client_name)})

    def match(self, rows: list[Row], known: dict[str, ImportedRow], ctx: Any) -> None:
        refs = {
            row.values["reference"].upper(): row
            for row in rows
            if "reference" in row.values and row.key not in known
        }
        by_reference = (
            dict(Order.objects.filter(reference__in=list(refs)).values_list("reference", "pk"))
            if refs
            else {}
        )
        for row in rows:
            record = known.get(row.key)
            if record:
                row.target = record.object_id
            elif "reference" in row.values:
                row.target = by_reference.get(row.values["reference"].upper())
        ctx.current = Order.objects.in_bulk([r.target for r in rows if r.target])
        for row in rows:
            order = ctx.current.get(row.target) if row.target else None
            if order is None:
                row.action, row.target = "new", None
                continue
            record = known.get(row.key)
            row.changes = self._changes(row, order, ctx)
            if (record and record.fingerprint == row.fingerprint) or not row.changes:
                row.action, row.changes = "unchanged", []
                continue
            row.action = "update"
            if order.is_closed:
                row.errors.append(
                    _("%(reference)s is completed or cancelled; an import does not change it.")
                    % {"reference": order.reference}
                )

    def _changes(self, row: Row, order: Order, ctx: OrderLookups) -> list[str]:
        values = row.values
        changes = []
        if values.get("client") is not None and values["client"] != order.client_id:
            changes.append("client")
        if values.get("new_client"):
            changes.append("client")
        if values["title"] != order.title:
            changes.append("title")
        if Decimal(values["price"]) != order.price or values["currency"] != order.currency:
            changes.append("price")
        if "brief" in values and values["brief"] != order.brief:
            changes.append("brief")
        if values["status"] != order.status:
            changes.append("status")
        moments = {
            "created": order.created_at,
            "accepted": order.accepted_at,
            "due": order.due_at,
            "delivered": order.delivered_at,
        }
        for name, moment in moments.items():
            if name in values and (
                moment is None or local_date(moment, ctx.zone).isoformat() != values[name]
            ):
                changes.append(name)
        return changes

    def extra(self, rows: list[Row], ctx: Any) -> dict[str, Any]:
        return {"new_clients": sorted(self._new_clients(rows).values())}

    def _new_clients(self, rows: list[Row]) -> dict[str, str]:
        """Clients to create, by loose name (the first spelling in the sheet wins)."""
        names: dict[str, str] = {}
        for row in rows:
            if row.values.get("new_client"):
                names.setdefault(loose_text(row.values["new_client"]), row.values["new_client"])
        return names

    def _state(self, row: Row, ctx: OrderLookups, order: Order | None = None) -> ImportedState:
        """The row's status and dates; on an update, dates the sheet does not give stay
        as they are."""
        saved = {}
        if order is not None:
            moments = {
                "created": order.created_at,
                "accepted": order.accepted_at,
                "due": order.due_at,
                "delivered": order.delivered_at,
            }
            saved = {
                n: local_date(m, ctx.zone)
                for n, m in moments.items()
                if m is not None and n != "created"
            }
        days = {
            name: dt.date.fromisoformat(row.values[name]) if name in row.values else saved.get(name)
            for name in DATE_FIELDS
        }
        return check_imported_state(
            status=row.values["status"],
            created_on=days["created"],
            accepted_on=days["accepted"],
            due_on=days["due"],
            delivered_on=days["delivered"],
            turnaround_days=ctx.turnaround_days,
            zone=ctx.zone,
            today=ctx.today,
        )

    def save(self, *, actor: Any, batch: SheetImport, rows: list[Row], ctx: Any) -> list[Row]:
        new_clients: dict[str, Client] = {}
        for key, name in self._new_clients(rows).items():
            new_clients[key] = services.create_client(
                actor=actor, name=name, currency=ctx.default_currency
            )
        ids = {row.values["client"] for row in rows if row.values.get("client")}
        clients = Client.objects.in_bulk(list(ids))
        source = batch.filename
        for row in rows:
            values = row.values
            client = (
                new_clients[loose_text(values["new_client"])]
                if values.get("new_client")
                else clients[values["client"]]
            )
            if row.action == "new":
                order = import_order(
                    actor=actor,
                    client=client,
                    title=values["title"],
                    price=Decimal(values["price"]),
                    currency=values["currency"],
                    brief=values.get("brief", ""),
                    state=self._state(row, ctx),
                    source=source,
                )
                row.target = order.pk
                continue
            fields: dict[str, Any] = {}
            if "client" in row.changes:
                fields["client"] = client
            if "title" in row.changes:
                fields["title"] = values["title"]
            if "price" in row.changes:
                fields.update(price=Decimal(values["price"]), currency=values["currency"])
            if "brief" in row.changes:
                fields["brief"] = values["brief"]
            moved = {"status", *DATE_FIELDS} & set(row.changes)
            update_imported_order(
                actor=actor,
                order=ctx.current[row.target],
                fields=fields,
                state=self._state(row, ctx, ctx.current[row.target]) if moved else None,
                source=source,
            )
        return rows


CLIENTS = ClientSheet()
ORDERS = OrderSheet()
SPECS: dict[str, SheetSpec] = {CLIENTS.kind: CLIENTS, ORDERS.kind: ORDERS}
