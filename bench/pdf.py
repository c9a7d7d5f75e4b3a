"""Benchmark of the invoice PDFs (issue 5).

    .venv/bin/python bench/pdf.py            # 30 runs of everything (a few minutes)
    .venv/bin/python bench/pdf.py --quick    # 5 runs, to try it out
    .venv/bin/python bench/pdf.py --profile  # only: where a warm render's CPU time goes
    .venv/bin/python bench/pdf.py --warm     # only: warm renders both ways and the ratios

Prints, for a one-page English invoice, a one-page Chinese invoice and a 200-line
invoice (about ten pages):

- cold: the first render in a fresh worker process (a new process per run; the one-off
  import of WeasyPrint is reported apart), median and p95;
- warm: renders in a warmed-up process, median and p95, the way billing.pdf does it (one
  FontConfiguration, stylesheet, UA stylesheet and image cache per worker) and the naive
  way (WeasyPrint's default call with a new FontConfiguration and a freshly parsed
  stylesheet per document: billing.pdf.html_to_pdf(shared=False)), same HTML, taken
  round-robin in the same run, with the ratio. The process is warmed up and its long-lived objects
  frozen out of the garbage collector as billing.tasks does for a worker, and each timed
  render starts after a collection, so neither way pays for the other's garbage;
- the resident memory of a worker process after 10, 50 and 100 renders;
- serving an already rendered PDF (staff page and the client's link), median and p95.

Every time is for the whole job a worker does: the Django template and the PDF. The
data lives in a throw-away SQLite database under a temporary folder.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = ("en", "zh", "long")
LABELS = {
    "en": "English, 1 page",
    "zh": "Chinese, 1 page",
    "long": "200 lines",
}
TARGETS = {"en": 250.0, "zh": 400.0, "long": 2500.0}


# --- Setup ------------------------------------------------------------------------------


def django_setup(var_dir: str) -> None:
    os.environ["REELDESK_VAR_DIR"] = var_dir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("REDIS_URL", None)
    sys.path.insert(0, str(ROOT))
    import logging

    import django

    django.setup()
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("django.request").setLevel(logging.ERROR)


def _png_logo(width: int = 480, height: int = 120) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(
        b"\x00" + b"".join(bytes((40 + x % 60, 60, 200 - y)) for x in range(width))
        for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


def build_data() -> dict[str, int]:
    """A studio with a logo and payment details, and the three invoices, issued."""
    from django.contrib.auth import get_user_model
    from django.core.files.base import ContentFile
    from django.core.management import call_command

    from billing import services
    from billing.models import BillingSettings
    from orders import services as order_services
    from orders.models import Client
    from studio.models import Membership, StudioProfile

    call_command("migrate", verbosity=0, interactive=False)
    owner = get_user_model().objects.create_user("bench", password="bench-pass-2026")
    Membership.objects.create(user=owner, role="owner")
    profile = StudioProfile.load()
    profile.name = "月光影像工作室"
    profile.legal_name = "Moonlight Frames Studio Ltd."
    profile.address = "上海市徐汇区漕溪北路 88 号 1203 室\nShanghai 200030"
    profile.tax_id = "91310104MA1FR0XX2K"
    profile.email = "hello@moonlight.example"
    profile.phone = "+86 138 0000 1234"
    profile.wechat_id = "moonlight_frames"
    profile.logo.save("logo.png", ContentFile(_png_logo()), save=False)
    profile.save()
    prefs = BillingSettings.load()
    prefs.default_tax_rate = Decimal(6)
    prefs.bank_account_name = "上海月光影像文化传媒有限公司"
    prefs.bank_name = "招商银行上海徐汇支行"
    prefs.bank_account_number = "6214 8301 2345 6789"
    prefs.bank_swift = "CMBCCNBS"
    prefs.alipay_account = "pay@moonlight.example"
    prefs.wechat_pay_account = "moonlight_frames"
    prefs.other_instructions = "Please pay within 7 days."
    prefs.invoice_footer = "Moonlight Frames · hello@moonlight.example"
    prefs.save()

    zh = Client.objects.create(
        name="上海星河文化传媒有限公司",
        contact_name="李伟",
        email="liwei@xinghe.example",
        language="zh-hans",
        currency="CNY",
        billing_address="上海市静安区南京西路 1266 号 恒隆广场 28 楼",
        tax_id="91310000MA1K2XXX3Y",
    )
    en = Client.objects.create(
        name="Northwind Media LLC",
        contact_name="Jane Doe",
        email="jane@northwind.example",
        language="en",
        currency="USD",
        billing_address="500 Market St, Suite 400\nSan Francisco, CA 94105\nUSA",
    )
    line = services.LineInput
    en_lines = [
        line("Concept, script and storyboard", Decimal(1), Decimal("450")),
        line("Character design and reference sheets", Decimal(3), Decimal("120"), unit="item"),
        line(
            "AI video generation (Veo, Kling), final cut",
            Decimal(30),
            Decimal("12.5"),
            unit="second",
        ),
        line("Test generations and shot selection", Decimal(4), Decimal("35"), unit="hour"),
        line("Voice-over (English) and music licence", Decimal(1), Decimal("180")),
        line("Editing, colour grading and sound mix", Decimal(1), Decimal("320")),
        line("Subtitles (English, Chinese)", Decimal(2), Decimal("40"), unit="language"),
        line("Two revision rounds", Decimal(2), Decimal("60"), unit="round"),
    ]
    zh_lines = [
        line("剧本改编与分镜（AI 辅助）", Decimal(1), Decimal("1800"), unit="项"),
        line("角色设定与形象生成", Decimal(6), Decimal("350"), unit="个"),
        line("视频生成（可灵 / 海螺）", Decimal(720), Decimal("6.5"), unit="秒"),
        line("镜头测试与挑选", Decimal(12), Decimal("80"), unit="小时"),
        line("配音与配乐", Decimal(6), Decimal("420"), unit="集"),
        line("剪辑与调色", Decimal(6), Decimal("380"), unit="集"),
        line("字幕（中英双语）", Decimal(6), Decimal("120"), unit="集", tax_rate=Decimal(3)),
        line("两轮修改", Decimal(2), Decimal("300"), unit="轮"),
    ]
    long_lines = [
        line(
            f"Episode {n // 20 + 1}, shot {n % 20 + 1:02d}: generation, selection and edit",
            Decimal(8),
            Decimal("12.5"),
            unit="second",
        )
        for n in range(200)
    ]
    ids = {}
    for name, client, lines, title in (
        ("en", en, en_lines, "Launch teaser — 30 s product film"),
        ("zh", zh, zh_lines, "短剧《星河》第一季制作费"),
        ("long", en, long_lines, "Short drama, season one: shot-by-shot"),
    ):
        order = order_services.create_order(
            actor=owner, client=client, title=title, price=Decimal("20000")
        )
        invoice = services.create_invoice(
            actor=owner,
            client=client,
            order=order,
            lines=lines,
            subject=title,
            notes="Thank you for your business.",
        )
        ids[name] = services.issue_invoice(actor=owner, invoice=invoice).pk
    return ids


def load(ids: dict[str, int]) -> dict[str, Any]:
    from billing.models import Invoice

    return {name: Invoice.objects.get(pk=pk) for name, pk in ids.items()}


def render(invoice: Any, *, shared: bool = True) -> tuple[float, float, int]:
    """(wall-clock ms, CPU ms of this process, PDF bytes) of one render."""
    from billing import delivery, pdf

    start, cpu = time.perf_counter(), time.process_time()
    data = pdf.render_invoice(invoice, portal_url=delivery.portal_url(invoice), shared=shared)
    return (time.perf_counter() - start) * 1000, (time.process_time() - cpu) * 1000, len(data)


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for row in status:
            if row.startswith("VmRSS:"):
                return int(row.split()[1]) / 1024
    return 0.0


def peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- Children (fresh processes) --------------------------------------------------------------


def child(mode: str, variant: str, var_dir: str, ids_json: str) -> None:
    django_setup(var_dir)
    ids = json.loads(ids_json)
    invoices = load(ids)
    if mode in {"cold", "warmed"}:
        start = time.perf_counter()
        import weasyprint  # noqa: F401

        import_ms = (time.perf_counter() - start) * 1000
        warm_up_ms = 0.0
        if mode == "warmed":  # what a Celery worker process does when it starts
            from billing import pdf

            start = time.perf_counter()
            pdf.warm_up()
            gc.collect()
            gc.freeze()
            warm_up_ms = (time.perf_counter() - start) * 1000
        ms, cpu_ms, _size = render(invoices[variant])
        print(
            json.dumps(
                {
                    "import_ms": import_ms,
                    "warm_up_ms": warm_up_ms,
                    "first_ms": ms,
                    "first_cpu_ms": cpu_ms,
                }
            )
        )
        return
    # mode == "rss": a worker (warmed up as billing.tasks does it) rendering a
    # realistic mix, 100 documents.
    from billing import pdf

    pdf.warm_up()
    gc.collect()
    gc.freeze()
    order = ["en", "zh", "en", "zh", "long"]
    samples = {"start": rss_mb()}
    for n in range(1, 101):
        render(invoices[order[n % len(order)]])
        if n in (10, 50, 100):
            samples[str(n)] = rss_mb()
    samples["peak"] = peak_rss_mb()
    print(json.dumps(samples))


def run_child(mode: str, variant: str, var_dir: str, ids: dict[str, int]) -> dict[str, float]:
    output = subprocess.run(
        [sys.executable, __file__, "--child", mode, variant, var_dir, json.dumps(ids)],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


# --- Statistics -----------------------------------------------------------------------------


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(0.95 * (len(ordered) - 1))))
    return ordered[index]


def summary(values: list[float]) -> str:
    return f"median {statistics.median(values):7.1f}  p95 {p95(values):7.1f}"


def cpu_note(values: list[float]) -> str:
    return f"(CPU {statistics.median(values):5.0f})"


def verdict(ok: bool) -> str:
    return "meets target" if ok else "MISSES target"


# --- Warm renders ---------------------------------------------------------------------------


@dataclass
class WarmTimes:
    """Warm renders of each variant: wall-clock and CPU ms per render, both ways."""

    shared: dict[str, list[float]] = field(default_factory=lambda: {n: [] for n in VARIANTS})
    naive: dict[str, list[float]] = field(default_factory=lambda: {n: [] for n in VARIANTS})
    shared_cpu: dict[str, list[float]] = field(default_factory=lambda: {n: [] for n in VARIANTS})
    naive_cpu: dict[str, list[float]] = field(default_factory=lambda: {n: [] for n in VARIANTS})
    sizes: dict[str, int] = field(default_factory=dict)


def warm_round_robin(invoices: dict[str, Any], runs: int) -> WarmTimes:
    """Warm renders, shared and naive, round-robin in this process, warmed up (and its
    long-lived objects frozen) as a worker is. Each timed render starts after a collection,
    so neither way pays for the garbage the other left behind."""
    for name in VARIANTS:
        render(invoices[name])
        render(invoices[name], shared=False)
    gc.collect()
    gc.freeze()
    times = WarmTimes()
    for _run in range(runs):
        for name in VARIANTS:
            gc.collect()
            ms, cpu_ms, times.sizes[name] = render(invoices[name])
            times.shared[name].append(ms)
            times.shared_cpu[name].append(cpu_ms)
            gc.collect()
            ms, cpu_ms, _size = render(invoices[name], shared=False)
            times.naive[name].append(ms)
            times.naive_cpu[name].append(cpu_ms)
    return times


def print_warm_table(times: WarmTimes) -> dict[str, float]:
    """The warm medians both ways and the naive/shared ratios; returns the wall-clock ones."""
    warm, naive, warm_cpu, naive_cpu = times.shared, times.naive, times.shared_cpu, times.naive_cpu
    print(
        f"{'document':<18}   {'warm, shared FontConfiguration + CSS':<40}"
        f"{'warm, naive (new per document)':<40}naive/shared"
    )
    ratios, cpu_ratios = {}, {}
    for name in VARIANTS:
        ratios[name] = statistics.median(naive[name]) / statistics.median(warm[name])
        cpu_ratios[name] = statistics.median(naive_cpu[name]) / statistics.median(warm_cpu[name])
        print(
            f"{LABELS[name]:<18}   {summary(warm[name])} {cpu_note(warm_cpu[name])}   "
            f"{summary(naive[name])} {cpu_note(naive_cpu[name])}   "
            f"{ratios[name]:4.2f}x (CPU {cpu_ratios[name]:4.2f}x)"
        )
    print(
        "(wall-clock ms; in brackets the median CPU ms of the rendering process, which the "
        "other processes of a busy machine do not inflate)"
    )
    return ratios


# --- Profile -------------------------------------------------------------------------------


def profile_phases(invoices: dict[str, Any], runs: int) -> None:
    """CPU ms per phase of a warm render, both ways: each WeasyPrint step is wrapped in a
    timer (the steps run one after the other, so the parts add up to the whole)."""
    import functools
    from collections import defaultdict

    import pydyf
    import tinyhtml5
    import weasyprint
    import weasyprint.document as document
    import weasyprint.pdf as weasy_pdf
    from weasyprint.pdf import fonts
    from weasyprint.text.fonts import FontConfiguration

    from billing import delivery, pdf

    spent: dict[str, float] = defaultdict(float)

    def timed(owner: Any, name: str, label: str, *, generator: bool = False) -> None:
        original = getattr(owner, name)

        @functools.wraps(original)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.process_time()
            try:
                result = original(*args, **kwargs)
                return iter(list(result)) if generator else result
            finally:
                spent[label] += time.process_time() - start

        setattr(owner, name, wrapper)

    timed(FontConfiguration, "__init__", "new FontConfiguration")
    timed(weasyprint.CSS, "__init__", "parse stylesheets")
    timed(tinyhtml5, "parse", "parse HTML")
    timed(document, "get_all_computed_styles", "cascade (selector matching)")
    timed(document, "build_formatting_structure", "box tree and computed values")
    timed(document, "layout_document", "layout (line breaking, tables, pages)", generator=True)
    timed(document.Page, "paint", "drawing")
    timed(fonts.Font, "__init__", "fonts: loading faces (part of drawing)")
    timed(fonts.Font, "subset", "fonts: subsetting")
    timed(weasy_pdf, "build_fonts_dictionary", "fonts: dictionaries (incl. the two above)")
    timed(pydyf.PDF, "write", "writing and compressing the PDF")
    timed(pdf, "render_html", "database and Django template")
    print("where a warm render's CPU time goes (median of CPU ms per render):")
    for name, invoice in invoices.items():
        url = delivery.portal_url(invoice)
        for shared in (True, False):
            pdf.render_invoice(invoice, portal_url=url, shared=shared)
            per_run: dict[str, list[float]] = defaultdict(list)
            totals = []
            for _run in range(runs if name != "long" else max(3, runs // 3)):
                gc.collect()
                spent.clear()
                start = time.process_time()
                pdf.render_invoice(invoice, portal_url=url, shared=shared)
                totals.append((time.process_time() - start) * 1000)
                for label, seconds in spent.items():
                    per_run[label].append(seconds * 1000)
            total = statistics.median(totals)
            print(f"  {LABELS[name]}, {'shared' if shared else 'naive'}: {total:.0f} ms")
            for label, values in per_run.items():
                value = statistics.median(values)
                print(f"    {label:<44}{value:7.1f}  {value / total * 100:4.0f} %")


# --- Serving -----------------------------------------------------------------------------------


def serving(invoices: dict[str, Any], runs: int) -> dict[str, list[float]]:
    from django.contrib.auth import get_user_model
    from django.test import Client as HttpClient
    from django.urls import reverse

    from billing import delivery
    from billing.models import InvoicePdfJob
    from orders import portal

    invoice = invoices["zh"]
    job = InvoicePdfJob.objects.get(invoice=invoice)
    delivery.render_invoice_pdf(job_id=job.pk)
    invoice.refresh_from_db()
    staff = HttpClient()
    staff.force_login(get_user_model().objects.get(username="bench"))
    link = portal.active_link(invoice.order)
    targets = {
        "staff page": (staff, reverse("invoice-pdf", args=[invoice.pk])),
        "client link": (HttpClient(), reverse("portal-invoice-pdf", args=[link.token, invoice.pk])),
    }
    times: dict[str, list[float]] = {}
    for name, (http, address) in targets.items():
        for _warm in range(5):
            b"".join(http.get(address).streaming_content)
        samples = []
        for _run in range(runs):
            start = time.perf_counter()
            response = http.get(address)
            body = b"".join(response.streaming_content)
            samples.append((time.perf_counter() - start) * 1000)
            if response.status_code != 200 or not body.startswith(b"%PDF-"):
                raise RuntimeError(f"{address} answered {response.status_code}")
        times[name] = samples
    return times


# --- Main ----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30, help="warm renders per variant and way")
    parser.add_argument("--cold-runs", type=int, default=30, help="fresh processes per variant")
    parser.add_argument(
        "--warmed-runs",
        type=int,
        default=10,
        help="fresh processes per variant that warm up first, as a Celery worker does",
    )
    parser.add_argument("--quick", action="store_true", help="5 runs of everything")
    parser.add_argument(
        "--profile", action="store_true", help="only the CPU time per phase of a warm render"
    )
    parser.add_argument(
        "--warm",
        action="store_true",
        help="only the warm renders, shared and naive, with their ratios (no cold processes, "
        "memory or serving)",
    )
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    runs = 5 if args.quick else max(args.runs, 1)
    cold_runs = 5 if args.quick else max(args.cold_runs, 1)
    warmed_runs = 3 if args.quick else max(args.warmed_runs, 1)

    var_dir = tempfile.mkdtemp(prefix="reeldesk-bench-")
    django_setup(var_dir)
    import weasyprint

    ids = build_data()
    invoices = load(ids)
    if args.profile:
        from billing import pdf

        pdf.warm_up()
        gc.collect()
        gc.freeze()
        profile_phases(invoices, runs)
        return
    if args.warm:
        print(
            f"warm renders, {runs} per variant and way (round-robin), WeasyPrint "
            f"{weasyprint.__version__}, load average {os.getloadavg()[0]:.1f} at start\n"
        )
        print_warm_table(warm_round_robin(invoices, runs))
        print(f"load average {os.getloadavg()[0]:.1f} at the end")
        return
    print(
        f"ReelDesk invoice PDF benchmark — WeasyPrint {weasyprint.__version__}, "
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f} at start"
    )
    print(
        f"warm: {runs} renders per variant and way (round-robin); cold: {cold_runs} "
        "fresh processes per variant; times in ms\n"
    )

    pages = {}
    from io import BytesIO

    from pypdf import PdfReader

    from billing import delivery, pdf

    for name, invoice in invoices.items():
        data = pdf.render_invoice(invoice, portal_url=delivery.portal_url(invoice))
        pages[name] = len(PdfReader(BytesIO(data)).pages)

    # Cold: the first render in a fresh process.
    cold: dict[str, list[float]] = {name: [] for name in VARIANTS}
    cold_cpu: dict[str, list[float]] = {name: [] for name in VARIANTS}
    imports: list[float] = []
    for _run in range(cold_runs):
        for name in VARIANTS:
            result = run_child("cold", name, var_dir, ids)
            cold[name].append(result["first_ms"])
            cold_cpu[name].append(result["first_cpu_ms"])
            imports.append(result["import_ms"])
    warmed: dict[str, list[float]] = {name: [] for name in VARIANTS}
    warm_ups: list[float] = []
    for _run in range(warmed_runs):
        for name in VARIANTS:
            result = run_child("warmed", name, var_dir, ids)
            warmed[name].append(result["first_ms"])
            warm_ups.append(result["warm_up_ms"])

    times = warm_round_robin(invoices, runs)
    warm, sizes = times.shared, times.sizes

    print(f"{'document':<18}{'pages':>6}{'KB':>7}   cold (first render in a new process)")
    for name in VARIANTS:
        print(
            f"{LABELS[name]:<18}{pages[name]:>6}{sizes[name] / 1024:>7.0f}   "
            f"{summary(cold[name])} {cpu_note(cold_cpu[name])}"
        )
    print(f"(importing WeasyPrint once per process: median {statistics.median(imports):.0f} ms)")
    print(
        f"first invoice of a worker process that warmed up when it started "
        f"(billing.pdf.warm_up, median {statistics.median(warm_ups):.0f} ms, {warmed_runs} "
        "processes per variant):"
    )
    for name in VARIANTS:
        print(f"  {LABELS[name]:<18}{summary(warmed[name])}")
    print()

    ratios = print_warm_table(times)

    worker = run_child("rss", "mix", var_dir, ids)
    serve = serving(invoices, max(runs, 200))

    print("\nworker memory (RSS, MB; a fresh process rendering EN, ZH and 200-line invoices):")
    print(
        f"  at start {worker['start']:.0f}, after 10 renders {worker['10']:.0f}, after 50 "
        f"{worker['50']:.0f}, after 100 {worker['100']:.0f}; peak {worker['peak']:.0f}"
    )
    print("\nserving an already rendered PDF (the stored file, through Django):")
    for name, samples in serve.items():
        print(f"  {name:<12} {summary(samples)}   ({len(samples)} requests)")

    print(f"\nload average {os.getloadavg()[0]:.1f} at the end")
    print("\nagainst the issue's targets (wall-clock):")
    checks = [
        (
            f"English 1 page warm median {statistics.median(warm['en']):.0f} ms <= 250 ms",
            statistics.median(warm["en"]) <= TARGETS["en"],
        ),
        (
            f"Chinese 1 page warm median {statistics.median(warm['zh']):.0f} ms <= 400 ms",
            statistics.median(warm["zh"]) <= TARGETS["zh"],
        ),
        (
            f"200 lines warm median {statistics.median(warm['long']):.0f} ms <= 2500 ms",
            statistics.median(warm["long"]) <= TARGETS["long"],
        ),
        (
            f"one page at least 2x faster than naive (EN {ratios['en']:.2f}x, "
            f"ZH {ratios['zh']:.2f}x)",
            min(ratios["en"], ratios["zh"]) >= 2.0,
        ),
        (
            f"worker RSS after 100 renders {worker['100']:.0f} MB <= 300 MB, growth 10->100 "
            f"{worker['100'] - worker['10']:+.0f} MB",
            worker["100"] <= 300,
        ),
        (
            f"serving p95 {max(p95(s) for s in serve.values()):.1f} ms <= 20 ms",
            max(p95(s) for s in serve.values()) <= 20,
        ),
    ]
    for text, ok in checks:
        print(f"  [{'x' if ok else ' '}] {text} — {verdict(ok)}")


if __name__ == "__main__":
    main()
