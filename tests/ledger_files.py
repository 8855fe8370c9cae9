"""Ledger exports as real files, loaded as recon loads them: the helpers test_ledger.py and
test_hostile_ledger.py share.

Each file is written in `tmp_path` (spreadsheets with openpyxl) and loaded into the `con`
fixture of conftest.py, a fresh DuckDB connection set to UTC as the real caller does.
`load_ledger` checks conservation (rows == usable + quarantined, and the views hold exactly
those counts) on every file the tests load.
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import openpyxl
import pytest

from recon import config, ledger
from recon.config import LedgerConfig
from recon.errors import InputError
from recon.ledger import LedgerLoad

DAY = date(2026, 4, 14)
FIELDS = ("entry_id", "order_id", "reference", "amount", "currency", "status", "booked_at")

BASE_ROW = {
    "entry_id": "LE-1",
    "order_id": "ord_1",
    "reference": "po-1",
    "amount": "10.00",
    "currency": "USD",
    "status": "delivered",
    "booked_at": "2026-04-14 10:00:00",
}

USABLE_COLUMNS = "line, entry_id, order_id, reference, amount, currency, status, booked_at"


def make_config(
    folder: Path,
    name: str = "ledger-{date}.csv",
    *,
    timezone: str = "UTC",
    columns: dict[str, str] | None = None,
    status_map: dict[str, str] | None = None,
    amount_unit: str | None = None,
    purchase_sign: str | None = None,
    sheet: str | None = None,
    **shape: str,
) -> LedgerConfig:
    """`shape`: [ledger] delimiter, decimal_separator or date_format, as the file says them."""
    table: dict[str, Any] = {"path": str(folder / name), "timezone": timezone, **shape}
    if sheet is not None:
        table["sheet"] = sheet
    if columns is not None:
        table["columns"] = columns
    if status_map is not None:
        table["status_map"] = status_map
    if amount_unit is not None:  # None: the key is absent, so the default is what is tested
        table["amount_unit"] = amount_unit
    if purchase_sign is not None:
        table["purchase_sign"] = purchase_sign
    return config.from_dict({"ledger": table}).ledger


def row(**changes: str) -> dict[str, str]:
    return {**BASE_ROW, **changes}


def write_csv(
    path: Path,
    rows: list[dict[str, str]],
    fieldnames: tuple[str, ...] = (*FIELDS, "memo"),
    delimiter: str = ",",
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(
            handle, fieldnames=fieldnames, lineterminator="\n", delimiter=delimiter
        )
        writer.writeheader()
        for r in rows:
            writer.writerow({name: r.get(name, "") for name in fieldnames})
    return path


def csv_day(folder: Path) -> Path:
    return folder / f"ledger-{DAY.isoformat()}.csv"


def write_workbook(path: Path, sheets: dict[str, list[list[Any]]]) -> Path:
    """A real .xlsx: one sheet per entry, in order, each row's cells as given (None: empty)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for values in rows:
            sheet.append(values)
    book.save(path)
    return path


def write_xlsx(
    path: Path,
    rows: list[dict[str, Any]],
    fieldnames: tuple[str, ...] = (*FIELDS, "memo"),
    *,
    title: str = "Ledger",
) -> Path:
    """Rows as a sheet with a header row: a str is a text cell, a number a number cell, a
    datetime a date cell, None (or a missing key) an empty cell."""
    body = [[r.get(name) for name in fieldnames] for r in rows]
    return write_workbook(path, {title: [list(fieldnames), *body]})


def xlsx_day(folder: Path) -> Path:
    return folder / f"ledger-{DAY.isoformat()}.xlsx"


def load_ledger(con: duckdb.DuckDBPyConnection, ledger_config: LedgerConfig) -> LedgerLoad:
    """`ledger.load` for DAY, with the conservation checks every file must pass."""
    result = ledger.load(con, ledger_config, DAY)
    [(usable,)] = con.sql("SELECT count(*) FROM ledger").fetchall()
    [(quarantined,)] = con.sql("SELECT count(*) FROM quarantine").fetchall()
    assert result.rows == result.usable + result.quarantined
    assert (usable, quarantined) == (result.usable, result.quarantined)
    [(both,)] = con.sql(
        "SELECT count(*) FROM ledger JOIN quarantine USING (line)"
    ).fetchall()  # a row is usable or quarantined, never both
    assert both == 0
    return result


def load_csv(
    con: duckdb.DuckDBPyConnection, folder: Path, rows: list[dict[str, str]], **settings: Any
) -> LedgerLoad:
    write_csv(csv_day(folder), rows)
    return load_ledger(con, make_config(folder, **settings))


def usable_rows(con: duckdb.DuckDBPyConnection) -> list[tuple[Any, ...]]:
    return con.sql(f"SELECT {USABLE_COLUMNS} FROM ledger ORDER BY line").fetchall()


def quarantine_rows(con: duckdb.DuckDBPyConnection) -> list[tuple[Any, ...]]:
    return con.sql("SELECT line, entry_id, reason FROM quarantine ORDER BY line").fetchall()


def only_usable(con: duckdb.DuckDBPyConnection) -> tuple[Any, ...]:
    rows = usable_rows(con)
    assert quarantine_rows(con) == []
    assert len(rows) == 1
    return rows[0]


def only_reason(con: duckdb.DuckDBPyConnection) -> str:
    assert usable_rows(con) == []
    [(_, _, reason)] = quarantine_rows(con)
    return reason


def expect_input_error(
    con: duckdb.DuckDBPyConnection, ledger_config: LedgerConfig, *fragments: str
) -> str:
    with pytest.raises(InputError) as caught:
        ledger.load(con, ledger_config, DAY)
    message = str(caught.value)
    assert caught.value.exit_code == 2
    for fragment in fragments:
        assert fragment in message
    return message
