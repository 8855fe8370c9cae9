"""discrepancies.xlsx, and `recon breaks apply`: a night's findings as a workbook a finance
analyst explains in bulk, and that workbook (or discrepancies.csv with the same columns) read
back into the break history.

    write_workbook(report, folder / "discrepancies.xlsx")   # inside report.write's staging
    result = apply(config, Path("discrepancies.xlsx"), dry_run=True)
    print("\\n".join(result.lines()))

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

import csv
import io
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recon.errors import InputError
from recon.history import ACTIONS, History, check_action, history_of, snooze_passed
from recon.money import amount_text
from recon.strings import clip, neutral
from recon.vocabulary import CSV_COLUMNS, MONEY_COLUMNS, QUARANTINE_COLUMNS, STATES

if TYPE_CHECKING:
    import pandas as pd

    from recon.config import Config
    from recon.report import Report

FILE_NAME = "discrepancies.xlsx"
FINDINGS_SHEET = "findings"
QUARANTINE_SHEET = "quarantine"
ANALYST_COLUMNS = ("action", "until", "night")  # after discrepancies.csv's columns
# `apply` reads these; a CSV without `night` takes it from its report folder's name (D/).
APPLY_COLUMNS = ("break_id", "state", "action", "note", "until")

EXCEL_ROWS = 1_048_576  # a sheet's rows, the header's included
EXCEL_CELL = 32_767  # characters a cell holds
# A number cell is an IEEE double: it holds every decimal of up to 15 significant digits
# (DBL_DIG) so that the 15 digits Excel shows are the exact amount. A longer amount is text.
NUMBER_DIGITS = 15
MAX_UNPACKED_MB = 512  # as [ledger] max_unpacked_mb: the reader holds the sheet's XML whole

_OPEN = ("new", "persisting")  # found again by the checks, unexplained: one state to `apply`


# -- writing --------------------------------------------------------------------------------


def write_workbook(report: Report, path: Path) -> None:
    """`report`'s findings and quarantine as an .xlsx at `path`. The same model gives the same
    bytes (the creation time is the end of the night, not the clock), so a re-run is
    idempotent; report.write writes it into its staging folder, so it is swapped in with the
    rest, atomically."""
    import xlsxwriter

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


# -- reading back ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Mark:
    """One row of the sheet with an action: what the analyst asked, as the cells hold it."""

    row: int  # the spreadsheet's row number: the header is row 1
    break_id: str | None
    action: str
    note: str | None
    until: Any
    state: str | None
    night: Any


def read_marks(path: Path) -> list[Mark]:
    """The rows of an edited discrepancies.xlsx (its findings sheet) or discrepancies.csv
    that have an action; InputError naming the file for one that cannot be read."""
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        header, rows = _workbook_rows(path)
        folder_night = None
    elif suffix == ".csv":
        header, rows = _csv_rows(path)
        folder_night = _folder_night(path)
    else:
        raise InputError(
            f"{path}: not a discrepancies.xlsx or .csv; `recon breaks apply` reads the "
            "report's workbook or a CSV with its columns"
        )
    names = [_column_name(cell) for cell in header]
    for name in APPLY_COLUMNS:
        if name not in names:
            raise InputError(
                f"{path}: no column {name!r} in its header (row 1); `recon breaks apply` needs "
                f"{', '.join(APPLY_COLUMNS)} and the report's night"
            )
    if "night" not in names and folder_night is None:
        raise InputError(
            f"{path}: no column 'night', and its folder is not a report's (YYYY-MM-DD/): "
            "add a night column with the report's date"
        )
    at = {name: names.index(name) for name in (*APPLY_COLUMNS, "night") if name in names}

    def cell(values: list[Any], name: str) -> Any:
        index = at.get(name)
        return values[index] if index is not None and index < len(values) else None

    marks = []
    for number, values in rows:
        action = _cell_text(cell(values, "action"))
        if action is None:
            continue
        marks.append(
            Mark(
                row=number,
                break_id=_cell_text(cell(values, "break_id")),
                action=action,
                note=_cell_text(cell(values, "note"), csv=suffix == ".csv"),
                until=cell(values, "until"),
                state=_cell_text(cell(values, "state")),
                night=cell(values, "night") if "night" in at else folder_night,
            )
        )
    return marks


def _workbook_rows(path: Path) -> tuple[list[Any], list[tuple[int, list[Any]]]]:
    import pandas as pd

    from recon.ledger import EXCEL_ENGINE, require_unpacked_size

    require_unpacked_size(path, MAX_UNPACKED_MB)
    try:
        with pd.ExcelFile(path, engine=EXCEL_ENGINE) as book:
            names = [str(name) for name in book.sheet_names]
            if FINDINGS_SHEET not in names:
                raise InputError(
                    f"{path}: no sheet {FINDINGS_SHEET!r}; the file has: "
                    f"{', '.join(map(repr, names)) or 'none'}"
                )
            # every row from row 1 as the sheet has it; an id reading "NA" stays text
            grid = book.parse(
                FINDINGS_SHEET, header=None, dtype=object, keep_default_na=False, na_values=[]
            ).to_numpy(dtype=object)
    except InputError:
        raise
    except Exception as exc:  # python-calamine's errors share no base class with pandas' own
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{path}: cannot read the workbook: {first}") from None
    if not len(grid):
        raise InputError(f"{path}: the {FINDINGS_SHEET} sheet is empty (no header row)")
    rows = [(number, list(grid[number - 1])) for number in range(2, len(grid) + 1)]
    return list(grid[0]), rows


def _csv_rows(path: Path) -> tuple[list[Any], list[tuple[int, list[Any]]]]:
    """The CSV's records; a record's row is where a spreadsheet shows it (header = row 1),
    whatever line of the file it starts on."""
    try:
        text = path.read_text(encoding="utf-8-sig")
        records = list(csv.reader(io.StringIO(text, newline="")))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"{path}: cannot read the CSV: {exc}") from None
    if not records:
        raise InputError(f"{path}: empty (no header row)")
    return records[0], [(number, values) for number, values in enumerate(records[1:], start=2)]


def _folder_night(path: Path) -> date | None:
    try:
        return date.fromisoformat(path.resolve().parent.name)
    except ValueError:
        return None


def _column_name(cell: Any) -> str:
    name = _cell_text(cell) or ""
    return name.removesuffix(" (UTC)").strip()


def _cell_text(value: Any, *, csv: bool = False) -> str | None:
    """A cell as text, None when blank. A CSV's text cell neutralised with OWASP's apostrophe
    (report.text_cell) is read without it."""
    from recon.ledger import cell_text as as_text

    text = as_text(value)
    if text is None or not text.strip():
        return None
    if csv and text.startswith("'") and text[1:2] in ("=", "+", "-", "@", "\t", "\r"):
        text = text[1:]
    return text.strip()


def _cell_date(value: Any) -> date | None:
    """A date cell, or text YYYY-MM-DD; ValueError for anything else."""
    if isinstance(value, datetime):  # pandas' Timestamp is one too
        return value.date()
    if isinstance(value, date):
        return value
    text = _cell_text(value)
    if text is None:
        return None
    return date.fromisoformat(text[:10] if len(text) > 10 and text[10] in " T" else text)


# -- applying -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What `apply` makes of one marked row: `apply`, `done` (the break already is as the row
    asks, so nothing is recorded) or `refused`, with the reason."""

    row: int
    break_id: str | None
    action: str
    note: str | None
    until: date | None
    result: str
    reason: str | None = None


@dataclass
class Applied:
    path: Path
    outcomes: list[Outcome]
    dry_run: bool
    skip_refused: bool
    applied: bool = False  # whether the good rows were recorded
    nights: list[date] = field(default_factory=list)

    @property
    def refused(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.result == "refused"]

    @property
    def to_apply(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.result == "apply"]

    @property
    def exit_code(self) -> int:
        """2 when rows were refused and --skip-refused not given; else 0."""
        return 2 if self.refused and not self.skip_refused else 0

    def counts(self) -> Counter[str]:
        return Counter(o.action for o in self.to_apply)

    def lines(self) -> list[str]:
        nights = ", ".join(map(str, self.nights)) or "-"
        lines = [
            f"{self.path}: {_plural(len(self.outcomes), 'row')} with an action (night {nights})"
        ]
        counts = self.counts()
        figures = ", ".join(f"{action} {counts[action]}" for action in ACTIONS)
        if not self.outcomes:
            lines.append("  nothing to do: no row has an action (ack, snooze or reopen)")
        elif self.applied:
            lines.append(f"  applied: {figures}")
        elif self.dry_run and self.exit_code == 0:
            lines.append(f"  would apply (dry run): {figures}")
        elif self.dry_run:
            lines.append(f"  would apply nothing (dry run; rows refused); the good rows: {figures}")
        else:
            lines.append(f"  nothing applied (rows refused); the good rows: {figures}")
        done = [o for o in self.outcomes if o.result == "done"]
        if done:
            lines.append(f"  already as the sheet asks, left alone: {_plural(len(done), 'row')}")
        if self.refused:
            skipped = ", skipped" if self.skip_refused else ""
            lines.append(f"  refused{skipped}: {_plural(len(self.refused), 'row')}")
            for o in self.refused:
                name = neutral(clip(o.break_id or "-", 40))
                lines.append(f"    row {o.row}: {name}: {neutral(o.reason or '')}")
        return lines

    def frame(self) -> pd.DataFrame:
        """One row per marked row: row, break_id, action, note, until, result, reason."""
        import pandas as pd

        return pd.DataFrame(
            [vars(o) for o in self.outcomes],
            columns=["row", "break_id", "action", "note", "until", "result", "reason"],
        )

    def __repr__(self) -> str:
        return "\n".join(self.lines())


def plan(history: History, marks: list[Mark], today: date) -> list[Outcome]:
    """What each marked row would do against the history as it is now."""
    nights: dict[date, dict[str, dict[str, Any]] | None] = {}
    known = {row["break_id"]: row for row in history.breaks(today).to_pylist()}
    first_row: dict[str, int] = {}
    outcomes = []
    for mark in marks:
        outcome = _judge(history, mark, today, known, nights, first_row)
        if outcome.break_id and outcome.result != "refused":
            first_row.setdefault(outcome.break_id, mark.row)
        outcomes.append(outcome)
    return outcomes


def _judge(
    history: History,
    mark: Mark,
    today: date,
    known: dict[str, dict[str, Any]],
    nights: dict[date, dict[str, dict[str, Any]] | None],
    first_row: dict[str, int],
) -> Outcome:
    action = mark.action.strip().lower()
    break_id = mark.break_id.strip().lower() if mark.break_id else None
    note = mark.note if action in ("ack", "snooze") else None  # a reopen says nothing
    try:
        until = _cell_date(mark.until) if action == "snooze" else None
        bad_until = None
    except (ValueError, TypeError):
        until, bad_until = None, _cell_text(mark.until) or repr(mark.until)

    def refused(reason: str) -> Outcome:
        return Outcome(mark.row, break_id or mark.break_id, action, note, until, "refused", reason)

    if action not in ACTIONS:
        return refused(f"unknown action {mark.action!r}: one of {', '.join(ACTIONS)} or blank")
    if not break_id:
        return refused("no break_id on this row")
    if break_id not in known:
        return refused(f"unknown break id {mark.break_id!r}")
    if break_id in first_row:
        return refused(f"a second action for this break (row {first_row[break_id]} has one)")
    if bad_until is not None:
        return refused(f"until {bad_until!r} is not a date (YYYY-MM-DD)")
    if action == "snooze" and until is None:
        return refused("a snooze needs its last day in the until column")
    try:
        check_action(action, note=note, until=until)
    except InputError as exc:
        return refused(str(exc))
    if until is not None and (passed := snooze_passed(until, today)):
        return refused(f"until {passed}")
    try:
        night = _cell_date(mark.night)
    except (ValueError, TypeError):
        night = None
    if night is None:
        return refused("no report night on this row (the night column): cannot tell what moved")
    if night not in nights:
        nights[night] = (
            {f["break_id"]: f for f in history.findings(night).to_pylist()}
            if history.run(night) is not None
            else None
        )
    findings = nights[night]
    if findings is None:
        return refused(f"night {night} has no recorded diff in {history.path}")
    if break_id not in findings:
        return refused(f"not a finding of night {night} (that night was re-run without it)")
    now = known[break_id]
    if now["state"] == "resolved":
        return refused(f"moved: resolved on {now['resolved_on']}, after the sheet's night")
    sheet_state = (mark.state or "").strip().lower()
    if sheet_state not in STATES:
        return refused(
            f"state {mark.state!r} is not one of the report's ({', '.join(STATES)}): "
            "cannot tell whether the break moved since the sheet was written"
        )
    state = findings[break_id]["state"]
    moved = sheet_state != state and not (sheet_state in _OPEN and state in _OPEN)
    if moved:
        if _already(action, note, until, state, findings[break_id], now):
            return Outcome(mark.row, break_id, action, note, until, "done")
        by = f" by {now['noted_by']}" if now.get("noted_by") else ""
        at = f" at {now['noted_at']:%Y-%m-%d %H:%M} UTC" if now.get("noted_at") else ""
        return refused(
            f"moved since the sheet was written: {sheet_state} in the sheet, {state} now"
            f"{by if state in ('acknowledged', 'snoozed') else ''}"
            f"{at if state in ('acknowledged', 'snoozed') else ''}"
        )
    return Outcome(mark.row, break_id, action, note, until, "apply")


def _already(
    action: str,
    note: str | None,
    until: date | None,
    state: str,
    finding: dict[str, Any],
    now: dict[str, Any],
) -> bool:
    """Whether the break already is what the row asks (the same sheet applied twice)."""
    recorded = finding.get("note")
    same_note = (note or None) in (recorded, neutral(recorded) if recorded else None)
    if action == "ack":
        return state == "acknowledged" and same_note
    if action == "snooze":
        return state == "snoozed" and now.get("snoozed_until") == until and same_note
    return state not in ("acknowledged", "snoozed")  # reopen


def apply(
    config: Config,
    path: Path,
    *,
    dry_run: bool = False,
    skip_refused: bool = False,
    today: date | None = None,
) -> Applied:
    """Apply the actions of an edited discrepancies.xlsx (or .csv) to their breaks, all of
    them or, if a row is refused, none (unless `skip_refused`: then the good ones). The caller
    holds the data directory's lock, so no state moves between the check and the record; a
    dry run needs none and records nothing."""

    marks = read_marks(path)
    today = today or datetime.now(UTC).date()
    nights = sorted({n for m in marks if (n := _quiet_date(m.night)) is not None})
    if dry_run:
        outcomes = plan(history_of(config, read_only=True), marks, today) if marks else []
        return Applied(path, outcomes, dry_run=True, skip_refused=skip_refused, nights=nights)
    if not marks:
        return Applied(path, [], dry_run=False, skip_refused=skip_refused, nights=nights)
    history = history_of(config)
    outcomes = plan(history, marks, today)
    result = Applied(path, outcomes, dry_run=False, skip_refused=skip_refused, nights=nights)
    if result.exit_code == 0:
        history.act_all((o.break_id or "", o.action, o.note, o.until) for o in result.to_apply)
        result.applied = True
    return result


def _quiet_date(value: Any) -> date | None:
    try:
        return _cell_date(value)
    except (ValueError, TypeError):
        return None


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
