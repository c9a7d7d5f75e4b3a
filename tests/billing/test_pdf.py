"""The invoice PDF: content in the client's language, CJK text as real text, page
numbers, and a URL fetcher that reads nothing outside static and media."""

from __future__ import annotations

import html.parser
import http.server
import io
import logging
import re
import threading
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import translation
from pypdf import PdfReader

from billing import pdf, services
from billing.pdf import RefusedURL, resolve_allowed
from orders import portal
from tests.billing.helpers import draft, issued, line, order_for, set_billing
from tests.factories import ClientFactory

D = Decimal
pytestmark = pytest.mark.django_db
NOT_FAPIAO = (
    "This document is not a tax invoice (fapiao). If you need a fapiao, ask us and we "
    "will have it issued through the tax authority."
)


def text_of(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


def squeeze(text: str) -> str:
    """PDF text extraction puts line breaks and spaces where the layout wrapped."""
    return "".join(text.split())


@pytest.fixture
def billing_setup(studio_profile):
    set_billing(
        bank_account_name="上海月光影像文化传媒有限公司",
        bank_name="招商银行上海徐汇支行",
        bank_account_number="6214830123456789",
        alipay_account="pay@moonlight.example",
    )
    return studio_profile


def test_chinese_invoice_is_real_chinese_text_with_the_total_in_capitals(owner, billing_setup):
    client = ClientFactory(name="上海星河文化传媒有限公司", language="zh-hans", currency="CNY")
    order = order_for(client=client, title="《星河》短剧")
    invoice = issued(
        owner,
        order=order,
        lines=[line("短剧第一集制作", quantity="1", price="1500", rate="6")],
    )

    data = pdf.render_invoice(invoice, portal_url="https://studio.example/o/x/")

    assert data.startswith(b"%PDF-")
    text = squeeze(text_of(data))
    assert "上海星河文化传媒有限公司" in text
    assert "短剧第一集制作" in text
    assert "招商银行上海徐汇支行" in text
    assert "¥1,590.00" in text
    assert "人民币壹仟伍佰玖拾元整" in text
    assert invoice.number in text
    with translation.override("zh-hans"):
        translated = translation.gettext(NOT_FAPIAO)
        title = translation.pgettext("document title", "Invoice")
    if translated != NOT_FAPIAO:  # the Chinese catalogue is compiled (make translations)
        assert squeeze(translated) in text
        assert title in text


def test_english_invoice_prints_everything_a_client_needs(owner, billing_setup):
    client = ClientFactory(name="Northwind Media LLC", language="en", currency="USD")
    order = order_for(client=client)
    invoice = issued(
        owner,
        order=order,
        lines=[
            line("Concept and storyboard", price="450", rate="6"),
            line("AI video generation", quantity="30", price="12.5", rate="6", unit="second"),
        ],
    )
    link = portal.active_link(order)
    url = f"http://testserver{portal.portal_path(link)}"

    text = text_of(pdf.render_invoice(invoice, portal_url=url))

    for expected in (
        "Invoice",
        invoice.number,
        "Moonlight Frames",
        "Northwind Media LLC",
        "Concept and storyboard",
        "Subtotal",
        "$825.00",
        "Tax 6%",
        "$49.50",
        "$874.50",
        "Amount due",
        "How to pay",
        "6214830123456789",
        "Page 1 of 1",
    ):
        assert expected in text, expected
    assert squeeze(NOT_FAPIAO) in squeeze(text)
    assert "人民币" not in text  # capitals only on Chinese invoices
    assert squeeze(url) in squeeze(text)


def test_tax_inclusive_invoice_shows_the_tax_it_contains(owner):
    set_billing(prices_include_tax=True)
    invoice = issued(
        owner, client=ClientFactory(language="en"), lines=[line(price="106", rate="6")]
    )

    text = text_of(pdf.render_invoice(invoice))

    assert "Total (tax included)" in text
    assert "of which Tax 6%" in text
    assert "¥6.00" in text


def test_a_200_line_invoice_has_numbered_pages_and_repeats_nothing_wrongly(owner):
    lines = [line(f"Shot {n:03d} generation", price="10") for n in range(1, 201)]
    invoice = issued(owner, client=ClientFactory(language="en"), lines=lines)

    data = pdf.render_invoice(invoice)

    reader = PdfReader(io.BytesIO(data))
    pages = len(reader.pages)
    assert pages >= 4
    assert f"Page 1 of {pages}" in reader.pages[0].extract_text()
    assert f"Page {pages} of {pages}" in reader.pages[-1].extract_text()
    text = text_of(data)
    assert "Shot 001 generation" in text
    assert "Shot 200 generation" in text
    assert "¥2,000.00" in text


def test_draft_preview_is_marked_draft(owner):
    invoice = draft(owner, client=ClientFactory(language="en"))

    text = text_of(pdf.render_invoice(invoice))

    assert "Draft" in text


def test_credit_note_names_the_invoice_it_credits(owner):
    invoice = issued(owner, client=ClientFactory(language="en"))
    note = services.credit_invoice(actor=owner, invoice=invoice, reason="Cancelled")

    text = text_of(pdf.render_invoice(note))

    assert "Credit note" in text
    assert note.number in text
    assert invoice.number in text
    assert "Amount due" not in text


# --- Labels: each one has its own translation context ------------------------------------

# Short English words that the app also uses with other meanings, and what they might mean
# there in Chinese: the PDF must never pick these up.
OTHER_MEANINGS = {
    "Order": "排序",
    "Number": "数字",
    "Total": "总数",
    "Tax": "征税",
    "Amount": "数额",
    "Description": "描述",
    "Note": "笔记",
    "Unit": "部门",
    "Currency": "货币种类",
    "Subtotal": "部分和",
    "Amount due": "到期数额",
    "Due date": "截止时间",
    "Bank": "河岸",
    "Draft": "汇票",
}


@pytest.fixture
def other_meanings_in_the_catalogue():
    """The Chinese catalogue, with the context-free msgids of the PDF's labels translated
    with their other meanings, as a future catalogue could translate them."""
    from django.utils.translation import trans_real

    first = trans_real.translation("zh-hans")._catalog._catalogs[0]  # looked up first
    saved = {msgid: first[msgid] for msgid in OTHER_MEANINGS if msgid in first}
    first.update(OTHER_MEANINGS)
    try:
        yield
    finally:
        for msgid in OTHER_MEANINGS:
            first.pop(msgid)
        first.update(saved)


def labelled_invoice(owner, language: str, **client_fields):
    set_billing(
        bank_account_name="Moonlight Frames Ltd.",
        bank_name="China Merchants Bank",
        bank_account_number="6214830123456789",
        alipay_account="pay@moonlight.example",
    )
    client = ClientFactory(language=language, currency="CNY", **client_fields)
    order = order_for(client=client)
    invoice = issued(
        owner,
        order=order,
        lines=[line("Storyboard", quantity="2", price="500", rate="6", unit="item")],
        notes="Thank you.",
    )
    return invoice, order


def test_chinese_invoice_labels_mean_what_they_say_on_an_invoice(
    owner, other_meanings_in_the_catalogue
):
    invoice, order = labelled_invoice(owner, "zh-hans")

    text = squeeze(text_of(pdf.render_invoice(invoice, portal_url="https://studio.example/o/x/")))

    assert "订单" + order.reference in text  # the order reference, not 排序 (sorting)
    for label in (
        "账单",
        "编号" + invoice.number,
        "开具日期",
        "付款截止日期",
        "币种CNY",
        "付款方",
        "应付金额",
        "项目说明",
        "数量",
        "单位",
        "单价",
        "税率",  # the column shows rates (6%), not amounts
        "金额",
        "备注",
        "小计",
        "税额(6%)",
        "合计",
        "金额大写",
        "付款方式",
        "开户名",
        "开户银行",
        "银行账号",
        "支付宝",
        "第1页，共1页",
    ):
        assert label in text, label
    for wrong in OTHER_MEANINGS.values():
        assert wrong not in text, wrong


def test_chinese_credit_note_and_draft_labels(owner, other_meanings_in_the_catalogue):
    invoice, _order = labelled_invoice(owner, "zh-hans")
    note = services.credit_invoice(actor=owner, invoice=invoice, reason="Cancelled")
    preview = draft(owner, client=invoice.client)

    note_text = squeeze(text_of(pdf.render_invoice(note)))
    draft_text = squeeze(text_of(pdf.render_invoice(preview)))

    for label in ("冲销单", "冲销账单" + invoice.number, "冲销总额", "项目说明", "税率", "合计"):
        assert label in note_text, label
    assert "应付金额" not in note_text
    assert "编号草稿" in draft_text
    for wrong in OTHER_MEANINGS.values():
        assert wrong not in note_text, wrong
        assert wrong not in draft_text, wrong


def test_english_invoice_labels(owner):
    invoice, order = labelled_invoice(owner, "en")

    text = text_of(pdf.render_invoice(invoice, portal_url="https://studio.example/o/x/"))

    for label in (
        f"Order {order.reference}",
        f"Number {invoice.number}",
        "Issue date",
        "Due date",
        "Currency CNY",
        "BILL TO",
        "DESCRIPTION",
        "QTY",
        "UNIT PRICE",
        "TAX",
        "AMOUNT",
        "Note",
        "Subtotal",
        "Tax 6%",
        "Total",
        "Amount due",
        "How to pay",
        "Account holder",
        "Account number",
        "Alipay",
        "Page 1 of 1",
    ):
        assert label in text, label


# --- The URL fetcher ---------------------------------------------------------------------


class _Recorder(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):
        self.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def local_server():
    _Recorder.hits = []
    server = http.server.HTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _Recorder.hits
    server.shutdown()


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "file://localhost/etc/passwd",
        "file://evil.example/share/x.png",
        "http://127.0.0.1:8112/secret",
        "https://example.com/logo.png",
        "ftp://127.0.0.1/x",
        "gopher://127.0.0.1/",
        "/etc/passwd",
    ],
)
def test_fetcher_refuses_other_files_and_every_network_scheme(url):
    with pytest.raises(RefusedURL):
        resolve_allowed(url)


def test_fetcher_allows_media_and_static_files_but_not_a_way_out(settings, tmp_path):
    media = Path(settings.MEDIA_ROOT)
    (media / "studio").mkdir(parents=True)
    logo = media / "studio" / "logo.png"
    logo.write_bytes(b"\x89PNG\r\n\x1a\n")
    (media / "studio" / "passwd-link").symlink_to("/etc/passwd")

    assert resolve_allowed(logo.as_uri()) == logo.resolve()
    assert resolve_allowed(logo.as_uri() + "?v=1") == logo.resolve()
    static_css = Path(settings.STATICFILES_DIRS[0]) / "reeldesk.css"
    assert resolve_allowed(static_css.resolve().as_uri()) == static_css.resolve()
    for escape in (
        f"file://{media}/studio/../../../../etc/passwd",
        (media / "studio" / "passwd-link").as_uri(),
        f"file://{media}/missing.png",
    ):
        with pytest.raises(RefusedURL):
            resolve_allowed(escape)


def test_invoice_note_with_a_local_file_and_a_local_url_fetches_nothing(
    owner, local_server, caplog
):
    base, hits = local_server
    note = f'<img src="file:///etc/passwd"> <img src="{base}/pixel.png"> {base}/admin'
    invoice = issued(owner, client=ClientFactory(language="en"), notes=note)

    data = pdf.render_invoice(invoice)

    text = text_of(data)
    assert '<img src="file:///etc/passwd">' in text  # shown as text, never as markup
    assert b"root:x:0:0" not in data
    assert hits == []


def test_even_unescaped_markup_cannot_make_weasyprint_fetch(local_server, caplog):
    base, hits = local_server
    html = (
        '<html><body><p>x</p><img src="file:///etc/passwd">'
        f'<img src="{base}/pixel.png"><link rel="stylesheet" href="{base}/x.css">'
        '<div style="background: url(file:///etc/hostname)">y</div></body></html>'
    )

    with caplog.at_level(logging.WARNING, logger="billing.pdf"):
        data = pdf.html_to_pdf(html)

    assert data.startswith(b"%PDF-")
    assert hits == []
    refused = " ".join(record.getMessage() for record in caplog.records)
    assert "file:///etc/passwd" in refused
    assert f"{base}/pixel.png" in refused
    assert b"root:x:0:0" not in data


def test_the_naive_way_renders_the_same_document(owner):
    invoice = issued(owner, client=ClientFactory(language="en"))
    html = pdf.render_html(invoice)

    shared = text_of(pdf.html_to_pdf(html))
    naive = text_of(pdf.html_to_pdf(html, shared=False))

    assert shared == naive


# --- The invoice's own user-agent stylesheet ------------------------------------------------


class _Tags(html.parser.HTMLParser):
    """The elements of an HTML document, leaving out what is inside inline SVG."""

    def __init__(self):
        super().__init__()
        self.tags: set[str] = set()
        self.svg_depth = 0

    def handle_starttag(self, tag, attrs):
        if not self.svg_depth:
            self.tags.add(tag)
        if tag == "svg":
            self.svg_depth += 1

    def handle_endtag(self, tag):
        if tag == "svg":
            self.svg_depth -= 1


def every_kind_of_document(owner) -> list[str]:
    """The HTML of a Chinese and an English invoice with everything the template can
    show (logo aside): notes, footer, tax, payment details, QR code; a tax-inclusive
    one, a draft and a credit note."""
    set_billing(
        bank_account_name="上海月光影像文化传媒有限公司",
        bank_name="招商银行",
        bank_account_number="6214830123456789",
        alipay_account="pay@moonlight.example",
        other_instructions="Within 7 days.\nThank you.",
        invoice_footer="Moonlight Frames",
    )
    documents = []
    for language in ("zh-hans", "en"):
        client = ClientFactory(language=language, currency="CNY")
        invoice = issued(
            owner,
            order=order_for(client=client),
            lines=[line("短剧 shot 1", rate="6"), line("Music", rate="0")],
            notes="Line one\nline two",
        )
        documents.append(pdf.render_html(invoice, portal_url="https://studio.example/o/x/"))
    set_billing(prices_include_tax=True)
    invoice = issued(owner, client=ClientFactory(language="en"), lines=[line(rate="6")])
    documents.append(pdf.render_html(invoice))
    documents.append(pdf.render_html(draft(owner, client=ClientFactory(language="en"))))
    note = services.credit_invoice(actor=owner, invoice=invoice, reason="Cancelled")
    documents.append(pdf.render_html(note))
    return documents


def test_the_template_and_warm_up_use_only_elements_the_invoice_ua_stylesheet_styles(owner):
    seen: set[str] = set()
    for document in [*every_kind_of_document(owner), pdf.WARM_UP_HTML]:
        parser = _Tags()
        parser.feed(document)
        seen |= parser.tags

    assert seen <= pdf.TEMPLATE_TAGS, sorted(seen - pdf.TEMPLATE_TAGS)
    assert {"table", "h2", "br", "svg"} <= seen  # the documents above do cover the template


def test_every_element_the_template_may_use_has_its_default_style_in_ua_css():
    source = pdf.stylesheet_source(pdf.UA_STYLESHEET_TEMPLATE)
    display_rules = " ".join(re.findall(r"([^{}]*)\{[^{}]*\bdisplay:", source))
    declared = set(re.findall(r"[a-z][a-z0-9]*", display_rules))

    assert pdf.TEMPLATE_TAGS - {"span", "img", "br", "svg"} <= declared  # inline by default


def outline_titles(outline) -> list:
    return [outline_titles(item) if isinstance(item, list) else item.title for item in outline]


def test_invoice_pages_are_drawn_exactly_as_with_weasyprints_own_ua_stylesheet(owner):
    # The shared way uses pdf/ua.css, the naive way WeasyPrint's html5_ua.css: the page
    # content streams (every glyph, line and position) must be byte for byte the same.
    for document in every_kind_of_document(owner):
        shared = PdfReader(io.BytesIO(pdf.html_to_pdf(document)))
        naive = PdfReader(io.BytesIO(pdf.html_to_pdf(document, shared=False)))

        assert len(shared.pages) == len(naive.pages)
        for ours, theirs in zip(shared.pages, naive.pages, strict=True):
            assert ours.get_contents().get_data() == theirs.get_contents().get_data()
        assert outline_titles(shared.outline) == outline_titles(naive.outline)


def test_weasyprint_still_takes_the_ua_stylesheet_from_the_html_object(monkeypatch):
    from weasyprint import HTML

    cls = pdf.invoice_html_class()
    asked = []
    original = cls._ua_stylesheets

    def spy(self, forms=False):
        asked.append(forms)
        return original(self, forms)

    monkeypatch.setattr(cls, "_ua_stylesheets", spy)
    assert "_ua_stylesheets" in vars(HTML)  # the hook pdf.invoice_html_class overrides

    data = pdf.html_to_pdf("<html><body><p>Invoice 账单</p></body></html>")

    assert data.startswith(b"%PDF-")
    assert len(asked) == 1
    assert pdf.shared_state().ua_stylesheet is not None


# --- Fonts subset in one pass -------------------------------------------------------------


def used_glyph_ids(widths) -> list[int]:
    """The glyph ids of a CIDFont /W array: `first [w1 w2 ...]` or `first last w`."""
    ids: list[int] = []
    items = list(widths)
    index = 0
    while index < len(items):
        first = int(items[index])
        following = items[index + 1]
        if isinstance(following, list):
            ids += range(first, first + len(following))
            index += 2
        else:
            ids += range(first, int(following) + 1)
            index += 3
    return ids


def embedded_fonts(data: bytes) -> dict[str, dict]:
    reader = PdfReader(io.BytesIO(data))
    fonts = {}
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            cid_font = font["/DescendantFonts"][0].get_object()
            descriptor = cid_font["/FontDescriptor"].get_object()
            program = descriptor.get("/FontFile2") or descriptor.get("/FontFile3")
            fonts[str(font["/BaseFont"])] = {
                "widths": list(cid_font["/W"]),
                "to_unicode": font["/ToUnicode"].get_object().get_data(),
                "program": program.get_object().get_data(),
            }
    return fonts


def glyphs(program: bytes, glyph_ids: list[int]) -> dict[int, tuple | None]:
    """Advance and outline of each glyph, as fontTools draws them."""
    from fontTools.pens.recordingPen import RecordingPen
    from fontTools.ttLib import TTFont

    font = TTFont(io.BytesIO(program))
    order = font.getGlyphOrder()
    glyph_set = font.getGlyphSet()
    drawn: dict[int, tuple | None] = {}
    for glyph_id in glyph_ids:
        if glyph_id >= len(order):
            drawn[glyph_id] = None
            continue
        pen = RecordingPen()
        glyph = glyph_set[order[glyph_id]]
        glyph.draw(pen)
        drawn[glyph_id] = (glyph.width, pen.value)
    return drawn


def test_fonts_subset_in_one_pass_have_the_same_glyphs_as_weasyprints_own(owner, monkeypatch):
    # The shared way subsets fonts in one HarfBuzz pass (billing.pdf.subset_in_one_pass),
    # the naive way with WeasyPrint's two: the same fonts, glyph ids, advances, outlines
    # and text mapping, whatever the document.
    from weasyprint.pdf.fonts import Font

    calls = []
    one_pass = pdf.subset_in_one_pass

    def spy(font, to_unicode, hinting):
        done = one_pass(font, to_unicode, hinting)
        calls.append((font.family, done))
        return done

    monkeypatch.setattr(pdf, "subset_in_one_pass", spy)
    for document in every_kind_of_document(owner):
        calls.clear()
        shared = embedded_fonts(pdf.html_to_pdf(document))
        assert calls
        assert all(done for _family, done in calls)
        calls.clear()
        naive = embedded_fonts(pdf.html_to_pdf(document, shared=False))
        assert calls == []

        assert shared.keys() == naive.keys()
        for name, ours in shared.items():
            theirs = naive[name]
            assert ours["widths"] == theirs["widths"], name
            assert ours["to_unicode"] == theirs["to_unicode"], name
            used = used_glyph_ids(ours["widths"])
            assert glyphs(ours["program"], used) == glyphs(theirs["program"], used), name
    assert "_harfbuzz_subset" in vars(Font)  # the hook billing.pdf wraps


def test_the_shared_way_copies_each_font_file_once_per_thread():
    # WeasyPrint's Font copies the whole font file (19 MB for Noto CJK) for every
    # document; the shared way keeps one copy per face (billing.pdf.font_file). If an
    # upgrade stops calling weasyprint.pdf.fonts.get_hb_object_data, nothing is kept.
    html = "<html><body><p>Invoice 账单</p><p class='strong'>Total 合计</p></body></html>"
    pdf.reset_shared_state()

    pdf.html_to_pdf(html)
    first = dict(pdf.shared_state().font_files or {})
    pdf.html_to_pdf(html)
    pdf.html_to_pdf(html, shared=False)
    second = pdf.shared_state().font_files or {}

    assert first
    assert first.keys() == second.keys()
    assert all(second[key][1] is data for key, (_face, data) in first.items())
    assert max(len(data) for _face, data in first.values()) > 10_000_000  # Noto CJK


def test_chinese_invoice_embeds_subset_fonts_with_the_chinese_glyphs(owner, billing_setup):
    client = ClientFactory(name="上海星河文化传媒有限公司", language="zh-hans", currency="CNY")
    invoice = issued(owner, client=client, lines=[line("短剧第一集制作", price="1500")])

    reader = PdfReader(io.BytesIO(pdf.render_invoice(invoice)))

    fonts = reader.pages[0]["/Resources"]["/Font"]
    names = []
    for font in fonts.values():
        font = font.get_object()
        descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
        assert {"/FontFile2", "/FontFile3"} & set(descriptor)  # embedded
        names.append(str(font["/BaseFont"]))
    assert names
    assert all("+" in name for name in names)  # subsets, not whole fonts
    assert any("CJK" in name for name in names)
    assert "上海星河文化传媒有限公司" in squeeze(reader.pages[0].extract_text())
