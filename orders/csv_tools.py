"""Reading spreadsheet uploads: size limit, encoding and separator detection, and the
header/rows split. Shared by the shot list import and the spreadsheet imports.

Files: UTF-8 with or without a byte-order mark, UTF-16 with a byte-order mark (Excel's
"Unicode text") or GB18030 (Chinese Excel and WPS); commas, semicolons or tabs between
columns.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from studio.errors import InvalidInput
from studio.money import MINOR_UNITS

MAX_CSV_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True)
class DecodedText:
    text: str
    encoding: str


def looks_binary(text: str) -> bool:
    sample = text[:65536]
    if "\x00" in sample:
        return True
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\t\r\n\f")
    return controls > max(8, len(sample) // 200)


def _refuse(message: str) -> InvalidInput:
    return InvalidInput(message, fields={"file": [message]})


def decode_upload(data: bytes, *, kind: str = "csv") -> DecodedText:
    """The file as text: UTF-8 (with or without BOM), UTF-16 with BOM, or GB18030."""
    not_text = (
        _("This file is not a CSV text file. Save the sheet as “CSV UTF-8” and upload that.")
        if kind == "csv"
        else _("This file is not a Fountain screenplay (plain text). Save it as .fountain.")
    )
    if not data.strip():
        raise _refuse(_("The file is empty."))
    candidates: list[tuple[str, bytes]]
    if data.startswith(b"\xef\xbb\xbf"):
        candidates = [("utf-8-sig", data)]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        candidates = [("utf-16", data)]
    else:
        candidates = [("utf-8", data), ("gb18030", data)]
    for encoding, raw in candidates:
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        if looks_binary(text):
            raise _refuse(not_text)
        return DecodedText(text=text, encoding=encoding)
    message = _(
        "The file could not be read as UTF-8 or GB18030 text. Save it as “CSV UTF-8” "
        "(or plain text) and upload it again."
    )
    raise _refuse(message if kind == "csv" else not_text)


def read_upload(upload: Any, *, limit: int = MAX_CSV_BYTES) -> bytes:
    """The uploaded file's bytes, refusing files over limit before reading them."""
    size = getattr(upload, "size", None) or 0
    if size > limit:
        raise _refuse(
            _("The file is %(size)s MB; the limit is %(limit)s MB.")
            % {"size": f"{size / 1024 / 1024:.1f}", "limit": f"{limit / 1024 / 1024:.0f}"}
        )
    upload.seek(0)
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise _refuse(
            _("The file is larger than %(limit)s MB.") % {"limit": f"{limit / 1024 / 1024:.0f}"}
        )
    return bytes(data)


def delimiter_of(header_line: str) -> str:
    """The separator the header line uses most: comma, semicolon or tab."""
    counts = {sep: header_line.count(sep) for sep in (",", ";", "\t")}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] else ","


def header_key(cell: str) -> str:
    """A header cell compared loosely: lower case, single spaces, _ and - as spaces."""
    return " ".join(cell.replace("\ufeff", "").replace("_", " ").replace("-", " ").lower().split())


@dataclass(frozen=True)
class Table:
    header: list[str]
    rows: list[tuple[int, list[str]]]  # (line number in the file, cells)
    delimiter: str


def read_table(text: str, *, max_rows: int) -> Table:
    """The header and every non-empty data row (with its line number) of CSV text."""
    delimiter = delimiter_of(text.split("\n", 1)[0])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows: list[tuple[int, list[str]]] = []
    try:
        header = next(reader, None)
        if header is None or not any(cell.strip() for cell in header):
            raise _refuse(_("The file is empty."))
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue
            if len(rows) >= max_rows:
                raise _refuse(
                    _("The file has more than %(n)s rows; split it into smaller files.")
                    % {"n": max_rows}
                )
            rows.append((reader.line_num, cells))
    except csv.Error as exc:
        raise _refuse(
            _("The file is not valid CSV near line %(line)s: %(reason)s")
            % {"line": reader.line_num, "reason": str(exc)}
        ) from exc
    return Table(header=[cell.strip() for cell in header], rows=rows, delimiter=delimiter)


# --- Values written by people --------------------------------------------------------------


class ValueProblem(ValueError):
    """A cell that cannot be read; the message says why, for people."""


class DayOrder:
    AUTO = "auto"
    DAY_FIRST = "dmy"
    MONTH_FIRST = "mdy"
    CHOICES = (AUTO, DAY_FIRST, MONTH_FIRST)


_TIME_TAIL = r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
_YMD = re.compile(r"(\d{4})\s*[-/.]\s*(\d{1,2})\s*[-/.]\s*(\d{1,2})" + _TIME_TAIL)
_YMD_CHINESE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]?" + _TIME_TAIL)
_DMY_OR_MDY = re.compile(r"(\d{1,2})\s*[-/.]\s*(\d{1,2})\s*[-/.]\s*(\d{4})" + _TIME_TAIL)
EARLIEST_YEAR, LATEST_YEAR = 1990, 2100


def _make_date(raw: str, year: int, month: int, day: int) -> dt.date:
    if not EARLIEST_YEAR <= year <= LATEST_YEAR:
        raise ValueProblem(
            _("“%(value)s”: the year must be between %(first)s and %(last)s.")
            % {"value": raw, "first": EARLIEST_YEAR, "last": LATEST_YEAR}
        )
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise ValueProblem(_("“%(value)s” is not a date that exists.") % {"value": raw}) from None


def parse_date(raw: str, *, order: str = DayOrder.AUTO) -> dt.date:
    """2026-03-05, 2026/3/5, 2026.3.5 and 2026年3月5日 always; 5/3/2026 or 3/5/2026 when
    only one reading is possible or the day/month order is given. A time after the date
    (Excel adds 00:00:00) is ignored."""
    text = raw.strip()
    match = _YMD.fullmatch(text) or _YMD_CHINESE.fullmatch(text)
    if match:
        return _make_date(text, int(match[1]), int(match[2]), int(match[3]))
    match = _DMY_OR_MDY.fullmatch(text)
    if match is None:
        raise ValueProblem(
            _("“%(value)s” is not a date. Write dates as 2026-03-05, 2026/3/5 or 2026年3月5日.")
            % {"value": text}
        )
    first, second, year = int(match[1]), int(match[2]), int(match[3])
    if order == DayOrder.DAY_FIRST:
        return _make_date(text, year, second, first)
    if order == DayOrder.MONTH_FIRST:
        return _make_date(text, year, first, second)
    if first > 12 >= second:
        return _make_date(text, year, second, first)
    if second > 12 >= first:
        return _make_date(text, year, first, second)
    if first == second:
        return _make_date(text, year, first, second)
    raise ValueProblem(
        _(
            "“%(value)s” could be %(day_first)s or %(month_first)s. Choose the day/month "
            "order above, or write the date as 2026-03-05."
        )
        % {
            "value": text,
            "day_first": _make_date(text, year, second, first).isoformat(),
            "month_first": _make_date(text, year, first, second).isoformat(),
        }
    )


# Currency signs and words people write next to amounts, longest first when matching.
CURRENCY_WORDS: dict[str, str] = {
    "us$": "USD",
    "hk$": "HKD",
    "nt$": "TWD",
    "s$": "SGD",
    "a$": "AUD",
    "c$": "CAD",
    "jp¥": "JPY",
    "rmb": "CNY",
    "¥": "CNY",
    "￥": "CNY",
    "元": "CNY",
    "块": "CNY",
    "人民币": "CNY",
    "$": "USD",
    "美元": "USD",
    "€": "EUR",
    "欧元": "EUR",
    "£": "GBP",
    "英镑": "GBP",
    "港币": "HKD",
    "港元": "HKD",
    "日元": "JPY",
    "円": "JPY",
    "₩": "KRW",
    "韩元": "KRW",
    "฿": "THB",
    "rm": "MYR",
}
_SPACES = re.compile(r"[\s\u00a0\u2009\u202f]+")
_AMOUNT = re.compile(r"(?P<sign>[-\u2212])?(?P<number>\d[\d.,' ]*)")
_GROUPED = re.compile(r"\d{1,3}(?:[,.' ]\d{3})+")


def parse_currency(raw: str) -> str:
    """An ISO code (any case) or a common sign or word for it (¥, 元, RMB, 美元, $…)."""
    text = _SPACES.sub("", raw).lower()
    code = CURRENCY_WORDS.get(text) or text.upper()
    if code not in MINOR_UNITS:
        raise ValueProblem(
            _("“%(value)s” is not a currency we know. Use a code such as %(codes)s.")
            % {"value": raw.strip(), "codes": ", ".join(list(MINOR_UNITS)[:6])}
        )
    return code


def _split_currency(text: str) -> tuple[str, str | None]:
    """The number part and the currency written before or after it (or None)."""
    found: set[str] = set()
    rest = text.lower().strip()
    for word in sorted(CURRENCY_WORDS, key=len, reverse=True):
        if rest.startswith(word):
            found.add(CURRENCY_WORDS[word])
            rest = rest[len(word) :].strip()
        if rest.endswith(word):
            found.add(CURRENCY_WORDS[word])
            rest = rest[: -len(word)].strip()
    match = re.fullmatch(r"([a-z]{3})?\s*(.*?)\s*([a-z]{3})?", rest)
    if match:
        for code_text in (match[1], match[3]):
            if code_text:
                code = code_text.upper()
                if code not in MINOR_UNITS:
                    raise ValueProblem(_("“%(code)s” is not a currency we know.") % {"code": code})
                found.add(code)
        rest = match[2]
    if len(found) > 1:
        raise ValueProblem(_("“%(value)s” names two currencies.") % {"value": text})
    return rest, next(iter(found), None)


def parse_amount(raw: str) -> tuple[Decimal, str | None]:
    """An amount as people write it, exactly, with the currency it names (if any):
    ¥1,500.00 · 1500 · 1 500,00 · 1.500,00 · ￥1500元 · USD 200 · 200美元.
    One separator followed by three digits is read as thousands for a comma (1,500) and
    refused as ambiguous for a point (1.500 could be 1.5)."""
    text = _SPACES.sub(" ", raw.strip())
    if not text:
        raise ValueProblem(_("The amount is empty."))
    if not any(ch.isdigit() for ch in text):
        raise _not_amount(raw)
    number, currency = _split_currency(text)
    negative = False
    if number.startswith("(") and number.endswith(")"):
        negative, number = True, number[1:-1].strip()
    match = _AMOUNT.fullmatch(number)
    if match is None:
        raise _not_amount(raw)
    value = _number(match["number"].rstrip(), raw.strip())
    return (-value if negative or match["sign"] else value), currency


def _not_amount(raw: str) -> ValueProblem:
    return ValueProblem(
        _("“%(value)s” is not an amount. Write it as 1500, 1,500.00 or ¥1500.")
        % {"value": raw.strip()}
    )


def _grouped(digits: str, *, not_sep: str = "") -> bool:
    """1,500,000 / 1.500.000 / 1 500 000: one grouping separator, groups of three."""
    seps = {ch for ch in digits if not ch.isdigit()}
    return len(seps) == 1 and not_sep not in seps and bool(_GROUPED.fullmatch(digits))


def _number(digits: str, raw: str) -> Decimal:
    separators = [ch for ch in digits if not ch.isdigit()]
    if not separators:
        return Decimal(digits)
    last = separators[-1]
    if last in ",." and separators.count(last) == 1:
        whole, _sep, fraction = digits.rpartition(last)
        if len(set(separators)) == 1 and len(fraction) == 3 and _grouped(digits):
            if last == ".":
                raise ValueProblem(
                    _(
                        "“%(value)s” is ambiguous: %(small)s or %(large)s? Write it without "
                        "the point (1500) or with two decimals (1.50)."
                    )
                    % {
                        "value": raw,
                        "small": f"{Decimal(digits).normalize():f}",
                        "large": whole + fraction,
                    }
                )
            return Decimal(whole + fraction)  # 1,500: a thousands comma
        if whole.isdigit() or _grouped(whole, not_sep=last):
            return Decimal(f"{re.sub(r'[^0-9]', '', whole)}.{fraction}")
        raise _not_amount(raw)
    if _grouped(digits):
        return Decimal(re.sub(r"[^0-9]", "", digits))
    raise _not_amount(raw)


def fingerprint(*parts: Any) -> str:
    """SHA-256 of the parts (JSON, sorted keys): stable across runs and machines."""
    data = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def loose_text(value: str) -> str:
    """Case- and space-insensitive form of a name, for matching."""
    return " ".join(value.split()).casefold()
