"""`recon bench diff`: the diff of N Starship orders against an N-row ledger, beside pandas.

    recon bench diff --orders 1000000 --repeat 3

Synthetic books are written once, by DuckDB, straight into a lake (with manifests) and a
Parquet ledger export, with a realistic share of breaks: ~1% of orders never booked, ~1% of
entries with no order, ~0.5% amount drift, ~0.2% booked in another currency, cancelled orders
booked as delivered, entries booked twice, retried orders, and a wallet below its floor.
Then, each in its own process, median of `repeat`:

* recon: `recon.pipeline.diff` (ledger ingest, every check, the break history);
* pandas: what a user would otherwise write (`merge(indicator=True)` and group-bys) for the
  checks both can do: missing on either side, amount, currency and status drift, duplicate
  entries and orders. Its counts must equal recon's, so the comparison is fair;
* datacompy: its `PandasCompare` of the amounts, joined on the order id; its amount drift and
  entries without an order must equal recon's;
* the DuckDB floor: the pandas baseline's seven counts as one hand-written DuckDB statement
  over the same two Parquet files (a window for duplicates, one full outer join, the
  comparisons as filtered counts). recon does more (every check, ingest validation, the
  history, conservation), but its time as a multiple of this one is the figure to drive down.

recon runs under its default `[storage] memory_limit`, as a nightly run would.
"""

from __future__ import annotations

import dataclasses
import json
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

from recon.bench.measure import child, figure_row, peak_rss_mb, summary

DAY = date(2026, 4, 14)
COMPARED = (
    "missing_in_ledger",
    "missing_at_starship",
    "amount_mismatch",
    "currency_mismatch",
    "status_mismatch",
    "duplicate_ledger_entry",
    "duplicate_order",
)

# Order i of the synthetic day, by its number; every rate is a share of N.
_ORDERS = """
SELECT
    'ord_' || lpad(CAST(i AS VARCHAR), 10, '0') AS order_id,
    CASE WHEN i % 500 = 3 THEN 'CANCELLED' ELSE 'DELIVERED' END AS status,
    CASE WHEN i % 500 = 3 THEN 'REFUNDED' ELSE 'COMPLETED' END AS sub_status,
    'gift-' || (i % 7) AS product_id,
    CAST(['10.00', '25.00', '50.00', '100.00'][i % 4 + 1] AS DECIMAL(18, 4)) AS denomination,
    CAST(i % 3 + 1 AS INTEGER) AS quantity,
    CAST(['10.00', '25.00', '50.00', '100.00'][i % 4 + 1] AS DECIMAL(18, 4)) * (i % 3 + 1)
        AS total_amount,
    ['USD', 'EUR'][i % 2 + 1] AS currency,
    'cache' AS fulfilled_from,
    -- every 1000th order is a retry of the one before: the same reference
    'po-' || CASE WHEN i % 1000 = 11 THEN i - 1 ELSE i END AS client_reference,
    TIMESTAMPTZ '{day} 00:00:00+00' + to_microseconds(CAST(i * (86000000000 // {n}) AS BIGINT))
        AS created_at,
    TIMESTAMPTZ '{day} 00:00:00+00' + to_microseconds(CAST(i * (86000000000 // {n}) AS BIGINT))
        AS updated_at,
    CAST(i % 3 + 1 AS INTEGER) AS item_count,
    CAST(i % 3 + 1 AS INTEGER) AS delivered_item_count,
    'bench' AS trace_id
FROM range({n}) AS t(i)
"""

_LEDGER = """
SELECT
    'LE-' || i AS entry_id,
    order_id,
    client_reference AS reference,
    CASE WHEN i % 200 = 5 THEN total_amount + 0.05 ELSE total_amount END AS amount,
    CASE WHEN i % 500 = 7 THEN 'GBP' ELSE currency END AS currency,
    CASE WHEN status = 'CANCELLED' AND i % 1000 = 3 THEN 'delivered'
        WHEN status = 'CANCELLED' THEN 'cancelled' ELSE 'delivered' END AS status,
    strftime(created_at + INTERVAL 40 SECOND, '%Y-%m-%d %H:%M:%S') AS booked_at
FROM (SELECT *, CAST(substr(order_id, 5) AS BIGINT) AS i FROM orders)
WHERE i % 100 <> 9 AND i % 1000 <> 11            -- never booked; the retries
UNION ALL                                        -- entries booked twice
SELECT 'LE-dup-' || i, order_id, client_reference, total_amount, currency, 'delivered',
    strftime(created_at, '%Y-%m-%d %H:%M:%S')
FROM (SELECT *, CAST(substr(order_id, 5) AS BIGINT) AS i FROM orders)
WHERE i % 1000 = 17
UNION ALL                                        -- entries Starship has no order for
SELECT 'LE-ghost-' || i, 'ord_ghost_' || i, 'po-ghost-' || i, CAST('20.00' AS DECIMAL(18, 4)),
    'USD', 'delivered', '{day} 12:00:00'
FROM range({n} // 100) AS t(i)
"""

_TRANSACTIONS = """
SELECT
    transaction_id, type, order_id, amount, currency,
    CAST(sum(amount) OVER (PARTITION BY currency ORDER BY created_at, transaction_id)
        AS DECIMAL(18, 4)) AS balance_after,
    created_at, 'bench' AS trace_id
FROM (
    SELECT 'txn_top_' || currency AS transaction_id, 'TOPUP' AS type, NULL AS order_id,
        CAST(1000000000 AS DECIMAL(18, 4)) AS amount, currency,
        TIMESTAMPTZ '{day} 00:00:00+00' AS created_at
    FROM (VALUES ('USD'), ('EUR')) AS c(currency)
    UNION ALL
    SELECT 'txn_d_' || order_id, 'ORDER_DEBIT', order_id, -total_amount, currency, created_at
    FROM orders
    UNION ALL
    SELECT 'txn_r_' || order_id, 'REFUND', order_id, total_amount, currency,
        created_at + INTERVAL 1 MINUTE
    FROM orders WHERE status = 'CANCELLED'
)
"""


def write_books(folder: Path, orders: int) -> Path:
    """The lake and the ledger export of DAY, and the recon.toml that reads them."""
    import duckdb
    import pyarrow as pa
    import pyarrow.parquet as pq

    from recon.lake import DATASETS, MANIFEST_KEY, Lake

    lake = Lake(folder / "var" / "lake")
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"CREATE TABLE orders AS {_ORDERS.format(day=DAY, n=orders)}")
        queries = {
            "orders": "SELECT * FROM orders ORDER BY created_at, order_id",
            "transactions": _TRANSACTIONS.format(day=DAY) + " ORDER BY created_at, transaction_id",
            "wallets": "SELECT 'USD' AS currency, 'wal_usd' AS wallet_id, "
            "CAST(500 AS DECIMAL(18, 4)) AS balance",
        }
        for name, query in queries.items():
            schema = DATASETS[name].schema
            path = lake.part(name, DAY)
            path.parent.mkdir(parents=True, exist_ok=True)
            reader = con.sql(query).to_arrow_reader(100_000)
            with pq.ParquetWriter(path, schema) as writer:
                for batch in reader:
                    columns = [
                        batch.column(f.name) if f.name in batch.schema.names else None
                        for f in schema
                    ]
                    arrays = [
                        c if c is not None else pa.nulls(batch.num_rows, f.type)
                        for c, f in zip(columns, schema, strict=True)
                    ]
                    writer.write_batch(
                        pa.RecordBatch.from_arrays(arrays, schema=schema).cast(schema)
                    )
                writer.add_key_value_metadata(
                    {MANIFEST_KEY: json.dumps({"dataset": name, "complete": True})}
                )
        ledger = folder / f"ledger-{DAY}.parquet"
        con.execute(f"COPY ({_LEDGER.format(day=DAY, n=orders)}) TO '{ledger}' (FORMAT parquet)")
    config_file = folder / "recon.toml"
    config_file.write_text(
        '[starship]\nlookback_days = 1\n[storage]\ndata_dir = "var"\n'
        '[ledger]\npath = "ledger-{date}.parquet"\n'
        '[ledger.status_map]\ndelivered = "DELIVERED"\ncancelled = "CANCELLED"\n'
        '[checks.low_wallet_balance]\nUSD = "1000.00"\n'
    )
    return config_file


# -- the measured processes ---------------------------------------------------------------------


def measure_recon(config_file: Path) -> dict[str, Any]:
    from recon import config, pipeline

    settings = config.load(config_file)
    started = time.perf_counter()
    night = pipeline.diff(settings, DAY)
    seconds = time.perf_counter() - started
    counts = night.diff.by_check()
    return {
        "seconds": seconds,
        "peak_rss_mb": peak_rss_mb(),
        "rows": night.diff.counts["starship_orders"],
        "counts": {check: counts[check] for check in COMPARED},
        "memory_limit": settings.storage.memory_limit,
        "profile": {
            **night.diff.seconds,
            "the rest (connections, lake views, results)": seconds
            - sum(night.diff.seconds.values()),
        },
    }


def measure_pandas(config_file: Path) -> dict[str, Any]:
    """The checks as a pandas user writes them, on the same Parquet files."""
    import pandas as pd

    folder = config_file.parent
    started = time.perf_counter()
    orders = pd.read_parquet(folder / "var" / "lake" / "orders" / f"date={DAY}" / "part.parquet")
    ledger = pd.read_parquet(folder / f"ledger-{DAY}.parquet")
    ledger["status"] = ledger["status"].str.upper()

    duplicate_entries = ledger.duplicated("order_id", keep="first")
    booked = ledger[~duplicate_entries]
    merged = orders.merge(booked, on="order_id", how="outer", indicator=True)
    is_booked = merged["_merge"] == "both"
    starship = merged[merged["_merge"] != "right_only"].sort_values(
        ["client_reference", "_merge", "created_at", "order_id"],
        ascending=[True, False, True, True],
    )
    duplicate_orders = starship.duplicated("client_reference", keep="first")
    both = merged[is_booked]
    same_currency = both["currency_x"] == both["currency_y"]
    ledger_status = (
        both["status_x"].map({"DELIVERED": "DELIVERED", "CANCELLED": "CANCELLED"}).fillna("PENDING")
    )
    counts = {
        "missing_in_ledger": int(((starship["_merge"] == "left_only") & ~duplicate_orders).sum()),
        "missing_at_starship": int((merged["_merge"] == "right_only").sum()),
        "amount_mismatch": int((same_currency & (both["total_amount"] != both["amount"])).sum()),
        "currency_mismatch": int((~same_currency).sum()),
        "status_mismatch": int((ledger_status != both["status_y"]).sum()),
        "duplicate_ledger_entry": int(duplicate_entries.sum()),
        "duplicate_order": int(duplicate_orders.sum()),
    }
    return {
        "seconds": time.perf_counter() - started,
        "peak_rss_mb": peak_rss_mb(),
        "rows": len(orders),
        "counts": counts,
    }


# The pandas baseline above, as one statement: the same rules, so the same counts.
_FLOOR = """
WITH ledger AS (
    SELECT *, upper(status) AS booked_status,
        row_number() OVER (PARTITION BY order_id ORDER BY file_row_number) AS nth
    FROM read_parquet($ledger, file_row_number = true)
),
joined AS (
    SELECT o.order_id AS ours, o.client_reference, o.created_at, o.total_amount,
        o.currency AS charged_in, o.status, l.order_id AS theirs, l.amount,
        l.currency AS booked_in, l.booked_status
    FROM read_parquet($orders) AS o
    FULL OUTER JOIN (SELECT * FROM ledger WHERE nth = 1) AS l ON o.order_id = l.order_id
),
ranked AS (
    SELECT *, row_number() OVER (
        PARTITION BY ours IS NULL, client_reference
        ORDER BY theirs IS NULL, created_at, ours
    ) AS reference_nth
    FROM joined
)
SELECT
    count(*) FILTER (WHERE ours IS NOT NULL AND theirs IS NULL AND reference_nth = 1),
    count(*) FILTER (WHERE ours IS NULL),
    count(*) FILTER (WHERE ours = theirs AND charged_in = booked_in AND total_amount <> amount),
    count(*) FILTER (WHERE ours = theirs AND charged_in <> booked_in),
    count(*) FILTER (WHERE ours = theirs AND booked_status <>
        CASE WHEN status IN ('DELIVERED', 'CANCELLED') THEN status ELSE 'PENDING' END),
    (SELECT count(*) FROM ledger WHERE nth > 1),
    count(*) FILTER (WHERE ours IS NOT NULL AND reference_nth > 1),
    count(*) FILTER (WHERE ours IS NOT NULL)
FROM ranked
"""


def measure_duckdb(config_file: Path) -> dict[str, Any]:
    """The floor: the pandas baseline's counts as one DuckDB statement, default settings."""
    import duckdb

    folder = config_file.parent
    started = time.perf_counter()
    with duckdb.connect() as con:
        [row] = con.execute(
            _FLOOR,
            {
                "orders": str(folder / "var" / "lake" / "orders" / f"date={DAY}" / "part.parquet"),
                "ledger": str(folder / f"ledger-{DAY}.parquet"),
            },
        ).fetchall()
    *counts, orders = row
    return {
        "seconds": time.perf_counter() - started,
        "peak_rss_mb": peak_rss_mb(),
        "rows": orders,
        "counts": dict(zip(COMPARED, map(int, counts), strict=True)),
    }


DATACOMPY_COMPARED = ("amount_mismatch", "missing_at_starship")


def measure_datacompy(config_file: Path) -> dict[str, Any]:
    """datacompy's comparison of the amounts, joined on the order id: what it can say of
    amount drift and of entries without an order (it cannot match on a reference, see a retry
    or a double booking: the booked-twice entries are dropped first, as for pandas)."""
    import pandas as pd
    from datacompy import PandasCompare

    folder = config_file.parent
    started = time.perf_counter()
    orders = pd.read_parquet(
        folder / "var" / "lake" / "orders" / f"date={DAY}" / "part.parquet",
        columns=["order_id", "total_amount", "currency"],
    )
    ledger = pd.read_parquet(
        folder / f"ledger-{DAY}.parquet", columns=["order_id", "amount", "currency"]
    )
    ledger = ledger.drop_duplicates("order_id").rename(columns={"amount": "total_amount"})
    compared = PandasCompare(orders, ledger, join_columns="order_id")
    both = compared.intersect_rows
    counts = {
        "amount_mismatch": int((~both["total_amount_match"] & both["currency_match"]).sum()),
        "missing_at_starship": len(compared.df2_unq_rows),
    }
    return {
        "seconds": time.perf_counter() - started,
        "peak_rss_mb": peak_rss_mb(),
        "rows": len(orders),
        "counts": counts,
    }


# -- the parent ---------------------------------------------------------------------------------


@dataclasses.dataclass
class DiffBench:
    orders: int
    memory_limit: str
    recon: dict[str, Any]
    pandas: dict[str, Any] | None
    datacompy: dict[str, Any] | None = None
    duckdb: dict[str, Any] | None = None  # the floor
    profile: dict[str, float] | None = None  # recon's median seconds per SQL file, if asked

    def baselines(self) -> list[tuple[str, dict[str, Any], tuple[str, ...]]]:
        """(name, figures, the checks it is compared on) of each baseline that ran."""
        ran = [
            ("duckdb", self.duckdb, COMPARED),
            ("pandas", self.pandas, COMPARED),
            ("datacompy", self.datacompy, DATACOMPY_COMPARED),
        ]
        return [(name, figures, checks) for name, figures, checks in ran if figures]

    def agrees(self, figures: dict[str, Any], compared: tuple[str, ...]) -> bool:
        return all(figures["counts"][c] == self.recon["counts"][c] for c in compared)

    @property
    def agree(self) -> bool | None:
        """Whether each baseline found what recon found, on the checks it can do."""
        ran = self.baselines()
        return all(self.agrees(figures, checks) for _, figures, checks in ran) if ran else None

    def lines(self) -> list[str]:
        lines = [
            f"recon bench diff: {self.orders:,} orders against a ledger of the same size "
            f"(Parquet), median of {self.recon['runs']}",
            figure_row("recon", self.recon, "orders")
            + f"  (all checks; memory_limit {self.memory_limit})",
        ]
        for name, figures, compared in self.baselines():
            ratio = figures["median_seconds"] / self.recon["median_seconds"]
            lines.append(
                figure_row(name, figures, "orders")
                + (
                    f"  (the floor: recon takes {1 / ratio:.1f}x its time)"
                    if name == "duckdb"
                    else f"  ({ratio:.1f}x recon's time)"
                )
            )
            lines.append(
                f"    agrees with recon on {', '.join(compared)}"
                if self.agrees(figures, compared)
                else f"    FINDINGS DIFFER: recon {self.recon['counts']}, "
                f"{name} {figures['counts']}"
            )
        if self.profile:
            total = sum(self.profile.values())
            lines.append(f"  recon's diff, step by step (median seconds; {total:.2f} s in all):")
            for step, seconds in sorted(self.profile.items(), key=lambda kv: -kv[1]):
                lines.append(f"    {seconds:>8.3f} s  {seconds / total:>5.1%}  {step}")
        return lines


def bench_diff(
    orders: int,
    repeat: int = 3,
    baseline: bool = True,
    progress: Any = None,
    profile: bool = False,
) -> DiffBench:
    say = progress or (lambda _: None)
    with tempfile.TemporaryDirectory(prefix="recon-bench-diff-") as folder:
        say(f"writing {orders:,} orders and their ledger")
        config_file = write_books(Path(folder), orders)
        tools = ("recon", "duckdb", "pandas", "datacompy") if baseline else ("recon", "duckdb")
        runs: dict[str, list[dict[str, Any]]] = {tool: [] for tool in tools}
        for number in range(repeat):
            for tool in tools:
                say(f"{tool}, run {number + 1} of {repeat}")
                runs[tool].append(child(tool, str(config_file), module="recon.bench.diff"))
    return DiffBench(
        orders,
        runs["recon"][0]["memory_limit"],
        _with_counts(runs["recon"]),
        _with_counts(runs["pandas"]) if baseline else None,
        _with_counts(runs["datacompy"]) if baseline else None,
        _with_counts(runs["duckdb"]),
        _median_profile(runs["recon"]) if profile else None,
    )


def _median_profile(runs: list[dict[str, Any]]) -> dict[str, float]:
    steps = runs[0]["profile"]
    return {step: statistics.median(run["profile"][step] for run in runs) for step in steps}


def _with_counts(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {**summary(runs), "counts": runs[0]["counts"]}


def main(argv: list[str]) -> None:
    stage, config_file = argv
    measure = {
        "recon": measure_recon,
        "pandas": measure_pandas,
        "datacompy": measure_datacompy,
        "duckdb": measure_duckdb,
    }[stage]
    print(json.dumps(measure(Path(config_file))))  # noqa: T201 (the parent reads this line)


if __name__ == "__main__":
    main(sys.argv[1:])
