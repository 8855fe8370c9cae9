"""discrepancies.xlsx, and `recon breaks apply`: a night's findings as a workbook a finance
analyst explains in bulk, and that workbook (or discrepancies.csv with the same columns) read
back into the break history.

    write_workbook(report, folder / "discrepancies.xlsx")   # inside report.write's staging

The workbook has two sheets. `findings`: discrepancies.csv's columns in its order, typed
(money a number cell with its currency's decimals, times date cells in UTC, ids and references
text), then the three an analyst fills or reads: `action` (ack, snooze, reopen or blank),
`until` (a snooze's last day) and `night` (the report's date, which `apply` needs to tell
whether a break moved since the sheet was written). The contract's `note` column, the note a
break carries, is the note an `ack` or `snooze` records: it comes filled in with the current
one, and the analyst rewrites it. `quarantine`: quarantine.csv's rows.

Nothing in a cell can run: strings are written as string cells, never formulas, numbers or
links (xlsxwriter's strings_to_formulas, strings_to_numbers and strings_to_urls are off), so no
OWASP apostrophe is needed, and bidi controls are made visible as in the CSV.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recon.history import ACTIONS
from recon.money import amount_text
from recon.strings import clip, neutral

if TYPE_CHECKING:
    from recon.report import Report

FILE_NAME = "discrepancies.xlsx"
FINDINGS_SHEET = "findings"
QUARANTINE_SHEET = "quarantine"
ANALYST_COLUMNS = ("action", "until", "night")  # after discrepancies.csv's columns

EXCEL_ROWS = 1_048_576  # a sheet's rows, the header's included
EXCEL_CELL = 32_767  # characters a cell holds
# A number cell is an IEEE double: it holds every decimal of up to 15 significant digits
# (DBL_DIG) so that the 15 digits Excel shows are the exact amount. A longer amount is text.
NUMBER_DIGITS = 15


# -- writing --------------------------------------------------------------------------------


def write_workbook(report: Report, path: Path) -> None:
    """`report`'s findings and quarantine as an .xlsx at `path`. The same model gives the same
    bytes (the creation time is the end of the night, not the clock), so a re-run is
    idempotent; report.write writes it into its staging folder, so it is swapped in with the
    rest, atomically."""
    import xlsxwriter

    from recon.report import CSV_COLUMNS, QUARANTINE_COLUMNS

    options = {
        "constant_memory": True,  # rows are flushed as written: 100,000 findings stay small
        "strings_to_formulas": False,
        "strings_to_numbers": False,
        "strings_to_urls": False,
    }
    night_end = datetime.combine(report.day + timedelta(days=1), time())
    with xlsxwriter.Workbook(str(path), options) as book:
        book.set_properties(
            {"title": f"recon discrepancies {report.day}", "author": "recon", "created": night_end}
        )
        styles = _Styles(book)
        findings = book.add_worksheet(FINDINGS_SHEET)
        _write_findings(findings, report, (*CSV_COLUMNS, *ANALYST_COLUMNS), styles)
        quarantine = book.add_worksheet(QUARANTINE_SHEET)
        _write_quarantine(quarantine, report.quarantine, QUARANTINE_COLUMNS, styles)


class _Styles:
    def __init__(self, book: Any) -> None:
        self.book = book
        self.header = book.add_format({"bold": True, "bottom": 1})
        self.text = book.add_format({"num_format": "@"})  # what is typed into it stays text
        self.instant = book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        self.day = book.add_format({"num_format": "yyyy-mm-dd"})
        self.whole = book.add_format({"num_format": "0"})
        self.hours = book.add_format({"num_format": "0.0"})
        self._money: dict[int, Any] = {}

    def money(self, decimals: int) -> Any:
        """'#,##0.000' for KWD's three decimals, '#,##0' for JPY's none."""
        if decimals not in self._money:
            fraction = "." + "0" * decimals if decimals else ""
            self._money[decimals] = self.book.add_format({"num_format": f"#,##0{fraction}"})
        return self._money[decimals]


def _header(sheet: Any, columns: tuple[str, ...], styles: _Styles) -> None:
    for col, name in enumerate(columns):
        sheet.write_string(0, col, f"{name} (UTC)" if name == "created_at" else name, styles.header)
    sheet.freeze_panes(1, 0)


def _write_findings(sheet: Any, report: Report, columns: tuple[str, ...], styles: _Styles) -> None:
    from recon.report import MONEY_COLUMNS

    where = {name: n for n, name in enumerate(columns)}
    typed = {"until": styles.day, "note": styles.text, "action": styles.text}
    for name, width in _WIDTHS.items():  # a column's format is what a cell typed into takes
        sheet.set_column(where[name], where[name], width, typed.get(name))
    _header(sheet, columns, styles)
    findings = report.findings
    room = EXCEL_ROWS - 1
    shown = findings if len(findings) <= room else findings[: room - 1]
    for row, finding in enumerate(shown, start=1):
        currency = finding.get("currency")
        for col, name in enumerate(columns[: where["action"]]):
            value = finding.get(name)
            if value is None or value == "":
                continue
            if name in MONEY_COLUMNS:
                _money_cell(sheet, row, col, value, currency, styles)
            elif name == "created_at":
                sheet.write_datetime(row, col, _naive_utc(value), styles.instant)
            elif name == "first_seen":
                sheet.write_datetime(row, col, value, styles.day)
            elif name == "age_hours":
                sheet.write_number(row, col, float(value), styles.hours)
            elif name == "line":
                sheet.write_number(row, col, int(value), styles.whole)
            else:  # the note typed into as text, not as a formula; the rest unstyled: faster
                sheet.write_string(row, col, _text(value), styles.text if name == "note" else None)
        sheet.write_datetime(row, where["night"], report.day, styles.day)
    last = len(shown)
    if len(shown) < len(findings):  # past a sheet's rows: say so, never drop them silently
        last += 1
        sheet.write_string(
            last,
            0,
            f"and {len(findings) - len(shown):,} more findings in discrepancies.csv "
            f"(a sheet holds {EXCEL_ROWS:,} rows)",
        )
    sheet.autofilter(0, 0, last, len(columns) - 1)
    if last:
        sheet.data_validation(
            1,
            where["action"],
            last,
            where["action"],
            {
                "validate": "list",
                "source": list(ACTIONS),
                "ignore_blank": True,
                "input_title": "action",
                "input_message": "ack (needs a note), snooze (needs until) or reopen",
            },
        )


def _write_quarantine(
    sheet: Any, rows: list[dict[str, Any]], columns: tuple[str, ...], styles: _Styles
) -> None:
    sheet.set_column(0, len(columns) - 1, 16)
    sheet.set_column(columns.index("reason"), columns.index("raw"), 48)
    _header(sheet, columns, styles)
    shown = rows[: EXCEL_ROWS - 1]  # a night quarantining a million rows has other problems
    for row, record in enumerate(shown, start=1):
        for col, name in enumerate(columns):
            value = record.get(name)
            if value is None or value == "":
                continue
            if name == "line":
                sheet.write_number(row, col, int(value), styles.whole)
            else:
                sheet.write_string(row, col, _text(value))
    sheet.autofilter(0, 0, len(shown), len(columns) - 1)


_WIDTHS = {
    "check": 22,
    "state": 12,
    "order_id": 22,
    "ledger_entry_id": 14,
    "reference": 20,
    "created_at": 19,
    "first_seen": 11,
    "detail": 60,
    "break_id": 14,
    "note": 40,
    "action": 9,
    "until": 11,
    "night": 11,
}


def _money_cell(
    sheet: Any, row: int, col: int, amount: Decimal, currency: str | None, styles: _Styles
) -> None:
    """A number cell showing the currency's decimals (more where the amount has more, as the
    CSV). The cell's XML holds the exact decimal text (xlsxwriter formats a Decimal with its
    own digits); a reader parses it to the double nearest to it, which for up to 15
    significant digits shows the exact amount. A longer amount is a text cell of its digits."""
    exact = Decimal(amount_text(amount, currency))
    digits = exact.as_tuple()
    if len(digits.digits) > NUMBER_DIGITS:
        sheet.write_string(row, col, f"{exact:f}", styles.text)
        return
    decimals = max(0, -int(digits.exponent))
    sheet.write_number(row, col, exact, styles.money(decimals))


def _text(value: Any) -> str:
    """A string cell's text: bidi controls visible (as in the CSV), clipped to what a cell holds."""
    text = neutral(value.isoformat() if isinstance(value, date) else str(value))
    return clip(text, EXCEL_CELL - 40) if len(text) > EXCEL_CELL else text


def _naive_utc(moment: datetime) -> datetime:
    """A spreadsheet's date cell has no zone: the UTC wall time (the header says so)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment
