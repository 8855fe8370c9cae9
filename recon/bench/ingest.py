"""`recon bench ingest`: the partner's ledger export, a CSV (or XLSX) of N rows, read and typed.

    recon bench ingest --rows 10000000
    recon bench ingest --rows 1000000 --format xlsx

The export is the ledger of `recon bench diff`'s synthetic books, written the way a partner's
system would (amounts with their currency's decimals, naive timestamps), so a share of its rows
are breaks and none is malformed. As XLSX, amounts are number cells and timestamps date cells,
as a finance system's spreadsheet has them. Each in its own process, median of `repeat`:

* recon: `recon.ledger.load`, every column read as text, then typed and validated by
  `sql/ingest/ledger.sql` (a row that cannot be used is set apart with its reason);
* CSV, duckdb: DuckDB's own `read_csv` with the column types given, into a table: the floor,
  which validates nothing and would stop at the first bad row;
* CSV, pandas: `read_csv` with the types given, as a user would write it (text, then exact
  `Decimal` amounts and parsed timestamps);
* XLSX, calamine and openpyxl: `pandas.read_excel` of the sheet through each engine, read as
  recon reads it (every cell as the engine gives it) and nothing more: the choice of engine.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from recon import ledger
from recon.bench.diff import DAY, ledger_sql, orders_sql
from recon.bench.measure import child, figure_row, peak_rss_mb, summary
from recon.vocabulary import LEDGER_COLUMNS

TYPES = LEDGER_COLUMNS
FORMATS = ("csv", "xlsx")
ENGINES = ("calamine", "openpyxl")  # pandas.read_excel's engines for .xlsx


def write_export(folder: Path, rows: int, export_format: str = "csv") -> Path:
    """A ledger export of `rows` rows for DAY, and the recon.toml that reads it. The books'
    ledger has a row for each of their orders: fewer never booked, as many booked twice or with
    no order, so `rows` orders give `rows` rows."""
    import duckdb

    export = folder / f"ledger-{DAY}.{export_format}"
    select = (
        "SELECT entry_id, order_id, reference, CAST(amount AS DECIMAL(18, 2)) AS amount,"
        f" currency, status, booked_at FROM ({ledger_sql(DAY, rows)})"
    )
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"CREATE TABLE orders AS {orders_sql(DAY, rows)}")
        if export_format == "xlsx":
            _write_xlsx(con.execute(select), export)
        else:
            con.execute(f"COPY ({select}) TO '{export}' (FORMAT csv, HEADER true)")
    config_file = folder / "recon.toml"
    config_file.write_text(
        f'[storage]\ndata_dir = "var"\n[ledger]\npath = "ledger-{{date}}.{export_format}"\n'
        '[ledger.status_map]\ndelivered = "DELIVERED"\ncancelled = "CANCELLED"\n'
    )
    return config_file


def _write_xlsx(cursor: Any, export: Path) -> None:
    """The rows of `cursor` as one sheet: a number cell per amount (xlsxwriter writes the
    Decimal's digits; the reader gets them back as a double, as from any spreadsheet), a date
    cell per timestamp, text for the rest."""
    import xlsxwriter

    book = xlsxwriter.Workbook(export, {"constant_memory": True})  # row by row, not in memory
    sheet = book.add_worksheet("Ledger")
    when = book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    sheet.write_row(0, 0, list(TYPES))
    number = 0
    while batch := cursor.fetchmany(100_000):
        for entry_id, order_id, reference, amount, currency, status, booked_at in batch:
            number += 1
            sheet.write_string(number, 0, entry_id)
            sheet.write_string(number, 1, order_id)
            sheet.write_string(number, 2, reference)
            sheet.write_number(number, 3, amount)
            sheet.write_string(number, 4, currency)
            sheet.write_string(number, 5, status)
            sheet.write_datetime(number, 6, datetime.fromisoformat(booked_at), when)
    book.close()


# -- the measured processes ---------------------------------------------------------------------


def measure_recon(config_file: Path) -> dict[str, Any]:
    from recon import checks, config

    settings = config.load(config_file)
    with checks.connect(settings) as con:
        con.execute("SET TimeZone = 'UTC'")
        started = time.perf_counter()
        load = ledger.load(con, settings.ledger, DAY)
        seconds = time.perf_counter() - started
    return {
        "rows": load.rows,
        "seconds": seconds,
        "peak_rss_mb": peak_rss_mb(),
        "quarantined": load.quarantined,
    }


def measure_duckdb(config_file: Path) -> dict[str, Any]:
    import duckdb

    export = config_file.parent / f"ledger-{DAY}.csv"
    columns = "{" + ", ".join(f"'{name}': '{kind}'" for name, kind in TYPES.items()) + "}"
    with duckdb.connect() as con:
        started = time.perf_counter()
        con.execute(
            f"CREATE TABLE ledger AS SELECT * FROM read_csv('{export}', header = true, "
            f"columns = {columns})"
        )
        seconds = time.perf_counter() - started
        [(rows,)] = con.sql("SELECT count(*) FROM ledger").fetchall()
    return {"rows": rows, "seconds": seconds, "peak_rss_mb": peak_rss_mb()}


def measure_pandas(config_file: Path) -> dict[str, Any]:
    from decimal import Decimal

    import pandas as pd

    export = config_file.parent / f"ledger-{DAY}.csv"
    started = time.perf_counter()
    frame = pd.read_csv(export, dtype=str, keep_default_na=False)
    frame["amount"] = frame["amount"].map(Decimal)  # exact: never through float
    frame["booked_at"] = pd.to_datetime(frame["booked_at"], format="%Y-%m-%d %H:%M:%S")
    seconds = time.perf_counter() - started
    return {"rows": len(frame), "seconds": seconds, "peak_rss_mb": peak_rss_mb()}


def measure_engine(config_file: Path, engine: str) -> dict[str, Any]:
    import pandas as pd

    export = config_file.parent / f"ledger-{DAY}.xlsx"
    started = time.perf_counter()
    # the call recon.ledger makes: the whole sheet, header row included, every cell as it is
    frame = pd.read_excel(
        export, engine=engine, header=None, dtype=object, keep_default_na=False, na_values=[]
    )
    seconds = time.perf_counter() - started
    return {"rows": len(frame) - 1, "seconds": seconds, "peak_rss_mb": peak_rss_mb()}


# -- the parent ---------------------------------------------------------------------------------


@dataclasses.dataclass
class IngestBench:
    rows: int
    recon: dict[str, Any]
    duckdb: dict[str, Any] | None  # CSV: DuckDB's typed read_csv, the floor
    pandas: dict[str, Any] | None  # CSV: pandas' read_csv, Decimal, to_datetime
    export_format: str = "csv"
    calamine: dict[str, Any] | None = None  # XLSX: pandas.read_excel through each engine
    openpyxl: dict[str, Any] | None = None

    def lines(self) -> list[str]:
        def row(name: str, figures: dict[str, Any]) -> str:
            return figure_row(name, figures, "rows")

        lines = [
            f"recon bench ingest: {_an_export(self.export_format)} of {self.recon['rows']:,} "
            f"rows, median of {self.recon['runs']}",
            row("recon", self.recon) + "  (typed, validated, quarantine)",
        ]
        if self.duckdb:
            lines.append(row("duckdb", self.duckdb) + "  (read_csv with types: the floor)")
        if self.pandas:
            lines.append(row("pandas", self.pandas) + "  (read_csv, Decimal, to_datetime)")
            ratio = self.pandas["median_seconds"] / self.recon["median_seconds"]
            lines.append(f"  pandas takes {ratio:.1f}x recon's time")
        for engine in ENGINES:
            figures = getattr(self, engine)
            if figures:
                lines.append(row(engine, figures) + f"  (read_excel, engine={engine!r}: read only)")
        if self.calamine and self.openpyxl:
            ratio = self.openpyxl["median_seconds"] / self.calamine["median_seconds"]
            lines.append(f"  openpyxl takes {ratio:.1f}x calamine's time to read the sheet")
        return lines


def _an_export(export_format: str) -> str:
    return "an XLSX ledger export" if export_format == "xlsx" else "a CSV ledger export"


def bench_ingest(
    rows: int,
    repeat: int = 3,
    baseline: bool = True,
    progress: Any = None,
    export_format: str = "csv",
) -> IngestBench:
    if export_format not in FORMATS:
        raise ValueError(f"export_format {export_format!r}: one of {FORMATS}")
    say = progress or (lambda _: None)
    tools: tuple[str, ...]
    if export_format == "xlsx":
        tools = ("recon", *ENGINES) if baseline else ("recon",)
    else:
        tools = ("recon", "duckdb", "pandas") if baseline else ("recon", "duckdb")
    with tempfile.TemporaryDirectory(prefix="recon-bench-ingest-") as folder:
        say(f"writing {_an_export(export_format)} of about {rows:,} rows")
        config_file = str(write_export(Path(folder), rows, export_format))
        runs: dict[str, list[dict[str, Any]]] = {tool: [] for tool in tools}
        for number in range(repeat):
            for tool in tools:
                say(f"{tool}, run {number + 1} of {repeat}")
                runs[tool].append(child(tool, config_file, module="recon.bench.ingest"))
    recon = {**summary(runs["recon"]), "quarantined": runs["recon"][0]["quarantined"]}
    figures = {tool: summary(each) for tool, each in runs.items() if tool != "recon"}
    return IngestBench(
        recon["rows"],
        recon,
        figures.get("duckdb"),
        figures.get("pandas"),
        export_format,
        figures.get("calamine"),
        figures.get("openpyxl"),
    )


def main(argv: list[str]) -> None:
    tool, config_file = argv
    if tool in ENGINES:
        figures = measure_engine(Path(config_file), tool)
    else:
        measure = {"recon": measure_recon, "duckdb": measure_duckdb, "pandas": measure_pandas}
        figures = measure[tool](Path(config_file))
    print(json.dumps(figures))  # noqa: T201 (the parent reads this line)


if __name__ == "__main__":
    main(sys.argv[1:])
