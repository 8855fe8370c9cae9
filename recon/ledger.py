"""The partner's ledger export -> typed rows and quarantine, in DuckDB.

    ingest = ledger.load(con, config.ledger, date(2026, 4, 14))
    con.sql("SELECT * FROM ledger")       # usable rows: line, entry_id, ..., amount DECIMAL
    con.sql("SELECT * FROM quarantine")   # source, line, entry_id, reason, raw

CSV, Parquet, JSON Lines or a spreadsheet (.xlsx, .xls), by extension. Every mapped column is
read as text (DuckDB's sniffer would make amounts DOUBLE) and typed by `sql/ingest/ledger.sql`;
a row that cannot be typed is kept in `quarantine` with its reason, and the run goes on. A
missing file, a missing mapped column, a missing sheet or an unreadable file is an `InputError`
(exit 2) that names the file, and for a malformed CSV the line, in the file's own numbers (a
byte that is not UTF-8, a line too long, a quote never closed, a record of the wrong width).

`amount` is DECIMAL(18, 4) in major units, a purchase positive and a reversal negative, whatever
the export's `amount_unit` (major or minor units) and `purchase_sign` (purchases booked positive
or negative) say. A Debit/Credit export ([ledger.columns] debit and credit) is the same signed
amount, debit minus credit (sql/ingest/ledger.sql). `[ledger] delimiter` is a CSV's separator;
`decimal_separator` and `date_format` read text amounts and timestamps in every format, never
a value the file already types (NATIVE_FIELDS).

`line` is the row's line in a CSV or JSON Lines file (the header is line 1; a CSV record's
first line, when a quoted field spans lines or blank lines come before it), its row number
(from 1) in a Parquet file, and its row number in a spreadsheet (the header is row 1). `raw`,
built for quarantined rows only, holds only the mapped columns: free-text columns recon does
not read (a memo may carry anything) never reach quarantine.csv.

A spreadsheet's cells become the text a CSV of the same sheet would hold: a number as the exact
decimal the cell shows, a date cell as its naive timestamp, an Excel serial number in the
`booked_at` column as the moment it stands for, an empty cell as NULL. The header is row 1 of
`[ledger] sheet` (default: the first sheet).
"""

from __future__ import annotations

import codecs
import csv
import gzip
import json
import math
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import IO, Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from iso4217 import Currency

from recon.config import LEDGER_DELIMITERS, SPREADSHEET_SUFFIXES, LedgerConfig, check_ledger
from recon.errors import InputError
from recon.resources import sql_literal, sql_text
from recon.vocabulary import LEDGER_COLUMN_KEYS, LEDGER_STATUSES

# The text columns the typing reads: the [ledger.columns] keys (an export maps amount, or
# debit and credit; the unmapped are NULL).
TEXT_FIELDS = LEDGER_COLUMN_KEYS
# The text columns that may come from a value already typed (a number cell, a JSON number, a
# Parquet decimal or timestamp): `<field>_native` says so, and the typing reads such text as
# recon wrote it (1289.5, 2026-04-14 10:00:00), not in the export's decimal_separator or
# date_format.
NATIVE_FIELDS = ("amount", "debit", "credit", "booked_at")
# [ledger] date_format day-first / month-first: the common shapes, as DuckDB strptime patterns
# (which take one or two digits for a day, a month or an hour).
_DATE_SEPARATORS = "./-"
_TIMES = ("", " %H:%M", " %H:%M:%S", " %H:%M:%S.%f", " %I:%M %p", " %I:%M:%S %p")
# Unicode's control characters (C0, DEL, C1), as an RE2 class: no mapped field may hold one.
CONTROL_CHARACTERS = r"[\x{00}-\x{1f}\x{7f}-\x{9f}]"
# DuckDB's own limit on a CSV line (its max_line_size), said in recon's words and line numbers.
MAX_LINE_BYTES = 2_097_152
# Python's csv module, which reads the header and finds a malformed record, refuses a field
# past 128 KiB; a line may be longer (a memo), so its fields may be too.
csv.field_size_limit(MAX_LINE_BYTES)
_SCAN_CHUNK = 16 * 2**20
# the separators a CSV may use: [ledger] delimiter's characters ("tab" is its word for "\t")
DELIMITERS = tuple(dict.fromkeys(LEDGER_DELIMITERS.values()))
SUFFIXES = {
    ".csv": "csv",
    ".gz": "csv",
    ".parquet": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    **dict.fromkeys(SPREADSHEET_SUFFIXES, "spreadsheet"),
}
_FORMATS = f"a ledger export must be {', '.join(SUFFIXES)}"  # .csv, .gz, ..., .xls
# pandas reads spreadsheets through python-calamine (Rust): a 1M-row sheet in 16.7 s, where
# openpyxl takes 125 s (README, Benchmarks). It reads .xls as well as .xlsx.
EXCEL_ENGINE = "calamine"
# Excel's 1900 date system: serial 1 is 1900-01-01, but Excel counts a 29 February 1900 that
# never was, so from serial 61 (1900-03-01) on, a serial is days since 1899-12-30.
EXCEL_EPOCH = datetime(1899, 12, 30)
EXCEL_FIRST_SERIAL, EXCEL_LAST_SERIAL = 61, 2_958_465  # 1900-03-01 and 9999-12-31


# The currencies an amount's symbol may stand for, by their ISO 4217 names: "$5" is any dollar's
# or peso's, so a CAD row that writes $ agrees with its column; "€5" in a USD row does not.
_SYMBOL_NAMES = {"$": ("Dollar", "Peso"), "£": ("Pound",), "¥": ("Yen", "Yuan"), "₩": ("Won",)}
_SYMBOL_CODES = {"€": ("EUR",), "₹": ("INR",)}  # the other rupees do not write ₹


def mapped_fields(columns: dict[str, str]) -> tuple[str, ...]:
    """The [ledger.columns] keys an export must have: LEDGER_FIELDS, with debit and credit for
    amount when the configuration maps those."""
    return tuple(name for name in TEXT_FIELDS if name in columns)


def date_patterns(date_format: str) -> list[str]:
    """The strptime patterns [ledger] date_format reads text timestamps with (none for iso,
    which DuckDB's own cast reads)."""
    if date_format == "iso":
        return []
    if date_format in ("day-first", "month-first"):
        day = "%d{0}%m{0}%Y" if date_format == "day-first" else "%m{0}%d{0}%Y"
        return [day.format(sep) + clock for sep in _DATE_SEPARATORS for clock in _TIMES]
    return [date_format]


@dataclass(frozen=True)
class LedgerLoad:
    path: Path
    rows: int  # data rows in the file
    usable: int
    quarantined: int


def export_path(ledger: LedgerConfig, day: date) -> Path:
    return Path(ledger.path.replace("{date}", day.isoformat()))


def require_export(ledger: LedgerConfig, day: date) -> Path:
    """D's export's path; InputError if there is no such file."""
    path = export_path(ledger, day)
    if not path.is_file():
        raise InputError(f"{path}: no ledger export for {day} (ledger.path = {ledger.path!r})")
    return path


def load(con: duckdb.DuckDBPyConnection, ledger: LedgerConfig, day: date) -> LedgerLoad:
    """Read D's export into the views `ledger` and `quarantine` of `con`."""
    # config.load refuses a bad setting; a LedgerConfig built in code meets the same rules
    # (an unknown amount_unit must not be read as major units)
    check_ledger(ledger)
    path = require_export(ledger, day)
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise InputError(f"{path}: {_FORMATS}")
    register_reference_tables(con, ledger.status_map)
    install_macros(con)
    try:
        starts = None
        if kind == "spreadsheet":
            _spreadsheet_text(con, path, ledger.columns, ledger.sheet, ledger.max_unpacked_mb)
        elif kind == "csv":
            starts = _csv_text(con, path, ledger.columns, ledger.delimiter)
        else:
            {"parquet": _parquet_text, "jsonl": _jsonl_text}[kind](con, path, ledger.columns)
        # The typed rows keep the file's order (a CSV's lines are their row ids, below), even
        # on a connection whose checks have turned DuckDB's insertion order off.
        [(ordered,)] = con.sql("SELECT current_setting('preserve_insertion_order')").fetchall()
        con.execute("SET preserve_insertion_order = true")
        try:
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE ledger_typed AS {sql_text('ingest/ledger.sql')}",
                {
                    "timezone": ledger.timezone,
                    "amount_unit": ledger.amount_unit,
                    "purchase_sign": ledger.purchase_sign,
                    "export_day": day,
                    "controls": CONTROL_CHARACTERS,
                    "sided": "debit" in ledger.columns,
                    "decimal_separator": ledger.decimal_separator,
                    "date_format": ledger.date_format,
                    # never empty: DuckDB cannot type an empty list; iso reads none of it
                    "date_patterns": date_patterns(ledger.date_format) or ["%Y-%m-%d"],
                },
            )
        finally:
            con.execute(f"SET preserve_insertion_order = {'true' if ordered else 'false'}")
    except duckdb.OutOfMemoryException:
        raise  # the machine's memory, not the file: the CLI names [storage] memory_limit
    except duckdb.Error as exc:
        if kind == "csv":
            _csv_records(path, ledger.delimiter)  # DuckDB's line numbers are not the file's
        raise InputError(f"{path}: cannot read the ledger export: {_first_line(exc)}") from None
    con.execute("DROP VIEW ledger_text")
    if kind == "csv" and starts is None:
        # A CSV's rows are typed straight from the parallel scan, which has no row number: the
        # typing is projections only (no join, no aggregate), so the table keeps the file's
        # order and a row's id is its record number, which is its line when no blank line or
        # field spanning lines comes before it (the header is line 1).
        con.execute(
            "CREATE OR REPLACE TEMP VIEW ledger_rows AS "
            "SELECT rowid + 2 AS line, * EXCLUDE (line) FROM ledger_typed"
        )
    elif starts is not None:
        # the record numbers are not the lines: each record's first line, by position
        [(typed,)] = con.sql("SELECT count(*) FROM ledger_typed").fetchall()
        if typed != len(starts):
            raise InputError(
                f"{path}: cannot read the ledger export: DuckDB reads {typed} records, "
                f"Python's csv {len(starts)}; check its quoting"
            )
        con.register("ledger_csv_starts", pa.table({"line": pa.array(starts, pa.int64())}))
        con.execute(
            "CREATE OR REPLACE TEMP TABLE ledger_csv_lines AS SELECT line FROM ledger_csv_starts"
        )
        con.unregister("ledger_csv_starts")
        con.execute(
            "CREATE OR REPLACE TEMP VIEW ledger_rows AS SELECT l.line, t.* EXCLUDE (line) "
            "FROM ledger_typed AS t POSITIONAL JOIN ledger_csv_lines AS l"
        )
    else:
        con.execute("CREATE OR REPLACE TEMP VIEW ledger_rows AS SELECT * FROM ledger_typed")
    if kind == "spreadsheet":
        con.unregister("ledger_spreadsheet")
    con.execute(
        "CREATE OR REPLACE TEMP VIEW ledger AS "
        "SELECT * EXCLUDE (reason, raw) FROM ledger_rows WHERE reason IS NULL"
    )
    con.execute(
        "CREATE OR REPLACE TEMP VIEW quarantine AS "
        f"SELECT {sql_literal(str(path))} AS source, line, "
        "coalesce(entry_id, '') AS entry_id, reason, raw FROM ledger_rows WHERE reason IS NOT NULL"
    )
    [(rows, quarantined)] = con.sql("SELECT count(*), count(reason) FROM ledger_rows").fetchall()
    return LedgerLoad(path, rows, rows - quarantined, quarantined)


def drop(con: duckdb.DuckDBPyConnection) -> None:
    """Drop what `load` made in `con` (its views and typed table), once the rows are kept."""
    con.execute(
        "DROP VIEW IF EXISTS quarantine; DROP VIEW IF EXISTS ledger; "
        "DROP VIEW IF EXISTS ledger_rows; DROP TABLE IF EXISTS ledger_typed; "
        "DROP TABLE IF EXISTS ledger_csv_lines"
    )


def prepare(con: duckdb.DuckDBPyConnection, ledger: LedgerConfig) -> None:
    """The reference tables and macros the typing and the checks read (`load` makes them
    too): for a connection that may read no export at all."""
    register_reference_tables(con, ledger.status_map)
    install_macros(con)


def register_reference_tables(con: duckdb.DuckDBPyConnection, status_map: dict[str, str]) -> None:
    """`currencies` (ISO 4217 exponents) and `status_words` (the export's words, lower case)."""
    con.register("currencies", currency_table())
    words = {status.lower(): status for status in LEDGER_STATUSES}
    words.update({word.strip().lower(): status.upper() for word, status in status_map.items()})
    con.register(
        "status_words",
        pa.table({"word": list(words), "canonical": list(words.values())}),
    )
    # the typing looks both up as maps, not joins: a join may reorder rows, and a CSV's line
    # numbers are the order its typed rows are stored in (load)
    con.execute(
        "SET VARIABLE ledger_exponents = (SELECT map(list(code), list(exponent)) FROM currencies)"
    )
    symbols = currency_symbols()
    con.execute(
        "SET VARIABLE ledger_symbols = map($symbols, $codes)",
        {"symbols": list(symbols), "codes": list(symbols.values())},
    )
    con.execute(
        "SET VARIABLE ledger_status_words = "
        "(SELECT map(list(word), list(canonical)) FROM status_words)"
    )


@cache
def currency_table() -> pa.Table:
    money = [c for c in Currency if c.exponent is not None]
    return pa.table(
        {
            "code": [c.code for c in money],
            "exponent": pa.array([c.exponent for c in money], pa.int32()),
        }
    )


@cache
def currency_symbols() -> dict[str, list[str]]:
    """Each currency symbol ingest reads in an amount -> the ISO 4217 codes that write it."""
    money = [c for c in Currency if c.exponent is not None]
    symbols = {
        symbol: sorted(c.code for c in money if any(w in c.currency_name for w in words))
        for symbol, words in _SYMBOL_NAMES.items()
    }
    return {**symbols, **{symbol: list(codes) for symbol, codes in _SYMBOL_CODES.items()}}


def header(
    path: Path,
    sheet: str | None = None,
    max_unpacked_mb: int = LedgerConfig.max_unpacked_mb,
    delimiter: str = LedgerConfig.delimiter,
) -> list[str]:
    """The export's column names as ingest reads them: a CSV's first row, a Parquet file's
    schema, every key of a JSON Lines file's objects (in order of first appearance: a row may
    leave a column out), a spreadsheet's first row (of `sheet`, default the first). InputError
    naming the file if it cannot be read."""
    kind = SUFFIXES.get(path.suffix.lower())
    if kind == "spreadsheet":
        return sheet_header(sheet_cells(path, sheet, max_unpacked_mb, rows=1))
    if kind == "csv":
        return csv_header(path, delimiter)
    if kind == "parquet":
        return list(_parquet_schema(path).names)
    if kind == "jsonl":
        return list(dict.fromkeys(key for _, row in jsonl_rows(path) for key in row))
    raise InputError(f"{path}: {_FORMATS}")


def csv_header(path: Path, delimiter: str) -> list[str]:
    try:
        with csv_open(path) as handle:
            return next(csv.reader(handle, delimiter=delimiter), [])
    except UnicodeDecodeError as exc:
        _csv_scan(path)  # names the line and the byte
        raise InputError(f"{path}: cannot read the ledger export: {exc}") from None
    except (OSError, csv.Error) as exc:
        raise InputError(f"{path}: cannot read the ledger export: {exc}") from None


def csv_open(path: Path) -> IO[str]:
    if path.suffix.lower() == ".gz":
        return gzip.open(path, "rt", encoding="utf-8-sig", newline="")
    return path.open(encoding="utf-8-sig", newline="")


def _csv_scan(path: Path) -> bool:
    """Whether a CSV's record numbers are not its line numbers: a blank line before a record,
    or a line with an odd number of quotes (a field spanning lines, or a quote in a field).
    Reads the bytes in chunks (numpy, no parsing: a tenth of a second per million lines) and
    refuses, in the file's own line numbers, what DuckDB would refuse with its own: a byte
    that is not UTF-8, a line longer than DuckDB reads."""
    import numpy as np  # numpy comes with pyarrow and pandas

    decoder = codecs.getincrementaldecoder("utf-8")()
    lines = offset = line_start = quotes = 0
    newline, last_byte = 10, 0  # \n; a file whose lines end in a lone \r is read by \r
    blank_seen = shifted = False
    try:
        with gzip.open(path) if path.suffix.lower() == ".gz" else path.open("rb") as handle:
            while chunk := handle.read(_SCAN_CHUNK):
                if offset == 0 and b"\n" not in chunk and b"\r" in chunk:
                    newline = 13
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as exc:
                    at = max(exc.start, 0)
                    raise InputError(
                        f"{path}: line {lines + chunk.count(bytes([newline]), 0, at) + 1} "
                        f"is not UTF-8 text (byte 0x{chunk[at]:02x}); export the file as UTF-8"
                    ) from None
                data = np.frombuffer(chunk, np.uint8)
                ends = np.flatnonzero(data == newline) + offset
                starts = np.concatenate(([line_start], ends[:-1] + 1))
                lengths = ends - starts
                if lengths.size and lengths.max() > MAX_LINE_BYTES:
                    _too_long(path, lines + int(lengths.argmax()) + 1, int(lengths.max()))
                if not shifted and ends.size:
                    quoted = np.flatnonzero(data == 34) + offset
                    shifted = bool(((np.searchsorted(quoted, ends) + quotes) & 1).any())
                    quotes += quoted.size
                    # a blank line is empty or a lone \r (of \r\n); DuckDB skips it
                    before = np.concatenate(([last_byte], data))[ends - offset]
                    blank = (lengths == 0) | ((lengths == 1) & (before == 13))
                    if blank.any() or blank_seen:
                        first = 0 if blank_seen else int(blank.argmax())
                        shifted = shifted or bool((~blank[first:]).any())
                        blank_seen = True
                elif not shifted:
                    quotes += chunk.count(b'"')
                lines += ends.size
                if ends.size:
                    line_start = int(ends[-1]) + 1
                offset += len(chunk)
                last_byte = chunk[-1]
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                raise InputError(
                    f"{path}: line {lines + 1} is not UTF-8 text (it ends inside a character); "
                    "export the file as UTF-8"
                ) from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read the ledger export: {exc}") from None
    if offset - line_start > MAX_LINE_BYTES:
        _too_long(path, lines + 1, offset - line_start)
    last_is_record = offset > line_start
    return shifted or bool(quotes & 1) or (blank_seen and last_is_record)


def _too_long(path: Path, line: int, size: int) -> None:
    raise InputError(
        f"{path}: line {line} is {size:,} bytes long, more than the {MAX_LINE_BYTES:,} a "
        "ledger line may have"
    )


def _csv_records(path: Path, delimiter: str) -> list[int]:
    """The line each data record of a CSV starts on, read with Python's csv module (as the
    header is). InputError naming the line, in the file's own numbers, for a record DuckDB
    refuses: a quote never closed, text after a closing quote, a record whose number of
    fields is not the header's."""
    starts: list[int] = []
    width = None
    start = read = 0
    try:
        with csv_open(path) as handle:
            reader = csv.reader(handle, strict=True, delimiter=delimiter)
            for fields in reader:
                start, read = read + 1, reader.line_num
                if not fields:
                    continue  # a blank line, which DuckDB skips too
                if width is None:
                    width = len(fields)
                elif len(fields) != width:
                    raise InputError(
                        f"{path}: line {start} has {len(fields)} field"
                        f"{'s' if len(fields) != 1 else ''}, the header {width}"
                    )
                else:
                    starts.append(start)
    except csv.Error as exc:
        start = read + 1
        problem = (
            "opens a quoted field that is never closed"
            if "end of data" in str(exc) or "EOF" in str(exc)
            else f"is not CSV as recon reads it ({exc})"
        )
        raise InputError(f"{path}: line {start} {problem}") from None
    except UnicodeDecodeError as exc:
        _csv_scan(path)
        raise InputError(f"{path}: cannot read the ledger export: {exc}") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read the ledger export: {exc}") from None
    return starts


def _parquet_schema(path: Path) -> pa.Schema:
    try:
        return pq.read_schema(path)
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"{path}: cannot read the ledger export: {exc}") from None


def jsonl_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-blank line; numbers exact (Decimal)."""
    number = 0
    try:
        with path.open(encoding="utf-8-sig") as handle:
            for number, text in enumerate(handle, start=1):
                if not text.strip():
                    continue
                row = json.loads(text, parse_float=Decimal, parse_int=Decimal)
                if not isinstance(row, dict):
                    raise InputError(f"{path}: line {number} is not a JSON object")
                yield number, row
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: line {number} is not valid JSON: {exc.msg}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the ledger export: {exc}") from None


# -- each format as the view `ledger_text`: line, and the mapped columns as text ---------------


def _csv_text(
    con: duckdb.DuckDBPyConnection, path: Path, columns: dict[str, str], delimiter: str
) -> list[int] | None:
    """The view `ledger_text` of a CSV; the line each data record starts on, or None when the
    records are the lines after the header."""
    shifted = _csv_scan(path)
    header = csv_header(path, delimiter)
    _require_columns(path, header, columns, delimiter)
    starts = _csv_records(path, delimiter) if shifted else None
    # The dialect is recon's, not the sniffer's (which may take a lone quote for no quoting, or
    # the header for data), and the columns are named by position, so a header's names (two
    # alike but for case, a quote in one) never reach DuckDB's binder.
    names = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(header)))
    source = (
        f"read_csv({sql_literal(str(path))}, auto_detect = false, header = true, "
        f"delim = {sql_literal(delimiter)}, "
        f"quote = '\"', escape = '\"', columns = {{{names}}}, max_line_size = {MAX_LINE_BYTES})"
    )
    by_position = {
        columns[name]: f"c{header.index(columns[name])}" for name in mapped_fields(columns)
    }
    # No line here: numbering the scan (row_number(), WITH ORDINALITY) runs on one thread. The
    # typed rows are stored in the file's order, and load numbers them by their row ids.
    con.execute(
        "CREATE OR REPLACE TEMP VIEW ledger_text AS "
        f"SELECT CAST(NULL AS BIGINT) AS line, {_text_columns(columns, by_position)} "
        f"FROM {source}"
    )
    return starts


def _parquet_text(con: duckdb.DuckDBPyConnection, path: Path, columns: dict[str, str]) -> None:
    schema = _parquet_schema(path)
    _require_columns(path, schema.names, columns)
    decimals: set[str] = set()
    native: dict[str, str] = {}
    for name in ("amount", "debit", "credit"):
        if name not in columns:
            continue
        amount = schema.field(columns[name]).type
        if pa.types.is_floating(amount):
            raise InputError(
                f"{path}: column {columns[name]!r} holds floating-point numbers ({amount}), "
                "which cannot carry exact money; export it as decimal or text"
            )
        if pa.types.is_decimal(amount):
            decimals.add(name)
        if pa.types.is_decimal(amount) or pa.types.is_integer(amount):
            native[name] = "true"  # a number already: no decimal_separator reads it
    booked = schema.field(columns["booked_at"]).type
    if pa.types.is_timestamp(booked) or pa.types.is_date(booked):
        native["booked_at"] = "true"  # a moment already: no date_format reads it
    con.execute(
        "CREATE OR REPLACE TEMP VIEW ledger_text AS SELECT file_row_number + 1 AS line, "
        f"{_text_columns(columns, decimal=decimals, native=native)} "
        f"FROM read_parquet({sql_literal(str(path))}, file_row_number = true)"
    )


def _jsonl_text(con: duckdb.DuckDBPyConnection, path: Path, columns: dict[str, str]) -> None:
    # Python's json, not DuckDB's reader: that one turns 34.70 into a DOUBLE.
    lines: list[int] = []
    values: dict[str, list[str | None]] = {name: [] for name in columns.values()}
    # a JSON number in an amount column is a number already (decimal_separator is for text);
    # JSON has no moments, so booked_at is text
    flags: dict[str, list[bool]] = {
        columns[name]: [] for name in ("amount", "debit", "credit") if name in columns
    }
    present: set[str] = set()
    for number, row in jsonl_rows(path):
        lines.append(number)
        present.update(row)
        for name in values:
            values[name].append(json_text(row.get(name)))
        for name in flags:
            flags[name].append(isinstance(row.get(name), Decimal))
    if lines:
        _require_columns(path, sorted(present), columns)
    _register_text(con, "ledger_jsonl", lines, values, flags, columns)


def json_text(value: object) -> str | None:
    """A JSON value as the text a CSV cell would hold: 1.5E+2 as 150, [12.5] as JSON."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str)


def sheet_cells(
    path: Path, sheet: str | None, max_unpacked_mb: int, rows: int | None = None
) -> Any:
    """The sheet's cells (the first `rows` rows, or all) as a numpy array of objects."""
    import pandas as pd  # only a spreadsheet export needs it

    require_unpacked_size(path, max_unpacked_mb)
    try:
        with pd.ExcelFile(path, engine=EXCEL_ENGINE) as book:
            names = [str(name) for name in book.sheet_names]
            if not names:
                raise InputError(f"{path}: the workbook has no worksheet")
            if sheet is not None and sheet not in names:
                raise InputError(
                    f"{path}: no sheet {sheet!r} ([ledger] sheet); the file has: "
                    f"{', '.join(map(repr, names))}"
                )
            # header=None and no NA words: every row as the sheet has it, from row 1, and a
            # reference that reads "NA" or "null" stays text
            grid = book.parse(
                names[0] if sheet is None else sheet,
                header=None,
                dtype=object,
                keep_default_na=False,
                na_values=[],
                nrows=rows,
            )
    except InputError:
        raise
    except Exception as exc:  # python-calamine's errors share no base class with pandas' own
        raise InputError(f"{path}: cannot read the ledger export: {_first_line(exc)}") from None
    return grid.to_numpy(dtype=object)


def require_unpacked_size(path: Path, max_unpacked_mb: int) -> None:
    """InputError if an .xlsx (a zip) says it unpacks to more than `max_unpacked_mb`: the
    reader holds a sheet's XML whole, so a zip bomb would take the host's memory. The sizes
    are the ones the zip declares; a reader that unpacks more than a member declares fails on
    its checksum. An .xls is no zip and is not compressed: it is as large as it reads."""
    try:
        with zipfile.ZipFile(path) as book:
            unpacked = sum(member.file_size for member in book.infolist())
    except (zipfile.BadZipFile, OSError):
        return  # not a zip (an .xls, or no workbook at all): the reader says what it is
    if unpacked > max_unpacked_mb * 2**20:
        raise InputError(
            f"{path}: the workbook unpacks to {unpacked / 2**20:,.0f} MB, more than "
            f"[ledger] max_unpacked_mb = {max_unpacked_mb} (its file is "
            f"{path.stat().st_size / 2**20:,.1f} MB); a sheet that large needs a higher "
            "max_unpacked_mb, and a small file that unpacks so far is a zip bomb"
        )


def sheet_header(cells: Any) -> list[str]:
    return [cell_text(value) or "" for value in cells[0]] if len(cells) else []


def _spreadsheet_text(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    columns: dict[str, str],
    sheet: str | None,
    max_unpacked_mb: int,
) -> None:
    import numpy as np  # only a spreadsheet export needs it

    cells = sheet_cells(path, sheet, max_unpacked_mb)
    header = sheet_header(cells)
    _require_columns(path, header, columns)
    # a row with no cell at all is no row, as a blank line in a CSV is none (calamine gives an
    # empty cell as "")
    rows = np.flatnonzero((cells[1:] != "").any(axis=1)) + 1
    values: dict[str, list[str | None]] = {}
    # a cell that is no text (a number, a date, an Excel serial) is a value already: no
    # decimal_separator or date_format reads it.
    flags: dict[str, list[bool]] = {}
    for name in mapped_fields(columns):
        column = columns[name]
        if column not in values:
            convert = _booked_at_text if name == "booked_at" else cell_text
            column_cells = cells[rows, header.index(column)].tolist()
            # most cells of a text column are text: they skip the call
            values[column] = [v if type(v) is str and v else convert(v) for v in column_cells]
        if name in NATIVE_FIELDS and column not in flags:
            column_cells = cells[rows, header.index(column)].tolist()
            flags[column] = [type(v) is not str for v in column_cells]
    del cells
    _register_text(con, "ledger_spreadsheet", (rows + 1).tolist(), values, flags, columns)


def _register_text(
    con: duckdb.DuckDBPyConnection,
    table_name: str,
    lines: list[int],
    values: dict[str, list[str | None]],
    flags: dict[str, list[bool]],
    columns: dict[str, str],
) -> None:
    """The view `ledger_text` over an Arrow table registered as `table_name`: the export's
    columns, named by position (an export's own names, "line" among them, never meet the
    view's), and whether each value of a column in `flags` was a value already, not text."""
    scanned = {column: f"c{i}" for i, column in enumerate(values)}
    flagged = {column: f"n{i}" for i, column in enumerate(flags)}
    table = pa.table(
        {
            "line": pa.array(lines, pa.int64()),
            **{scanned[c]: pa.array(v, pa.string()) for c, v in values.items()},
            **{flagged[c]: pa.array(v, pa.bool_()) for c, v in flags.items()},
        }
    )
    con.register(table_name, table)
    native = {
        name: _identifier(flagged[columns[name]])
        for name in NATIVE_FIELDS
        if name in columns and columns[name] in flagged
    }
    con.execute(
        "CREATE OR REPLACE TEMP VIEW ledger_text AS "
        f"SELECT line, {_text_columns(columns, scanned, native=native)} FROM {table_name}"
    )


def cell_text(value: object) -> str | None:
    """A spreadsheet cell as the text a CSV of the sheet would hold.

    A number is the decimal the cell shows. Excel shows 15 significant digits, so the double a
    file writes as 19.989999999999998 is 19.99, 0.1 + 0.7's 0.7999999999999999 is 0.8, and a
    whole 1999.0 is 1999: never a binary tail, which would read as more decimals than the
    currency has."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if math.isinf(value):
            return str(value)
        return format(Decimal(format(value, ".15g")), "f")
    if isinstance(value, datetime):  # pandas' Timestamp is one too
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    if value is None:
        return None
    return str(value)


def _booked_at_text(value: object) -> str | None:
    """A `booked_at` cell: a number there is an Excel serial date (46126.5 is 2026-04-14
    12:00), read to the millisecond as Excel keeps time. A number outside Excel's dates stays
    a number, which the typing refuses as a timestamp."""
    if (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and EXCEL_FIRST_SERIAL <= value < EXCEL_LAST_SERIAL + 1
    ):
        milliseconds = round(Decimal(format(value, ".15g")) * 86_400_000)
        return (EXCEL_EPOCH + timedelta(milliseconds=milliseconds)).isoformat(sep=" ")
    return cell_text(value)


def _require_columns(
    path: Path, present: list[str], columns: dict[str, str], delimiter: str | None = None
) -> None:
    for name in mapped_fields(columns):
        if columns[name] not in present:
            raise InputError(
                f"{path}: no column {columns[name]!r} (ledger.columns.{name}); "
                f"{header_found(present, columns)}{delimiter_hint(present, delimiter)}"
            )
        # each reader would take one of the two silently (the first, or a renamed copy), and
        # the other may be the one the partner meant
        if present.count(columns[name]) > 1:
            raise InputError(
                f"{path}: the header has column {columns[name]!r} (ledger.columns.{name}) "
                f"{present.count(columns[name])} times; recon cannot tell which one to read"
            )


# What a header error quotes of the header found: enough of each name to spot a renamed column.
_SHOWN_NAMES, _SHOWN_CHARS = 30, 40


def header_found(present: list[str], columns: dict[str, str]) -> str:
    """What a missing-column error says of the header it found. The names, cut short, when
    the header has one of the mapped columns at least (a ledger header with one renamed);
    otherwise only its width: a path that is a symlink to another file (/etc/passwd, a .env)
    must not put that file's first line into the logs and the mail."""
    if not present:
        return "the file has: no header"
    if not set(columns.values()) & set(present):
        expected = ", ".join(repr(columns[name]) for name in mapped_fields(columns))
        return (
            f"the header ({len(present)} field{'s' if len(present) > 1 else ''}, not shown) has "
            f"none of the mapped columns {expected}: is this a ledger export?"
        )
    names = [
        repr(name if len(name) <= _SHOWN_CHARS else name[:_SHOWN_CHARS] + "...")
        for name in present[:_SHOWN_NAMES]
    ]
    more = len(present) - _SHOWN_NAMES
    return f"the file has: {', '.join(names)}" + (f" and {more} more" if more > 0 else "")


def delimiter_hint(present: list[str], delimiter: str | None) -> str:
    """For a CSV header that reads as one field: the separator it seems to have, if that is
    not [ledger] delimiter (a German export's `;`). Says only which character, never the
    header (header_found)."""
    if delimiter is None or len(present) != 1:
        return ""
    for other in DELIMITERS:
        if other != delimiter and other in present[0]:
            word = {"\t": '"tab"', ";": '";"', "|": '"|"', ",": '","'}[other]
            return (
                f"; the header reads as one field with {word} in it: set [ledger] "
                f"delimiter = {word}"
            )
    return ""


def _text_columns(
    columns: dict[str, str],
    source: dict[str, str] | None = None,
    *,
    decimal: set[str] | frozenset[str] = frozenset(),
    native: dict[str, str] | None = None,
) -> str:
    """The mapped columns as text under recon's names (NULL for debit and credit, or amount,
    when not mapped), then `<field>_native` for NATIVE_FIELDS; `source`: the name each export
    column has in the scan, when not its own; `decimal`: the fields whose column is DECIMAL;
    `native`: each native field's SQL expression (default false: text)."""
    scanned = {
        column: _identifier((source or {}).get(column, column)) for column in columns.values()
    }
    text = [
        "CAST(NULL AS VARCHAR)"
        if name not in columns
        else f"decimal_text({scanned[columns[name]]})"
        if name in decimal
        else f"CAST({scanned[columns[name]]} AS VARCHAR)"
        for name in TEXT_FIELDS
    ]
    flags = [(native or {}).get(name, "false") for name in NATIVE_FIELDS]
    return ", ".join(
        [f"{expr} AS {name}" for expr, name in zip(text, TEXT_FIELDS, strict=True)]
        + [f"{expr} AS {name}_native" for expr, name in zip(flags, NATIVE_FIELDS, strict=True)]
    )


def install_macros(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(sql_text("setup/macros.sql"))


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
