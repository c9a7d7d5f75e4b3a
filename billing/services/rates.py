"""Exchange rates: one per currency, quote currency and day, entered by hand, by the
API or imported from a CSV file (previewed first: nothing is saved until confirmed,
and importing the same file again updates rates instead of duplicating them)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.fx import reporting_currency
from billing.models import CostEvent, ExchangeRate
from billing.models.invoices import today_in_studio
from billing.services.common import (
    actor_label,
    currency_code,
    decimal_places,
    invalid,
    to_decimal,
)
from billing.services.expenses import check_day, record_cost_event, require_cost_manager
from orders.production_import import decode_upload, read_upload
from studio.errors import Conflict, InvalidInput

MAX_RATE: Final = Decimal("9999999999")  # 18 digits, 8 of them decimals
RATE_PLACES: Final = 8
IMPORT_MAX_BYTES: Final = 2 * 1024 * 1024
IMPORT_MAX_ROWS: Final = 5000
COLUMNS: Final = ("date", "currency", "rate", "quote")
# Header names a sheet may use, in English or Chinese (compared lower-cased, no spaces).
ALIASES: Final[dict[str, frozenset[str]]] = {
    "date": frozenset({"date", "day", "on", "日期", "date(日期)"}),
    "currency": frozenset({"currency", "from", "code", "币种", "货币", "外币"}),
    "rate": frozenset({"rate", "exchangerate", "fxrate", "汇率", "中间价"}),
    "quote": frozenset({"quote", "quotecurrency", "to", "incurrency", "目标币种", "本币"}),
}
DATE_PATTERN: Final = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
SOURCES: Final = frozenset(ExchangeRate.Source.values)


def _actor_or_none(actor: Any) -> Any:
    return actor if getattr(actor, "pk", None) else None


def check_rate(value: Any, field: str = "rate") -> Decimal:
    """More than zero, below 10¹⁰, at most eight decimals."""
    rate = to_decimal(value, field)
    if rate <= 0:
        raise invalid(field, _("The rate must be more than zero."))
    if rate >= MAX_RATE or decimal_places(rate.normalize()) > RATE_PLACES:
        raise invalid(field, _("Enter a rate below 10,000,000,000 with at most 8 decimals."))
    return rate


def _pair(currency: str, quote_currency: str | None) -> tuple[str, str]:
    code = currency_code(currency)
    quote = currency_code(quote_currency, "quote_currency") if quote_currency else None
    quote = quote or reporting_currency()
    if code == quote:
        raise invalid(
            "currency",
            _("%(code)s is the currency rates are quoted in; it needs no rate.") % {"code": code},
        )
    return code, quote


@dataclass(frozen=True)
class RateResult:
    rate: ExchangeRate
    created: bool  # False: the day's rate existed and was updated (or already equal)


def set_rate(
    *,
    actor: Any,
    currency: str,
    on: dt.date,
    rate: Any,
    quote_currency: str | None = None,
    source: str = ExchangeRate.Source.MANUAL,
) -> RateResult:
    """Set the rate of currency to quote_currency (the reporting currency by default) on
    a day: creates it, or updates that day's rate. Idempotent: the same rate again
    changes nothing and writes no event."""
    require_cost_manager(actor)
    code, quote = _pair(currency, quote_currency)
    day = check_day(on, "on")
    value = check_rate(rate)
    if source not in SOURCES:
        source = ExchangeRate.Source.MANUAL
    try:
        with transaction.atomic():
            existing = (
                ExchangeRate.objects.select_for_update()
                .filter(currency=code, quote_currency=quote, on=day)
                .first()
            )
            if existing is not None:
                if existing.rate == value:
                    return RateResult(rate=existing, created=False)
                old = existing.rate
                existing.rate = value
                existing.source = source
                existing.save(update_fields=["rate", "source", "updated_at"])
                _event(existing, CostEvent.Kind.UPDATED, actor, old=old)
                return RateResult(rate=existing, created=False)
            created = ExchangeRate.objects.create(
                currency=code,
                quote_currency=quote,
                on=day,
                rate=value,
                source=source,
                created_by=_actor_or_none(actor),
            )
            _event(created, CostEvent.Kind.CREATED, actor)
            return RateResult(rate=created, created=True)
    except IntegrityError:
        # Another request created the same day's rate between our look and our insert.
        raise Conflict(
            _("That rate was just entered by someone else. Reload and try again."),
            code="rate_changed",
        ) from None


def _event(rate: ExchangeRate, kind: str, actor: Any, *, old: Decimal | None = None) -> None:
    data: dict[str, Any] = {
        "currency": rate.currency,
        "quote_currency": rate.quote_currency,
        "on": rate.on.isoformat(),
        "rate": str(rate.rate),
        "source": rate.source,
    }
    if old is not None:
        data["old_rate"] = str(old)
    record_cost_event(
        CostEvent.Subject.EXCHANGE_RATE,
        rate.pk,
        kind,
        actor=actor,
        message=f"1 {rate.currency} = {_plain(rate.rate)} {rate.quote_currency} · {rate.on}",
        data=data,
    )


def _plain(rate: Decimal) -> str:
    return format(Decimal(rate).normalize(), "f")


def update_rate(
    *, actor: Any, exchange_rate: ExchangeRate, rate: Any = None, on: dt.date | None = None
) -> ExchangeRate:
    """Correct a rate's value or day. Moving it onto a day that has a rate is a 409.
    Idempotent: the same values change nothing."""
    require_cost_manager(actor)
    value = check_rate(rate) if rate is not None else None
    day = check_day(on, "on") if on is not None else None
    with transaction.atomic():
        locked = ExchangeRate.objects.select_for_update().get(pk=exchange_rate.pk)
        old = locked.rate
        changed: list[str] = []
        if value is not None and value != locked.rate:
            locked.rate = value
            changed.append("rate")
        if day is not None and day != locked.on:
            taken = (
                ExchangeRate.objects.filter(
                    currency=locked.currency, quote_currency=locked.quote_currency, on=day
                )
                .exclude(pk=locked.pk)
                .exists()
            )
            if taken:
                raise Conflict(
                    _("There is already a %(code)s rate on %(day)s: change that one instead.")
                    % {"code": locked.currency, "day": day.isoformat()},
                    code="rate_exists",
                )
            locked.on = day
            changed.append("on")
        if not changed:
            return locked
        locked.source = ExchangeRate.Source.MANUAL
        try:
            with transaction.atomic():
                locked.save(update_fields=[*changed, "source", "updated_at"])
        except IntegrityError:
            raise Conflict(
                _("That rate was just entered by someone else. Reload and try again."),
                code="rate_changed",
            ) from None
        _event(locked, CostEvent.Kind.UPDATED, actor, old=old)
    return locked


def delete_rate(*, actor: Any, exchange_rate: ExchangeRate) -> None:
    """Delete a rate (conversions fall back to the one before). Idempotent."""
    require_cost_manager(actor)
    with transaction.atomic():
        locked = ExchangeRate.objects.select_for_update().filter(pk=exchange_rate.pk).first()
        if locked is None:
            return
        _event(locked, CostEvent.Kind.DELETED, actor)
        locked.delete()


# --- CSV import -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RateRow:
    currency: str
    quote: str
    on: dt.date
    rate: Decimal

    def as_json(self) -> dict[str, str]:
        return {
            "currency": self.currency,
            "quote": self.quote,
            "on": self.on.isoformat(),
            "rate": str(self.rate),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RateRow:
        return cls(
            currency=str(data["currency"]),
            quote=str(data["quote"]),
            on=dt.date.fromisoformat(str(data["on"])),
            rate=Decimal(str(data["rate"])),
        )


@dataclass
class PreviewLine:
    line: int
    cells: dict[str, str]
    row: RateRow | None = None
    errors: list[str] = field(default_factory=list)
    action: str = ""  # new, update, same (already so), or "" with errors


@dataclass
class RatePreview:
    filename: str
    encoding: str
    quote: str
    lines: list[PreviewLine]

    @property
    def rows(self) -> list[RateRow]:
        """The valid rows, which confirming would save."""
        return [line.row for line in self.lines if line.row is not None and not line.errors]

    @property
    def error_count(self) -> int:
        return sum(1 for line in self.lines if line.errors)

    def count(self, action: str) -> int:
        return sum(1 for line in self.lines if line.action == action)


def parse_day(raw: str) -> dt.date | None:
    """2026-03-05, 2026/3/5, 2026.3.5 or 2026年3月5日, else None."""
    match = DATE_PATTERN.fullmatch(raw.strip())
    if match is None:
        return None
    try:
        return dt.date(*(int(part) for part in match.groups()))
    except ValueError:
        return None


def _cell(cells: list[str], index: int | None) -> str:
    if index is None or index >= len(cells):
        return ""
    # NFKC turns full-width digits, letters and punctuation into ASCII ones.
    return unicodedata.normalize("NFKC", cells[index]).strip()


def _header_key(cell: str) -> str:
    return "".join(unicodedata.normalize("NFKC", cell).replace("\ufeff", "").lower().split())


def _columns(header: list[str]) -> dict[str, int]:
    mapping: dict[str, int] = {}
    for index, cell in enumerate(header):
        key = _header_key(cell).replace("_", "").replace("-", "")
        name = next((n for n, names in ALIASES.items() if key in names), None)
        if name is None:
            continue
        if name in mapping:
            raise invalid(
                "file",
                _("The column “%(name)s” appears twice in the header.") % {"name": cell.strip()},
            )
        mapping[name] = index
    missing = [name for name in ("date", "currency", "rate") if name not in mapping]
    if missing:
        raise invalid(
            "file",
            _(
                "The file has no %(missing)s column. The first row must name the columns: "
                "date, currency, rate and optionally quote."
            )
            % {"missing": ", ".join(f"“{m}”" for m in missing)},
        )
    return mapping


def _read_rows(text: str) -> tuple[dict[str, int], list[tuple[int, list[str]]]]:
    first = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t", "，"), key=first.count)
    if not first.count(delimiter):
        delimiter = ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows: list[tuple[int, list[str]]] = []
    try:
        header = next(reader, None)
        if header is None:
            raise invalid("file", _("The file is empty."))
        mapping = _columns(header)
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue
            if len(rows) >= IMPORT_MAX_ROWS:
                raise invalid(
                    "file",
                    _("The file has more than %(n)s rows; split it into smaller files.")
                    % {"n": IMPORT_MAX_ROWS},
                )
            rows.append((reader.line_num, cells))
    except csv.Error as exc:
        raise invalid(
            "file",
            _("The file is not valid CSV near line %(line)s: %(reason)s")
            % {"line": reader.line_num, "reason": str(exc)},
        ) from exc
    if not rows:
        raise invalid("file", _("The file has a header but no rates."))
    return mapping, rows


def preview_rates_csv(*, actor: Any, upload: Any, quote_currency: str | None = None) -> RatePreview:
    """Read a CSV of rates (columns date, currency, rate, optional quote; UTF-8 with or
    without BOM, or GB18030) and say per row what importing would do. Saves nothing."""
    require_cost_manager(actor)
    default_quote = (
        currency_code(quote_currency, "quote_currency") if quote_currency else reporting_currency()
    )
    decoded = decode_upload(read_upload(upload, limit=IMPORT_MAX_BYTES))
    mapping, raw_rows = _read_rows(decoded.text)
    today = today_in_studio()
    lines: list[PreviewLine] = []
    seen: dict[tuple[str, str, dt.date], int] = {}
    for number, cells in raw_rows:
        values = {name: _cell(cells, mapping.get(name)) for name in COLUMNS}
        line = PreviewLine(line=number, cells=values)
        lines.append(line)
        line.row = _parse_row(values, default_quote, line.errors, today)
        if line.row is None:
            continue
        key = (line.row.currency, line.row.quote, line.row.on)
        if key in seen:
            line.errors.append(
                _("The same currency and day are already on line %(line)s.") % {"line": seen[key]}
            )
            continue
        seen[key] = number
    _mark_actions(lines)
    name = str(getattr(upload, "name", "") or "")[:200]
    return RatePreview(filename=name, encoding=decoded.encoding, quote=default_quote, lines=lines)


def _parse_row(
    values: dict[str, str], default_quote: str, errors: list[str], today: dt.date
) -> RateRow | None:
    day = parse_day(values["date"]) if values["date"] else None
    if not values["date"]:
        errors.append(_("The date is missing."))
    elif day is None:
        errors.append(
            _("“%(value)s” is not a date; write 2026-03-05, 2026/3/5 or 2026年3月5日.")
            % {"value": values["date"]}
        )
    else:
        try:
            check_day(day, "date", today=today)
        except InvalidInput as exc:
            errors.append(exc.message)
    code = values["currency"].upper()
    quote = (values["quote"] or default_quote).upper()
    if not code:
        errors.append(_("The currency is missing."))
    for raw, value in ((values["currency"], code), (values["quote"], quote)):
        if value:
            try:
                currency_code(value)
            except InvalidInput:
                errors.append(
                    _("“%(code)s” is not a currency ReelDesk knows.") % {"code": raw or value}
                )
    if code and code == quote:
        errors.append(_("The currency and the quote currency are the same."))
    rate: Decimal | None = None
    if not values["rate"]:
        errors.append(_("The rate is missing."))
    else:
        try:
            rate = check_rate(values["rate"].replace(" ", ""))
        except InvalidInput as exc:
            errors.append(f"{exc.message} (“{values['rate']}”)")
    if errors or day is None or rate is None:
        return None
    return RateRow(currency=code, quote=quote, on=day, rate=rate)


def _existing(rows: Sequence[RateRow]) -> dict[tuple[str, str, dt.date], ExchangeRate]:
    if not rows:
        return {}
    found = ExchangeRate.objects.filter(
        currency__in={r.currency for r in rows},
        quote_currency__in={r.quote for r in rows},
        on__gte=min(r.on for r in rows),
        on__lte=max(r.on for r in rows),
    )
    return {(r.currency, r.quote_currency, r.on): r for r in found}


def _mark_actions(lines: list[PreviewLine]) -> None:
    valid = [line for line in lines if line.row is not None and not line.errors]
    existing = _existing([line.row for line in valid if line.row is not None])
    for line in valid:
        assert line.row is not None
        current = existing.get((line.row.currency, line.row.quote, line.row.on))
        if current is None:
            line.action = "new"
        elif current.rate == line.row.rate:
            line.action = "same"
        else:
            line.action = "update"


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int
    unchanged: int


def import_rates(*, actor: Any, rows: Sequence[RateRow]) -> ImportResult:
    """Save previewed rows: new days are created, existing days updated (never
    duplicated). Idempotent: importing the same rows again changes nothing."""
    require_cost_manager(actor)
    for row in rows:
        # Rows come from a preview kept server-side; check again anyway.
        _pair(row.currency, row.quote)
        check_day(row.on, "on")
        check_rate(row.rate)
    created = updated = unchanged = 0
    now = timezone.now()
    try:
        with transaction.atomic():
            existing = _existing(rows)
            new: list[ExchangeRate] = []
            changed: list[tuple[ExchangeRate, Decimal]] = []
            for row in rows:
                current = existing.get((row.currency, row.quote, row.on))
                if current is None:
                    new.append(
                        ExchangeRate(
                            currency=row.currency,
                            quote_currency=row.quote,
                            on=row.on,
                            rate=row.rate,
                            source=ExchangeRate.Source.CSV,
                            created_by=_actor_or_none(actor),
                        )
                    )
                elif current.rate == row.rate:
                    unchanged += 1
                else:
                    changed.append((current, current.rate))
                    current.rate = row.rate
                    current.source = ExchangeRate.Source.CSV
                    current.updated_at = now
            saved = []
            for rate in new:  # one by one so every new rate has its id for the event
                rate.save(force_insert=True)
                saved.append(rate)
            ExchangeRate.objects.bulk_update(
                [rate for rate, _old in changed], ["rate", "source", "updated_at"], batch_size=500
            )
            if changed:  # bulk_update sends no model signal
                from billing.services.margins import mark_dirty

                mark_dirty()
            created, updated = len(saved), len(changed)
            CostEvent.objects.bulk_create(
                [_import_event(rate, actor, None) for rate in saved]
                + [_import_event(rate, actor, old) for rate, old in changed],
                batch_size=500,
            )
    except IntegrityError:
        raise Conflict(
            _("Some of these rates were just entered by someone else. Preview the file again."),
            code="rate_changed",
        ) from None
    return ImportResult(created=created, updated=updated, unchanged=unchanged)


def _import_event(rate: ExchangeRate, actor: Any, old: Decimal | None) -> CostEvent:
    data = {
        "currency": rate.currency,
        "quote_currency": rate.quote_currency,
        "on": rate.on.isoformat(),
        "rate": str(rate.rate),
        "source": rate.source,
    }
    if old is not None:
        data["old_rate"] = str(old)
    return CostEvent(
        subject=CostEvent.Subject.EXCHANGE_RATE,
        object_id=rate.pk,
        kind=CostEvent.Kind.IMPORTED,
        actor=_actor_or_none(actor),
        actor_label=actor_label(actor),
        message=f"1 {rate.currency} = {_plain(rate.rate)} {rate.quote_currency} · {rate.on}",
        data=data,
    )
