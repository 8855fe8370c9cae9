"""`recon bench diff`: a night's diff of N Starship orders against the partner's real books.

    recon bench diff --orders 1000000 --repeat 3

The books are a partner's, written once by DuckDB straight into a lake (with manifests) and
Parquet ledger exports: two days of N orders each, at the partner's negotiated discount (a
total 2.5% below face value, priced by a discount sheet), and the night before already diffed,
so its export sits typed in the ledger's memory as it would on a nightly run. The day's export
books each order's sale, each cancellation as a reversal row, and each partial delivery as the
refund of its undelivered items. D's books carry a realistic share of breaks: ~1% of orders
never booked, ~1% of entries with no order, ~0.5% amount drift, ~0.2% booked in another
currency, cancellations never reversed in the books, refunds of a partial delivery booked in
full, entries booked twice, retried orders, a total off the discount sheet and a wallet below
its floor. Then, each in its own process, median of `repeat`:

* recon: `recon.pipeline.diff` of D (D's ledger export ingested and kept, the memory of D-1's
  read with it, every check, the break history), from the same state each run;
* pandas: what a user would otherwise write (`merge(indicator=True)` and group-bys) for the
  checks both can do: missing on either side, amount, currency and status drift (a reversal
  compared with the sale, or with the refund of a partial delivery), duplicate entries and
  orders. Its counts must equal recon's, so the comparison is fair;
* datacompy: its `PandasCompare` of the sale amounts, joined on the order id; its amount
  drift and entries without an order must equal recon's;
* the DuckDB floor: the pandas baseline's seven counts as one hand-written DuckDB statement
  over D's orders and D's export (the rows' roles by a window, one full outer join, the
  comparisons as filtered counts). recon does more (every check, two days of orders and the
  memory, ingest validation, the history, conservation), but its time as a multiple of this
  one is the figure to drive down.

recon runs under its default `[storage] memory_limit`, as a nightly run would.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from recon.bench.measure import child, figure_row, peak_rss_mb, summary

DAY = date(2026, 4, 14)
EVE = DAY - timedelta(days=1)  # the night before, diffed when the books are written
COMPARED = (
    "missing_in_ledger",
    "missing_at_starship",
    "amount_mismatch",
    "currency_mismatch",
    "status_mismatch",
    "duplicate_ledger_entry",
    "duplicate_order",
)
SALE_AMOUNTS = "amount_mismatch of sales"  # what datacompy, which sees no reversal, can count
DISCOUNT_PERCENT = "2.5"
PRODUCTS = 7
PRISTINE = "pristine"  # the data directory as the night before left it; each run starts from it

# Order i of a day, by its number; every rate is a share of N. `{plant}` (true on D only) adds
# the breaks: the night before is clean, so that D's findings are D's own.
_ORDERS = """
SELECT
    i,
    DATE '{day}' AS day,
    'ord_{tag}' || lpad(CAST(i AS VARCHAR), 10, '0') AS order_id,
    i % 500 = 3 OR i % 3000 = 53 AS cancelled,
    i % 3000 = 53 AS partial,                    -- two of three items delivered, then cancelled
    CASE WHEN cancelled THEN 'CANCELLED' ELSE 'DELIVERED' END AS status,
    CASE WHEN cancelled THEN 'REFUNDED' ELSE 'COMPLETED' END AS sub_status,
    'gift-' || (i % {products}) AS product_id,
    CAST(['10.00', '25.00', '50.00', '100.00'][i % 4 + 1] AS DECIMAL(18, 4)) AS denomination,
    CAST(i % 3 + 1 AS INTEGER) AS quantity,
    -- the negotiated discount, rounded half-up to the cent; a cent more off the sheet
    CAST(round(denomination * quantity * (100 - {discount}) * 0.01, 2)
        + CASE WHEN {plant} AND i % 1000 = 23 THEN 0.01 ELSE 0 END AS DECIMAL(18, 4))
        AS total_amount,
    ['USD', 'EUR'][i % 2 + 1] AS currency,
    'cache' AS fulfilled_from,
    -- every 1000th order is a retry of the one before: the same reference
    'po-{tag}' || CASE WHEN {plant} AND i % 1000 = 11 THEN i - 1 ELSE i END AS client_reference,
    TIMESTAMPTZ '{day} 00:00:00+00' + to_microseconds(CAST(i * (86000000000 // {n}) AS BIGINT))
        AS created_at,
    created_at + CASE WHEN cancelled THEN INTERVAL 1 MINUTE ELSE INTERVAL 0 SECOND END
        AS updated_at,
    quantity AS item_count,
    CAST(CASE WHEN partial THEN 2 WHEN cancelled THEN 0 ELSE quantity END AS INTEGER)
        AS delivered_item_count,
    -- what Starship refunds of a partial delivery: the undelivered items' share, in cents
    CASE WHEN partial THEN total_amount - CAST(
        (CAST(total_amount * 100 AS BIGINT) * 2 * 2 + 3) // 6 AS DECIMAL(18, 0)) * 0.01
    END AS refunded,
    'bench' AS trace_id
FROM range({n}) AS t(i)
"""

# A day's export: each order's sale, then its reversal when cancelled; on D, the breaks.
_LEDGER = """
SELECT entry_id, order_id, reference, amount, currency, status, booked_at
FROM (
    SELECT
        i, 0 AS seq, 'LE-{tag}' || i AS entry_id, order_id, client_reference AS reference,
        CASE WHEN {plant} AND i % 200 = 5 THEN total_amount + 0.05 ELSE total_amount END
            AS amount,
        CASE WHEN {plant} AND i % 500 = 7 THEN 'GBP' ELSE currency END AS currency,
        'delivered' AS status,
        strftime(created_at + INTERVAL 40 SECOND, '%Y-%m-%d %H:%M:%S') AS booked_at
    FROM orders
    WHERE day = DATE '{day}'
        AND NOT ({plant} AND (i % 100 = 9 OR i % 1000 = 11))  -- never booked; the retries
    UNION ALL                                    -- reversals, but not every one on D
    SELECT i, 1, 'LE-{tag}' || i || '-r', order_id, client_reference,
        -CASE WHEN partial AND NOT ({plant} AND i % 6000 = 3053) THEN refunded
            ELSE total_amount END,
        currency, 'cancelled', strftime(created_at + INTERVAL 2 MINUTE, '%Y-%m-%d %H:%M:%S')
    FROM orders
    WHERE day = DATE '{day}' AND cancelled AND NOT ({plant} AND (i % 100 = 9 OR i % 1000 = 3))
    UNION ALL                                    -- entries booked twice
    SELECT i, 2, 'LE-{tag}' || i || '-dup', order_id, client_reference, total_amount, currency,
        'delivered', strftime(created_at + INTERVAL 3 MINUTE, '%Y-%m-%d %H:%M:%S')
    FROM orders
    WHERE day = DATE '{day}' AND {plant} AND i % 1000 = 17
    UNION ALL                                    -- entries Starship has no order for
    SELECT {n} + i, 0, 'LE-ghost-' || i, 'ord_ghost_' || i, 'po-ghost-' || i,
        CAST('20.00' AS DECIMAL(18, 4)), 'USD', 'delivered', '{day} 12:00:00'
    FROM range(CASE WHEN {plant} THEN {n} // 100 ELSE 0 END) AS t(i)
)
ORDER BY i, seq
"""

_TRANSACTIONS = """
SELECT * FROM (
SELECT
    transaction_id, type, order_id, amount, currency,
    CAST(sum(amount) OVER (PARTITION BY currency ORDER BY created_at, transaction_id)
        AS DECIMAL(18, 4)) AS balance_after,
    created_at, 'bench' AS trace_id
FROM (
    SELECT 'txn_top_' || currency AS transaction_id, 'TOPUP' AS type, NULL AS order_id,
        CAST(1000000000 AS DECIMAL(18, 4)) AS amount, currency,
        TIMESTAMPTZ '{eve} 00:00:00+00' AS created_at
    FROM (VALUES ('USD'), ('EUR')) AS c(currency)
    UNION ALL
    SELECT 'txn_d_' || order_id, 'ORDER_DEBIT', order_id, -total_amount, currency, created_at
    FROM orders
    UNION ALL
    SELECT 'txn_r_' || order_id, 'REFUND', order_id, coalesce(refunded, total_amount), currency,
        updated_at
    FROM orders WHERE cancelled
)
)  -- each day's part of the one balance chain
WHERE CAST(created_at AS DATE) = DATE '{day}'
"""


def orders_sql(day: date, n: int, tag: str = "d", plant: bool = True) -> str:
    """The SELECT of a day's N orders (`plant`: with D's breaks)."""
    return _ORDERS.format(
        day=day,
        tag=tag,
        plant=str(plant).lower(),
        n=n,
        products=PRODUCTS,
        discount=DISCOUNT_PERCENT,
    )


def ledger_sql(day: date, n: int, tag: str = "d", plant: bool = True) -> str:
    """The SELECT of that day's export, over the table `orders` of `orders_sql`."""
    return _LEDGER.format(day=day, tag=tag, plant=str(plant).lower(), n=n)


def write_books(folder: Path, orders: int) -> Path:
    """Two days of the partner's books, the night before diffed, and the recon.toml that reads
    them; the data directory is left as `PRISTINE`, which each measured run starts from."""
    import duckdb

    from recon import config, pipeline
    from recon.lake import Lake

    lake = Lake(folder / "var" / "lake")
    days = {EVE: ("e", False), DAY: ("d", True)}
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(
            "CREATE TABLE orders AS "
            + " UNION ALL ".join(orders_sql(day, orders, *book) for day, book in days.items())
        )
        for day, book in days.items():
            queries = {
                "orders": f"SELECT * FROM orders WHERE day = DATE '{day}' "
                "ORDER BY created_at, order_id",
                "transactions": _TRANSACTIONS.format(eve=EVE, day=day)
                + " ORDER BY created_at, transaction_id",
                "wallets": "SELECT 'USD' AS currency, 'wal_usd' AS wallet_id, "
                "CAST(500 AS DECIMAL(18, 4)) AS balance",
            }
            for name, query in queries.items():
                _write_dataset(con, lake, name, day, query)
            books = ledger_sql(day, orders, *book)
            con.execute(f"COPY ({books}) TO '{_held(folder, day)}' (FORMAT parquet)")
    sheet = folder / "discounts.csv"
    sheet.write_text(
        "product_id,currency,discount_percent\n"
        + "".join(
            f"gift-{p},{c},{DISCOUNT_PERCENT}\n" for p in range(PRODUCTS) for c in ("USD", "EUR")
        )
    )
    config_file = folder / "recon.toml"
    config_file.write_text(
        '[starship]\nlookback_days = 1\n[storage]\ndata_dir = "var"\n'
        '[ledger]\npath = "ledger-{date}.parquet"\n'
        '[ledger.status_map]\ndelivered = "DELIVERED"\ncancelled = "CANCELLED"\n'
        f"[checks]\ndiscount_sheet = {json.dumps(str(sheet))}\n"
        '[checks.low_wallet_balance]\nUSD = "1000.00"\n'
    )
    # D's export comes once the night before has run, as it would (that night would read it
    # too, and D's run would find it in the memory already)
    _held(folder, EVE).rename(folder / f"ledger-{EVE}.parquet")
    pipeline.diff(config.load(config_file), EVE)  # its export typed and kept in the memory
    _held(folder, DAY).rename(folder / f"ledger-{DAY}.parquet")
    (folder / "var").rename(folder / PRISTINE)
    return config_file


def _held(folder: Path, day: date) -> Path:
    """Where a day's export waits until it comes: a name `[ledger] path` does not match."""
    return folder / f"coming-{day}.parquet"


def _write_dataset(con: Any, lake: Any, name: str, day: date, query: str) -> None:
    """`query`'s rows as the lake's Parquet part of dataset `name` on `day`, in its schema."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from recon.lake import DATASETS, MANIFEST_KEY

    path, schema = lake.part(name, day), DATASETS[name].schema
    path.parent.mkdir(parents=True, exist_ok=True)
    reader = con.sql(query).to_arrow_reader(100_000)
    with pq.ParquetWriter(path, schema) as writer:
        for batch in reader:
            arrays = [
                batch.column(f.name).cast(f.type)
                if f.name in batch.schema.names
                else pa.nulls(batch.num_rows, f.type)
                for f in schema
            ]
            writer.write_batch(pa.RecordBatch.from_arrays(arrays, schema=schema))
        writer.add_key_value_metadata(
            {MANIFEST_KEY: json.dumps({"dataset": name, "complete": True})}
        )


def fresh_state(folder: Path) -> None:
    """The data directory as the night before left it: the lake's Parquet linked (recon
    replaces a file, never writes into one), everything else copied."""
    target = folder / "var"
    if target.exists():
        shutil.rmtree(target)

    def link_or_copy(source: str, destination: str) -> None:
        if source.endswith(".parquet"):
            os.link(source, destination)
        else:
            shutil.copy2(source, destination)

    shutil.copytree(folder / PRISTINE, target, copy_function=link_or_copy)


def _day_part(folder: Path, name: str) -> Path:
    return folder / PRISTINE / "lake" / name / f"date={DAY}" / "part.parquet"


# -- the measured processes ---------------------------------------------------------------------


def measure_recon(config_file: Path) -> dict[str, Any]:
    from recon import config, pipeline

    fresh_state(config_file.parent)
    settings = config.load(config_file)
    started = time.perf_counter()
    night = pipeline.diff(settings, DAY)
    seconds = time.perf_counter() - started
    counts = night.diff.by_check()
    findings = night.diff.findings
    sales = sum(
        1
        for check, key in zip(
            findings.column("check").to_pylist(), findings.column("key").to_pylist(), strict=True
        )
        if check == "amount_mismatch" and not key.endswith("/reversal")
    )
    return {
        "seconds": seconds,
        "peak_rss_mb": peak_rss_mb(),
        "rows": night.diff.counts["starship_orders"],
        "counts": {**{check: counts[check] for check in COMPARED}, SALE_AMOUNTS: sales},
        "memory_limit": settings.storage.memory_limit,
        "profile": {
            **night.diff.seconds,
            "the rest (connections, lake views, results)": seconds
            - sum(night.diff.seconds.values()),
        },
    }


def _kept_cents(total: Any, delivered: Any, quantity: Any) -> Any:
    """What Starship keeps of a partial delivery: the delivered share, half-up to the cent."""
    from decimal import Decimal

    cents = int(total * 100)
    return Decimal((cents * delivered * 2 + quantity) // (2 * quantity)) / 100


def measure_pandas(config_file: Path) -> dict[str, Any]:
    """The checks as a pandas user writes them, on the same Parquet files."""
    import numpy as np
    import pandas as pd

    folder = config_file.parent
    started = time.perf_counter()
    orders = pd.read_parquet(_day_part(folder, "orders"))
    ledger = pd.read_parquet(folder / f"ledger-{DAY}.parquet")
    ledger["booked"] = ledger["status"].str.upper()

    # each row's role in its order's bookings, in file order: sale, reversal or duplicate
    cancels = ledger["booked"].eq("CANCELLED").astype(int)
    by_order = ledger.groupby("order_id", sort=False)
    nth = by_order.cumcount()
    cancelled_before = cancels.groupby(ledger["order_id"], sort=False).cumsum() - cancels
    ledger["role"] = np.select(
        [nth.eq(0), cancels.eq(1) & cancelled_before.eq(0)], ["sale", "reversal"], "duplicate"
    )
    sales = ledger[ledger["role"] == "sale"]
    reversals = ledger.loc[ledger["role"] == "reversal", ["order_id", "amount", "currency"]]
    reversals = reversals.rename(columns={"amount": "reversed", "currency": "reversed_in"})

    merged = orders.merge(sales, on="order_id", how="outer", indicator=True)
    is_booked = merged["_merge"] == "both"
    starship = merged[merged["_merge"] != "right_only"].sort_values(
        ["client_reference", "_merge", "created_at", "order_id"],
        ascending=[True, False, True, True],
    )
    duplicate_orders = starship.duplicated("client_reference", keep="first")
    both = merged[is_booked].merge(reversals, on="order_id", how="left")
    has_reversal = both["reversed"].notna()
    expected_status = both["status_x"].where(
        both["status_x"].isin(["DELIVERED", "CANCELLED"]), "PENDING"
    )
    partial = both["status_x"].eq("CANCELLED") & (
        (both["delivered_item_count"] > 0) & (both["delivered_item_count"] < both["quantity"])
    )
    refunded = both["total_amount"].copy()
    refunded[partial] = [
        total - _kept_cents(total, delivered, quantity)
        for total, delivered, quantity in zip(
            both.loc[partial, "total_amount"],
            both.loc[partial, "delivered_item_count"],
            both.loc[partial, "quantity"],
            strict=True,
        )
    ]
    reversal_charged = refunded.where(partial, both["amount"])
    reversals_here = both[has_reversal]
    sale_currency = both["currency_x"] == both["currency_y"]
    reversal_currency = reversals_here["currency_x"] == reversals_here["reversed_in"]
    sale_drift = sale_currency & (both["total_amount"] != both["amount"])
    reversal_drift = reversal_currency & (
        reversals_here["reversed"].map(abs) != reversal_charged[has_reversal]
    )
    counts = {
        "missing_in_ledger": int(((starship["_merge"] == "left_only") & ~duplicate_orders).sum()),
        "missing_at_starship": int((merged["_merge"] == "right_only").sum()),
        "amount_mismatch": int(sale_drift.sum() + reversal_drift.sum()),
        "currency_mismatch": int((~sale_currency).sum() + (~reversal_currency).sum()),
        "status_mismatch": int(
            (~has_reversal & (both["booked"] != expected_status)).sum()
            + (expected_status[has_reversal] != "CANCELLED").sum()
        ),
        "duplicate_ledger_entry": int((ledger["role"] == "duplicate").sum()),
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
WITH rows AS (
    SELECT *, upper(status) AS booked
    FROM read_parquet($ledger, file_row_number = true)
),
roles AS (  -- each row's role in its order's bookings, in file order
    SELECT *,
        CASE
            WHEN row_number() OVER booked_in_order = 1 THEN 'sale'
            WHEN booked = 'CANCELLED' AND coalesce(count(*) FILTER (booked = 'CANCELLED')
                OVER (booked_in_order ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) = 0
                THEN 'reversal'
            ELSE 'duplicate'
        END AS role
    FROM rows
    WINDOW booked_in_order AS (PARTITION BY order_id ORDER BY file_row_number)
),
books AS (  -- per order: its sale and its reversal
    SELECT order_id,
        any_value(amount) FILTER (role = 'sale') AS amount,
        any_value(currency) FILTER (role = 'sale') AS booked_in,
        any_value(booked) FILTER (role = 'sale') AS booked_status,
        any_value(amount) FILTER (role = 'reversal') AS reversed,
        any_value(currency) FILTER (role = 'reversal') AS reversed_in,
        count(*) FILTER (role = 'duplicate') AS duplicates
    FROM roles
    GROUP BY order_id
),
joined AS (
    SELECT o.order_id AS ours, o.client_reference, o.created_at, o.total_amount,
        o.currency AS charged_in, o.status, l.order_id AS theirs, l.amount, l.booked_in,
        l.booked_status, l.reversed, l.reversed_in, l.duplicates,
        CASE WHEN o.status IN ('DELIVERED', 'CANCELLED') THEN o.status ELSE 'PENDING' END
            AS expected_status,
        CASE WHEN o.status = 'CANCELLED' AND o.delivered_item_count > 0
                AND o.delivered_item_count < o.quantity
            THEN o.total_amount - CAST((CAST(o.total_amount * 100 AS BIGINT)
                * o.delivered_item_count * 2 + o.quantity) // (2 * o.quantity) AS DECIMAL(18, 0))
                * 0.01
            ELSE l.amount
        END AS reversal_due
    FROM read_parquet($orders) AS o
    FULL OUTER JOIN books AS l ON o.order_id = l.order_id
),
ranked AS (
    SELECT *, row_number() OVER (
        PARTITION BY ours IS NULL, client_reference
        ORDER BY theirs IS NULL, created_at, ours
    ) AS reference_nth
    FROM joined
)
SELECT
    count(*) FILTER (ours IS NOT NULL AND theirs IS NULL AND reference_nth = 1),
    count(*) FILTER (ours IS NULL),
    count(*) FILTER (ours = theirs AND charged_in = booked_in AND total_amount <> amount)
        + count(*) FILTER (ours = theirs AND charged_in = reversed_in
            AND abs(reversed) <> reversal_due),
    count(*) FILTER (ours = theirs AND charged_in <> booked_in)
        + count(*) FILTER (ours = theirs AND charged_in <> reversed_in),
    count(*) FILTER (ours = theirs AND reversed IS NULL AND booked_status <> expected_status)
        + count(*) FILTER (ours = theirs AND reversed IS NOT NULL
            AND expected_status <> 'CANCELLED'),
    sum(duplicates),
    count(*) FILTER (ours IS NOT NULL AND reference_nth > 1),
    count(*) FILTER (ours IS NOT NULL)
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
                "orders": str(_day_part(folder, "orders")),
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


DATACOMPY_COMPARED = (SALE_AMOUNTS, "missing_at_starship")


def measure_datacompy(config_file: Path) -> dict[str, Any]:
    """datacompy's comparison of the sale amounts, joined on the order id: what it can say of
    amount drift and of entries without an order (it cannot match on a reference, pair a
    reversal with its sale, see a retry or a double booking: only each order's first row, its
    sale, is compared)."""
    import pandas as pd
    from datacompy import PandasCompare

    folder = config_file.parent
    started = time.perf_counter()
    orders = pd.read_parquet(
        _day_part(folder, "orders"), columns=["order_id", "total_amount", "currency"]
    )
    ledger = pd.read_parquet(
        folder / f"ledger-{DAY}.parquet", columns=["order_id", "amount", "currency"]
    )
    ledger = ledger.drop_duplicates("order_id").rename(columns={"amount": "total_amount"})
    compared = PandasCompare(orders, ledger, join_columns="order_id")
    both = compared.intersect_rows
    counts = {
        SALE_AMOUNTS: int((~both["total_amount_match"] & both["currency_match"]).sum()),
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
