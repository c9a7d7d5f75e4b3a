"""Invoice PDFs with WeasyPrint: A4, in the client's language, safe to render.

What keeps it fast (measured by bench/pdf.py):

- WeasyPrint is imported once per worker process (the import alone takes about a
  second) and each thread keeps one FontConfiguration and the stylesheet parsed once
  into a CSS object; a new FontConfiguration per document also makes Pango reload the
  fonts and lets memory swing (Noto CJK is a large font).
- The template uses neither flex nor grid: block flow, floats and tables with
  `table-layout: fixed` and explicit column widths, which WeasyPrint lays out in one
  pass (long tables with automatic layout get slower per page).
- The HTML object is billing's InvoiceHTML, whose user-agent stylesheet is pdf/ua.css
  (parsed once per thread) instead of WeasyPrint's html5_ua.css: only the default rules
  of the elements the template uses (TEMPLATE_TAGS). WeasyPrint's sheet also gives every
  element ::marker and footnote/note pseudo-element styles that the cascade computes;
  with ours, selector matching takes about 40 % of the time (about 8 % of a one-page
  render) and the pages are byte for byte the same (tests/billing/test_pdf.py).
- Fonts are subset in one HarfBuzz pass instead of WeasyPrint's two
  (subset_in_one_pass): a Noto CJK face costs about 11 ms per document instead of 25-35,
  because WeasyPrint keeps glyph ids and so works through ~60,000 (mostly empty) glyphs
  in each pass. The glyphs are the same (a test compares them with WeasyPrint's own).
  And the whole font file that WeasyPrint copies for each font of each document (19 MB
  for a Noto CJK face) is copied once per thread (font_file).
- Tables without borders use the separated border model: the collapsing one makes
  WeasyPrint build a border grid for every cell (about 2 ms of a one-page render).
- Everything is formatted in Python first (money, quantities, dates), so the Django
  template only prints strings; the QR code is inline SVG made by segno (cached per
  URL): one path of horizontal strokes, about 5 ms to draw, kept as vector (a raster
  QR was ~5 ms cheaper but depends on the viewer honouring non-interpolation) and the
  logo goes through WeasyPrint's image cache.
- Labels have their own translation context ("invoice"): a short word such as "Order"
  or "Total" means something else elsewhere in the app, and shares its msgid there.
- English documents put a Latin font first, so the large CJK font is subset only when
  a document has CJK text; Chinese text stays upright (a CJK font has no italic, and
  a synthetic one embeds a second copy of the font).
- A Celery worker process warms up when it starts (warm_up(): fonts loaded, state
  built) and then freezes its long-lived objects out of the garbage collector
  (billing.tasks): a render makes millions of short-lived objects, and full collections
  rescanning Django, WeasyPrint and the fonts made the slowest renders twice as slow.

What keeps it safe: the URL fetcher below reads only files under the project's static
and media folders (and data: URLs); it refuses every other file, every network scheme
(http, https, ftp…) and anything that resolves outside those folders, so an invoice
note such as `<img src="file:///etc/passwd">` or a link to http://127.0.0.1 fetches
nothing (the template escapes notes anyway; the fetcher is the second wall).
"""

from __future__ import annotations

import functools
import io
import logging
import mimetypes
import os
import re
import threading
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.request import url2pathname

from django.conf import settings
from django.core.files.storage import default_storage
from django.template.loader import get_template, render_to_string
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from billing import calc
from billing.models import BillingSettings, Invoice, InvoiceLine
from studio.models import StudioProfile
from studio.money import MINOR_UNITS, SYMBOLS, Money

log = logging.getLogger(__name__)
# WeasyPrint announces every rendering step at INFO; a worker's log needs none of them.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)
STYLESHEET_TEMPLATE = "pdf/invoice.css"
UA_STYLESHEET_TEMPLATE = "pdf/ua.css"
DOCUMENT_TEMPLATE = "pdf/invoice.html"
# The elements the invoice template may use: the ones pdf/ua.css gives their default
# style (display, margins, bold headings...). A test renders every kind of document and
# fails on any other element, which would otherwise silently lose its default style.
TEMPLATE_TAGS = frozenset(
    {"html", "head", "meta", "title", "style", "body", "div", "p", "h2", "span", "img", "br"}
    | {"table", "colgroup", "col", "thead", "tbody", "tr", "td", "th", "svg"}
)


# --- The URL fetcher ---------------------------------------------------------------------


class RefusedURL(ValueError):
    """WeasyPrint asked for something outside the project's static and media files."""


def allowed_roots() -> list[Path]:
    """Folders whose files a PDF may embed: STATIC_ROOT, the static folders and MEDIA_ROOT."""
    roots = [Path(settings.MEDIA_ROOT), Path(settings.STATIC_ROOT)]
    roots += [
        Path(p if isinstance(p, str | os.PathLike) else p[1]) for p in settings.STATICFILES_DIRS
    ]
    return [root.resolve() for root in roots]


def resolve_allowed(url: str) -> Path:
    """The real path of a file: URL if it lies inside an allowed root, else RefusedURL.
    Symbolic links and .. are resolved first, so neither can lead outside."""
    if not url.lower().startswith("file:"):
        raise RefusedURL(f"refused non-file URL {url[:100]!r}")
    raw = url.split("?", 1)[0].split("#", 1)[0][len("file:") :]
    if raw.startswith("//"):
        host, _sep, rest = raw[2:].partition("/")
        if host not in ("", "localhost"):
            raise RefusedURL(f"refused remote file URL {url[:100]!r}")
        raw = "/" + rest
    path = Path(url2pathname(raw)).resolve()
    for root in allowed_roots():
        if path.is_relative_to(root) and path.is_file():
            return path
    raise RefusedURL(f"refused file outside static and media {url[:100]!r}")


def _url_fetcher_class() -> type:
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class SafeURLFetcher(URLFetcher):
        """Only data: URLs and files under static/media. No network, no other files."""

        def fetch(self, url: str, headers: Any = None) -> Any:
            if url.lower().startswith("data:"):
                return super().fetch(url, headers)
            try:
                path = resolve_allowed(url)
            except RefusedURL:
                log.warning("PDF fetch refused: %s", url[:200])
                raise
            content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            return URLFetcherResponse(
                url, body=path.read_bytes(), headers={"Content-Type": content_type}
            )

    return SafeURLFetcher


@functools.cache
def safe_url_fetcher_class() -> type:
    return _url_fetcher_class()


def make_url_fetcher() -> Any:
    return safe_url_fetcher_class()(timeout=5, allow_redirects=False)


# --- Per-thread rendering state ---------------------------------------------------------


class _Renderer(threading.local):
    font_config: Any = None
    stylesheet: Any = None
    ua_stylesheet: Any = None
    fetcher: Any = None
    image_cache: dict[str, Any] | None = None
    # True while this thread renders the shared way: the font hooks below apply only then.
    rendering: bool = False
    # A copy of each font file WeasyPrint embedded from, by HarfBuzz face (with a
    # reference that keeps the face, and so its address, alive).
    font_files: dict[int, tuple[Any, bytes]] | None = None


_renderer = _Renderer()


def stylesheet_source(name: str = STYLESHEET_TEMPLATE) -> str:
    template = get_template(name)
    return str(template.template.source)  # type: ignore[attr-defined]


@functools.cache
def invoice_html_class() -> type:
    """weasyprint.HTML with the invoice's own user-agent stylesheet (pdf/ua.css) in place
    of WeasyPrint's HTML one. WeasyPrint takes its UA stylesheets from the HTML object's
    _ua_stylesheets(); the test suite checks that this hook still exists and that both
    stylesheets give the same pages, so an upgrade that changes either fails there."""
    from weasyprint import HTML

    class InvoiceHTML(HTML):
        ua_stylesheet: Any = None

        def _ua_stylesheets(self, forms: bool = False) -> list[Any]:
            return [self.ua_stylesheet]

    return InvoiceHTML


# --- Fonts: subset in one pass, each file copied once ----------------------------------------

# The tables WeasyPrint 70 drops from every embedded font (pdf/fonts.py), and FFTM, a
# FontForge time stamp that its second pass drops as well.
DROPPED_FONT_TABLES = (
    b"BASE", b"DSIG", b"EBDT", b"EBLC", b"EBSC", b"FFTM", b"GPOS", b"GSUB", b"JSTF", b"LTSH",
    b"PCLT", b"SVG ",
)  # fmt: skip


def subset_in_one_pass(font: Any, to_unicode: dict[int, str], hinting: bool) -> bool:
    """Subset a font for the PDF as WeasyPrint does, in one HarfBuzz pass instead of two.

    WeasyPrint's Font._harfbuzz_subset keeps the used glyphs at their ids (the page content
    streams refer to glyph ids), then subsets the result a second time to drop hinting and
    the glyphs after the last used one. HarfBuzz can do both in the first pass, and the
    second one costs about as much as the first for a large font, because the retained ids
    of a CJK font run up to ~60,000 glyphs (most of them left empty): ~15 ms per Noto CJK
    face and document. The glyphs (outlines and advances) are the same. In the invoices
    measured, the Latin faces' files came out byte for byte the same; where a used CJK
    character has a variation-sequence form in the font, HarfBuzz also keeps that unused
    glyph, which WeasyPrint's second pass cuts off after the last used id (~2 KB more).
    Returns False when it cannot, and WeasyPrint's own way runs instead.
    """
    from weasyprint.text.ffi import ffi, harfbuzz, harfbuzz_subset
    from weasyprint.text.fonts import get_hb_object_data

    if not to_unicode or harfbuzz_subset is None or not harfbuzz.hb_version_atleast(4, 1, 0):
        return False
    subset_input = ffi.gc(
        harfbuzz_subset.hb_subset_input_create_or_fail(), harfbuzz_subset.hb_subset_input_destroy
    )
    if not subset_input:
        return False
    glyphs = sorted(to_unicode)
    harfbuzz.hb_set_add_sorted_array(
        harfbuzz_subset.hb_subset_input_glyph_set(subset_input),
        ffi.new("hb_codepoint_t[]", glyphs),
        len(glyphs),
    )
    flags = (
        harfbuzz_subset.HB_SUBSET_FLAGS_RETAIN_GIDS
        | harfbuzz_subset.HB_SUBSET_FLAGS_PASSTHROUGH_UNRECOGNIZED
        | harfbuzz_subset.HB_SUBSET_FLAGS_DESUBROUTINIZE
    )
    if not hinting:
        flags |= harfbuzz_subset.HB_SUBSET_FLAGS_NO_HINTING
    if font.missing:
        flags |= harfbuzz_subset.HB_SUBSET_FLAGS_NOTDEF_OUTLINE
    harfbuzz_subset.hb_subset_input_set_flags(subset_input, flags)
    tags = sorted(harfbuzz.hb_tag_from_string(name, -1) for name in DROPPED_FONT_TABLES)
    harfbuzz.hb_set_add_sorted_array(
        harfbuzz_subset.hb_subset_input_set(
            subset_input, harfbuzz_subset.HB_SUBSET_SETS_DROP_TABLE_TAG
        ),
        ffi.new("hb_codepoint_t[]", tags),
        len(tags),
    )
    face = ffi.gc(
        harfbuzz_subset.hb_subset_or_fail(font.hb_face, subset_input), harfbuzz.hb_face_destroy
    )
    data = get_hb_object_data(face) if face else None
    if not data:
        return False
    font.file_content = data
    return True


def font_file(hb_face: Any) -> bytes:
    """The whole file of a font, copied once per thread and face.

    WeasyPrint's pdf.fonts.Font copies the whole font file into a bytes object for every
    font of every document, and needs it only if HarfBuzz cannot subset the font (or for
    variable and colour fonts). For Noto CJK that is 19 MB per face: about 2 ms to copy,
    and when the allocator has given the freed copy back to the system, about 10 ms more
    to fault the next one in (measured up to 10,000 page faults per render). One copy per
    face also left the peak memory 20-35 MB lower than a fresh one per document."""
    from weasyprint.text.ffi import ffi, harfbuzz
    from weasyprint.text.fonts import get_hb_object_data

    files = _renderer.font_files
    if files is None:
        files = _renderer.font_files = {}
    key = int(ffi.cast("uintptr_t", hb_face))
    if key not in files:
        face = ffi.gc(harfbuzz.hb_face_reference(hb_face), harfbuzz.hb_face_destroy)
        files[key] = (face, get_hb_object_data(hb_face))
    return files[key][1]


@functools.cache
def install_font_hooks() -> None:
    """While this thread renders the shared way (the naive way keeps WeasyPrint's own):
    fonts are subset in one pass (subset_in_one_pass) and the copy of each font file is
    made once (font_file). The test suite checks that both hooks still exist and that
    the fonts' glyphs are the same either way."""
    from weasyprint.pdf import fonts

    weasyprint_subset = fonts.Font._harfbuzz_subset
    weasyprint_data = fonts.get_hb_object_data

    def _harfbuzz_subset(self: Any, to_unicode: dict[int, str], hinting: bool) -> None:
        if _renderer.rendering and subset_in_one_pass(self, to_unicode, hinting):
            return
        rendering, _renderer.rendering = _renderer.rendering, False
        try:  # WeasyPrint's own way, whose subset fonts font_file() must not keep
            weasyprint_subset(self, to_unicode, hinting)
        finally:
            _renderer.rendering = rendering

    def get_hb_object_data(hb_object: Any, ot_color: Any = None, glyph: Any = None) -> Any:
        # Called without ot_color only for a Font's whole file (in Font.__init__) and,
        # with rendering off, for the fonts WeasyPrint's own subsetting makes.
        if _renderer.rendering and ot_color is None:
            return font_file(hb_object)
        return weasyprint_data(hb_object, ot_color, glyph)

    fonts.Font._harfbuzz_subset = _harfbuzz_subset
    fonts.get_hb_object_data = get_hb_object_data


def shared_state() -> _Renderer:
    """This thread's FontConfiguration, parsed stylesheet, URL fetcher and image cache,
    made on first use."""
    if _renderer.font_config is None:
        install_font_hooks()
        from weasyprint import CSS
        from weasyprint.text.fonts import FontConfiguration

        fetcher = make_url_fetcher()
        font_config = FontConfiguration()
        _renderer.stylesheet = CSS(
            string=stylesheet_source(), font_config=font_config, url_fetcher=fetcher
        )
        _renderer.ua_stylesheet = CSS(
            string=stylesheet_source(UA_STYLESHEET_TEMPLATE),
            font_config=font_config,
            url_fetcher=fetcher,
        )
        _renderer.fetcher = fetcher
        _renderer.image_cache = {}
        _renderer.font_config = font_config
    return _renderer


# A 1x1 PNG, an inline SVG, a table and Latin and CJK text in both weights (only elements
# of TEMPLATE_TAGS: pdf/ua.css styles no others, so <strong> would not be bold): the code
# paths and fonts an invoice needs, loaded once when a worker starts.
WARM_UP_HTML = (
    '<html lang="zh-Hans" class="lang-zh-Hans"><body><p>Invoice 账单 ¥1,234.56</p>'
    '<p class="strong">Total 合计 人民币壹仟贰佰叁拾肆元伍角陆分</p>'
    "<table><tr><td>1</td><td>Qty 数量</td></tr></table>"
    '<svg viewBox="0 0 2 2"><path d="M0 0h1v1h-1z"/></svg>'
    '<img alt="" src="data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAA'
    'DUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="></body></html>'
)


def warm_up() -> None:
    """Make this worker's first invoice nearly as fast as the next ones: import
    WeasyPrint, build the shared state, load the fonts (Latin and CJK, both weights),
    compile the invoice template and load both languages' catalogues.
    Called when a Celery worker process starts (billing.tasks)."""
    get_template(DOCUMENT_TEMPLATE)
    for language in ("en", "zh-hans"):
        with translation.override(language):
            pgettext("document title", "Invoice")
    html_to_pdf(WARM_UP_HTML)


def reset_shared_state() -> None:
    """Forget this thread's font configuration and stylesheet (tests, benchmarks)."""
    _renderer.font_config = None
    _renderer.stylesheet = None
    _renderer.ua_stylesheet = None
    _renderer.fetcher = None
    _renderer.image_cache = None
    _renderer.font_files = None


def html_to_pdf(html: str, *, shared: bool = True) -> bytes:
    """Render HTML to PDF bytes. shared=False is the naive way, kept for the benchmark
    and the tests: WeasyPrint's default call with a new FontConfiguration and a freshly
    parsed stylesheet for this document (and WeasyPrint's own UA stylesheet, no image
    cache)."""
    from weasyprint import CSS, HTML

    if shared:
        state = shared_state()
        font_config, stylesheet, fetcher = state.font_config, state.stylesheet, state.fetcher
        cache = state.image_cache
        document = invoice_html_class()(string=html, base_url=_base_url(), url_fetcher=fetcher)
        document.ua_stylesheet = state.ua_stylesheet
    else:
        from weasyprint.text.fonts import FontConfiguration

        fetcher = make_url_fetcher()
        font_config = FontConfiguration()
        stylesheet = CSS(string=stylesheet_source(), font_config=font_config, url_fetcher=fetcher)
        cache = None
        document = HTML(string=html, base_url=_base_url(), url_fetcher=fetcher)
    target = io.BytesIO()
    _renderer.rendering = shared
    try:
        document.write_pdf(target, stylesheets=[stylesheet], font_config=font_config, cache=cache)
    finally:
        _renderer.rendering = False
    return target.getvalue()


def _base_url() -> str:
    # Relative URLs resolve inside the media folder, where the fetcher allows them.
    return Path(settings.MEDIA_ROOT).resolve().as_uri() + "/"


# --- What the document says ------------------------------------------------------------


def format_money(amount: Decimal, currency: str) -> str:
    return Money(amount, currency).format()


def format_price(amount: Decimal, currency: str) -> str:
    """A unit price: the currency's decimals, or up to four when it has finer ones."""
    places = MINOR_UNITS.get(currency, 2)
    value = amount.normalize()
    exponent = value.as_tuple().exponent
    decimals = max(places, -exponent if isinstance(exponent, int) and exponent < 0 else 0)
    sign = "-" if amount < 0 else ""
    return f"{sign}{SYMBOLS.get(currency, currency + ' ')}{abs(amount):,.{min(decimals, 4)}f}"


def format_quantity(quantity: Decimal) -> str:
    text = format(quantity.normalize(), "f")
    whole, _sep, fraction = text.partition(".")
    return f"{int(whole):,}" + (f".{fraction}" if fraction else "")


def format_rate(rate: Decimal) -> str:
    return format(rate.normalize(), "f") + "%"


@functools.lru_cache(maxsize=256)
def qr_svg(url: str, *, scale: int = 0) -> str:
    """The QR code of url as inline SVG (cached: one per client link). Without a scale
    the SVG has no size of its own (CSS sizes it); with one, each module is that many
    pixels."""
    import segno

    code = segno.make(url, error="m", micro=False)
    if scale:
        return str(code.svg_inline(scale=scale, border=2, dark="#111111"))
    return str(code.svg_inline(scale=1, border=2, omitsize=True, dark="#111111"))


def _logo_url(name: str) -> str:
    if not name:
        return ""
    try:
        path = Path(default_storage.path(name))
        stamp = path.stat().st_mtime_ns
    except (NotImplementedError, OSError, ValueError):
        return ""
    return f"{path.resolve().as_uri()}?v={stamp}"


@dataclass(frozen=True)
class LineView:
    number: int
    description: str
    quantity: str
    unit: str
    unit_price: str
    tax_rate: str
    amount: str


def _bank_rows(details: dict[str, str]) -> list[tuple[str, str]]:
    labels = {
        "bank_account_name": pgettext("invoice", "Account holder"),
        "bank_name": pgettext("invoice", "Bank"),
        "bank_account_number": pgettext("invoice", "Account number"),
        "bank_swift": pgettext("invoice", "SWIFT/BIC"),
    }
    return [(str(label), details[key]) for key, label in labels.items() if details.get(key)]


def _app_rows(details: dict[str, str]) -> list[tuple[str, str]]:
    labels = {
        "alipay_account": pgettext("invoice", "Alipay"),
        "wechat_pay_account": pgettext("invoice", "WeChat Pay"),
        "paypal_account": pgettext("invoice", "PayPal"),
    }
    return [(str(label), details[key]) for key, label in labels.items() if details.get(key)]


def _live_details(invoice: Invoice) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """Seller, buyer and payment details: frozen ones once issued, current ones for drafts."""
    if not invoice.is_draft and invoice.seller:
        return invoice.seller, invoice.buyer, invoice.payment_details
    from billing.services import buyer_snapshot, payment_snapshot, seller_snapshot

    payment = {} if invoice.is_credit_note else payment_snapshot()
    return seller_snapshot(), buyer_snapshot(invoice.client), payment


def document_context(
    invoice: Invoice, *, portal_url: str = "", lines: list[InvoiceLine] | None = None
) -> dict[str, Any]:
    """Everything the PDF (and the e-mail) prints, formatted, in the active language."""
    lines = list(invoice.lines.all()) if lines is None else lines
    currency = invoice.currency
    seller, buyer, payment = _live_details(invoice)
    amounts = [
        (line.tax_rate, calc.LineAmounts(line.net_amount, line.tax_amount, line.gross_amount))
        for line in lines
    ]
    breakdown = calc.tax_breakdown(amounts)
    chinese = translation.get_language() == "zh-hans"
    if invoice.is_credit_note:
        title = pgettext("document title", "Credit note")
    else:
        title = pgettext("document title", "Invoice")
    page_text = _("Page %(page)s of %(pages)s")
    line_views = [
        LineView(
            number=index,
            description=line.description,
            quantity=format_quantity(line.quantity),
            unit=line.unit,
            unit_price=format_price(line.unit_price, currency),
            tax_rate=format_rate(line.tax_rate),
            amount=format_money(
                line.gross_amount if invoice.prices_include_tax else line.net_amount, currency
            ),
        )
        for index, line in enumerate(lines, start=1)
    ]
    has_tax = any(line.tax_rate for line in lines)
    return {
        "invoice": invoice,
        "title": title,
        "number": invoice.number or pgettext("invoice", "Draft"),
        "lang": "zh-Hans" if chinese else "en",
        "chinese": chinese,
        "seller": seller,
        "buyer": buyer,
        "logo_url": _logo_url(seller.get("logo", "")),
        "lines": line_views,
        "has_tax": has_tax,
        "prices_include_tax": invoice.prices_include_tax,
        "tax_rows": [
            {
                "label": pgettext("invoice", "Tax %(rate)s") % {"rate": format_rate(row.rate)},
                "net": format_money(row.net, currency),
                "tax": format_money(row.tax, currency),
            }
            for row in breakdown
            if row.rate or has_tax
        ],
        "subtotal": format_money(invoice.subtotal, currency),
        "tax_total": format_money(invoice.tax_total, currency),
        "total": format_money(invoice.total, currency),
        "amount_due": format_money(
            Decimal(0) if invoice.is_credit_note else invoice.total, currency
        ),
        "capital": calc.chinese_capital(invoice.total, currency) if chinese else "",
        "currency": currency,
        "issue_date": invoice.issue_date.isoformat() if invoice.issue_date else "",
        "due_date": invoice.due_date.isoformat() if invoice.due_date else "",
        "order": invoice.order,
        "credited": invoice.credited_invoice,
        "payment_bank_rows": _bank_rows(payment),
        "payment_app_rows": _app_rows(payment),
        "payment_rows": _bank_rows(payment) + _app_rows(payment),
        "payment_other": payment.get("other_instructions", ""),
        "footer": payment.get("footer", "")
        or (BillingSettings.load().invoice_footer if invoice.is_credit_note else ""),
        "portal_url": portal_url,
        "qr_svg": qr_svg(portal_url) if portal_url and not invoice.is_credit_note else "",
        "watermark": pgettext("invoice", "Draft") if invoice.is_draft else "",
        "page_counter_css": _css_string(
            page_text, {"page": "counter(page)", "pages": "counter(pages)"}
        ),
        "footer_left_css": _css_string(
            "%(title)s %(number)s",
            {"title": title, "number": invoice.number or pgettext("invoice", "Draft")},
        ),
        "studio_name": seller.get("name") or StudioProfile.load().name,
    }


def _css_string(text: str, values: dict[str, str]) -> str:
    """A CSS `content` value from a translated sentence with placeholders: the literal
    parts become quoted strings and counter(...) values stay functions."""
    parts: list[str] = []
    position = 0
    for match in re.finditer(r"%\((\w+)\)s", text):
        parts.append(_quote_css(text[position : match.start()]))
        value = values.get(match.group(1), "")
        parts.append(value if value.startswith("counter(") else _quote_css(value))
        position = match.end()
    parts.append(_quote_css(text[position:]))
    return " ".join(part for part in parts if part != '""') or '""'


def _quote_css(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")
    return f'"{escaped}"'


def render_html(invoice: Invoice, *, portal_url: str = "") -> str:
    """The invoice as HTML for WeasyPrint, in the invoice's language."""
    with translation.override(invoice.language):
        return render_to_string(DOCUMENT_TEMPLATE, document_context(invoice, portal_url=portal_url))


def render_invoice(invoice: Invoice, *, portal_url: str = "", shared: bool = True) -> bytes:
    """The invoice's PDF bytes."""
    return html_to_pdf(render_html(invoice, portal_url=portal_url), shared=shared)
