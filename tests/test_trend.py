"""The trend in the report: the last 30 nights' unexplained breaks by severity and their net
drift per currency, counted as the exit code counts a night, drawn as e-mail-safe bars beside a
table of the same figures, in the HTML and the text part, and within the e-mail's size limit.

The histories are recorded through `History.record` (tests/nights.py), so the real schema,
states and trend SQL count them.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from recon import report
from recon.history import History
from recon.report import EMAIL_BYTES, TREND_NIGHTS
from tests.nights import CURRENCIES, finding, record, record_nights

LAST = date(2026, 4, 14)
EXPLAINED_STATES = {"expected", "acknowledged", "snoozed"}


@pytest.fixture
def history(tmp_path: Path) -> History:
    return History(tmp_path / "recon.duckdb")


def counted(history: History, night: date) -> dict[str, Any]:
    """The night's unexplained figures, from its findings' states alone."""
    open_ = [f for f in history.findings(night).to_pylist() if f["state"] not in EXPLAINED_STATES]
    drift: dict[str, Decimal] = {}
    for f in open_:
        if f["drift"] is not None and f["currency"]:
            drift[f["currency"]] = drift.get(f["currency"], Decimal(0)) + f["drift"]
    return {
        "unexplained_errors": sum(f["severity"] == "error" for f in open_),
        "unexplained_warnings": sum(f["severity"] == "warning" for f in open_),
        "unexplained_drift": dict(sorted(drift.items())),
    }


class Tables(HTMLParser):
    """The text of each cell of each row of the table with a given id."""

    def __init__(self, table_id: str) -> None:
        super().__init__()
        self.table_id, self.depth = table_id, 0
        self.rows: list[list[str]] = []
        self.cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table" and (self.depth or dict(attrs).get("id") == self.table_id):
            self.depth += 1
        elif self.depth and tag == "tr":
            self.rows.append([])
        elif self.depth and tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "table" and self.depth:
            self.depth -= 1
        elif self.depth and tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append("".join(self.cell).strip())
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def table(html: str, table_id: str) -> list[list[str]]:
    parser = Tables(table_id)
    parser.feed(html)
    return parser.rows


def drift_text(drift: dict[str, Decimal]) -> str:
    return (
        ", ".join(f"{c}\u00a0{report.display_money(v, c, sign=True)}" for c, v in drift.items())
        or "\u2013"  # an en dash: no drift that night
    )


# -- the counts ---------------------------------------------------------------------------------


def test_unexplained_counts_are_the_nights_own_states(history: History) -> None:
    """Each night's unexplained errors, warnings and drift are what its findings' states say,
    with breaks acknowledged, snoozed and inside the grace along the way."""
    days = record_nights(history, LAST, 12, seed=3)
    persisting = [f for f in history.findings(LAST).to_pylist() if f["state"] == "persisting"]
    assert len(persisting) >= 2
    history.act(persisting[0]["break_id"], "ack", note="booked late, known")
    history.act(persisting[1]["break_id"], "snooze", note="vendor", until=LAST - timedelta(days=3))

    trend = history.trend(LAST, 30)
    assert [n["run_date"] for n in trend] == days
    for night in trend:
        assert {k: night[k] for k in counted(history, night["run_date"])} == counted(
            history, night["run_date"]
        ), night["run_date"]
        assert night["errors"] >= night["unexplained_errors"]
        assert night["warnings"] >= night["unexplained_warnings"]
    assert sum(n["errors"] - n["unexplained_errors"] for n in trend) > 0  # some were explained


def test_an_acknowledged_break_stops_counting_the_next_night(history: History) -> None:
    """Found on D-1 and D: once acknowledged after D-1's run, D counts it as explained (the
    workbench and the exit code agree), and a snooze counts only until its date."""
    ack = finding("missing_in_ledger", "ord_a", "USD", order_id="ord_a", starship_amount=10)
    snooze = finding("stuck_pending", "ord_p", "EUR", order_id="ord_p")
    record(history, LAST - timedelta(days=1), [ack, snooze])
    [before] = history.trend(LAST - timedelta(days=1), 30)
    assert (before["unexplained_errors"], before["unexplained_warnings"]) == (1, 1)
    assert before["unexplained_drift"] == {"USD": Decimal("-10")}

    ids = {f["key"]: f["break_id"] for f in history.findings(LAST - timedelta(days=1)).to_pylist()}
    history.act(ids["ord_a"], "ack", note="booked in the next export")
    history.act(ids["ord_p"], "snooze", note="vendor is on it", until=LAST)
    record(history, LAST, [ack, snooze])
    record(history, LAST + timedelta(days=1), [ack, snooze])

    *_, tonight, after = history.trend(LAST + timedelta(days=1), 30)
    assert (tonight["errors"], tonight["unexplained_errors"]) == (1, 0)
    assert (tonight["warnings"], tonight["unexplained_warnings"]) == (1, 0)
    assert tonight["unexplained_drift"] == {} and tonight["drift"] == {"USD": Decimal("-10")}
    assert (after["unexplained_errors"], after["unexplained_warnings"]) == (0, 1)  # snooze over
    assert counted(history, LAST) == {k: tonight[k] for k in counted(history, LAST)}


def test_the_report_looks_back_thirty_nights(history: History) -> None:
    days = record_nights(history, LAST, 40, currencies=("USD",))
    model = report.build(history, LAST)
    assert TREND_NIGHTS == 30
    assert [n["run_date"] for n in model.trend] == days[-TREND_NIGHTS:]
    assert model.trend[-1]["unexplained_drift"] == model.net_drift  # the verdict's drift


# -- the report ---------------------------------------------------------------------------------


@pytest.fixture
def month(history: History) -> report.Report:
    """30 nights of breaks in six currencies, D's report."""
    record_nights(history, LAST, TREND_NIGHTS, currencies=CURRENCIES, seed=7)
    return report.build(history, LAST)


def test_the_html_draws_the_bars_and_tables_the_figures(month: report.Report) -> None:
    html = report.render_html(month)
    assert f"The last {TREND_NIGHTS} nights" in html
    assert '<table role="presentation" aria-hidden="true"' in html  # the bars: hidden

    rows = table(html, "trend-numbers")
    assert rows[0] == ["Night", "Errors", "Warnings", "Net drift"]
    assert rows[1:] == [
        [
            n["run_date"].isoformat(),
            str(n["unexplained_errors"]),
            str(n["unexplained_warnings"]),
            drift_text(n["unexplained_drift"]),
        ]
        for n in month.trend
    ]
    assert rows[-1][3] == drift_text(month.net_drift)  # tonight's drift is the verdict's

    chart = table(html, "trend-chart")
    labels = [row[0] for row in chart if row and row[0]]
    currencies = sorted({c for n in month.trend for c in n["unexplained_drift"]})
    assert labels[: 1 + len(currencies)] == ["breaks", *currencies]
    assert html.count('<div class="bar" ') == sum(1 for n in month.trend if n["unexplained_errors"])
    assert html.count('<div class="bar-warning" ') == sum(
        1 for n in month.trend if n["unexplained_warnings"]
    )
    assert "<script" not in html and "<img" not in html


def test_the_text_part_has_a_line_per_night(month: report.Report) -> None:
    text = report.render_text(month)
    assert f"The last {TREND_NIGHTS} nights, unexplained" in text
    for n in month.trend:
        drift = ", ".join(
            f"{c} {report.display_money(v, c, sign=True)}"
            for c, v in n["unexplained_drift"].items()
        )
        line = (
            f"  {n['run_date']}  {n['unexplained_errors']} error"
            f"{'' if n['unexplained_errors'] == 1 else 's'}, {n['unexplained_warnings']} warning"
            f"{'' if n['unexplained_warnings'] == 1 else 's'}"
        )
        assert (f"{line}; {drift}\n" if drift else f"{line}\n") in text, line


def trend_bytes(html: str) -> int:
    start = html.index('<tr><td style="padding:8px 16px;" id="trend">')
    end = html.index("</table>", html.index('id="trend-numbers"')) + len("</table>")
    return len(html[start:end].encode())


def test_thirty_nights_of_six_currencies_stay_under_the_email_limit(
    month: report.Report,
) -> None:
    """The trend at its largest fits beside the night's breaks, all of them listed; and a
    night of 5,000 breaks still keeps the whole trend within EMAIL_BYTES."""
    assert len(month.trend) == TREND_NIGHTS
    assert {c for n in month.trend for c in n["unexplained_drift"]} == set(CURRENCIES)
    html = report.render_html(month)
    size, trend = len(html.encode("utf-8")), trend_bytes(html)
    assert size <= EMAIL_BYTES, f"{size} bytes of HTML, {trend} of them the trend"
    assert trend <= 30_000, f"the trend takes {trend} of the {size} bytes"
    assert "more in the attached CSV" not in html, "the trend left one of D's breaks unlisted"

    template = month.open[0]
    month.findings = [
        {**template, "key": f"bulk_{n}", "order_id": f"ord_bulk_{n:05d}", "break_id": f"b{n:011d}"}
        for n in range(5_000)
    ]
    crowded = report.render_html(month)
    assert len(crowded.encode("utf-8")) <= EMAIL_BYTES, len(crowded.encode("utf-8"))
    assert trend_bytes(crowded) == trend
    assert "more in the attached CSV" in crowded


def test_one_night_draws_no_trend(history: History) -> None:
    record(history, LAST, [finding("stuck_pending", "ord_p", "EUR", order_id="ord_p")])
    model = report.build(history, LAST)
    assert "trend-chart" not in report.render_html(model)
    assert "The last" not in report.render_text(model)
