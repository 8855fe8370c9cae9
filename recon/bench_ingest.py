"""`recon bench ingest`: the partner's ledger export, a CSV of N rows, read and typed.

    recon bench ingest --rows 10000000

The export is the ledger of `recon bench diff`'s synthetic books, written as CSV the way a
partner's system would (amounts with their currency's decimals, naive timestamps), so a share
of its rows are breaks and none is malformed. Each in its own process, median of `repeat`:

* recon: `recon.ledger.load`, every column read as text, then typed and validated by
  `sql/ingest/ledger.sql` (a row that cannot be used is set apart with its reason);
* duckdb: DuckDB's own `read_csv` with the column types given, into a table: the floor, which
  validates nothing and would stop at the first bad row;
* pandas: `read_csv` with the types given, as a user would write it (text, then exact
  `Decimal` amounts and parsed timestamps).
"""

from __future__ import annotations

import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from recon import ledger
from recon.bench import child, figure_row, peak_rss_mb, summary
from recon.bench_diff import _LEDGER, _ORDERS, DAY

TYPES = ledger.TYPED


def write_export(folder: Path, rows: int) -> Path:
    """A CSV ledger export of `rows` rows for DAY, and the recon.toml that reads it. The books'
    ledger has a row for each of their orders: fewer never booked, as many booked twice or with
    no order, so `rows` orders give `rows` rows."""
    import duckdb

    export = folder / f"ledger-{DAY}.csv"
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"CREATE TABLE orders AS {_ORDERS.format(day=DAY, n=rows)}")
        con.execute(
            "COPY (SELECT entry_id, order_id, reference, CAST(amount AS DECIMAL(18, 2)) AS amount,"
            f" currency, status, booked_at FROM ({_LEDGER.format(day=DAY, n=rows)}))"
            f" TO '{export}' (FORMAT csv, HEADER true)"
        )
    config_file = folder / "recon.toml"
    config_file.write_text(
        '[storage]\ndata_dir = "var"\n[ledger]\npath = "ledger-{date}.csv"\n'
        '[ledger.status_map]\ndelivered = "DELIVERED"\ncancelled = "CANCELLED"\n'
    )
    return config_file


# -- the measured processes ---------------------------------------------------------------------


def measure_recon(config_file: Path) -> dict[str, Any]:
    from recon import checks, config, ledger

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


# -- the parent ---------------------------------------------------------------------------------


@dataclasses.dataclass
class IngestBench:
    rows: int
    recon: dict[str, Any]
    duckdb: dict[str, Any]
    pandas: dict[str, Any] | None

    def lines(self) -> list[str]:
        def row(name: str, figures: dict[str, Any]) -> str:
            return figure_row(name, figures, "rows")

        lines = [
            f"recon bench ingest: a CSV ledger export of {self.recon['rows']:,} rows, "
            f"median of {self.recon['runs']}",
            row("recon", self.recon) + "  (typed, validated, quarantine)",
            row("duckdb", self.duckdb) + "  (read_csv with types: the floor)",
        ]
        if self.pandas:
            lines.append(row("pandas", self.pandas) + "  (read_csv, Decimal, to_datetime)")
            ratio = self.pandas["median_seconds"] / self.recon["median_seconds"]
            lines.append(f"  pandas takes {ratio:.1f}x recon's time")
        return lines


def bench_ingest(
    rows: int, repeat: int = 3, baseline: bool = True, progress: Any = None
) -> IngestBench:
    say = progress or (lambda _: None)
    with tempfile.TemporaryDirectory(prefix="recon-bench-ingest-") as folder:
        say(f"writing a CSV ledger export of about {rows:,} rows")
        config_file = str(write_export(Path(folder), rows))
        runs: dict[str, list[dict[str, Any]]] = {"recon": [], "duckdb": [], "pandas": []}
        for number in range(repeat):
            for tool in runs if baseline else ("recon", "duckdb"):
                say(f"{tool}, run {number + 1} of {repeat}")
                runs[tool].append(child(tool, config_file, module="recon.bench_ingest"))
    recon = {**summary(runs["recon"]), "quarantined": runs["recon"][0]["quarantined"]}
    return IngestBench(
        recon["rows"],
        recon,
        summary(runs["duckdb"]),
        summary(runs["pandas"]) if baseline else None,
    )


def main(argv: list[str]) -> None:
    tool, config_file = argv
    measure = {"recon": measure_recon, "duckdb": measure_duckdb, "pandas": measure_pandas}[tool]
    print(json.dumps(measure(Path(config_file))))  # noqa: T201 (the parent reads this line)


if __name__ == "__main__":
    main(sys.argv[1:])
