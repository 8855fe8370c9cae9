"""Hostile ledger files: each case a review found, kept together so the next reviewer can add
to it (hostile answers and careless hands are in tests/test_hostile.py)."""

from __future__ import annotations

import dataclasses
import json
import zipfile
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from recon import config, doctor, ledger
from recon.errors import ConfigError, InputError
from tests.ledger_files import (
    DAY,
    FIELDS,
    csv_day,
    expect_input_error,
    load_csv,
    load_ledger,
    make_config,
    only_reason,
    only_usable,
    row,
    write_csv,
    write_xlsx,
    xlsx_day,
)

# -- hostile ledger files ---


@pytest.mark.parametrize(
    ("amount", "reason"),
    [
        ("€48.25", "amount says €, currency column says USD"),
        ("24.13 EUR", "amount says EUR, currency column says USD"),
        ("JPY 96.50", "amount says JPY, currency column says USD"),
        ("(eur 5.00)", "amount says EUR, currency column says USD"),
        ("$5.00 EUR", "amount says EUR, currency column says USD"),
        ("£5.00", "amount says £, currency column says USD"),
    ],
)
def test_ledger_an_amount_whose_currency_marker_disagrees_is_quarantined(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, amount: str, reason: str
) -> None:
    load_csv(con, tmp_path, [row(amount=amount, currency="USD")])
    assert only_reason(con) == reason


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("$24.13", "USD", "24.13"),
        ("24.13 USD", "USD", "24.13"),
        ("usd 24.13", "USD", "24.13"),
        ("-$24.13", "USD", "-24.13"),
        ("$24.13", "CAD", "24.13"),  # a dollar sign is every dollar's
        ("$2,413", "MXN", "2413"),  # and the peso's
        ("€48.25", "EUR", "48.25"),
        ("£5.00", "GBP", "5.00"),
        ("¥500", "JPY", "500"),
        ("¥500", "CNY", "500"),
        ("₩500", "KRW", "500"),
        ("₹5.00", "INR", "5.00"),
    ],
)
def test_ledger_an_amount_whose_currency_marker_agrees_is_accepted(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, amount: str, currency: str, expected: str
) -> None:
    load_csv(con, tmp_path, [row(amount=amount, currency=currency)])
    assert only_usable(con)[4] == Decimal(expected)


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_ledger_a_mapped_column_twice_in_the_header_is_refused(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, kind: str
) -> None:
    names = ("Entry ID", *FIELDS[1:], "Entry ID")
    columns = {"entry_id": "Entry ID"}
    values = [{**row(), "Entry ID": "LE-1"}]
    if kind == "csv":
        write_csv(csv_day(tmp_path), values, fieldnames=names)
        settings = make_config(tmp_path, columns=columns)
    else:
        write_xlsx(xlsx_day(tmp_path), values, fieldnames=names)
        settings = make_config(tmp_path, "ledger-{date}.xlsx", columns=columns)
    message = expect_input_error(
        con, settings, f"ledger-2026-04-14.{kind}", "'Entry ID'", "2 times"
    )
    assert "\n" not in message


LEDGER_SECRET = "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def ledger_symlink_to_a_secret(folder: Path) -> Path:
    """The day's export, a symlink to a file that is no ledger and holds a secret."""
    secret = folder / "secrets.env"
    secret.write_text(f"{LEDGER_SECRET}\nDB_PASSWORD=hunter2,really\n", encoding="utf-8")
    csv_day(folder).symlink_to(secret)
    return csv_day(folder)


def test_ledger_a_symlink_to_a_file_that_is_no_ledger_is_not_quoted(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    ledger_symlink_to_a_secret(tmp_path)
    message = expect_input_error(
        con,
        make_config(tmp_path),
        "ledger-2026-04-14.csv",
        "no column 'entry_id' (ledger.columns.entry_id)",
        "'booked_at'",  # what the header should have, all of it
    )
    assert "wJalrXUtnFEMI" not in message and "AWS_SECRET" not in message
    assert "hunter2" not in message


def test_ledger_doctor_does_not_quote_a_file_that_is_no_ledger(tmp_path: Path) -> None:
    ledger_symlink_to_a_secret(tmp_path)
    status, message = doctor._ledger(make_config(tmp_path), DAY)
    assert status == "fail"
    assert "ledger-2026-04-14.csv" in message and "'entry_id'" in message
    assert "wJalrXUtnFEMI" not in message and "AWS_SECRET" not in message


def test_ledger_header_names_are_cut_short_when_quoted(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    # a real header with one column missing is shown, to find the rename; a long cell is cut
    long = "x" * 500
    write_csv(csv_day(tmp_path), [row()], fieldnames=(*FIELDS[:-1], long))
    message = expect_input_error(
        con, make_config(tmp_path), "'entry_id', 'order_id'", "'booked_at'"
    )
    assert long not in message
    assert len(message) < 400


def ledger_zip_bomb(path: Path, unpacked_mb: int) -> Path:
    """A real workbook whose sheet XML is padded with `unpacked_mb` MB of blanks: a small file
    that unpacks to far more."""
    write_xlsx(path, [row()])
    with zipfile.ZipFile(path) as source:
        members = {info.filename: source.read(info) for info in source.infolist()}
    padding = b" " * (unpacked_mb * 2**20)
    sheet = "xl/worksheets/sheet1.xml"
    members[sheet] = members[sheet].replace(b"</worksheet>", padding + b"</worksheet>")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as target:
        for name, data in members.items():
            target.writestr(name, data)
    return path


def test_ledger_an_xlsx_that_unpacks_past_the_cap_is_refused_before_it_is_read(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    bomb = ledger_zip_bomb(xlsx_day(tmp_path), 50)
    assert bomb.stat().st_size < 2**20
    settings = dataclasses.replace(make_config(tmp_path, "ledger-{date}.xlsx"), max_unpacked_mb=10)
    message = expect_input_error(
        con, settings, "ledger-2026-04-14.xlsx", "unpacks to 50 MB", "max_unpacked_mb = 10"
    )
    assert "\n" not in message
    with pytest.raises(InputError, match="max_unpacked_mb = 10"):
        ledger.header(bomb, None, 10)  # what recon doctor reads
    # under the cap, the same workbook reads
    assert load_ledger(con, dataclasses.replace(settings, max_unpacked_mb=64)).usable == 1


@pytest.mark.parametrize("value", [0, -1])
def test_ledger_max_unpacked_mb_must_be_at_least_one(value: int) -> None:
    with pytest.raises(ConfigError, match=r"\[ledger\] max_unpacked_mb must be at least 1"):
        config.from_dict({"ledger": {"path": "ledger-{date}.xlsx", "max_unpacked_mb": value}})
    assert config.from_dict({"ledger": {}}).ledger.max_unpacked_mb == 512


@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize("control", ["\x00", "\x07", "\x1b", "\x7f", "\x85"])
def test_ledger_a_control_character_in_any_field_quarantines_the_row(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, field: str, control: str
) -> None:
    value = row()[field]
    load_csv(con, tmp_path, [row(**{field: value[:3] + control + value[3:]})])
    assert only_reason(con) == f"control character in {field}"


@pytest.mark.parametrize("kind", ["jsonl", "xlsx"])
def test_ledger_a_nul_inside_an_amount_is_no_amount_in_any_format(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, kind: str
) -> None:
    if kind == "jsonl":
        text = json.dumps(row(amount="289\x00.50"))  # written as \u0000
        (tmp_path / "ledger-2026-04-14.jsonl").write_text(text + "\n")
    else:
        # XML holds no NUL: a workbook writes it as Excel's escape, which the reader undoes
        write_xlsx(xlsx_day(tmp_path), [row(amount="289_x0000_.50")])
    load_ledger(con, make_config(tmp_path, f"ledger-{{date}}.{kind}"))
    assert only_reason(con) == "control character in amount"


@pytest.mark.parametrize(
    ("booked_at", "timezone"),
    [
        ("2026-03-29 02:30", "Europe/Berlin"),  # the clocks go from 02:00 to 03:00
        ("2026-03-29 02:00:00", "Europe/Berlin"),
        ("2026-03-08 02:15:00", "America/New_York"),
    ],
)
def test_ledger_a_local_time_in_a_dst_gap_is_quarantined(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, booked_at: str, timezone: str
) -> None:
    load_csv(con, tmp_path, [row(booked_at=booked_at)], timezone=timezone)
    assert only_reason(con) == (
        f"booked at a local time that does not exist in {timezone} (clocks moved forward)"
    )


@pytest.mark.parametrize(
    ("booked_at", "expected"),
    [
        ("2026-03-29 01:59:59", datetime(2026, 3, 29, 0, 59, 59)),  # the last second before
        ("2026-03-29 03:00", datetime(2026, 3, 29, 1, 0)),  # the first after
        ("2026-03-29 02:30+02:00", datetime(2026, 3, 29, 0, 30)),  # an offset says which
        # twice, not never: kept as it was typed before (the later, in winter time)
        ("2026-10-25 02:30", datetime(2026, 10, 25, 1, 30)),
    ],
)
def test_ledger_local_times_around_a_dst_gap_are_typed(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, booked_at: str, expected: datetime
) -> None:
    load_csv(con, tmp_path, [row(booked_at=booked_at)], timezone="Europe/Berlin")
    assert only_usable(con)[7] == expected


@pytest.mark.parametrize(
    ("booked_at", "reason"),
    [
        ("9999-12-31", "booked more than a year after the export"),
        ("2027-04-15 00:00:00Z", "booked more than a year after the export"),
        ("1999-12-31 23:59:59Z", "booked before 2000"),
        ("1970-01-01 00:00:00", "booked before 2000"),
    ],
)
def test_ledger_a_booking_date_far_from_the_export_is_quarantined(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, booked_at: str, reason: str
) -> None:
    load_csv(con, tmp_path, [row(booked_at=booked_at)])
    assert only_reason(con) == reason


@pytest.mark.parametrize("booked_at", ["2000-01-01 00:00:00Z", "2027-04-14 23:59:59Z"])
def test_ledger_the_booking_window_ends_are_accepted(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, booked_at: str
) -> None:
    load_csv(con, tmp_path, [row(booked_at=booked_at)])
    assert only_usable(con)[0] == 2


LEDGER_HEADER = ",".join(FIELDS)


def ledger_lines(count: int) -> list[str]:
    return [f"LE-{n},ord_{n},po-{n},10.00,USD,delivered,2026-04-14 10:00:00" for n in range(count)]


def ledger_csv_error(con: duckdb.DuckDBPyConnection, folder: Path, content: bytes) -> str:
    csv_day(folder).write_bytes(content)
    message = expect_input_error(con, make_config(folder), "ledger-2026-04-14.csv")
    assert "\n" not in message
    for duckdb_words in ("CSV Error", "Binder Error", "position", "Original Line"):
        assert duckdb_words not in message
    return message


def ledger_text(lines: list[str]) -> bytes:
    return ("\n".join([LEDGER_HEADER, *lines]) + "\n").encode()


def test_ledger_a_csv_line_too_long_is_named_by_its_line(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    lines = ledger_lines(40)
    lines[27] = lines[27].replace("po-27", "po-" + "x" * 3_000_000)  # line 29 of the file
    message = ledger_csv_error(con, tmp_path, ledger_text(lines))
    assert "line 29 is 3,000,05" in message and "bytes long" in message
    assert len(message) < 300


def test_ledger_a_csv_quote_never_closed_is_named_by_its_line(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    lines = ledger_lines(40)
    lines[10] = lines[10].replace("po-10", '"po-10')  # line 12
    message = ledger_csv_error(con, tmp_path, ledger_text(lines))
    assert "line 12 opens a quoted field that is never closed" in message


@pytest.mark.parametrize(("index", "line"), [(19, 21), (None, 1)])
def test_ledger_a_csv_byte_that_is_not_utf8_is_named_by_its_line(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, index: int | None, line: int
) -> None:
    text = ledger_text(ledger_lines(40)).split(b"\n")
    if index is None:
        text[0] = text[0].replace(b"reference", "référence".encode("latin-1"))
    else:
        text[index + 1] = text[index + 1].replace(b"po-", "pö-".encode("latin-1"))
    message = ledger_csv_error(con, tmp_path, b"\n".join(text))
    assert f"line {line} is not UTF-8 text (byte 0x" in message


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda text: text.rsplit(",", 1)[0], "line 7 has 6 fields, the header 7"),
        (lambda text: text + ",extra", "line 7 has 8 fields, the header 7"),
        (lambda text: "   ", "line 7 has 1 field, the header 7"),
    ],
)
def test_ledger_a_csv_record_of_the_wrong_width_is_named_by_its_line(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, change: Any, expected: str
) -> None:
    lines = ledger_lines(40)
    lines[5] = change(lines[5])
    assert expected in ledger_csv_error(con, tmp_path, ledger_text(lines))


def test_ledger_a_csv_width_error_after_a_field_spanning_lines_counts_the_file_lines(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    lines = ledger_lines(10)
    lines[1] = lines[1].replace("po-1", '"po\n-1"')  # lines 3 and 4
    lines[5] = lines[5] + ",extra"  # line 8
    message = ledger_csv_error(con, tmp_path, ledger_text(lines))
    assert "line 8 has 8 fields" in message


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_ledger_csv_lines_are_the_file_lines_after_blank_lines_and_fields_spanning_lines(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, newline: str
) -> None:
    lines = ledger_lines(3000)
    lines[3] += newline  # a blank line after line 5
    lines[100] = lines[100].replace("po-100", f'"po{newline}-100"')  # a control character
    lines[200] = lines[200].replace("po-200", 'po"200')  # a lone quote inside a field is text
    lines[2000] = lines[2000].replace("10.00", "oops")
    text = newline.join([LEDGER_HEADER, *lines]) + newline + newline  # and a blank line at the end
    csv_day(tmp_path).write_bytes(text.encode())
    result = load_ledger(con, make_config(tmp_path))
    assert (result.rows, result.quarantined) == (3000, 2)
    physical = {
        entry: number
        for number, text_line in enumerate(text.split(newline), start=1)
        if (entry := text_line.split(",")[0]).startswith("LE-")
    }
    lines_by_id = dict(con.sql("SELECT entry_id, line FROM ledger_rows").fetchall())
    assert lines_by_id == physical
    assert con.sql("SELECT line, entry_id, reason FROM quarantine ORDER BY line").fetchall() == [
        (physical["LE-100"], "LE-100", "control character in reference"),
        (physical["LE-2000"], "LE-2000", "unparsable amount"),
    ]


def test_doctor_reads_a_debit_credit_header_with_its_delimiter(tmp_path: Path) -> None:
    """`recon doctor` reads the header as ingest does: with [ledger] delimiter, and the mapped
    columns being debit and credit rather than amount; a ';' file read with ',' says so."""
    sided = ("entry_id", "order_id", "reference", "debit", "credit", "currency", "status")
    write_csv(csv_day(tmp_path), [], (*sided, "booked_at"), delimiter=";")
    columns = {"debit": "debit", "credit": "credit"}
    status, message = doctor._ledger(make_config(tmp_path, columns=columns, delimiter=";"), DAY)
    assert (status, message) == ("ok", f"{csv_day(tmp_path)}: the header has the 8 mapped columns")
    status, message = doctor._ledger(make_config(tmp_path, columns=columns), DAY)
    assert status == "fail"
    assert 'set [ledger] delimiter = ";"' in message
