"""`recon.ledger.load`: the partner's export (CSV, JSON Lines, Parquet, XLSX) -> the views
`ledger` (usable, typed rows) and `quarantine` (rows that cannot be used, with the reason).

Every case is a real file in `tmp_path` (spreadsheets written with openpyxl), loaded into a
fresh DuckDB connection set to UTC as the real caller does (conftest.py's `con`). `load_ledger`
(tests/ledger_files.py) checks conservation (rows == usable + quarantined, and the views hold
exactly those counts) on every file the tests load.
"""

from __future__ import annotations

import csv
import dataclasses
import gzip
import hashlib
import json
import re
import shutil
import zipfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from recon import config, ledger, pipeline
from recon.config import LedgerConfig
from recon.demo import run_demo
from recon.errors import ConfigError, InputError
from recon.lake import Lake
from recon.ledger import LedgerLoad
from tests.ledger_files import (
    BASE_ROW,
    DAY,
    FIELDS,
    USABLE_COLUMNS,
    csv_day,
    expect_input_error,
    load_csv,
    load_ledger,
    make_config,
    only_reason,
    only_usable,
    quarantine_rows,
    row,
    usable_rows,
    write_csv,
    write_workbook,
    write_xlsx,
    xlsx_day,
)

FIXTURES = Path(__file__).resolve().parents[1] / "data" / "fixtures"
DATA = Path(__file__).resolve().parent / "data"
SECRET_MEMO = "CODE ABCD-EFGH"

# -- helpers (those test_hostile_ledger.py shares are in tests/ledger_files.py) ---------------


def with_number_literals(path: Path, literals: dict[int, str]) -> Path:
    """Rewrite number cells holding a marker (an integer) to hold `literal` as the file's text,
    as Excel writes a double it computed: openpyxl itself writes 16 digits, never the tail."""
    with zipfile.ZipFile(path) as source:
        entries = {info: source.read(info) for info in source.infolist()}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info, data in entries.items():
            if info.filename.startswith("xl/worksheets/"):
                text = data.decode()
                for marker, literal in literals.items():
                    assert f"<v>{marker}</v>" in text
                    text = text.replace(f"<v>{marker}</v>", f"<v>{literal}</v>")
                data = text.encode()
            target.writestr(info, data)
    return path


def load_xlsx(
    con: duckdb.DuckDBPyConnection, folder: Path, rows: list[dict[str, Any]], **settings: Any
) -> LedgerLoad:
    write_xlsx(xlsx_day(folder), rows)
    return load_ledger(con, make_config(folder, "ledger-{date}.xlsx", **settings))


# text in a CSV, or text cells in a spreadsheet: the same rows, the same rules
LOADERS = {"csv": load_csv, "xlsx": load_xlsx}


def usable_by_id(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[Any, ...]]:
    """entry_id -> (order_id, reference, amount, currency, status, booked_at), without `line`."""
    return {r[1]: r[2:] for r in usable_rows(con)}


def json_line(values: dict[str, Any], amount_literal: str | None = None) -> str:
    """A JSON object; `amount_literal` is written verbatim (a JSON number like 34.70)."""
    if amount_literal is None:
        return json.dumps(values)
    rest = {k: v for k, v in values.items() if k != "amount"}
    text = json.dumps(rest)
    return text[:-1] + f', "amount": {amount_literal}' + "}"


# -- amounts -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "currency", "expected"),
    [
        ("1,500.00", "USD", Decimal("1500.00")),
        ("$12.50", "USD", Decimal("12.50")),
        ("12.50 USD", "USD", Decimal("12.50")),
        ("USD 12.50", "USD", Decimal("12.50")),
        ("(12.50)", "USD", Decimal("-12.50")),
        ("($12.50)", "USD", Decimal("-12.50")),
        ("-12.50", "USD", Decimal("-12.50")),
        ("-$12.50", "USD", Decimal("-12.50")),
        ("-3.000", "KWD", Decimal("-3.000")),
        ("19.999", "KWD", Decimal("19.999")),
        ("1,234,567.891", "KWD", Decimal("1234567.891")),
        ("3000", "JPY", Decimal("3000")),
        ("30,000", "JPY", Decimal("30000")),
        (".5", "EUR", Decimal("0.5")),
        ("0.00", "EUR", Decimal("0")),
        ("  7.25  ", "EUR", Decimal("7.25")),
        ("1.5", "USD", Decimal("1.50")),  # fewer decimals than the currency is fine
        ("99999999999999", "USD", Decimal("99999999999999")),  # 14 integer digits fit
    ],
)
@pytest.mark.parametrize("kind", list(LOADERS))
def test_amount_text_is_typed_exactly(
    con: duckdb.DuckDBPyConnection,
    tmp_path: Path,
    kind: str,
    text: str,
    currency: str,
    expected: Decimal,
) -> None:
    LOADERS[kind](con, tmp_path, [row(amount=text, currency=currency)])
    amount = only_usable(con)[4]
    assert isinstance(amount, Decimal)
    assert amount == expected


def test_amount_and_booked_at_have_the_documented_types(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    load_csv(con, tmp_path, [row()])
    types = {name: kind for name, kind, *_ in con.sql("DESCRIBE ledger").fetchall()}
    assert list(types) == [
        "line",
        "entry_id",
        "order_id",
        "reference",
        "amount",
        "currency",
        "status",
        "booked_at",
    ]
    assert types["amount"] == "DECIMAL(18,4)"
    assert types["booked_at"] == "TIMESTAMP"  # naive UTC, not TIMESTAMP WITH TIME ZONE
    columns = [name for name, *_ in con.sql("DESCRIBE quarantine").fetchall()]
    assert columns == ["source", "line", "entry_id", "reason", "raw"]


@pytest.mark.parametrize(
    ("written", "expected"), [("usd", "USD"), (" Usd ", "USD"), ("kwd", "KWD")]
)
def test_currency_codes_are_trimmed_and_upper_cased(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, written: str, expected: str
) -> None:
    load_csv(con, tmp_path, [row(amount="1.00", currency=written)])
    assert only_usable(con)[5] == expected


def test_text_fields_are_trimmed_and_blank_becomes_null(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    load_csv(con, tmp_path, [row(entry_id="  LE-9 ", order_id="  ", reference=" po-9 ")])
    line, entry_id, order_id, reference, *_ = only_usable(con)
    assert (line, entry_id, order_id, reference) == (2, "LE-9", None, "po-9")


# -- quarantine ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"entry_id": ""}, "missing entry id"),
        ({"entry_id": "   "}, "missing entry id"),
        ({"amount": ""}, "blank amount"),
        ({"amount": "   "}, "blank amount"),
        ({"amount": "12.3.4"}, "unparsable amount"),
        ({"amount": "abc"}, "unparsable amount"),
        ({"amount": "1,50"}, "unparsable amount"),  # not a thousands group
        ({"amount": "1.500,00"}, "unparsable amount"),  # decimal comma
        ({"amount": "5."}, "unparsable amount"),
        ({"amount": "--5"}, "unparsable amount"),
        ({"amount": "(-12.50)"}, "unparsable amount"),
        ({"amount": "12.50-"}, "unparsable amount"),
        ({"currency": "USX"}, "unknown currency"),
        ({"currency": ""}, "unknown currency"),
        ({"currency": "XAU"}, "unknown currency"),  # gold has no minor unit: not money here
        ({"amount": "1,500.5", "currency": "JPY"}, "more decimals than the currency allows"),
        ({"amount": "3000.0", "currency": "JPY"}, "more decimals than the currency allows"),
        ({"amount": "1.005", "currency": "USD"}, "more decimals than the currency allows"),
        ({"amount": "1.0001", "currency": "KWD"}, "more decimals than the currency allows"),
        ({"amount": "100000000000000"}, "amount too large"),  # 15 integer digits
        ({"booked_at": "2026-04-31 25:61:00"}, "unparsable timestamp"),
        ({"booked_at": "yesterday"}, "unparsable timestamp"),
        ({"booked_at": ""}, "missing timestamp"),
        ({"booked_at": "  "}, "missing timestamp"),
        ({"status": ""}, "missing status"),
        ({"status": "shipped"}, "unknown status word"),
        ({"status": "refunded"}, "unknown status word"),  # not in the default status_map
        ({"order_id": "", "reference": ""}, "neither a Starship order id nor a reference"),
        ({"order_id": " ", "reference": " "}, "neither a Starship order id nor a reference"),
    ],
)
@pytest.mark.parametrize("kind", list(LOADERS))
def test_rows_that_cannot_be_used_are_quarantined_with_their_reason(
    con: duckdb.DuckDBPyConnection,
    tmp_path: Path,
    kind: str,
    changes: dict[str, str],
    reason: str,
) -> None:
    result = LOADERS[kind](con, tmp_path, [row(**changes)])
    assert (result.rows, result.usable, result.quarantined) == (1, 0, 1)
    [(line, entry_id, got)] = quarantine_rows(con)
    assert got == reason
    assert line == 2
    assert entry_id == (changes.get("entry_id", "LE-1").strip())


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"entry_id": "", "amount": "", "currency": "USX"}, "missing entry id"),
        ({"amount": "", "currency": "USX", "status": ""}, "blank amount"),
        ({"amount": "abc", "currency": "USX"}, "unparsable amount"),
        ({"currency": "USX", "booked_at": ""}, "unknown currency"),
        ({"amount": "1.005", "booked_at": "garbage"}, "more decimals than the currency allows"),
        ({"booked_at": "", "status": ""}, "missing timestamp"),
        ({"booked_at": "garbage", "status": "shipped"}, "unparsable timestamp"),
        ({"status": "", "order_id": "", "reference": ""}, "missing status"),
        ({"status": "shipped", "order_id": "", "reference": ""}, "unknown status word"),
    ],
)
def test_the_first_failing_rule_gives_the_reason(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, changes: dict[str, str], reason: str
) -> None:
    load_csv(con, tmp_path, [row(**changes)])
    assert only_reason(con) == reason


def test_quarantine_keeps_line_source_and_only_the_mapped_fields(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    rows = [
        row(entry_id="LE-1", memo=SECRET_MEMO),
        row(entry_id="LE-2", amount="1,500.5", currency="JPY", memo=SECRET_MEMO),
        row(entry_id="LE-3", memo=SECRET_MEMO),
        row(entry_id="", order_id="ord_4", memo=SECRET_MEMO),
        row(entry_id="LE-5", status="shipped", memo=f'say "{SECRET_MEMO}"'),
        row(entry_id="LE-6", memo=SECRET_MEMO),
    ]
    result = load_csv(con, tmp_path, rows)
    assert result == LedgerLoad(csv_day(tmp_path), 6, 3, 3)
    assert [r[:2] for r in usable_rows(con)] == [(2, "LE-1"), (4, "LE-3"), (7, "LE-6")]
    quarantined = con.sql("SELECT * FROM quarantine ORDER BY line").fetchall()
    assert quarantined == [
        (
            str(csv_day(tmp_path)),
            3,
            "LE-2",
            "more decimals than the currency allows",
            'LE-2,ord_1,po-1,"1,500.5",JPY,delivered,2026-04-14 10:00:00',
        ),
        (
            str(csv_day(tmp_path)),
            5,
            "",
            "missing entry id",
            ",ord_4,po-1,10.00,USD,delivered,2026-04-14 10:00:00",
        ),
        (
            str(csv_day(tmp_path)),
            6,
            "LE-5",
            "unknown status word",
            "LE-5,ord_1,po-1,10.00,USD,shipped,2026-04-14 10:00:00",
        ),
    ]
    for *_, raw in quarantined:
        assert "ABCD-EFGH" not in raw
        assert "CODE" not in raw


def test_raw_quotes_fields_that_need_it(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    load_csv(con, tmp_path, [row(reference='po "7", second', status="shipped")])
    [(raw,)] = con.sql("SELECT raw FROM quarantine").fetchall()
    assert raw == 'LE-1,ord_1,"po ""7"", second",10.00,USD,shipped,2026-04-14 10:00:00'
    assert next(csv.reader([raw])) == [
        "LE-1",
        "ord_1",
        'po "7", second',
        "10.00",
        "USD",
        "shipped",
        "2026-04-14 10:00:00",
    ]


def test_a_row_with_only_an_order_id_or_only_a_reference_is_usable(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    load_csv(
        con,
        tmp_path,
        [row(entry_id="LE-1", reference=""), row(entry_id="LE-2", order_id="")],
    )
    assert [r[1:4] for r in usable_rows(con)] == [
        ("LE-1", "ord_1", None),
        ("LE-2", None, "po-1"),
    ]


# -- status words ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status_map", "word", "expected"),
    [
        (None, "delivered", "DELIVERED"),
        (None, "DELIVERED", "DELIVERED"),
        (None, " Delivered ", "DELIVERED"),
        (None, "cancelled", "CANCELLED"),  # canonical words are always accepted
        (None, "Pending", "PENDING"),
        ({"refunded": "CANCELLED"}, "Refunded", "CANCELLED"),
        ({"refunded": "CANCELLED"}, "REFUNDED", "CANCELLED"),
        ({"refunded": "CANCELLED"}, "delivered", "DELIVERED"),
        ({"Voided ": "CANCELLED"}, "voided", "CANCELLED"),  # map keys are trimmed, any case
        ({"in progress": "PENDING"}, "In Progress", "PENDING"),
    ],
)
def test_status_words_map_case_insensitively(
    con: duckdb.DuckDBPyConnection,
    tmp_path: Path,
    status_map: dict[str, str] | None,
    word: str,
    expected: str,
) -> None:
    load_csv(con, tmp_path, [row(status=word)], status_map=status_map)
    assert only_usable(con)[6] == expected


# -- timestamps ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("timezone", "text", "expected"),
    [
        # Berlin in summer is UTC+2: 00:30 local on the 15th is 22:30 UTC on the 14th
        ("Europe/Berlin", "2026-04-15 00:30:00", datetime(2026, 4, 14, 22, 30)),
        ("Europe/Berlin", "2026-04-14T08:54:51", datetime(2026, 4, 14, 6, 54, 51)),
        ("Europe/Berlin", "2026-01-15 00:30:00", datetime(2026, 1, 14, 23, 30)),  # winter +1
        ("Europe/Berlin", "2026-04-14 10:00:00.123456", datetime(2026, 4, 14, 8, 0, 0, 123456)),
        ("America/New_York", "2026-04-14 20:00:00", datetime(2026, 4, 15, 0, 0)),  # EDT -4
        ("Asia/Tokyo", "2026-04-14 08:00:00", datetime(2026, 4, 13, 23, 0)),
        ("UTC", "2026-04-14 08:54:51", datetime(2026, 4, 14, 8, 54, 51)),
    ],
)
def test_naive_timestamps_are_local_time_in_the_configured_zone(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, timezone: str, text: str, expected: datetime
) -> None:
    load_csv(con, tmp_path, [row(booked_at=text)], timezone=timezone)
    booked_at = only_usable(con)[7]
    assert booked_at == expected
    assert booked_at.tzinfo is None


@pytest.mark.parametrize("timezone", ["UTC", "Europe/Berlin", "Asia/Tokyo", "America/New_York"])
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-04-14T10:00:00Z", datetime(2026, 4, 14, 10, 0)),
        ("2026-04-14 10:00:00Z", datetime(2026, 4, 14, 10, 0)),
        ("2026-04-14 10:00:00+05:00", datetime(2026, 4, 14, 5, 0)),
        ("2026-04-14T10:00:00+0530", datetime(2026, 4, 14, 4, 30)),
        ("2026-04-14T23:30:00-02:00", datetime(2026, 4, 15, 1, 30)),
        ("2026-04-14T10:00:00+00:00", datetime(2026, 4, 14, 10, 0)),
    ],
)
def test_an_explicit_offset_wins_over_the_configured_zone(
    con: duckdb.DuckDBPyConnection,
    tmp_path: Path,
    timezone: str,
    text: str,
    expected: datetime,
) -> None:
    load_csv(con, tmp_path, [row(booked_at=text)], timezone=timezone)
    assert only_usable(con)[7] == expected


# -- formats ---------------------------------------------------------------------------------------

# The same export in every format: amount text as in the CSV and as a JSON number literal.
FORMAT_ROWS: list[tuple[dict[str, str | None], str]] = [
    (
        {
            "entry_id": "LE-1",
            "order_id": "ord_1",
            "reference": "po-1",
            "amount": "34.70",
            "currency": "USD",
            "status": "delivered",
            "booked_at": "2026-04-15 00:30:00",
        },
        "34.70",
    ),
    (
        {
            "entry_id": "LE-2",
            "order_id": "ord_2",
            "reference": None,
            "amount": "3000",
            "currency": "JPY",
            "status": "DELIVERED",
            "booked_at": "2026-04-14 09:00:00",
        },
        "3000",
    ),
    (
        {
            "entry_id": "LE-3",
            "order_id": None,
            "reference": "po-3",
            "amount": "-5.125",
            "currency": "KWD",
            "status": "pending",
            "booked_at": "2026-04-14T08:00:00Z",
        },
        "-5.125",
    ),
    (
        {
            "entry_id": "LE-4",
            "order_id": "ord_4",
            "reference": "po-4",
            "amount": "0.50",
            "currency": "EUR",
            "status": "Refunded",
            "booked_at": "2026-04-14 12:00:00+05:00",
        },
        "0.50",
    ),
    (
        {
            "entry_id": "LE-5",
            "order_id": "ord_5",
            "reference": "po-5",
            "amount": "1.005",
            "currency": "USD",
            "status": "delivered",
            "booked_at": "2026-04-14 10:00:00",
        },
        "1.005",  # a JSON float with more decimals than USD has
    ),
    (
        {
            "entry_id": "LE-6",
            "order_id": "ord_6",
            "reference": "po-6",
            "amount": "2.5",
            "currency": "USX",
            "status": "delivered",
            "booked_at": "2026-04-14 10:00:00",
        },
        "2.5",
    ),
]
FORMAT_SETTINGS: dict[str, Any] = {
    "timezone": "Europe/Berlin",
    "status_map": {"delivered": "DELIVERED", "refunded": "CANCELLED"},
}
EXPECTED_USABLE = {
    "LE-1": ("ord_1", "po-1", Decimal("34.70"), "USD", "DELIVERED", datetime(2026, 4, 14, 22, 30)),
    "LE-2": ("ord_2", None, Decimal("3000"), "JPY", "DELIVERED", datetime(2026, 4, 14, 7, 0)),
    "LE-3": (None, "po-3", Decimal("-5.125"), "KWD", "PENDING", datetime(2026, 4, 14, 8, 0)),
    "LE-4": ("ord_4", "po-4", Decimal("0.50"), "EUR", "CANCELLED", datetime(2026, 4, 14, 7, 0)),
}
EXPECTED_QUARANTINE = [
    ("LE-5", "more decimals than the currency allows"),
    ("LE-6", "unknown currency"),
]


def write_format_csv(path: Path) -> None:
    write_csv(
        path, [{**{k: v or "" for k, v in r.items()}, "memo": SECRET_MEMO} for r, _ in FORMAT_ROWS]
    )


def write_format_jsonl(path: Path) -> None:
    lines = [json_line({**r, "memo": SECRET_MEMO}, literal) for r, literal in FORMAT_ROWS]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def format_table(amount: pa.Array | None = None) -> pa.Table:
    columns: dict[str, Any] = {
        name: pa.array([r[name] for r, _ in FORMAT_ROWS], pa.string()) for name in FIELDS
    }
    if amount is not None:
        columns["amount"] = amount
    columns["memo"] = pa.array([SECRET_MEMO] * len(FORMAT_ROWS), pa.string())
    return pa.table(columns)


def write_format_parquet(path: Path) -> None:
    pq.write_table(format_table(), path)


def spreadsheet_cells(values: dict[str, str | None]) -> dict[str, Any]:
    """A row as a finance system's spreadsheet holds it: a plain amount as a number cell, a
    naive timestamp as a date cell, the rest (and anything with a zone) as text."""
    cells: dict[str, Any] = dict(values)
    amount, booked_at = values["amount"], values["booked_at"]
    if amount is not None and amount.lstrip("-").replace(".", "", 1).isdigit():
        cells["amount"] = Decimal(amount)
    if booked_at is not None and len(booked_at) == 19:
        cells["booked_at"] = datetime.fromisoformat(booked_at)
    return cells


def write_format_xlsx(path: Path) -> None:
    write_xlsx(path, [{**spreadsheet_cells(r), "memo": SECRET_MEMO} for r, _ in FORMAT_ROWS])


WRITERS = {
    "csv": (".csv", write_format_csv, [2, 3, 4, 5, 6, 7]),  # the header is line 1
    "xlsx": (".xlsx", write_format_xlsx, [2, 3, 4, 5, 6, 7]),  # the header is row 1
    "jsonl": (".jsonl", write_format_jsonl, [1, 2, 3, 4, 5, 6]),
    "ndjson": (".ndjson", write_format_jsonl, [1, 2, 3, 4, 5, 6]),
    "parquet": (".parquet", write_format_parquet, [1, 2, 3, 4, 5, 6]),  # row numbers from 1
}


@pytest.mark.parametrize("kind", list(WRITERS))
def test_every_format_gives_the_same_rows(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, kind: str
) -> None:
    suffix, write, lines = WRITERS[kind]
    path = tmp_path / f"ledger-{DAY.isoformat()}{suffix}"
    write(path)
    result = load_ledger(con, make_config(tmp_path, f"ledger-{{date}}{suffix}", **FORMAT_SETTINGS))
    assert result == LedgerLoad(path, 6, 4, 2)
    assert usable_by_id(con) == EXPECTED_USABLE
    assert [r[1:] for r in quarantine_rows(con)] == EXPECTED_QUARANTINE
    all_lines = con.sql(
        "SELECT line FROM ledger UNION ALL SELECT line FROM quarantine ORDER BY line"
    ).fetchall()
    assert [line for (line,) in all_lines] == lines
    [(raws,)] = con.sql("SELECT string_agg(raw, '|') FROM quarantine").fetchall()
    assert "ABCD-EFGH" not in raws


def test_an_xls_export_gives_the_same_rows(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    """The legacy binary format: doubles with no text at all in the file (tests/data/README.md)."""
    path = tmp_path / "ledger-2026-04-14.xls"
    shutil.copyfile(DATA / "ledger-2026-04-14.xls", path)
    result = load_ledger(
        con, make_config(tmp_path, "ledger-{date}.xls", sheet="Ledger", **FORMAT_SETTINGS)
    )
    assert result == LedgerLoad(path, 6, 4, 2)
    assert usable_by_id(con) == EXPECTED_USABLE
    assert quarantine_rows(con) == [(6, *EXPECTED_QUARANTINE[0]), (7, *EXPECTED_QUARANTINE[1])]
    [(raws,)] = con.sql("SELECT string_agg(raw, '|') FROM quarantine").fetchall()
    assert "ABCD-EFGH" not in raws


def test_json_numbers_keep_their_exact_decimals(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    cases = [("LE-1", "34.70", "USD"), ("LE-2", "3000", "JPY"), ("LE-3", "0.1", "EUR")]
    cases += [("LE-4", "19.999", "KWD"), ("LE-5", "-0.30", "USD"), ("LE-6", "1234567.89", "USD")]
    lines = [json_line(row(entry_id=e, currency=c), literal) for e, literal, c in cases]
    (tmp_path / "ledger-2026-04-14.jsonl").write_text("\n".join(lines) + "\n")
    load_ledger(con, make_config(tmp_path, "ledger-{date}.jsonl"))
    amounts = {entry_id: r[2] for entry_id, r in usable_by_id(con).items()}
    assert amounts == {e: Decimal(literal) for e, literal, _ in cases}


def test_json_amount_text_keeps_its_trailing_zero_in_raw(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    # a float would have printed 34.7; the export said 34.70
    (tmp_path / "ledger-2026-04-14.jsonl").write_text(json_line(row(status=""), "34.70") + "\n")
    load_ledger(con, make_config(tmp_path, "ledger-{date}.jsonl"))
    assert only_reason(con) == "missing status"
    [(raw,)] = con.sql("SELECT raw FROM quarantine").fetchall()
    assert raw == "LE-1,ord_1,po-1,34.70,USD,,2026-04-14 10:00:00"


@pytest.mark.parametrize(
    ("literal", "currency", "reason"),
    [
        ("1.005", "USD", "more decimals than the currency allows"),
        ("0.1000000000000000055511151231257827", "EUR", "more decimals than the currency allows"),
        ("3000.5", "JPY", "more decimals than the currency allows"),
        ('"abc"', "USD", "unparsable amount"),
        ("null", "USD", "blank amount"),
    ],
)
def test_json_amounts_that_cannot_be_used_are_quarantined(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, literal: str, currency: str, reason: str
) -> None:
    (tmp_path / "ledger-2026-04-14.jsonl").write_text(
        json_line(row(currency=currency), literal) + "\n"
    )
    load_ledger(con, make_config(tmp_path, "ledger-{date}.jsonl"))
    assert only_reason(con) == reason


def test_json_lines_count_blank_lines_and_tolerate_missing_keys(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    first = json.dumps(row(entry_id="LE-1"))
    second = json.dumps({k: v for k, v in row(entry_id="LE-2").items() if k != "status"})
    third = json.dumps({**row(entry_id="LE-3"), "order_id": None, "reference": None})
    (tmp_path / "ledger-2026-04-14.jsonl").write_text(f"{first}\n\n{second}\n   \n{third}\n")
    result = load_ledger(con, make_config(tmp_path, "ledger-{date}.jsonl"))
    assert (result.rows, result.usable, result.quarantined) == (3, 1, 2)
    assert [r[:2] for r in usable_rows(con)] == [(1, "LE-1")]
    assert quarantine_rows(con) == [
        (3, "LE-2", "missing status"),
        (5, "LE-3", "neither a Starship order id nor a reference"),
    ]


def test_parquet_decimal_amounts_are_exact(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    amounts = [Decimal("34.70"), Decimal("0.05"), Decimal("-12.50"), Decimal("1500.00")]
    table = pa.table(
        {
            **{name: pa.array([BASE_ROW[name]] * 4) for name in FIELDS},
            "entry_id": pa.array([f"LE-{i}" for i in range(1, 5)]),
            "currency": pa.array(["USD", "EUR", "USD", "EUR"]),
            "amount": pa.array(amounts, pa.decimal128(18, 2)),
        }
    )
    pq.write_table(table, tmp_path / "ledger-2026-04-14.parquet")
    result = load_ledger(con, make_config(tmp_path, "ledger-{date}.parquet"))
    assert (result.rows, result.usable) == (4, 4)
    assert [r[4] for r in usable_rows(con)] == amounts
    assert [r[0] for r in usable_rows(con)] == [1, 2, 3, 4]


def test_parquet_integer_amounts_and_timestamp_columns(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    table = pa.table(
        {
            **{name: pa.array([BASE_ROW[name]] * 2) for name in FIELDS},
            "entry_id": pa.array(["LE-1", "LE-2"]),
            "currency": pa.array(["JPY", "JPY"]),
            "amount": pa.array([3000, -500], pa.int64()),
            "booked_at": pa.array([datetime(2026, 4, 14, 10, 0)] * 2, pa.timestamp("us")),
        }
    )
    pq.write_table(table, tmp_path / "naive-2026-04-14.parquet")
    load_ledger(con, make_config(tmp_path, "naive-{date}.parquet", timezone="Europe/Berlin"))
    assert [(r[4], r[7]) for r in usable_rows(con)] == [
        (Decimal(3000), datetime(2026, 4, 14, 8, 0)),  # a naive timestamp is local time
        (Decimal(-500), datetime(2026, 4, 14, 8, 0)),
    ]
    aware = table.set_column(
        table.schema.get_field_index("booked_at"),
        "booked_at",
        pa.array([datetime(2026, 4, 14, 10, 0)] * 2, pa.timestamp("us", tz="UTC")),
    )
    pq.write_table(aware, tmp_path / "aware-2026-04-14.parquet")
    load_ledger(con, make_config(tmp_path, "aware-{date}.parquet", timezone="Europe/Berlin"))
    assert [r[7] for r in usable_rows(con)] == [datetime(2026, 4, 14, 10, 0)] * 2


def test_parquet_float_amounts_are_refused(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    amounts = pa.array([34.70, 3000.0, -5.125, 0.5, 1.005, 2.5], pa.float64())
    path = tmp_path / "ledger-2026-04-14.parquet"
    pq.write_table(format_table(amounts), path)
    with pytest.raises(InputError) as caught:
        ledger.load(con, make_config(tmp_path, "ledger-{date}.parquet"), DAY)
    assert path.name in str(caught.value)
    assert "floating-point" in str(caught.value)
    assert "'amount'" in str(caught.value)
    assert caught.value.exit_code == 2


# -- amount_unit and purchase_sign -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "currency", "expected"),
    [
        ("1999", "USD", Decimal("19.99")),
        ("1999", "JPY", Decimal("1999")),
        ("1999", "KWD", Decimal("1.999")),
        ("1999", "BHD", Decimal("1.999")),
        ("1999", "EUR", Decimal("19.99")),
        ("1999", "CLF", Decimal("0.1999")),  # four decimals, the most ISO 4217 has
        ("5", "USD", Decimal("0.05")),
        ("5", "KWD", Decimal("0.005")),
        ("0", "USD", Decimal("0")),
        ("-1999", "USD", Decimal("-19.99")),
        ("1,999", "USD", Decimal("19.99")),
        ("1,234,567", "JPY", Decimal("1234567")),
        ("$1999", "USD", Decimal("19.99")),
        ("1999 KWD", "KWD", Decimal("1.999")),
        ("(1,999)", "USD", Decimal("-19.99")),
        ("  1999  ", "USD", Decimal("19.99")),
        ("1999.00", "USD", Decimal("19.99")),  # zeros after the point are not a fraction
        ("9999999999999999", "USD", Decimal("99999999999999.99")),  # 14 integer digits of USD
        ("999999999999999999", "CLF", Decimal("99999999999999.9999")),
        ("99999999999999", "JPY", Decimal("99999999999999")),
    ],
)
def test_minor_units_are_read_by_the_currency_exponent(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, text: str, currency: str, expected: Decimal
) -> None:
    load_csv(con, tmp_path, [row(amount=text, currency=currency)], amount_unit="minor")
    amount = only_usable(con)[4]
    assert isinstance(amount, Decimal)
    assert amount == expected
    types = dict(con.sql("SELECT column_name, column_type FROM (DESCRIBE ledger)").fetchall())
    assert types["amount"] == "DECIMAL(18,4)"


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"amount": "1999.5"}, "a fraction in minor units"),
        ({"amount": "19.99"}, "a fraction in minor units"),  # a major-unit export read as minor
        ({"amount": "1,999.5"}, "a fraction in minor units"),
        ({"amount": "-0.5"}, "a fraction in minor units"),
        ({"amount": ".5"}, "a fraction in minor units"),
        ({"amount": "(1999.50)"}, "a fraction in minor units"),
        ({"amount": "1999.5", "currency": "JPY"}, "a fraction in minor units"),
        ({"amount": "1999.0001", "currency": "CLF"}, "a fraction in minor units"),
        ({"amount": "1999.5", "currency": "USX"}, "unknown currency"),  # the order is kept
        ({"amount": "19.99", "booked_at": ""}, "a fraction in minor units"),
        ({"amount": "10000000000000000"}, "amount too large"),  # 15 integer digits of USD
        ({"amount": "100000000000000", "currency": "JPY"}, "amount too large"),
        ({"amount": "1999O"}, "unparsable amount"),
        ({"amount": "1e3"}, "unparsable amount"),
        ({"amount": "19,99"}, "unparsable amount"),
        ({"amount": ""}, "blank amount"),
    ],
)
def test_a_fraction_in_minor_units_is_quarantined(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, changes: dict[str, str], reason: str
) -> None:
    result = load_csv(con, tmp_path, [row(entry_id="LE-0"), row(**changes)], amount_unit="minor")
    assert (result.rows, result.usable, result.quarantined) == (2, 1, 1)
    assert quarantine_rows(con) == [(3, "LE-1", reason)]


@pytest.mark.parametrize(
    ("amount_unit", "text", "currency", "expected"),
    [
        (None, "-10.00", "USD", Decimal("10.00")),  # a purchase
        (None, "10.00", "USD", Decimal("-10.00")),  # a reversal
        (None, "(12.50)", "USD", Decimal("12.50")),
        (None, "-$1,500.00", "USD", Decimal("1500.00")),
        (None, "12.50 USD", "USD", Decimal("-12.50")),
        (None, "-3000", "JPY", Decimal("3000")),
        (None, "-19.999", "KWD", Decimal("19.999")),
        (None, "0.00", "USD", Decimal("0")),
        (None, "-0.00", "USD", Decimal("0")),
        ("minor", "-1999", "USD", Decimal("19.99")),
        ("minor", "1999", "KWD", Decimal("-1.999")),
        ("minor", "(1,999)", "JPY", Decimal("1999")),
        ("minor", "1999", "JPY", Decimal("-1999")),
    ],
)
def test_negative_purchases_are_turned_positive(
    con: duckdb.DuckDBPyConnection,
    tmp_path: Path,
    amount_unit: str | None,
    text: str,
    currency: str,
    expected: Decimal,
) -> None:
    load_csv(
        con,
        tmp_path,
        [row(amount=text, currency=currency)],
        amount_unit=amount_unit,
        purchase_sign="negative",
    )
    assert only_usable(con)[4] == expected


def test_purchase_sign_does_not_change_what_is_quarantined(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    rows = [
        row(entry_id="LE-1", amount="-1.005"),
        row(entry_id="LE-2", amount="(12.50"),
        row(entry_id="LE-3", amount="-10.00", currency="USX"),
        row(entry_id="LE-4", amount="-10.00"),
    ]
    load_csv(con, tmp_path, rows, purchase_sign="negative")
    assert quarantine_rows(con) == [
        (2, "LE-1", "more decimals than the currency allows"),
        (3, "LE-2", "unparsable amount"),
        (4, "LE-3", "unknown currency"),
    ]
    assert [r[4] for r in usable_rows(con)] == [Decimal("10.00")]


# An export in minor units: (entry_id, amount as written with purchases positive, currency,
# status, the amount recon must type or the reason it is quarantined). Under purchase_sign =
# "negative" the same export is written with every sign turned round and must type the same.
MINOR_ROWS: list[tuple[str, str, str, str, Decimal | str]] = [
    ("LE-1", "1999", "USD", "delivered", Decimal("19.99")),
    ("LE-2", "1999", "JPY", "delivered", Decimal("1999")),
    ("LE-3", "1999", "KWD", "delivered", Decimal("1.999")),
    ("LE-4", "-1999", "USD", "cancelled", Decimal("-19.99")),  # a reversal
    ("LE-5", "5", "EUR", "pending", Decimal("0.05")),
    ("LE-6", "0", "BHD", "delivered", Decimal("0")),
    ("LE-7", "1999.5", "USD", "delivered", "a fraction in minor units"),
]
MINOR_FRACTION = "LE-7"  # an integer column cannot hold it: those files leave it out


def minor_values(purchase_sign: str, *, whole_only: bool) -> list[tuple[str, Decimal, str, str]]:
    flip = -1 if purchase_sign == "negative" else 1
    return [
        (entry_id, flip * Decimal(text), currency, status)
        for entry_id, text, currency, status, _ in MINOR_ROWS
        if not (whole_only and entry_id == MINOR_FRACTION)
    ]


def minor_table(amounts: pa.Array, values: list[tuple[str, Decimal, str, str]]) -> pa.Table:
    return pa.table(
        {
            **{name: pa.array([BASE_ROW[name]] * len(values)) for name in FIELDS},
            "entry_id": pa.array([v[0] for v in values]),
            "currency": pa.array([v[2] for v in values]),
            "status": pa.array([v[3] for v in values]),
            "amount": amounts,
        }
    )


def write_minor(kind: str, path: Path, purchase_sign: str) -> None:
    whole_only = kind in ("parquet-int64", "parquet-int32")
    values = minor_values(purchase_sign, whole_only=whole_only)
    if kind == "xlsx":  # number cells: 1999 an integer, 1999.5 a double
        cells = [
            row(entry_id=e, amount=int(a) if a == a.to_integral() else a, currency=c, status=s)
            for e, a, c, s in values
        ]
        write_xlsx(path, cells)
    elif kind == "csv":
        rows = [
            row(entry_id=e, amount=format(a, "f"), currency=c, status=s) for e, a, c, s in values
        ]
        write_csv(path, rows)
    elif kind == "jsonl":
        lines = [
            json_line(row(entry_id=e, currency=c, status=s), format(a, "f"))
            for e, a, c, s in values
        ]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    else:
        arrow_type = {
            "parquet-int64": pa.int64(),
            "parquet-int32": pa.int32(),
            "parquet-decimal": pa.decimal128(18, 2),  # 1999 is stored as 1999.00
        }[kind]
        amounts = [int(a) if whole_only else a for _, a, _, _ in values]
        pq.write_table(minor_table(pa.array(amounts, arrow_type), values), path)


MINOR_KINDS = {  # kind -> (suffix, the line of the fraction row, or None)
    "csv": (".csv", 8),
    "xlsx": (".xlsx", 8),
    "jsonl": (".jsonl", 7),
    "parquet-int64": (".parquet", None),
    "parquet-int32": (".parquet", None),
    "parquet-decimal": (".parquet", 7),
}


@pytest.mark.parametrize("purchase_sign", ["positive", "negative"])
@pytest.mark.parametrize("kind", list(MINOR_KINDS))
def test_every_format_reads_minor_units(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, kind: str, purchase_sign: str
) -> None:
    suffix, fraction_line = MINOR_KINDS[kind]
    write_minor(kind, tmp_path / f"ledger-{DAY.isoformat()}{suffix}", purchase_sign)
    settings = {"amount_unit": "minor", "purchase_sign": purchase_sign}
    load_ledger(con, make_config(tmp_path, f"ledger-{{date}}{suffix}", **settings))
    amounts = {entry_id: r[2] for entry_id, r in usable_by_id(con).items()}
    assert amounts == {e: want for e, _, _, _, want in MINOR_ROWS if isinstance(want, Decimal)}
    assert all(isinstance(a, Decimal) for a in amounts.values())
    if fraction_line is None:
        assert quarantine_rows(con) == []
    else:
        assert quarantine_rows(con) == [
            (fraction_line, MINOR_FRACTION, "a fraction in minor units")
        ]


def negated(usable: dict[str, tuple[Any, ...]]) -> dict[str, tuple[Any, ...]]:
    return {e: (*r[:2], -r[2], *r[3:]) for e, r in usable.items()}


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({}, EXPECTED_USABLE),
        ({"amount_unit": "major", "purchase_sign": "positive"}, EXPECTED_USABLE),
        ({"purchase_sign": "negative"}, negated(EXPECTED_USABLE)),
    ],
    ids=["absent", "defaults-spelled-out", "negative-purchases"],
)
@pytest.mark.parametrize("kind", list(WRITERS))
def test_every_format_in_major_units_with_either_purchase_sign(
    con: duckdb.DuckDBPyConnection,
    tmp_path: Path,
    kind: str,
    settings: dict[str, str],
    expected: dict[str, tuple[Any, ...]],
) -> None:
    suffix, write, _ = WRITERS[kind]
    path = tmp_path / f"ledger-{DAY.isoformat()}{suffix}"
    write(path)
    config_ = make_config(tmp_path, f"ledger-{{date}}{suffix}", **FORMAT_SETTINGS, **settings)
    assert load_ledger(con, config_) == LedgerLoad(path, 6, 4, 2)
    assert usable_by_id(con) == expected
    assert [r[1:] for r in quarantine_rows(con)] == EXPECTED_QUARANTINE


@pytest.mark.parametrize(
    ("arrow_type", "purchase_sign", "expected"),
    [
        (pa.decimal128(18, 2), "positive", [Decimal("34.70"), Decimal("-5.00")]),
        (pa.decimal128(18, 2), "negative", [Decimal("-34.70"), Decimal("5.00")]),
        (pa.int64(), "negative", [Decimal("-35"), Decimal("5")]),
    ],
)
def test_parquet_numeric_columns_in_major_units_follow_the_purchase_sign(
    con: duckdb.DuckDBPyConnection,
    tmp_path: Path,
    arrow_type: pa.DataType,
    purchase_sign: str,
    expected: list[Decimal],
) -> None:
    written = [Decimal("34.70"), Decimal("-5")] if pa.types.is_decimal(arrow_type) else [35, -5]
    values = [("LE-1", Decimal(0), "USD", "delivered"), ("LE-2", Decimal(0), "USD", "delivered")]
    table = minor_table(pa.array(written, arrow_type), values)
    pq.write_table(table, tmp_path / "ledger-2026-04-14.parquet")
    load_ledger(con, make_config(tmp_path, "ledger-{date}.parquet", purchase_sign=purchase_sign))
    assert [r[4] for r in usable_rows(con)] == expected


def test_parquet_float_amounts_are_refused_in_minor_units_too(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    values = [("LE-1", Decimal(0), "USD", "delivered")]
    pq.write_table(
        minor_table(pa.array([1999.0], pa.float64()), values),
        tmp_path / "ledger-2026-04-14.parquet",
    )
    with pytest.raises(InputError, match="floating-point"):
        ledger.load(con, make_config(tmp_path, "ledger-{date}.parquet", amount_unit="minor"), DAY)


@pytest.mark.parametrize(
    "changes",
    [
        {"amount_unit": "cents"},
        {"purchase_sign": "reversed"},
        {"amount_unit": "Minor"},
        {"delimiter": "tab"},  # the file's word for "\\t", not a delimiter
    ],
)
def test_a_ledger_config_built_in_code_with_an_unknown_setting_is_refused(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, changes: dict[str, str]
) -> None:
    write_csv(csv_day(tmp_path), [row()])
    bad = dataclasses.replace(make_config(tmp_path), **changes)
    with pytest.raises(ConfigError, match=next(iter(changes.values()))):
        ledger.load(con, bad, DAY)


# -- bad files -------------------------------------------------------------------------------


def test_missing_file(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    message = expect_input_error(con, make_config(tmp_path), "ledger-2026-04-14.csv", "2026-04-14")
    assert str(tmp_path) in message


def test_the_date_is_substituted_into_the_path(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    write_csv(tmp_path / "2026-04-14" / "export-2026-04-14.csv", [row()])
    result = load_ledger(con, make_config(tmp_path, "{date}/export-{date}.csv"))
    assert result.path == tmp_path / "2026-04-14" / "export-2026-04-14.csv"
    assert result.usable == 1


@pytest.mark.parametrize("suffix", [".ods", ".txt", ".json"])
def test_unknown_extension(con: duckdb.DuckDBPyConnection, tmp_path: Path, suffix: str) -> None:
    (tmp_path / f"ledger-2026-04-14{suffix}").write_text("entry_id\nLE-1\n")
    expect_input_error(
        con, make_config(tmp_path, f"ledger-{{date}}{suffix}"), f"ledger-2026-04-14{suffix}"
    )


def test_a_mapped_column_missing_from_the_csv_header(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    write_csv(csv_day(tmp_path), [row()], fieldnames=tuple(f for f in FIELDS if f != "currency"))
    expect_input_error(con, make_config(tmp_path), "ledger-2026-04-14.csv", "'currency'")


def test_a_renamed_column_missing_from_the_csv_header(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    write_csv(csv_day(tmp_path), [row()])
    expect_input_error(
        con,
        make_config(tmp_path, columns={"amount": "Betrag"}),
        "ledger-2026-04-14.csv",
        "'Betrag'",
        "ledger.columns.amount",
    )


def test_a_mapped_key_missing_from_every_json_line(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    line = json.dumps({k: v for k, v in BASE_ROW.items() if k != "booked_at"})
    (tmp_path / "ledger-2026-04-14.jsonl").write_text(line + "\n")
    expect_input_error(
        con, make_config(tmp_path, "ledger-{date}.jsonl"), "ledger-2026-04-14.jsonl", "'booked_at'"
    )


def test_a_mapped_column_missing_from_the_parquet_schema(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    pq.write_table(format_table().drop_columns(["status"]), tmp_path / "ledger-2026-04-14.parquet")
    expect_input_error(
        con,
        make_config(tmp_path, "ledger-{date}.parquet"),
        "ledger-2026-04-14.parquet",
        "'status'",
    )


def test_header_reads_only_the_column_names_of_every_format(tmp_path: Path) -> None:
    """What `recon doctor` compares with [ledger.columns], read as ingest reads it."""
    names = (*FIELDS, "memo")
    assert ledger.header(write_csv(tmp_path / "a.csv", [row()])) == list(names)
    with gzip.open(tmp_path / "a.csv.gz", "wt", encoding="utf-8") as handle:
        handle.write("\ufeff" + ",".join(names) + "\n")  # a BOM, as spreadsheets write it
    assert ledger.header(tmp_path / "a.csv.gz") == list(names)
    pq.write_table(format_table(), tmp_path / "a.parquet")
    assert ledger.header(tmp_path / "a.parquet") == list(names)
    # JSON Lines: every key any object has, in order of first appearance
    lines = [{"entry_id": "LE-1", "amount": 1}, {}, {"memo": "x", "entry_id": "LE-2"}]
    (tmp_path / "a.jsonl").write_text("\n".join(map(json.dumps, lines)) + "\n\n")
    assert ledger.header(tmp_path / "a.jsonl") == ["entry_id", "amount", "memo"]
    (tmp_path / "b.jsonl").write_text('{"entry_id": "LE-1"}\n[1]\n')
    with pytest.raises(InputError, match=r"b\.jsonl: line 2 is not a JSON object"):
        ledger.header(tmp_path / "b.jsonl")
    (tmp_path / "b.parquet").write_bytes(b"entry_id\nLE-1\n")
    with pytest.raises(InputError, match=r"b\.parquet: cannot read"):
        ledger.header(tmp_path / "b.parquet")
    with pytest.raises(InputError, match=r"a\.txt: a ledger export must be"):
        ledger.header(tmp_path / "a.txt")
    # a spreadsheet: its first row, of the configured sheet (default the first)
    book = write_workbook(
        tmp_path / "a.xlsx", {"Summary": [["total", 3]], "Ledger": [list(names), ["LE-1"]]}
    )
    assert ledger.header(book) == ["total", "3"]
    assert ledger.header(book, "Ledger") == list(names)
    with pytest.raises(InputError, match=r"a\.xlsx: no sheet 'Export'"):
        ledger.header(book, "Export")


def test_a_malformed_json_line_is_named(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    text = json.dumps(BASE_ROW) + "\n" + '{"entry_id": "LE-2", "amount": 1.00,,}\n'
    (tmp_path / "ledger-2026-04-14.jsonl").write_text(text)
    expect_input_error(
        con, make_config(tmp_path, "ledger-{date}.jsonl"), "ledger-2026-04-14.jsonl", "line 2"
    )


def test_a_json_line_that_is_not_an_object_is_named(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    text = json.dumps(BASE_ROW) + "\n\n" + json.dumps(list(BASE_ROW.values())) + "\n"
    (tmp_path / "ledger-2026-04-14.jsonl").write_text(text)
    expect_input_error(
        con, make_config(tmp_path, "ledger-{date}.jsonl"), "ledger-2026-04-14.jsonl", "line 3"
    )


def test_a_file_that_is_not_parquet(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    (tmp_path / "ledger-2026-04-14.parquet").write_bytes(b"entry_id,amount\nLE-1,1.00\n")
    expect_input_error(con, make_config(tmp_path, "ledger-{date}.parquet"), "ledger-2026-04-14")


@pytest.mark.parametrize(
    "content",
    [
        b"\xff\xfe" + ",".join(FIELDS).encode("utf-16-le") + b"\n",  # header not UTF-8
        ",".join(FIELDS).encode() + b"\nLE-1,ord_1,po-1,\xff1.00,USD,delivered,x\n",  # data
    ],
)
def test_a_csv_that_is_not_utf8(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, content: bytes
) -> None:
    csv_day(tmp_path).write_bytes(content)
    expect_input_error(con, make_config(tmp_path), "ledger-2026-04-14.csv")


def test_a_csv_row_with_too_few_fields_is_an_input_error(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    header = ",".join(FIELDS)
    csv_day(tmp_path).write_text(
        f"{header}\nLE-1,ord_1,po-1,10.00,USD,delivered\n"  # no booked_at field at all
    )
    expect_input_error(con, make_config(tmp_path), "ledger-2026-04-14.csv")


# -- shapes of files -------------------------------------------------------------------------


def test_a_header_only_csv_has_no_rows(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    csv_day(tmp_path).write_text(",".join(FIELDS) + "\n")
    result = load_ledger(con, make_config(tmp_path))
    assert result == LedgerLoad(csv_day(tmp_path), 0, 0, 0)
    assert usable_rows(con) == []
    assert quarantine_rows(con) == []


def test_an_empty_json_lines_file_has_no_rows(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    (tmp_path / "ledger-2026-04-14.jsonl").write_text("")
    result = load_ledger(con, make_config(tmp_path, "ledger-{date}.jsonl"))
    assert (result.rows, result.usable, result.quarantined) == (0, 0, 0)


def test_a_csv_with_bom_crlf_and_renamed_columns(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    header = "Entry ID,Starship Order,Our Ref,Amount,Ccy,Status,Booked At,Memo"
    body = 'LE-1,ord_1,po-1,"1,000.05",USD,Delivered,2026-04-14 10:00:00,"CODE ABCD-EFGH"'
    csv_day(tmp_path).write_bytes(("\ufeff" + header + "\r\n" + body + "\r\n").encode("utf-8"))
    columns = dict(zip(FIELDS, header.split(",")[:7], strict=True))
    load_ledger(con, make_config(tmp_path, columns=columns, timezone="Europe/Berlin"))
    assert only_usable(con) == (
        2,
        "LE-1",
        "ord_1",
        "po-1",
        Decimal("1000.05"),
        "USD",
        "DELIVERED",
        datetime(2026, 4, 14, 8, 0),
    )


def test_a_path_with_a_quote_in_it(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    folder = tmp_path / "o'brien's exports"
    write_csv(csv_day(folder), [row(), row(entry_id="LE-2", status="shipped")])
    result = load_ledger(con, make_config(folder))
    assert result.usable == 1
    [(source,)] = con.sql("SELECT source FROM quarantine").fetchall()
    assert source == str(csv_day(folder))


def test_line_numbers_follow_the_file_in_a_large_csv(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    count = 60_000
    rows = [row(entry_id=f"LE-{n + 2}", amount=f"{n % 997}.{n % 100:02d}") for n in range(count)]
    rows[40_000]["amount"] = "oops"
    result = load_csv(con, tmp_path, rows)
    assert (result.rows, result.usable, result.quarantined) == (count, count - 1, 1)
    [(wrong,)] = con.sql("SELECT count(*) FROM ledger WHERE entry_id <> 'LE-' || line").fetchall()
    assert wrong == 0
    assert quarantine_rows(con) == [(40_002, "LE-40002", "unparsable amount")]


def test_line_numbers_follow_the_file_across_the_readers_parallel_chunks(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    # about 45 MB, more than one of DuckDB's CSV buffers (32 MB): the scan runs in parallel,
    # and a CSV's line is the order its typed rows are stored in, even on a connection that
    # keeps no insertion order
    count = 600_000
    with duckdb.connect() as writer:
        writer.execute(
            "COPY (SELECT 'LE-' || (i + 2) AS entry_id, 'ord_' || i AS order_id, 'po-' || i AS "
            "reference, CASE WHEN i % 9973 = 0 THEN 'oops' ELSE (i % 997) || '.50' END AS amount, "
            "'USD' AS currency, 'delivered' AS status, '2026-04-14 10:00:00' AS booked_at, "
            "repeat('m', 20) AS memo FROM range(?) AS r(i)) "
            f"TO '{csv_day(tmp_path)}' (FORMAT csv, HEADER true)",
            [count],
        )
    assert csv_day(tmp_path).stat().st_size > 40_000_000
    con.execute("SET preserve_insertion_order = false")  # as the checks leave it after a load
    result = load_ledger(con, make_config(tmp_path))
    [(ordered,)] = con.sql("SELECT current_setting('preserve_insertion_order')").fetchall()
    assert ordered is False
    bad = len(range(0, count, 9973))
    assert (result.rows, result.quarantined) == (count, bad)
    [(wrong,)] = con.sql("SELECT count(*) FROM ledger WHERE entry_id <> 'LE-' || line").fetchall()
    assert wrong == 0
    [(wrong,)] = con.sql(
        "SELECT count(*) FROM quarantine WHERE entry_id <> 'LE-' || line"
    ).fetchall()
    assert wrong == 0


def test_loading_again_replaces_both_views(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    load_csv(con, tmp_path, [row(entry_id="LE-1"), row(entry_id="LE-2", currency="USX")])
    write_csv(csv_day(tmp_path), [row(entry_id="LE-3")])
    result = load_ledger(con, make_config(tmp_path))
    assert result.rows == 1
    assert [r[1] for r in usable_rows(con)] == ["LE-3"]
    assert quarantine_rows(con) == []


# -- the committed fixture -----------------------------------------------------------------------


def test_the_fixture_export_matches_the_answer_key(con: duckdb.DuckDBPyConnection) -> None:
    key = json.loads((FIXTURES / "answer-key-2026-04-14.json").read_text(encoding="utf-8"))
    settings = key["settings"]
    ledger_config = config.from_dict(
        {
            "ledger": {
                "path": str(FIXTURES / "ledger-{date}.csv"),
                "timezone": settings["ledger_timezone"],
                "columns": settings["ledger_columns"],
                "status_map": settings["ledger_status_map"],
            }
        }
    ).ledger
    result = load_ledger(con, ledger_config)
    assert result.path == FIXTURES / "ledger-2026-04-14.csv"
    assert result.rows == key["counts"]["ledger_rows"] == 29
    assert result.quarantined == key["counts"]["quarantined"]
    assert result.usable == 24
    expected = sorted(
        ((q["line"], q["entry_id"], q["reason"]) for q in key["quarantine"]),
    )
    assert quarantine_rows(con) == expected
    [(raws,)] = con.sql("SELECT string_agg(raw, '|') FROM quarantine").fetchall()
    assert "manual adjustment" not in raws  # the Memo column never reaches quarantine

    usable = usable_by_id(con)
    # "no Starship order id: matches on the reference" (line 2)
    assert usable["LE-4002"][:2] == (None, "po-20260414-00064")
    assert usable["LE-4012"][2:4] == (Decimal("9.824"), "KWD")
    assert usable["LE-4034"][2:4] == (Decimal("29250"), "JPY")
    assert usable["LE-4015"][2] == Decimal("24.18")
    assert usable["LE-4017"][4] == "CANCELLED"
    assert usable["LE-4038"][4] == "PENDING"
    # a reversal of an earlier export's sale: the amount negated, the status cancelled
    assert usable["LE-4026"][2] == Decimal("-48.25") and usable["LE-4026"][4] == "CANCELLED"
    # booked after local midnight in Berlin, still on D in UTC
    assert usable["LE-4040"][5] == datetime(2026, 4, 14, 22, 20, 29)
    lines = {entry_id: line for line, entry_id, *_ in usable_rows(con)}
    assert lines["LE-4002"] == 2
    duplicate = next(f for f in key["findings"] if f["check"] == "duplicate_ledger_entry")
    assert lines[duplicate["ledger_entry_id"]] == duplicate["line"] == 14
    assert lines["LE-4040"] == 28


# -- regressions: bugs a review found, now fixed -------------------------------------------


@pytest.mark.parametrize("text", ["12.5O", "1e5", "1 2", "1O.00"])
def test_letters_inside_an_amount_make_it_unparsable(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, text: str
) -> None:
    load_csv(con, tmp_path, [row(amount=text)])
    assert only_reason(con) == "unparsable amount"


@pytest.mark.parametrize("text", ["(12.50", "12.50)"])
def test_an_unbalanced_parenthesis_makes_an_amount_unparsable(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, text: str
) -> None:
    load_csv(con, tmp_path, [row(amount=text)])
    assert only_reason(con) == "unparsable amount"


def test_fourteen_integer_digits_with_decimals_fit(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    load_csv(con, tmp_path, [row(amount="99999999999999.99")])
    assert only_usable(con)[4] == Decimal("99999999999999.99")


def test_a_date_only_timestamp_is_local_midnight(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    load_csv(con, tmp_path, [row(booked_at="2026-04-15")], timezone="Europe/Berlin")
    assert only_usable(con)[7] == datetime(2026, 4, 14, 22, 0)


def test_a_timestamp_that_says_utc_is_not_shifted(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    load_csv(con, tmp_path, [row(booked_at="2026-04-14 10:00:00 UTC")], timezone="Europe/Berlin")
    assert only_usable(con)[7] == datetime(2026, 4, 14, 10, 0)


@pytest.mark.parametrize(
    "between", ["\n", 'LE-2,ord_2,po-2,1.00,USD,shipped,"2026-04-14\n10:00"\n']
)
def test_csv_line_is_the_line_in_the_file(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, between: str
) -> None:
    header = ",".join(FIELDS)
    first = "LE-1,ord_1,po-1,1.00,USD,delivered,2026-04-14 10:00:00\n"
    last = "LE-3,ord_3,po-3,oops,USD,delivered,2026-04-14 10:00:00\n"
    text = f"{header}\n{first}{between}{last}"
    csv_day(tmp_path).write_text(text)
    load_ledger(con, make_config(tmp_path))
    physical = text.splitlines().index(last.rstrip("\n")) + 1
    assert quarantine_rows(con)[-1] == (physical, "LE-3", "unparsable amount")


def test_a_gzipped_csv_is_read(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    text = ",".join(FIELDS) + "\n" + ",".join(BASE_ROW.values()) + "\n"
    (tmp_path / "ledger-2026-04-14.csv.gz").write_bytes(gzip.compress(text.encode()))
    result = load_ledger(con, make_config(tmp_path, "ledger-{date}.csv.gz"))
    assert result.usable == 1


@pytest.mark.parametrize(
    ("literal", "expected"), [("1.5e2", Decimal("150")), ("1E+2", Decimal("100"))]
)
def test_json_numbers_in_exponent_notation_keep_their_value(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, literal: str, expected: Decimal
) -> None:
    (tmp_path / "ledger-2026-04-14.jsonl").write_text(json_line(row(), literal) + "\n")
    load_ledger(con, make_config(tmp_path, "ledger-{date}.jsonl"))
    assert only_usable(con)[4] == expected


@pytest.mark.parametrize("literal", ["[12.5]", '{"value": 12.5}'])
def test_a_json_amount_that_is_not_a_scalar_is_unparsable(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, literal: str
) -> None:
    (tmp_path / "ledger-2026-04-14.jsonl").write_text(json_line(row(), literal) + "\n")
    load_ledger(con, make_config(tmp_path, "ledger-{date}.jsonl"))
    assert only_reason(con) == "unparsable amount"


def test_parquet_decimal_with_a_wider_scale_gives_the_same_rows(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    amounts = pa.array([Decimal(r["amount"]) for r, _ in FORMAT_ROWS], pa.decimal128(18, 3))
    pq.write_table(format_table(amounts), tmp_path / "ledger-2026-04-14.parquet")
    load_ledger(con, make_config(tmp_path, "ledger-{date}.parquet", **FORMAT_SETTINGS))
    assert usable_by_id(con) == EXPECTED_USABLE


# -- spreadsheets: what a cell holds, and the sheet's rows ---------------------------------------


@pytest.mark.parametrize(
    ("cell", "currency", "expected"),
    [
        (Decimal("19.99"), "USD", Decimal("19.99")),
        (Decimal("34.70"), "USD", Decimal("34.70")),
        (Decimal("-5.125"), "KWD", Decimal("-5.125")),
        (3000, "JPY", Decimal("3000")),
        (Decimal("1500.50"), "EUR", Decimal("1500.50")),
        (0.1 + 0.7, "EUR", Decimal("0.80")),  # the double 0.7999999999999999, as Excel sums it
        (Decimal("99999999999999"), "USD", Decimal("99999999999999")),
    ],
)
def test_xlsx_number_cells_are_the_decimals_they_show(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, cell: Any, currency: str, expected: Decimal
) -> None:
    load_xlsx(con, tmp_path, [row(amount=cell, currency=currency)])
    amount = only_usable(con)[4]
    assert isinstance(amount, Decimal)
    assert amount == expected


@pytest.mark.parametrize(
    ("literal", "currency", "amount_unit", "expected"),
    [
        # the digits a file holds for a double, and what Excel shows for it
        ("19.989999999999998", "USD", "major", Decimal("19.99")),
        ("0.30000000000000004", "EUR", "major", Decimal("0.30")),
        ("59.970000000000006", "USD", "major", Decimal("59.97")),
        ("4.9130000000000003", "KWD", "major", Decimal("4.913")),
        ("-48.249999999999993", "USD", "major", Decimal("-48.25")),
        ("2.9249999999999998E4", "JPY", "major", Decimal("29250")),
        ("1999.0", "USD", "minor", Decimal("19.99")),  # a whole double is a whole number
        ("1999.0000000000002", "USD", "minor", Decimal("19.99")),
        ("1.999E3", "KWD", "minor", Decimal("1.999")),
        ("1.0049999999999999", "USD", "major", "more decimals than the currency allows"),
        ("1999.5", "USD", "minor", "a fraction in minor units"),
    ],
)
def test_xlsx_float_tails_never_reach_the_amount(
    con: duckdb.DuckDBPyConnection,
    tmp_path: Path,
    literal: str,
    currency: str,
    amount_unit: str,
    expected: Decimal | str,
) -> None:
    write_xlsx(xlsx_day(tmp_path), [row(amount=900001, currency=currency)])
    with_number_literals(xlsx_day(tmp_path), {900001: literal})
    settings = make_config(tmp_path, "ledger-{date}.xlsx", amount_unit=amount_unit)
    load_ledger(con, settings)
    if isinstance(expected, str):
        assert only_reason(con) == expected
    else:
        assert only_usable(con)[4] == expected


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        # Excel serial numbers (1900 date system), local time in Europe/Berlin (UTC+2 in April)
        (46126.5, datetime(2026, 4, 14, 10, 0)),
        (46126, datetime(2026, 4, 13, 22, 0)),  # a whole serial is local midnight
        (Decimal("46126.4166666667"), datetime(2026, 4, 14, 8, 0)),  # 10:00, to the millisecond
        (Decimal("46126.9999884259"), datetime(2026, 4, 14, 21, 59, 59)),
        (Decimal("46126.0000115741"), datetime(2026, 4, 13, 22, 0, 1)),
        # date cells
        (datetime(2026, 4, 14, 10, 0), datetime(2026, 4, 14, 8, 0)),
        (datetime(2026, 4, 15, 0, 30), datetime(2026, 4, 14, 22, 30)),
        (datetime(2026, 4, 14, 10, 0, 0, 250000), datetime(2026, 4, 14, 8, 0, 0, 250000)),
        (date(2026, 4, 15), datetime(2026, 4, 14, 22, 0)),
        # text cells, read as a CSV's text
        ("2026-04-14 10:00:00", datetime(2026, 4, 14, 8, 0)),
        ("2026-04-14T10:00:00Z", datetime(2026, 4, 14, 10, 0)),
        ("2026-04-14 12:00:00+05:00", datetime(2026, 4, 14, 7, 0)),
    ],
)
def test_xlsx_booked_at_from_serials_date_cells_and_text(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, cell: Any, expected: datetime
) -> None:
    load_xlsx(con, tmp_path, [row(booked_at=cell)], timezone="Europe/Berlin")
    booked_at = only_usable(con)[7]
    assert booked_at == expected
    assert booked_at.tzinfo is None


@pytest.mark.parametrize(
    ("cell", "reason"),
    [
        (12.5, "unparsable timestamp"),  # not a date Excel has: an amount in the wrong column
        (60, "unparsable timestamp"),  # Excel's 29 February 1900, which never was
        # 1900-03-01, the first serial past Excel's 29 Feb: a moment, but no booking's
        (61, "booked before 2000"),
        (3_000_000, "unparsable timestamp"),  # past 9999-12-31
        (True, "unparsable timestamp"),
        ("46126.5", "unparsable timestamp"),  # a serial as text is text, as in a CSV
        (None, "missing timestamp"),
    ],
)
def test_xlsx_booked_at_that_is_no_moment_is_quarantined(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, cell: Any, reason: str
) -> None:
    load_xlsx(con, tmp_path, [row(booked_at=cell)])
    assert only_reason(con) == reason


def test_xlsx_empty_cells_are_null_and_words_stay_text(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    rows = [
        row(entry_id="LE-1", reference=None),
        row(entry_id="LE-2", order_id=None, reference="NA"),  # pandas would read "NA" as NaN
        row(entry_id="LE-3", reference="null"),
        row(entry_id="LE-4", amount=None),
        row(entry_id=None, order_id="ord_5"),
        row(entry_id="LE-6", order_id=None, reference=None),
        row(entry_id="LE-7", status=None),
    ]
    load_xlsx(con, tmp_path, rows)
    assert [r[1:4] for r in usable_rows(con)] == [
        ("LE-1", "ord_1", None),
        ("LE-2", None, "NA"),
        ("LE-3", "ord_1", "null"),
    ]
    assert quarantine_rows(con) == [
        (5, "LE-4", "blank amount"),
        (6, "", "missing entry id"),
        (7, "LE-6", "neither a Starship order id nor a reference"),
        (8, "LE-7", "missing status"),
    ]


def test_xlsx_quarantine_keeps_the_row_number_and_only_the_mapped_cells(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    """Row 4 is empty: it is no row, and the rows below it keep their own numbers."""
    path = xlsx_day(tmp_path)
    rows: list[list[Any]] = [
        [*FIELDS, "memo"],
        ["LE-1", "ord_1", "po-1", Decimal("10.00"), "USD", "delivered", datetime(2026, 4, 14, 10)],
        ["LE-2", "ord_2", "po-2", Decimal("1500.5"), "JPY", "delivered", datetime(2026, 4, 14, 10)],
        [],
        ["LE-3", "ord_3", "po-3", "12.3.4", "USD", "delivered", 46126.5, SECRET_MEMO],
        ["LE-4", "ord_4", "po-4", Decimal("-48.25"), "USD", "cancelled", 46126.5, SECRET_MEMO],
        [None, None, None, None, None, None, None, f"total {SECRET_MEMO}"],
    ]
    write_workbook(path, {"Ledger": rows})
    result = load_ledger(con, make_config(tmp_path, "ledger-{date}.xlsx"))
    assert result == LedgerLoad(path, 5, 2, 3)
    assert [r[:2] for r in usable_rows(con)] == [(2, "LE-1"), (6, "LE-4")]
    assert con.sql("SELECT * FROM quarantine ORDER BY line").fetchall() == [
        (
            str(path),
            3,
            "LE-2",
            "more decimals than the currency allows",
            "LE-2,ord_2,po-2,1500.5,JPY,delivered,2026-04-14 10:00:00",
        ),
        (
            str(path),
            5,
            "LE-3",
            "unparsable amount",
            "LE-3,ord_3,po-3,12.3.4,USD,delivered,2026-04-14 12:00:00",
        ),
        (str(path), 7, "", "missing entry id", ",,,,,,"),
    ]


def test_xlsx_reads_the_first_sheet_or_the_one_named(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    header = [*FIELDS, "memo"]
    other = ["LE-9", "ord_9", "po-9", Decimal("9.00"), "EUR", "delivered", "2026-04-14 09:00:00"]
    ours = ["LE-1", "ord_1", "po-1", Decimal("19.99"), "USD", "delivered", "2026-04-14 10:00:00"]
    write_workbook(
        xlsx_day(tmp_path),
        {"Summary": [header, other], "Ledger": [header, ["LE-0"], ours]},
    )
    load_ledger(con, make_config(tmp_path, "ledger-{date}.xlsx"))
    assert [r[1] for r in usable_rows(con)] == ["LE-9"]
    load_ledger(con, make_config(tmp_path, "ledger-{date}.xlsx", sheet="Ledger"))
    assert [r[:2] for r in usable_rows(con)] == [(3, "LE-1")]
    assert quarantine_rows(con) == [(2, "LE-0", "blank amount")]


def test_xlsx_a_missing_sheet_names_the_file_and_its_sheets(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    write_workbook(xlsx_day(tmp_path), {"Sheet1": [list(FIELDS)], "Notes": [["read me"]]})
    message = expect_input_error(
        con,
        make_config(tmp_path, "ledger-{date}.xlsx", sheet="Ledger"),
        str(xlsx_day(tmp_path)),
        "no sheet 'Ledger' ([ledger] sheet)",
        "the file has: 'Sheet1', 'Notes'",
    )
    assert "\n" not in message


def test_xlsx_a_missing_column_names_the_file_and_its_header(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    header = tuple(f for f in FIELDS if f != "currency")
    write_xlsx(xlsx_day(tmp_path), [row()], fieldnames=header)
    expect_input_error(
        con,
        make_config(tmp_path, "ledger-{date}.xlsx"),
        "ledger-2026-04-14.xlsx",
        "no column 'currency' (ledger.columns.currency)",
        "the file has: 'entry_id', 'order_id'",
    )


def test_xlsx_the_header_is_row_one(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    # a title above the header is not a header: the same error as a CSV with a title line (a
    # first row with none of the mapped columns is not quoted: it may be any file's content)
    write_workbook(xlsx_day(tmp_path), {"Ledger": [["April books"], list(FIELDS)]})
    expect_input_error(
        con,
        make_config(tmp_path, "ledger-{date}.xlsx"),
        "no column 'entry_id'",
        "not shown) has none of the mapped columns",
    )


@pytest.mark.parametrize(
    "content", [b"entry_id,amount\nLE-1,1.00\n", b"PK\x03\x04 not really a zip", b""]
)
def test_xlsx_a_file_that_is_not_a_workbook(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, content: bytes
) -> None:
    xlsx_day(tmp_path).write_bytes(content)
    message = expect_input_error(
        con, make_config(tmp_path, "ledger-{date}.xlsx"), "ledger-2026-04-14.xlsx", "cannot read"
    )
    assert "\n" not in message


# -- a spreadsheet export end to end -------------------------------------------------------------

EXCEL_EPOCH = datetime(1899, 12, 30)


def fixture_as_xlsx(export: Path) -> Path:
    """The committed CSV export as a finance system's spreadsheet: plain amounts as number cells,
    naive timestamps as date cells and Excel serial numbers by turns, everything else (amounts
    with separators, timestamps that cannot be, the memo) as text, empty fields as empty cells."""
    with export.open(encoding="utf-8", newline="") as handle:
        header, *records = list(csv.reader(handle))
    amount, booked_at = header.index("Amount"), header.index("Booked At")
    rows: list[list[Any]] = [header]
    for number, record in enumerate(records):
        cells: list[Any] = [value or None for value in record]
        if re.fullmatch(r"-?\d+(\.\d+)?", record[amount]):
            cells[amount] = Decimal(record[amount])
        try:
            moment = datetime.strptime(record[booked_at], "%Y-%m-%d %H:%M:%S")
        except ValueError:
            pass
        else:
            serial = Decimal((moment - EXCEL_EPOCH).total_seconds()) / 86_400
            cells[booked_at] = moment if number % 2 else serial
        rows.append(cells)
    return write_workbook(export.with_suffix(".xlsx"), {"Export": rows})


def test_the_fixture_week_as_xlsx_finds_exactly_what_the_csv_finds(tmp_path: Path) -> None:
    """The demo's night (the scenario extracted from the sandbox, the week of CSV exports) and
    the same exports as spreadsheets: the same findings, the same quarantine, line for row."""
    demo = run_demo(tmp_path)
    csv_night = demo.night
    for export in sorted(tmp_path.glob("ledger-*.csv")):
        fixture_as_xlsx(export)
    settings = config.load(demo.config_file)
    spreadsheets = dataclasses.replace(
        settings,
        ledger=dataclasses.replace(settings.ledger, path=settings.ledger.path[:-4] + ".xlsx"),
    )
    night = pipeline.diff(spreadsheets, DAY)

    def as_csv(table: pa.Table) -> list[dict[str, Any]]:
        # a finding that names an export names the spreadsheet: the same file, as CSV
        return [
            {k: v.replace(".xlsx", ".csv") if isinstance(v, str) else v for k, v in r.items()}
            for r in table.to_pylist()
        ]

    assert len(csv_night.findings) == 23
    assert as_csv(night.findings) == as_csv(csv_night.findings)
    assert night.diff.counts == csv_night.diff.counts
    assert night.diff.counts["ledger_reversals"] >= 1

    def quarantined(n: pipeline.Night) -> list[tuple[Any, ...]]:
        return [(q["line"], q["entry_id"], q["reason"]) for q in n.diff.quarantine.to_pylist()]

    assert quarantined(night) == quarantined(csv_night) != []
    assert night.exit_code == csv_night.exit_code == 1
    # the memory keeps each spreadsheet's typed rows, fingerprinted like a CSV's
    lake = Lake(settings.storage.data_dir / "lake")
    for day in (DAY, date(2026, 4, 11)):
        export = tmp_path / f"ledger-{day}.xlsx"
        manifest = lake.manifest("ledger", day)
        assert manifest is not None
        assert manifest["export"] == str(export)
        assert manifest["sha256"] == hashlib.sha256(export.read_bytes()).hexdigest()
        assert manifest["size"] == export.stat().st_size


# -- regional and general-ledger shapes ([ledger] delimiter, decimal_separator, date_format,
# and [ledger.columns] debit / credit) -----------------------------------------------------------

SIDED = ("entry_id", "order_id", "reference", "debit", "credit", "currency", "status", "booked_at")
SIDED_COLUMNS = {"debit": "debit", "credit": "credit"}


@pytest.mark.parametrize(
    ("text", "currency", "expected"),
    [
        ("1.289,50", "USD", Decimal("1289.50")),
        ("289,50", "USD", Decimal("289.50")),
        ("289", "USD", Decimal("289")),
        ("1.500", "JPY", Decimal("1500")),  # a group, never 1.5
        ("1.000.000,5", "EUR", Decimal("1000000.5")),
        ("1 289,50", "EUR", Decimal("1289.50")),
        ("1\u00a0289,50", "EUR", Decimal("1289.50")),  # no-break space
        ("1\u202f289,50", "EUR", Decimal("1289.50")),  # narrow no-break space (French)
        ("1'289,50", "EUR", Decimal("1289.50")),
        ("-1.289,50", "EUR", Decimal("-1289.50")),
        ("(1.289,50)", "EUR", Decimal("-1289.50")),
        ("1.289,50 €", "EUR", Decimal("1289.50")),
        ("1.289,50\u00a0€", "EUR", Decimal("1289.50")),
        ("EUR 1.289,50", "EUR", Decimal("1289.50")),
        (",5", "EUR", Decimal("0.5")),
        ("19,999", "KWD", Decimal("19.999")),
    ],
)
@pytest.mark.parametrize("kind", list(LOADERS))
def test_a_decimal_comma_amount_is_typed_exactly(
    con: duckdb.DuckDBPyConnection,
    tmp_path: Path,
    kind: str,
    text: str,
    currency: str,
    expected: Decimal,
) -> None:
    LOADERS[kind](con, tmp_path, [row(amount=text, currency=currency)], decimal_separator=",")
    assert only_usable(con)[4] == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("12.50", "unparsable amount"),  # a decimal point, in a decimal-comma export
        ("1.28,50", "unparsable amount"),  # a group of two
        ("1.2890,50", "unparsable amount"),  # a group of four
        ("1.289.50", "unparsable amount"),
        ("1,289,50", "unparsable amount"),
        ("1.289 500,00", "unparsable amount"),  # two kinds of group in one amount
        ("1.289,", "unparsable amount"),
        ("1,005", "more decimals than the currency allows"),
        ("1.289,50-", "unparsable amount"),
    ],
)
def test_a_decimal_comma_amount_that_does_not_group_is_quarantined_not_guessed(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, text: str, reason: str
) -> None:
    load_csv(con, tmp_path, [row(amount=text)], decimal_separator=",")
    assert only_reason(con) == reason


def test_a_decimal_comma_in_minor_units(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    load_csv(
        con,
        tmp_path,
        [row(entry_id="A", amount="1.999"), row(entry_id="B", amount="1999,5")],
        decimal_separator=",",
        amount_unit="minor",
    )
    assert usable_by_id(con)["A"][2] == Decimal("19.99")
    assert quarantine_rows(con) == [(3, "B", "a fraction in minor units")]


def test_numbers_already_typed_are_not_read_with_the_decimal_comma(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    """A number cell, a JSON number and a Parquet decimal are numbers; only their text
    neighbours are written 1.289,50."""
    write_xlsx(
        xlsx_day(tmp_path),
        [row(entry_id="cell", amount=1289.5), row(entry_id="text", amount="1.289,50")],
    )
    load_ledger(con, make_config(tmp_path, "ledger-{date}.xlsx", decimal_separator=","))
    assert {k: v[2] for k, v in usable_by_id(con).items()} == {
        "cell": Decimal("1289.50"),
        "text": Decimal("1289.50"),
    }
    jsonl = tmp_path / f"ledger-{DAY}.jsonl"
    jsonl.write_text(
        json_line(row(entry_id="number"), "1289.50")
        + "\n"
        + json_line(row(entry_id="text", amount="1.289,50"))
        + "\n"
    )
    load_ledger(con, make_config(tmp_path, "ledger-{date}.jsonl", decimal_separator=","))
    assert {k: v[2] for k, v in usable_by_id(con).items()} == {
        "number": Decimal("1289.50"),
        "text": Decimal("1289.50"),
    }
    for amounts in (
        pa.array([Decimal("1289.50")], pa.decimal128(18, 2)),
        pa.array(["1.289,50"], pa.string()),
    ):
        table = pa.table(
            {name: [BASE_ROW[name]] for name in FIELDS if name != "amount"} | {"amount": amounts}
        )
        pq.write_table(table, tmp_path / f"ledger-{DAY}.parquet")
        load_ledger(con, make_config(tmp_path, "ledger-{date}.parquet", decimal_separator=","))
        assert only_usable(con)[4] == Decimal("1289.50")


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_a_csv_with_another_delimiter_gives_the_same_rows(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, delimiter: str
) -> None:
    # quoted fields with the delimiter inside (a tab in a mapped field is a control character)
    inside = "" if delimiter == "\t" else delimiter
    rows = [
        {**row(entry_id="LE-1", reference=f"po{inside}1"), "memo": f"a{delimiter}b"},
        row(entry_id="LE-2", amount="1,500.00"),
        row(entry_id="LE-3", amount="abc"),
    ]
    write_csv(csv_day(tmp_path / "comma"), rows)
    load_ledger(con, make_config(tmp_path / "comma"))
    expected, expected_quarantine = usable_rows(con), quarantine_rows(con)
    write_csv(csv_day(tmp_path), rows, delimiter=delimiter)
    word = "tab" if delimiter == "\t" else delimiter
    load_ledger(con, make_config(tmp_path, delimiter=word))
    assert usable_rows(con) == expected
    assert quarantine_rows(con) == expected_quarantine == [(4, "LE-3", "unparsable amount")]
    assert ledger.header(csv_day(tmp_path), delimiter=delimiter) == [*FIELDS, "memo"]


def test_a_semicolon_csv_read_with_commas_says_which_delimiter_to_set(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    write_csv(csv_day(tmp_path), [row()], delimiter=";")
    message = expect_input_error(con, make_config(tmp_path))
    assert "no column 'entry_id' (ledger.columns.entry_id)" in message
    assert 'set [ledger] delimiter = ";"' in message


@pytest.mark.parametrize(
    ("date_format", "text", "expected"),
    [
        ("day-first", "14.04.2026 04:30:05", datetime(2026, 4, 14, 4, 30, 5)),
        ("day-first", "14.04.2026 04:30", datetime(2026, 4, 14, 4, 30)),
        ("day-first", "14.04.2026", datetime(2026, 4, 14)),
        ("day-first", "4.4.2026 4:30:05", datetime(2026, 4, 4, 4, 30, 5)),
        ("day-first", "14/04/2026 16:30:05.25", datetime(2026, 4, 14, 16, 30, 5, 250000)),
        ("day-first", "14-04-2026 04:30:05 PM", datetime(2026, 4, 14, 16, 30, 5)),
        ("month-first", "04/14/2026 4:30:05 PM", datetime(2026, 4, 14, 16, 30, 5)),
        ("month-first", "04/14/2026 16:30:05", datetime(2026, 4, 14, 16, 30, 5)),
        ("month-first", "4/14/2026 12:05 AM", datetime(2026, 4, 14, 0, 5)),
        ("month-first", "04-14-2026", datetime(2026, 4, 14)),
        ("%d.%m.%Y %H:%M:%S", "14.04.2026 04:30:05", datetime(2026, 4, 14, 4, 30, 5)),
        ("%m/%d/%Y %I:%M:%S %p", "04/14/2026 04:30:05 PM", datetime(2026, 4, 14, 16, 30, 5)),
        ("%Y%m%d %H%M%S", "20260414 043005", datetime(2026, 4, 14, 4, 30, 5)),
        ("%d %b %Y %H:%M", "14 Apr 2026 04:30", datetime(2026, 4, 14, 4, 30)),
        # an offset or Z after the time is honoured as in ISO text; naive is in `timezone`
        ("day-first", "14.04.2026 04:30:05+02:00", datetime(2026, 4, 14, 2, 30, 5)),
        ("day-first", "14.04.2026 04:30:05 -0500", datetime(2026, 4, 14, 9, 30, 5)),
        ("day-first", "14.04.2026 04:30:05Z", datetime(2026, 4, 14, 4, 30, 5)),
        ("month-first", "04/14/2026 4:30 PM UTC", datetime(2026, 4, 14, 16, 30)),
        ("%d.%m.%Y %H:%M", "14.04.2026 04:30 GMT", datetime(2026, 4, 14, 4, 30)),
    ],
)
@pytest.mark.parametrize("kind", list(LOADERS))
def test_a_configured_date_format_reads_text_timestamps(
    con: duckdb.DuckDBPyConnection,
    tmp_path: Path,
    kind: str,
    date_format: str,
    text: str,
    expected: datetime,
) -> None:
    LOADERS[kind](con, tmp_path, [row(booked_at=text)], date_format=date_format)
    assert only_usable(con)[7] == expected


@pytest.mark.parametrize(
    ("date_format", "expected"),
    [("day-first", datetime(2026, 5, 4, 10)), ("month-first", datetime(2026, 4, 5, 10))],
)
@pytest.mark.parametrize("text", ["04/05/2026 10:00", "04.05.2026 10:00", "04-05-2026 10:00"])
def test_a_date_that_reads_both_ways_follows_the_configured_order(
    con: duckdb.DuckDBPyConnection,
    tmp_path: Path,
    date_format: str,
    expected: datetime,
    text: str,
) -> None:
    # a day that cannot be a month beside it: the order is the configuration's, every row
    rows = [row(entry_id="both-ways", booked_at=text), row(entry_id="one-way", booked_at=text)]
    rows[1]["booked_at"] = "13/05/2026 10:00" if date_format == "day-first" else "05/13/2026 10:00"
    load_csv(con, tmp_path, rows, date_format=date_format)
    assert usable_by_id(con)["both-ways"][5] == expected


@pytest.mark.parametrize(
    ("date_format", "text"),
    [
        ("day-first", "2026-04-14 10:00:00"),  # ISO text is not the configured shape
        ("day-first", "04/14/2026 10:00"),  # month 14
        ("day-first", "31.04.2026 10:00"),  # no 31 April
        ("day-first", "14.04.2026 25:00"),
        ("day-first", "14.04.2026 13:00 PM"),
        ("day-first", "14.04.2026 10:00 CET"),  # a zone name, refused as in ISO text
        ("day-first", "14.04.2026 10:00:00 extra"),
        ("month-first", "14/04/2026 10:00"),
        ("%d.%m.%Y %H:%M:%S", "14.04.2026 10:00"),  # no seconds where the pattern has them
        ("%d.%m.%Y %H:%M:%S", "2026-04-14 10:00:00"),
        ("iso", "14.04.2026 10:00:00"),  # today's behaviour, kept
    ],
)
def test_a_timestamp_the_date_format_does_not_read_is_unparsable(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, date_format: str, text: str
) -> None:
    load_csv(con, tmp_path, [row(booked_at=text)], date_format=date_format)
    assert only_reason(con) == "unparsable timestamp"


def test_a_date_format_reads_naive_times_in_the_configured_zone_and_window(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    rows = [
        row(entry_id="berlin", booked_at="14.04.2026 04:30:05"),
        row(entry_id="gap", booked_at="29.03.2026 02:30"),  # the clocks skip it in Berlin
        row(entry_id="old", booked_at="14.04.1999"),
        row(entry_id="two-digit-year", booked_at="14.04.26"),  # year 26, never guessed
    ]
    load_csv(con, tmp_path, rows, timezone="Europe/Berlin", date_format="day-first")
    assert usable_by_id(con)["berlin"][5] == datetime(2026, 4, 14, 2, 30, 5)
    assert quarantine_rows(con) == [
        (
            3,
            "gap",
            "booked at a local time that does not exist in Europe/Berlin (clocks moved forward)",
        ),
        (4, "old", "booked before 2000"),
        (5, "two-digit-year", "booked before 2000"),
    ]


def test_moments_already_typed_are_not_read_with_the_date_format(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    """A date cell, an Excel serial and a Parquet timestamp are moments; only text cells are
    written in the configured shape."""
    write_xlsx(
        xlsx_day(tmp_path),
        [
            row(entry_id="cell", booked_at=datetime(2026, 4, 14, 10)),
            row(entry_id="serial", booked_at=46126.5),
            row(entry_id="text", booked_at="14.04.2026 10:00"),
        ],
    )
    load_ledger(con, make_config(tmp_path, "ledger-{date}.xlsx", date_format="day-first"))
    assert {k: v[5] for k, v in usable_by_id(con).items()} == {
        "cell": datetime(2026, 4, 14, 10),
        "serial": datetime(2026, 4, 14, 12),
        "text": datetime(2026, 4, 14, 10),
    }
    table = pa.table(
        {name: [BASE_ROW[name]] for name in FIELDS if name != "booked_at"}
        | {"booked_at": pa.array([datetime(2026, 4, 14, 10)], pa.timestamp("us"))}
    )
    pq.write_table(table, tmp_path / f"ledger-{DAY}.parquet")
    load_ledger(con, make_config(tmp_path, "ledger-{date}.parquet", date_format="day-first"))
    assert only_usable(con)[7] == datetime(2026, 4, 14, 10)


def sided_row(debit: str | None, credit: str | None, **changes: str) -> dict[str, Any]:
    values = {k: v for k, v in BASE_ROW.items() if k != "amount"}
    return {**values, "debit": debit, "credit": credit, **changes}


def load_sided(
    con: duckdb.DuckDBPyConnection, folder: Path, kind: str, rows: list[dict[str, Any]], **s: Any
) -> LedgerLoad:
    """Rows of a debit/credit export, as CSV text or spreadsheet text cells (None: blank)."""
    if kind == "csv":
        text = [{k: "" if v is None else v for k, v in r.items()} for r in rows]
        write_csv(csv_day(folder), text, SIDED)
        return load_ledger(con, make_config(folder, columns=SIDED_COLUMNS, **s))
    write_xlsx(xlsx_day(folder), rows, SIDED)
    return load_ledger(con, make_config(folder, "ledger-{date}.xlsx", columns=SIDED_COLUMNS, **s))


@pytest.mark.parametrize(
    ("debit", "credit", "purchase_sign", "expected"),
    [
        # purchases on the debit side, reversals on the credit side: debit minus credit
        ("10.00", None, "positive", Decimal("10.00")),
        (None, "10.00", "positive", Decimal("-10.00")),
        ("10.00", "0.00", "positive", Decimal("10.00")),  # a zero side is not filled
        ("0", "10.00", "positive", Decimal("-10.00")),
        ("  ", "10.00", "positive", Decimal("-10.00")),
        ("$10.00", None, "positive", Decimal("10.00")),
        ("1,500.00", "$0.00", "positive", Decimal("1500.00")),
        ("-10.00", None, "positive", Decimal("-10.00")),  # a negative debit is a credit
        ("(10.00)", None, "positive", Decimal("-10.00")),
        (None, "-10.00", "positive", Decimal("10.00")),
        # purchase_sign applies to debit minus credit as to any signed amount: "negative"
        # is an export whose purchases are on the credit side
        (None, "10.00", "negative", Decimal("10.00")),
        ("10.00", None, "negative", Decimal("-10.00")),
        ("10.00", "0,00", "negative", Decimal("-10.00")),
    ],
)
@pytest.mark.parametrize("kind", list(LOADERS))
def test_debit_and_credit_are_one_signed_amount(
    con: duckdb.DuckDBPyConnection,
    tmp_path: Path,
    kind: str,
    debit: str | None,
    credit: str | None,
    purchase_sign: str,
    expected: Decimal,
) -> None:
    load_sided(con, tmp_path, kind, [sided_row(debit, credit)], purchase_sign=purchase_sign)
    assert only_usable(con)[4] == expected


@pytest.mark.parametrize(
    ("debit", "credit", "reason"),
    [
        ("10.00", "10.00", "both debit and credit filled"),
        ("10.00", "2.50", "both debit and credit filled"),
        ("abc", "2.50", "both debit and credit filled"),  # text is filled, even if no number
        (None, None, "neither debit nor credit filled"),
        ("", " ", "neither debit nor credit filled"),
        ("0.00", "0", "neither debit nor credit filled"),  # zero both sides: nothing moved
        ("(0.00)", "€0,00", "neither debit nor credit filled"),
        ("abc", None, "unparsable amount"),  # the filled side is read as an amount
        ("1.005", None, "more decimals than the currency allows"),
        (None, "24.13 EUR", "amount says EUR, currency column says USD"),
    ],
)
@pytest.mark.parametrize("kind", list(LOADERS))
def test_a_debit_credit_row_that_is_not_one_side_is_quarantined_with_its_line(
    con: duckdb.DuckDBPyConnection,
    tmp_path: Path,
    kind: str,
    debit: str | None,
    credit: str | None,
    reason: str,
) -> None:
    rows = [sided_row("5.00", None, entry_id="ok"), sided_row(debit, credit, entry_id="bad")]
    load_sided(con, tmp_path, kind, rows)
    assert [r[1] for r in usable_rows(con)] == ["ok"]
    assert quarantine_rows(con) == [(3, "bad", reason)]


def test_a_debit_credit_row_in_quarantine_keeps_both_sides_in_raw(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    load_sided(con, tmp_path, "csv", [sided_row("10.00", "1,000.00", booked_at="x")])
    [(raw,)] = con.sql("SELECT raw FROM quarantine").fetchall()
    assert raw == 'LE-1,ord_1,po-1,10.00,"1,000.00",USD,delivered,x'


def test_debit_and_credit_in_minor_units_and_with_a_decimal_comma(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    rows = [sided_row("1.999", "0", entry_id="sale"), sided_row("", "999", entry_id="refund")]
    load_sided(con, tmp_path, "csv", rows, amount_unit="minor", decimal_separator=",")
    assert {k: v[2] for k, v in usable_by_id(con).items()} == {
        "sale": Decimal("19.99"),
        "refund": Decimal("-9.99"),
    }


def test_debit_and_credit_from_json_numbers_and_parquet_decimals(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    settings = {"columns": SIDED_COLUMNS, "decimal_separator": ","}
    jsonl = tmp_path / f"ledger-{DAY}.jsonl"
    lines = [
        {**sided_row(None, None, entry_id="sale"), "debit": Decimal("12.50"), "credit": None},
        {**sided_row(None, None, entry_id="refund"), "debit": 0, "credit": "12,50"},
        {**sided_row(None, None, entry_id="both"), "debit": Decimal("1"), "credit": 2},
    ]
    jsonl.write_text("".join(json.dumps(line, default=str) + "\n" for line in lines))
    # json.dumps writes a Decimal as a string: make the sale's a JSON number again
    jsonl.write_text(jsonl.read_text().replace('"debit": "12.50"', '"debit": 12.50'))
    load_ledger(con, make_config(tmp_path, "ledger-{date}.jsonl", **settings))
    assert {k: v[2] for k, v in usable_by_id(con).items()} == {
        "sale": Decimal("12.50"),
        "refund": Decimal("-12.50"),
    }
    assert quarantine_rows(con) == [(3, "both", "both debit and credit filled")]
    table = pa.table(
        {name: [BASE_ROW[name]] * 2 for name in FIELDS if name != "amount"}
        | {
            "entry_id": ["sale", "refund"],
            "debit": pa.array([Decimal("12.50"), None], pa.decimal128(18, 3)),
            "credit": pa.array([Decimal("0"), Decimal("12.5")], pa.decimal128(18, 3)),
        }
    )
    pq.write_table(table, tmp_path / f"ledger-{DAY}.parquet")
    load_ledger(con, make_config(tmp_path, "ledger-{date}.parquet", **settings))
    assert {k: v[2] for k, v in usable_by_id(con).items()} == {
        "sale": Decimal("12.50"),
        "refund": Decimal("-12.50"),
    }


def test_a_debit_credit_export_without_its_credit_column(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    write_csv(csv_day(tmp_path), [sided_row("1", None)], SIDED[:4] + SIDED[5:])
    message = expect_input_error(con, make_config(tmp_path, columns=SIDED_COLUMNS))
    assert "no column 'credit' (ledger.columns.credit)" in message
    assert ledger.header(csv_day(tmp_path)) == [*SIDED[:4], *SIDED[5:]]


# -- the fixture week in regional and general-ledger shapes, end to end ---------------------------

_NUMBER = re.compile(r"-?\d{1,3}(,\d{3})*(\.\d+)?|-?\d+(\.\d+)?")
_ISO = re.compile(r"(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)")


def german(record: dict[str, str]) -> dict[str, str]:
    """1,500.5 as 1.500,5 and 2026-04-14 04:30:05 as 14.04.2026 04:30:05 (a time that cannot
    be, 2026-04-31 25:61:00, stays one: 31.04.2026 25:61:00)."""
    amount = record["Amount"]
    if _NUMBER.fullmatch(amount):
        amount = amount.translate(str.maketrans(",.", ".,"))
    booked = _ISO.sub(r"\3.\2.\1 \4:\5:\6", record["Booked At"])
    return {**record, "Amount": amount, "Booked At": booked}


def american(record: dict[str, str]) -> dict[str, str]:
    """2026-04-14 16:30:05 as 04/14/2026 4:30:05 PM (an hour past 23 kept, so still none)."""

    def clock(match: re.Match[str]) -> str:
        year, month, day, hour, minute, second = match.groups()
        h = int(hour)
        if h > 23:
            return f"{month}/{day}/{year} {hour}:{minute}:{second} PM"
        return f"{month}/{day}/{year} {(h % 12) or 12}:{minute}:{second} {'AM' if h < 12 else 'PM'}"

    return {**record, "Booked At": _ISO.sub(clock, record["Booked At"])}


def sided(record: dict[str, str], number: int) -> dict[str, str]:
    """Amount as Debit and Credit: a purchase on the debit side, a reversal (negative) on the
    credit side, and every other row 0.00 on the side not used, as accounting systems write."""
    amount, rest = record["Amount"], {k: v for k, v in record.items() if k != "Amount"}
    empty = "0.00" if number % 2 else ""
    if _NUMBER.fullmatch(amount) and amount.startswith("-"):
        return {**rest, "Debit": empty, "Credit": amount[1:]}
    return {**rest, "Debit": amount, "Credit": empty if amount else ""}


SHAPES: dict[str, tuple[dict[str, Any], Any, str]] = {
    # name: ([ledger] settings, the row rewrite, the delimiter written)
    "german": (
        {"delimiter": ";", "decimal_separator": ",", "date_format": "%d.%m.%Y %H:%M:%S"},
        lambda record, _: german(record),
        ";",
    ),
    "american": ({"date_format": "month-first"}, lambda record, _: american(record), ","),
    "debit-credit": ({"delimiter": "\t"}, sided, "\t"),
}


def reshape(export: Path, rewrite: Any, delimiter: str) -> None:
    with export.open(encoding="utf-8", newline="") as handle:
        records = list(csv.DictReader(handle))
    rows = [rewrite(record, number) for number, record in enumerate(records)]
    with export.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), delimiter=delimiter)
        writer.writeheader()
        writer.writerows(rows)


@pytest.fixture(scope="module")
def demo_week(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pipeline.Night]:
    folder = tmp_path_factory.mktemp("demo")
    return folder, run_demo(folder).night


@pytest.mark.parametrize("shape", list(SHAPES))
def test_the_fixture_week_in_another_shape_finds_exactly_what_the_csv_finds(
    demo_week: tuple[Path, pipeline.Night], tmp_path: Path, shape: str
) -> None:
    """The demo's night again, its week of exports rewritten as a German partner writes them
    (; between fields, 1.500,5, 14.04.2026 04:30:05), as a US partner does (04/14/2026 4:30:05
    PM) or as an accounting system's Debit and Credit: the same typed rows, the same findings,
    the same quarantine, line for line (a blank amount is, there, a row with neither side)."""
    demo, csv_night = demo_week
    folder = tmp_path / shape
    shutil.copytree(demo, folder)
    settings_, rewrite, delimiter = SHAPES[shape]
    for export in sorted(folder.glob("ledger-*.csv")):
        reshape(export, rewrite, delimiter)
    base = config.load(folder / "recon.toml")
    table = {
        "path": base.ledger.path,
        "timezone": base.ledger.timezone,
        "business_day_timezone": base.ledger.business_day_timezone,
        "status_map": base.ledger.status_map,
        "columns": dict(base.ledger.columns),
        **settings_,
    }
    if shape == "debit-credit":
        del table["columns"]["amount"]
        table["columns"] |= {"debit": "Debit", "credit": "Credit"}
    shaped = dataclasses.replace(base, ledger=config.from_dict({"ledger": table}).ledger)

    # D's typed rows, beside those of the demo's own CSV export
    def typed(settings: LedgerConfig) -> list[tuple[Any, ...]]:
        with duckdb.connect() as con:
            con.execute("SET TimeZone = 'UTC'")
            ledger.load(con, settings, DAY)
            return con.sql(f"SELECT {USABLE_COLUMNS} FROM ledger ORDER BY line").fetchall()

    assert typed(shaped.ledger) == typed(config.load(demo / "recon.toml").ledger) != []

    night = pipeline.diff(shaped, DAY)

    def findings(n: pipeline.Night, root: Path) -> list[dict[str, Any]]:
        # a finding that names an export names its file: the same file, in its own folder
        return [
            {k: v.replace(str(root), "ROOT") if isinstance(v, str) else v for k, v in r.items()}
            for r in n.findings.to_pylist()
        ]

    assert len(csv_night.findings) == 23
    assert findings(night, folder) == findings(csv_night, demo)
    assert night.diff.counts == csv_night.diff.counts

    def quarantined(n: pipeline.Night) -> list[tuple[Any, ...]]:
        return [(q["line"], q["entry_id"], q["reason"]) for q in n.diff.quarantine.to_pylist()]

    renamed = {"blank amount": "neither debit nor credit filled"} if shape == "debit-credit" else {}
    assert quarantined(night) == [
        (line, entry_id, renamed.get(reason, reason))
        for line, entry_id, reason in quarantined(csv_night)
    ]
    assert quarantined(night) != []
    assert night.exit_code == csv_night.exit_code == 1
